"""The canonical JSON form and the hash chain rule (docs/audit-format.md).

Standard library only, on purpose: auditors verify exports with nothing but the
document, and this module is the reference implementation of what it says.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


class CanonicalFormError(ValueError):
    """A value that has no canonical form (a float, a naive datetime, an unknown type)."""


def _check(value: Any, path: str) -> None:
    # Binary floats do not round-trip identically through every JSON parser and
    # PostgreSQL's jsonb, so the hashed form admits only integers; decimals travel
    # as strings.
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        raise CanonicalFormError(f"{path}: floats are not allowed, use a decimal string")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalFormError(f"{path}: object keys must be strings")
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalFormError(f"{path}: {type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON, keys sorted by code point, no insignificant white space."""
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with exactly six fractional digits and a 'Z'."""
    if moment.tzinfo is None:
        raise CanonicalFormError("timestamps must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chain_hash(prev_hash: str, record: dict[str, Any]) -> str:
    """hash = SHA-256( ASCII(prev_hash) || canonical_json(record) ), as lowercase hex."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_json(record))
    return digest.hexdigest()


def chain_record(
    *,
    stream_id: str,
    version: int,
    event_id: str,
    event_type: str,
    schema_version: int,
    data: dict[str, Any],
    actor_id: str,
    actor_role: str,
    recorded_at: datetime,
) -> dict[str, Any]:
    """The fields an event's hash covers, by their names in the export format."""
    return {
        "stream_id": stream_id,
        "version": version,
        "event_id": event_id,
        "type": event_type,
        "schema_version": schema_version,
        "data": data,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "recorded_at": format_timestamp(recorded_at),
    }
