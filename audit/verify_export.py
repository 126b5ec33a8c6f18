#!/usr/bin/env python3
"""Verify a temaplan export (JSON lines) with nothing but the Python standard library.

    python3 verify_export.py EXPORT.jsonl [--manifest MANIFEST]

This file stands alone: copy it anywhere and run it. It applies the rules of
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
import hashlib
import json
import re
import sys
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
    for field in ("prev_hash", "hash"):
        if not isinstance(event[field], str) or not HEX64.fullmatch(event[field]):
            raise Problem(where, f"{field} is not 64 lowercase hex digits")


def parse_line(number: int, raw: bytes) -> tuple[dict[str, Any], str]:
    """The event on one line, checked for form, and how to name its place."""
    where = f"line {number}"
    if not raw.endswith(b"\n"):
        raise Problem(where, "does not end with a line feed: the file is cut short")
    body = raw[:-1]
    try:
        event = DECODER.decode(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise Problem(where, f"is not UTF-8 (byte {error.start + 1})") from None
    except ValueError as error:
        raise Problem(where, f"is not valid JSON: {error}") from None
    if not isinstance(event, dict):
        raise Problem(where, "is not a JSON object")
    if is_int(event.get("version")):
        where = f"line {number} (version {event['version']})"
    check_fields(event, where)
    try:
        canonical = canonical_json(event)
    except UnicodeEncodeError:
        raise Problem(where, "holds a string that is not valid Unicode") from None
    if canonical != body:
        raise Problem(where, "is not in canonical form (key order, spacing or escapes differ)")
    return event, where


def check_lines(path: str) -> tuple[str, int, str, str]:
    """Walk the export line by line (constant memory); return plan, count, first and
    last hash. Raises Problem at the first line that breaks a rule."""
    plan = ""
    prev_hash = first_hash = GENESIS_HASH
    count = 0
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
                record = {field: event[field] for field in RECORD_FIELDS}
                digest = hashlib.sha256(prev_hash.encode("ascii") + canonical_json(record))
                if digest.hexdigest() != event["hash"]:
                    raise Problem(
                        where, "hash does not match the line's content: the event was changed"
                    )
                prev_hash, count = event["hash"], number
    except OSError as error:
        raise Problem(path, f"cannot be read: {error.strerror}") from None
    if count == 0:
        raise Problem("line 1", "missing: the export holds no events")
    return plan, count, first_hash, prev_hash


def read_manifest(path: str) -> dict[str, Any]:
    where = f"manifest {path}"
    try:
        with open(path, "rb") as file:
            manifest = json.loads(file.read().decode("utf-8"))
    except FileNotFoundError:
        raise Problem(where, "not found: an export without its manifest is incomplete") from None
    except OSError as error:
        raise Problem(where, f"cannot be read: {error.strerror}") from None
    except ValueError as error:
        raise Problem(where, f"is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise Problem(where, "is not a JSON object")
    for field, kind in MANIFEST_FIELDS.items():
        value = manifest.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise Problem(where, f"{field} is missing or not a {kind.__name__}")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify_export.py", description="Verify a temaplan JSON lines export."
    )
    parser.add_argument("export", help="the export file (JSON lines)")
    parser.add_argument("--manifest", help="its manifest (default: EXPORT.manifest.json)")
    args = parser.parse_args(argv)
    try:
        plan, count, last_hash = verify(
            args.export, args.manifest or args.export + ".manifest.json"
        )
    except Problem as problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"OK: {plan} {count} events, last hash {last_hash}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
