#!/usr/bin/env python3
"""Verify a temaplan export (JSON lines) with nothing but the Python standard library.

    python3 verify_export.py EXPORT.jsonl [--manifest MANIFEST]
    python3 verify_export.py LOG.jsonl --log-key VKEY [--witness-key VKEY]... [--checkpoint HELD]...

A plan export is checked as below; with --log-key also its checkpoint and its last
event's inclusion proof, when the export carries them. A log export (manifest format
"log-jsonl": every event of every plan in leaf order) is checked against the Merkle root
of its signed checkpoint, the witnesses' cosignatures and the checkpoints held
independently (docs/audit-format.md, "Log export"). The hash, chain and tree rules use
the standard library only; Ed25519 uses the `cryptography` package when it can be
imported, else the `openssl` command.

This file stands alone: copy it anywhere and run it. It is one file on purpose, longer
than the project's other modules: an auditor copies this one file (docs/audit-format.md
says so), so it imports nothing of the project and is not split. It applies the rules of
"The audit record: canonical form and hash chain" (docs/audit-format.md, format
version 1, section "Export files (JSON lines)"):

- every line is one event: a JSON object with exactly the eleven fields below, written
  in canonical JSON and ended by a line feed;
- every line is of the same plan (stream_id) and versions run 1, 2, 3, ... without gaps;
- each line's prev_hash is the previous line's hash (64 zeros on line 1);
- each line's hash is SHA-256( ASCII(prev_hash) || canonical_json(record) ), the record
  being the line without prev_hash and hash;
- the manifest (by default EXPORT.manifest.json) names the same plan, event count and
  first and last hash as the lines.

Every byte of a line is covered: the nine record fields by the hash, prev_hash by the
link, hash by the recomputation, and the layout by the canonical form.

The first problem found is printed as ``line N (version V): what is wrong`` (or
``manifest PATH: ...``) and the exit status is 1. When everything holds it prints
``OK: <plan> <count> events, last hash <hash>`` and exits with 0. Compare that last hash
with one obtained independently (from temaplan's own verification, or a minute) to know
that nothing was cut off the end of the record before it was exported.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
RECORD_FIELDS = (
    "stream_id",
    "version",
    "event_id",
    "type",
    "schema_version",
    "data",
    "actor_id",
    "actor_role",
    "recorded_at",
)
LINE_FIELDS = frozenset((*RECORD_FIELDS, "prev_hash", "hash"))
TEXT_FIELDS = ("stream_id", "event_id", "type", "actor_id", "actor_role", "recorded_at")
HEX64 = re.compile(r"[0-9a-f]{64}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
# A stream's events are never recorded earlier than the version before them (the store
# holds each append's time at or after the stream's last); in log order, events of
# different plans may be recorded by machines whose clocks differ a little, and are
# timed before they commit, so one may be earlier than the leaf before it by this much.
STREAM_TOLERANCE = timedelta(0)
LOG_TOLERANCE = timedelta(seconds=300)
MANIFEST_FIELDS = {
    "plan_id": str,
    "event_count": int,
    "first_version": int,
    "last_version": int,
    "first_hash": str,
    "last_hash": str,
    "exported_at": str,
    "format_version": int,
    "format": str,
    "generator": str,
}


class Problem(Exception):
    """The first thing found wrong, and where."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")


def canonical_json(value: Any) -> bytes:
    """Keys sorted by code point, no white space, UTF-8 as itself (docs/audit-format.md)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def _refuse_number(text: str) -> Any:
    raise ValueError(f"{text} is not an integer: the format has no floating point numbers")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice")
        result[key] = value
    return result


DECODER = json.JSONDecoder(
    parse_float=_refuse_number, parse_constant=_refuse_number, object_pairs_hook=_object
)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields(event: dict[str, Any], where: str) -> None:
    """Exactly the fields of the format, each of its type and form."""
    if set(event) != LINE_FIELDS:
        missing = sorted(LINE_FIELDS - set(event))
        extra = sorted(set(event) - LINE_FIELDS)
        raise Problem(where, f"fields missing: {missing}, fields not in the format: {extra}")
    for field in TEXT_FIELDS:
        if not isinstance(event[field], str):
            raise Problem(where, f"{field} is not a string")
    for field in ("version", "schema_version"):
        if not is_int(event[field]) or event[field] < 1:
            raise Problem(where, f"{field} is not an integer of 1 or more")
    if not isinstance(event["data"], dict):
        raise Problem(where, "data is not a JSON object")
    if not UUID.fullmatch(event["event_id"]):
        raise Problem(where, "event_id is not a lowercase UUID")
    if not TIMESTAMP.fullmatch(event["recorded_at"]):
        raise Problem(where, "recorded_at is not of the form 2026-03-01T12:00:00.000000Z")
    try:
        event["_moment"] = datetime.strptime(event["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise Problem(
            where, f"recorded_at {event['recorded_at']} is not a real time (no such date or hour)"
        ) from None
    for field in ("prev_hash", "hash"):
        if not isinstance(event[field], str) or not HEX64.fullmatch(event[field]):
            raise Problem(where, f"{field} is not 64 lowercase hex digits")


def json_object(where: str, parse: Callable[[], object]) -> dict[str, Any]:
    """What ``parse`` reads, which must be a JSON object; a text that is no JSON at all
    (a UnicodeDecodeError is a ValueError too) is told as such."""
    try:
        found = parse()
    except ValueError as error:
        raise Problem(where, f"is not valid JSON: {error}") from None
    if not isinstance(found, dict):
        raise Problem(where, "is not a JSON object")
    return found


def parse_line(number: int, raw: bytes) -> tuple[dict[str, Any], str]:
    """The event on one line, checked for form, and how to name its place."""
    where = f"line {number}"
    if not raw.endswith(b"\n"):
        raise Problem(where, "does not end with a line feed: the file is cut short")
    body = raw[:-1]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Problem(where, f"is not UTF-8 (byte {error.start + 1})") from None
    event = json_object(where, lambda: DECODER.decode(text))
    if is_int(event.get("version")):
        where = f"line {number} (version {event['version']})"
    check_fields(event, where)
    moment = event.pop("_moment")
    try:
        canonical = canonical_json(event)
    except UnicodeEncodeError:
        raise Problem(where, "holds a string that is not valid Unicode") from None
    if canonical != body:
        raise Problem(where, "is not in canonical form (key order, spacing or escapes differ)")
    event["_moment"] = moment
    return event, where


def check_chain(event: dict[str, Any], where: str, prev_hash: str) -> None:
    record = {field: event[field] for field in RECORD_FIELDS}
    digest = hashlib.sha256(prev_hash.encode("ascii") + canonical_json(record))
    if digest.hexdigest() != event["hash"]:
        raise Problem(where, "hash does not match the line's content: the event was changed")


def check_unique(event: dict[str, Any], where: str, seen: set[str]) -> None:
    if event["event_id"] in seen:
        raise Problem(where, f"event_id {event['event_id']} appears twice in the export")
    seen.add(event["event_id"])


def check_time(
    event: dict[str, Any],
    where: str,
    previous: datetime | None,
    tolerance: timedelta,
    whose: str,
) -> None:
    if previous is not None and event["_moment"] < previous - tolerance:
        raise Problem(
            where,
            f"recorded_at {event['recorded_at']} is earlier than {whose} "
            f"({previous.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}) by more than "
            f"{int(tolerance.total_seconds())} s",
        )


def check_lines(path: str) -> tuple[str, int, str, str]:
    """Walk the export line by line (constant memory); return plan, count, first and
    last hash. Raises Problem at the first line that breaks a rule."""
    plan = ""
    prev_hash = first_hash = GENESIS_HASH
    count = 0
    seen: set[str] = set()
    previous: datetime | None = None
    try:
        with open(path, "rb") as lines:
            for number, raw in enumerate(lines, start=1):
                event, where = parse_line(number, raw)
                if number == 1:
                    plan, first_hash = event["stream_id"], event["hash"]
                elif event["stream_id"] != plan:
                    raise Problem(where, f"stream_id {event['stream_id']!r} is not {plan!r}")
                if event["version"] != number:
                    hint = "missing or out of order" if event["version"] > number else "repeated"
                    raise Problem(
                        where, f"expected version {number}, found {event['version']} ({hint})"
                    )
                if event["prev_hash"] != prev_hash:
                    before = "64 zeros" if number == 1 else "the hash of the line before"
                    raise Problem(where, f"prev_hash is not {before}: the chain is broken here")
                check_chain(event, where, prev_hash)
                check_unique(event, where, seen)
                check_time(event, where, previous, STREAM_TOLERANCE, "the previous version's")
                prev_hash, count, previous = event["hash"], number, event["_moment"]
    except OSError as error:
        raise Problem(path, f"cannot be read: {error.strerror}") from None
    if count == 0:
        raise Problem("line 1", "missing: the export holds no events")
    return plan, count, first_hash, prev_hash


def _manifest_object(
    path: str, where: str, fields: dict[str, type], missing: str | None = None
) -> dict[str, Any]:
    """The manifest's JSON object, with each of ``fields`` present and of its type."""
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError as error:
        raise Problem(where, missing or f"cannot be read: {error.strerror}") from None
    except OSError as error:
        raise Problem(where, f"cannot be read: {error.strerror}") from None
    manifest = json_object(where, lambda: json.loads(raw.decode("utf-8")))
    for field, kind in fields.items():
        value = manifest.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise Problem(where, f"{field} is missing or not a {kind.__name__}")
    return manifest


def read_manifest(path: str) -> dict[str, Any]:
    where = f"manifest {path}"
    manifest = _manifest_object(
        path,
        where,
        MANIFEST_FIELDS,
        missing="not found: an export without its manifest is incomplete",
    )
    if manifest["format"] != "jsonl" or manifest["format_version"] != FORMAT_VERSION:
        raise Problem(
            where,
            f"format {manifest['format']!r} version {manifest['format_version']} is not "
            f"'jsonl' version {FORMAT_VERSION}, the one this verifier knows",
        )
    return manifest


def verify(export: str, manifest_path: str) -> tuple[str, int, str]:
    manifest = read_manifest(manifest_path)
    plan, count, first_hash, last_hash = check_lines(export)
    found = {
        "plan_id": plan,
        "event_count": count,
        "first_version": 1,
        "last_version": count,
        "first_hash": first_hash,
        "last_hash": last_hash,
    }
    for field, value in found.items():
        if manifest[field] != value:
            raise Problem(
                f"manifest {manifest_path}",
                f"{field} is {manifest[field]!r}, but the export's lines give {value!r}",
            )
    return plan, count, last_hash


# --- The whole log: Merkle tree, signed checkpoints (docs/audit-format.md, "Log export")

LOG_FORMAT = "log-jsonl"
LOG_MANIFEST_FIELDS = {
    "format": str,
    "format_version": int,
    "generator": str,
    "exported_at": str,
    "event_count": int,
    "stream_count": int,
    "streams": dict,
    "tree_size": int,
    "root_hash": str,
    "lines_sha256": str,
}
DASH = "\u2014 "
NOTE_ED25519 = 0x01
COSIGNATURE_V1 = 0x04
# Ed25519 public keys in DER (SubjectPublicKeyInfo) start with these 12 bytes.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def leaf_hash(event_hash: str) -> bytes:
    """The log's leaf for an event: SHA-256(0x00 || the 32 bytes of its chain hash)."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(event_hash)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class TreeRoots:
    """RFC 9162 roots of a growing tree in O(log n) memory (the complete subtrees)."""

    def __init__(self) -> None:
        self.size = 0
        self.stack: list[bytes] = []

    def append(self, leaf: bytes) -> None:
        size, h = self.size, leaf
        while size & 1:
            h = node_hash(self.stack.pop(), h)
            size >>= 1
        self.stack.append(h)
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return hashlib.sha256(b"").digest()
        h = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """With the `cryptography` package when it is installed, else the openssl command."""
    try:
        ed25519 = importlib.import_module("cryptography.hazmat.primitives.asymmetric.ed25519")
        exceptions = importlib.import_module("cryptography.exceptions")
    except ImportError:
        return _openssl_verify(public, message, signature)
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (exceptions.InvalidSignature, ValueError):
        return False
    return True


def _openssl_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    if shutil.which("openssl") is None:
        raise Problem(
            "signatures", "cannot check Ed25519: install the cryptography package or openssl"
        )
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(ED25519_SPKI_PREFIX + public).decode()
        + "\n-----END PUBLIC KEY-----\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        files = {"pub.pem": pem.encode(), "msg": message, "sig": signature}
        for name, content in files.items():
            with open(os.path.join(folder, name), "wb") as file:
                file.write(content)
        result = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "pub.pem",
                "-rawin",
                "-in",
                "msg",
                "-sigfile",
                "sig",
            ],
            cwd=folder,
            capture_output=True,
            check=False,
        )
    return result.returncode == 0


def read_key(text: str, kind: int, what: str) -> tuple[str, bytes, bytes]:
    """A verifier key <name>+<hex key id>+<base64(type || key)>, or a file holding one:
    (name, key id, public key)."""
    if "+" not in text and os.path.exists(text):
        with open(text, encoding="ascii") as file:
            text = file.read()
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise Problem(what, "is not a verifier key <name>+<hex key id>+<base64 key>")
    name, hex_id, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError:
        raise Problem(what, "the key is not base64") from None
    if len(raw) != 33 or raw[0] != kind:
        raise Problem(what, f"is not an Ed25519 key of type 0x{kind:02x}")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw[:1] + raw[1:]).digest()[:4]
    if key_id.hex() != hex_id.lower():
        raise Problem(what, "its key id does not match its name and key")
    return name, key_id, raw[1:]


def read_note(path: str) -> dict[str, Any]:
    """A checkpoint in a signed note: origin, size, root, body and signature lines."""
    where = f"checkpoint {path}"
    try:
        with open(path, encoding="utf-8", newline="") as file:
            text = file.read()
    except OSError as error:
        raise Problem(where, f"cannot be read: {error.strerror}") from None
    receipt = None
    if text.startswith("{"):
        # A kept inclusion proof (a receipt's): its checkpoint, and the event it proves.
        try:
            receipt = json.loads(text)
            text = receipt["checkpoint"]
            receipt = (int(receipt["leaf_index"]), str(receipt["event_hash"]))
        except (ValueError, KeyError, TypeError):
            raise Problem(where, "is neither a signed note nor an inclusion proof") from None
    body, sep, signatures = text.rpartition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3 or not signatures.endswith("\n"):
        raise Problem(where, "is not a signed note (text, blank line, signature lines)")
    if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
        raise Problem(where, "the tree size is not a decimal number")
    try:
        root = base64.b64decode(lines[2], validate=True)
        sigs = []
        for line in signatures[:-1].split("\n"):
            if not line.startswith(DASH):
                raise ValueError
            name, _, encoded = line[len(DASH) :].rpartition(" ")
            sigs.append((name, base64.b64decode(encoded, validate=True)))
    except ValueError:
        raise Problem(where, "a root hash or signature line is malformed") from None
    if len(root) != 32:
        raise Problem(where, "the root hash is not 32 bytes")
    return {
        "where": where,
        "receipt": receipt,
        "origin": lines[0],
        "size": int(lines[1]),
        "root": root,
        "body": (body + "\n").encode(),
        "signatures": sigs,
    }


def check_log_signature(note: dict[str, Any], key: tuple[str, bytes, bytes]) -> None:
    name, key_id, public = key
    found = [raw[4:] for who, raw in note["signatures"] if who == name and raw[:4] == key_id]
    if not found:
        raise Problem(note["where"], f"carries no signature by the log's key {name}")
    if not all(ed25519_verify(public, note["body"], sig) for sig in found):
        raise Problem(note["where"], "the log's signature does not verify: it was changed")
    if note["origin"] != name:
        raise Problem(note["where"], f"origin {note['origin']!r} is not the key's name {name!r}")


def check_cosignature(note: dict[str, Any], key: tuple[str, bytes, bytes]) -> bool:
    """True when ``note`` carries a valid cosignature (tlog-cosignature v1) by ``key``."""
    name, key_id, public = key
    valid = False
    for who, raw in note["signatures"]:
        if who != name or raw[:4] != key_id:
            continue
        if len(raw) != 4 + 8 + 64:
            raise Problem(note["where"], f"the cosignature of {name} is not 76 bytes")
        timestamp = int.from_bytes(raw[4:12], "big")
        message = b"cosignature/v1\ntime %d\n" % timestamp + note["body"]
        if not ed25519_verify(public, message, raw[12:]):
            raise Problem(note["where"], f"the cosignature of {name} does not verify")
        valid = True
    return valid


def read_log_manifest(path: str) -> dict[str, Any]:
    where = f"manifest {path}"
    manifest = _manifest_object(path, where, LOG_MANIFEST_FIELDS)
    if manifest["format_version"] != FORMAT_VERSION:
        raise Problem(where, f"format version {manifest['format_version']} is unknown")
    return manifest


def read_checkpoints(
    export: str, log_key: tuple[str, bytes, bytes], held_paths: list[str]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The export's checkpoint, all signed notes in it, and the held ones: every one
    signed by the log's key, none beyond the export's end."""
    head = read_note(export + ".checkpoint")
    check_log_signature(head, log_key)
    notes = [head]
    if os.path.exists(export + ".cosigned.checkpoint"):
        notes.append(read_note(export + ".cosigned.checkpoint"))
        check_log_signature(notes[-1], log_key)
    held = []
    for path in held_paths:
        note = read_note(path)
        check_log_signature(note, log_key)
        if note["size"] > head["size"]:
            raise Problem(
                note["where"],
                f"commits to tree size {note['size']} (root {note['root'].hex()}), but the "
                f"export ends at tree size {head['size']}: the log was cut short",
            )
        held.append(note)
    return head, notes, held


class LogWalk:
    """One pass over a log export's lines: every stream's chain, ids, times, and the
    Merkle roots at the sizes asked for."""

    def __init__(self, sizes: set[int]) -> None:
        self.sizes = sizes
        self.tree = TreeRoots()
        self.roots: dict[int, bytes] = {0: self.tree.root()}
        self.streams: dict[str, tuple[int, str, datetime | None]] = {}
        self.seen: set[str] = set()
        self.previous: datetime | None = None
        self.digest = hashlib.sha256()
        self.receipts: dict[int, dict[str, Any]] = {}

    def feed(self, number: int, raw: bytes) -> None:
        event, where = parse_line(number, raw)
        stream = event["stream_id"]
        where = f"line {number} (leaf {number - 1}, {stream} version {event['version']})"
        version, prev_hash, moment = self.streams.get(stream, (0, GENESIS_HASH, None))
        if event["version"] != version + 1:
            raise Problem(
                where,
                f"expected version {version + 1} of {stream}: events of the plan are "
                "missing, repeated or out of order",
            )
        if event["prev_hash"] != prev_hash:
            raise Problem(where, "prev_hash is not the hash of the plan's previous event")
        check_chain(event, where, prev_hash)
        check_unique(event, where, self.seen)
        check_time(event, where, moment, STREAM_TOLERANCE, "the plan's previous event's")
        check_time(event, where, self.previous, LOG_TOLERANCE, "the previous leaf's")
        self.streams[stream] = (event["version"], event["hash"], event["_moment"])
        self.previous = event["_moment"]
        receipt = self.receipts.get(self.tree.size)
        if receipt is not None and receipt["receipt"][1] != event["hash"]:
            raise Problem(
                where,
                f"is not the event of the receipt {receipt['where']} (hash "
                f"{receipt['receipt'][1]}): the receipted event was changed or removed",
            )
        self.digest.update(raw)
        self.tree.append(leaf_hash(event["hash"]))
        if self.tree.size in self.sizes:
            self.roots[self.tree.size] = self.tree.root()

    def walk(self, export: str) -> LogWalk:
        try:
            with open(export, "rb") as lines:
                for number, raw in enumerate(lines, start=1):
                    self.feed(number, raw)
        except OSError as error:
            raise Problem(export, f"cannot be read: {error.strerror}") from None
        return self

    def summary(self, head: dict[str, Any]) -> dict[str, Any]:
        return {
            "event_count": self.tree.size,
            "stream_count": len(self.streams),
            "streams": {
                s: {"event_count": v[0], "last_hash": v[1]} for s, v in sorted(self.streams.items())
            },
            "tree_size": head["size"],
            "root_hash": head["root"].hex(),
            "lines_sha256": self.digest.hexdigest(),
        }


def verify_log(
    export: str,
    manifest_path: str,
    log_key: tuple[str, bytes, bytes],
    witness_keys: list[tuple[str, bytes, bytes]],
    held_paths: list[str],
) -> str:
    """The whole log: every chain, the Merkle root against the signed checkpoint, the
    witnesses' cosignatures, and the checkpoints held independently."""
    manifest = read_log_manifest(manifest_path)
    head, notes, held = read_checkpoints(export, log_key, held_paths)
    for key in witness_keys:
        if not any([check_cosignature(n, key) for n in notes + held]):  # noqa: C419
            raise Problem("cosignatures", f"no checkpoint here is co-signed by witness {key[0]}")
    walk = LogWalk({n["size"] for n in notes + held})
    walk.receipts = {n["receipt"][0]: n for n in held if n["receipt"] is not None}
    walk.walk(export)
    if walk.tree.size != head["size"]:
        raise Problem(
            export,
            f"holds {walk.tree.size} events, but its checkpoint is of tree size {head['size']}",
        )
    for note in sorted(notes + held, key=lambda n: n["size"]):
        if walk.roots[note["size"]] != note["root"]:
            raise Problem(
                note["where"],
                f"first bad tree size {note['size']}: the signed root is "
                f"{note['root'].hex()}, the export's first {note['size']} events give "
                f"{walk.roots[note['size']].hex()}; events up to that size were changed, "
                "removed or replaced after it was signed",
            )
    for field, value in walk.summary(head).items():
        if manifest[field] != value:
            shown = "does not match" if field == "streams" else f"is {manifest[field]!r}"
            raise Problem(f"manifest {manifest_path}", f"{field} {shown}, the lines give {value!r}")
    extra = [f"co-signed by {', '.join(k[0] for k in witness_keys)}"] if witness_keys else []
    extra += [f"consistent with held checkpoint of tree size {n['size']}" for n in held]
    return (
        f"OK: log of {walk.tree.size} events in {len(walk.streams)} plans, tree size "
        f"{head['size']} root {head['root'].hex()} signed by {log_key[0]}"
        + "".join(f"; {e}" for e in extra)
    )


def _format_of(manifest_path: str) -> Any:
    try:
        with open(manifest_path, "rb") as file:
            return json.loads(file.read().decode("utf-8")).get("format")
    except (OSError, ValueError, AttributeError):
        return None  # read_manifest names the problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_export.py", description="Verify a temaplan JSON lines export."
    )
    parser.add_argument("export", help="the export file (JSON lines)")
    parser.add_argument("--manifest", help="its manifest (default: EXPORT.manifest.json)")
    parser.add_argument(
        "--log-key", help="the log's public key (vkey, or a file): needed for a log export"
    )
    parser.add_argument(
        "--witness-key", action="append", default=[], help="a witness's vkey that must co-sign"
    )
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        help="a checkpoint held independently: a signed note (an earlier export's, a "
        "witness's) or a kept inclusion proof (a receipt's)",
    )
    args = parser.parse_args(argv)
    manifest_path = args.manifest or args.export + ".manifest.json"
    try:
        if _format_of(manifest_path) == LOG_FORMAT:
            if not args.log_key:
                raise Problem("--log-key", "a log export is checked against the log's public key")
            log_key = read_key(args.log_key, NOTE_ED25519, "--log-key")
            witnesses = [read_key(k, COSIGNATURE_V1, "--witness-key") for k in args.witness_key]
            print(verify_log(args.export, manifest_path, log_key, witnesses, args.checkpoint))
            return 0
        if args.checkpoint or ((args.log_key or args.witness_key) and not _has_checkpoint(args)):
            raise Problem(
                f"manifest {manifest_path}",
                "a plan export is checked against its own checkpoint only: export the whole "
                "log (temaplan audit export-log) to check it against held checkpoints",
            )
        plan, count, last_hash = verify(args.export, manifest_path)
        signed = ""
        if args.log_key:
            log_key = read_key(args.log_key, NOTE_ED25519, "--log-key")
            witnesses = [read_key(k, COSIGNATURE_V1, "--witness-key") for k in args.witness_key]
            signed = check_plan_head(args.export, last_hash, log_key, witnesses)
    except Problem as problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"OK: {plan} {count} events, last hash {last_hash}{signed}")
    return 0


def _has_checkpoint(args: argparse.Namespace) -> bool:
    return os.path.exists(args.export + ".checkpoint")


def check_plan_head(
    export: str,
    last_hash: str,
    log_key: tuple[str, bytes, bytes],
    witness_keys: list[tuple[str, bytes, bytes]],
) -> str:
    """A plan export's checkpoint: signed by the log, co-signed by the witnesses given,
    and (with its inclusion proof) committing to the export's last event."""
    note = read_note(export + ".checkpoint")
    check_log_signature(note, log_key)
    for key in witness_keys:
        if not check_cosignature(note, key):
            raise Problem(note["where"], f"is not co-signed by witness {key[0]}")
    where = f"inclusion proof {export}.inclusion.json"
    try:
        with open(export + ".inclusion.json", encoding="utf-8") as file:
            proof = json.load(file)
    except FileNotFoundError:
        return f"; checkpoint of tree size {note['size']} signed (the last event came after it)"
    except (OSError, ValueError) as error:
        raise Problem(where, f"cannot be read: {error}") from None
    if proof.get("event_hash") != last_hash or proof.get("tree_size") != note["size"]:
        raise Problem(where, "is not of the export's last event against its checkpoint")
    try:
        path = [bytes.fromhex(h) for h in proof["inclusion_path"]]
        index = int(proof["leaf_index"])
    except (KeyError, TypeError, ValueError):
        raise Problem(where, "is malformed") from None
    if not verify_inclusion(index, note["size"], leaf_hash(last_hash), path, note["root"]):
        raise Problem(
            where,
            f"does not hold: the last event (hash {last_hash}) is not leaf {index} of the "
            f"signed tree of size {note['size']}",
        )
    return f"; last event is leaf {index} of the signed tree of size {note['size']}"


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


if __name__ == "__main__":
    sys.exit(main())
