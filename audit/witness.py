"""`temaplan witness`: run by the kontrollutvalg or the revisor on their own machine, with
their own key, on a schedule (cron, a systemd timer).

Each run fetches the log's latest checkpoint over the API, checks the log's signature,
and asks for a consistency proof from the checkpoint it holds (its state file) to the new
one. Only if the proof holds does it co-sign (C2SP tlog-cosignature v1), hand the
cosignature back to the API and keep the new checkpoint as its state. A checkpoint that
is not consistent with the held one means the history was rewritten or shortened: the
witness refuses, exits with status 3, names both tree sizes and roots, and keeps both
checkpoints and the proof it was given in an evidence folder beside its state file.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.checkpoints import (
    COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    SigningKey,
    VerifierKey,
    cosign,
    parse_checkpoint,
    verify_checkpoint,
)
from eventstore import merkle

EXIT_OK = 0
EXIT_ERROR = 2
EXIT_INCONSISTENT = 3


class WitnessError(Exception):
    """The run could not be completed (network, keys, state); nothing was co-signed."""


@dataclass
class Inconsistent(Exception):
    held: Checkpoint
    presented: Checkpoint
    reason: str
    proof: dict[str, Any] | None = None

    def __str__(self) -> str:
        return (
            f"REFUSED: the log's checkpoint of tree size {self.presented.tree_size} (root "
            f"{self.presented.root_hash.hex()}) is not consistent with the checkpoint this "
            f"witness holds, tree size {self.held.tree_size} (root "
            f"{self.held.root_hash.hex()}): {self.reason}. The record was rewritten or "
            "shortened; nothing was co-signed."
        )


def _get(url: str, token: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "*/*"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return _answer(request)


def _post(url: str, body: dict[str, Any], token: str) -> bytes:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    return _answer(request)


def _answer(request: urllib.request.Request) -> bytes:
    """The response's body; an HTTP error or an unreachable server is a WitnessError."""
    url = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            body: bytes = response.read()
            return body
    except urllib.error.HTTPError as exc:
        raise WitnessError(f"{url}: HTTP {exc.code} {exc.read()[:300]!r}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise WitnessError(f"{url}: cannot be reached: {exc}") from None


def _write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.partial")
    with temp.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, path)


class Witness:
    def __init__(self, api: str, log_key: VerifierKey, key: SigningKey, state: Path) -> None:
        if key.kind != COSIGNATURE_V1:
            raise WitnessError(
                "the witness key must be a cosignature key: make one with "
                "`temaplan keys generate --witness`"
            )
        self.api = api.rstrip("/")
        self.log_key = log_key
        self.key = key
        self.state = state

    def held(self) -> Checkpoint | None:
        if not self.state.exists():
            return None
        try:
            state = json.loads(self.state.read_text("utf-8"))
            checkpoint = parse_checkpoint(state["checkpoint"], f"state file {self.state}")
            verify_checkpoint(checkpoint, self.log_key)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WitnessError(f"state file {self.state} is unusable: {exc}") from None
        return checkpoint

    def fetch_latest(self) -> Checkpoint:
        text = _get(f"{self.api}/api/log/checkpoint").decode("utf-8")
        try:
            checkpoint = parse_checkpoint(text, "the log's checkpoint")
            verify_checkpoint(checkpoint, self.log_key)
        except NoteError as exc:
            raise WitnessError(f"the log's latest checkpoint is not acceptable: {exc}") from None
        return checkpoint

    def check(self, held: Checkpoint | None, latest: Checkpoint) -> dict[str, Any] | None:
        """Raises Inconsistent unless ``latest`` extends ``held``; returns the proof used."""
        if held is None:
            return None
        if latest.tree_size < held.tree_size:
            raise Inconsistent(held, latest, "the log is shorter than before")
        if latest.tree_size == held.tree_size:
            if latest.root_hash != held.root_hash:
                raise Inconsistent(held, latest, "same size, different root")
            return None
        query = urllib.parse.urlencode({"old": held.tree_size, "new": latest.tree_size})
        raw = _get(f"{self.api}/api/log/consistency?{query}")
        try:
            proof = json.loads(raw)
            path = [bytes.fromhex(h) for h in proof["consistency_path"]]
        except (ValueError, KeyError, TypeError):
            raise Inconsistent(held, latest, "the log gave no readable consistency proof") from None
        if not merkle.verify_consistency(
            held.tree_size, latest.tree_size, held.root_hash, latest.root_hash, path
        ):
            raise Inconsistent(held, latest, "the consistency proof does not hold", proof)
        return dict(proof)

    def keep_evidence(self, finding: Inconsistent) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        folder = self.state.with_name(f"{self.state.name}.evidence") / stamp
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "held.checkpoint").write_text(finding.held.note, "utf-8")
        (folder / "presented.checkpoint").write_text(finding.presented.note, "utf-8")
        if finding.proof is not None:
            (folder / "consistency.json").write_text(json.dumps(finding.proof, indent=2), "utf-8")
        (folder / "finding.txt").write_text(str(finding) + "\n", "utf-8")
        return folder

    def run(self, token: str | None, now: float | None = None) -> str:
        held = self.held()
        latest = self.fetch_latest()
        self.check(held, latest)
        line = cosign(latest, self.key, int(now if now is not None else time.time()))
        if token:
            _post(
                f"{self.api}/api/log/cosignature",
                {"tree_size": latest.tree_size, "line": line},
                token,
            )
        state = {"log_key": self.log_key.vkey(), "checkpoint": latest.note, "cosignature": line}
        _write_atomically(self.state, json.dumps(state, indent=2, ensure_ascii=False) + "\n")
        grown = "" if held is None else f", consistent with tree size {held.tree_size}"
        return f"co-signed tree size {latest.tree_size} root {latest.root_hash.hex()}{grown}" + (
            "" if token else " (not handed back: no --token)"
        )
