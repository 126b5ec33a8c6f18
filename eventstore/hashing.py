"""Canonical encoding and hashing on the store's fast paths, byte for byte the rule of
domain.canonical (tests/unit/test_canonical_fast.py holds them to it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import orjson

# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), which is
# canonical_json without the checks and the encoding, built once instead of per call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_json = _CANONICAL.encode


# Types, actors and roles repeat across a stream: encode each once.
_short_json = functools.lru_cache(maxsize=4096)(_json)


_SCALARS = frozenset({str, int, bool, type(None)})


def _canonical_text(data: Any) -> str:
    """canonical_json(data) for data already known to be plain. orjson with sorted keys
    writes exactly the bytes of the documented rule for plain values (same escapes, key
    order by code point, compact) several times faster; it refuses integers beyond 64
    bits, which go to the standard library encoder."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _json(data)


def _json_string(text: str) -> str:
    """``text`` as a JSON string literal (any valid escaping: the server unescapes it)."""
    return orjson.dumps(text).decode()


def _loads(text: str) -> tuple[Any, bool]:
    """Stored data and whether it is plain (no floats or other values the fast path does
    not hash); anything else is left to the reference path."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if _plain(data):
            return data, True
    # orjson reads integers beyond 64 bits as floats: the standard library reads them
    # exactly, and leaves real floats as floats for the reference path to refuse.
    data = json.loads(text)
    return data, _plain(data)


def _plain(value: Any) -> bool:
    """True when ``value`` is made only of exactly the types canonical_json admits (no
    subclasses), so that the JSON encoder alone gives its canonical form. False sends the
    caller to the reference functions, which also raise the documented errors."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def _record_hash(
    prev_hash: str,
    *,
    stream_json: str,
    version: int,
    event_id: str,
    type_json: str,
    schema_version: int,
    data_json: str,
    actor_id_json: str,
    actor_role_json: str,
    recorded_at_json: str,
) -> str:
    """chain_hash(prev_hash, chain_record(...)) from parts already in canonical JSON:
    the record's keys in code point order, no white space. Callers pass ints of type
    int exactly and a UUID's string form, which need no escaping."""
    record = (
        f'{{"actor_id":{actor_id_json},"actor_role":{actor_role_json},"data":{data_json},'
        f'"event_id":"{event_id}","recorded_at":{recorded_at_json},'
        f'"schema_version":{schema_version},"stream_id":{stream_json},'
        f'"type":{type_json},"version":{version}}}'
    )
    return hashlib.sha256((prev_hash + record).encode()).hexdigest()
