"""The Merkle log checked as an auditor checks an export of it: exported to a temporary
folder and run through audit/verify_export.py's rules. Shared by `audit verify-log`,
`audit verify` and the guard of `audit state` and `audit export`."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg

from audit import verify_export
from audit.export import ExportError
from audit.log_export import MANIFEST_SUFFIX, export_log
from eventstore.log import MerkleLog


@dataclass(frozen=True)
class LogCheck:
    """``message`` in English for the log commands; ``reason`` (a ``log_check.*`` key of
    the catalogue) and ``detail`` let a command say it in the reader's language."""

    verdict: Literal["ok", "broken", "unchecked"]
    message: str
    reason: Literal["", "no_key", "no_checkpoint", "broken"] = ""
    detail: str = ""


async def check_log(
    pool: asyncpg.Pool,
    log_key: str | None,
    witness_keys: Sequence[str] = (),
    held: Sequence[Path] = (),
) -> LogCheck:
    """``unchecked`` when there is no key to check the signature with, or nothing signed
    yet: said so, never passed off as checked."""
    if not log_key:
        return LogCheck(
            "unchecked",
            "the log was NOT checked: no log key (set TEMAPLAN_LOG_VKEY to the deployment's "
            "published verifier key)",
            "no_key",
        )
    log = MerkleLog(pool)
    skipped = await log.left_out()
    if skipped is not None:
        stream_id, version = skipped
        detail = (
            f"{stream_id} version {version} was committed before the sequencer's "
            "watermark and has no leaf: the log leaves it out"
        )
        return LogCheck("broken", f"the log does not verify: {detail}", "broken", detail)
    if await log.latest_checkpoint() is None:
        if await log.holds_events():
            return LogCheck(
                "unchecked",
                "the log was NOT checked: it holds events but no checkpoint has been signed "
                "yet (`temaplan checkpoint`)",
                "no_checkpoint",
            )
        return LogCheck("ok", "the log is empty; no checkpoint to check")
    with tempfile.TemporaryDirectory(prefix="temaplan-verify-log-") as folder:
        out = Path(folder) / "log.jsonl"
        try:
            await export_log(pool, out)
            key = verify_export.read_key(log_key, verify_export.NOTE_ED25519, "log key")
            witnesses = [
                verify_export.read_key(k, verify_export.COSIGNATURE_V1, "witness key")
                for k in witness_keys
            ]
            return LogCheck(
                "ok",
                verify_export.verify_log(
                    str(out), str(out) + MANIFEST_SUFFIX, key, witnesses, [str(p) for p in held]
                ),
            )
        except (ExportError, verify_export.Problem) as exc:
            return LogCheck("broken", f"the log does not verify: {exc}", "broken", str(exc))
