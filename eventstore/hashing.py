"""Canonical encoding and hashing on the store's fast paths, byte for byte the rule of
domain.canonical (tests/unit/test_canonical_fast.py holds them to it).

For the usual event data (plain dicts, lists, strings, integers, booleans, None) a
record is assembled around one canonical text of its data instead of serialising and
checking the data twice; anything else takes the reference functions themselves.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from domain.canonical import canonical_json, chain_hash, format_timestamp
from eventstore.records import NewEvent

# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), which is
# canonical_json without the checks and the encoding, built once instead of per call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_json = _CANONICAL.encode


# Types, actors and roles repeat across a stream: encode each once.
_short_json = functools.lru_cache(maxsize=4096)(_json)


@functools.lru_cache(maxsize=4096)
def _short_bytes(value: str) -> bytes:
    """_short_json as UTF-8, for the byte-built records of encode_batch."""
    return _json(value).encode()


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


def _canonical_bytes(data: Any) -> bytes:
    """_canonical_text as UTF-8 bytes, as orjson writes them."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return _json(data).encode()


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


def encode_batch(
    stream_id: str,
    expected_version: int,
    prev_hash: str,
    recorded_at: datetime,
    events: Sequence[NewEvent],
) -> tuple[str, list[str]]:
    """The batch as a JSON array of rows for the insert, and each event's hash.

    Built in UTF-8 bytes from orjson's output, decoded once at the end: encoding and
    decoding each event's text on its own cost more than hashing it."""
    rows: list[bytes] = []
    hashes: list[str] = []
    recorded_at_json = _json(format_timestamp(recorded_at)).encode()
    stream_json = _short_bytes(stream_id) if type(stream_id) is str else None
    # The parts of every record between its event id and its type (see _record_hash for
    # the whole record): one per batch.
    middle = b',"recorded_at":' + recorded_at_json + b',"schema_version":'
    after_schema = b',"stream_id":%b,"type":' % stream_json if stream_json is not None else b""
    sha256 = hashlib.sha256
    prev = prev_hash.encode()
    version = expected_version
    for event in events:
        version += 1
        data = event.data if type(event.data) is dict else dict(event.data)
        if (
            stream_json is not None
            and type(event.event_id) is UUID
            and type(event.type) is str
            and type(event.schema_version) is int
            and type(event.actor_id) is str
            and type(event.actor_role) is str
            and _plain(data)
        ):
            # A UUID's canonical JSON, quotes included: orjson writes the same lowercase,
            # hyphenated form as str(), in C.
            event_id_json = orjson.dumps(event.event_id)
            data_json = _canonical_bytes(data)
            type_json = _short_bytes(event.type)
            actor_id_json = _short_bytes(event.actor_id)
            actor_role_json = _short_bytes(event.actor_role)
            # _record_hash, inlined: this loop is most of an append's own time.
            event_hash = sha256(
                b'%b{"actor_id":%b,"actor_role":%b,"data":%b,"event_id":%b%b%d%b%b,"version":%d}'
                % (
                    prev,
                    actor_id_json,
                    actor_role_json,
                    data_json,
                    event_id_json,
                    middle,
                    event.schema_version,
                    after_schema,
                    type_json,
                    version,
                )
            ).hexdigest()
        else:
            record = event.chain_record(stream_id, version, recorded_at)
            event_id_json = _json(record["event_id"]).encode()
            event_hash = chain_hash(prev_hash, record)
            data_json = canonical_json(record["data"])
            type_json = _json(str(event.type)).encode()
            actor_id_json = _json(str(event.actor_id)).encode()
            actor_role_json = _json(str(event.actor_role)).encode()
        hash_bytes = event_hash.encode()
        # d is the canonical text as a JSON string: the server stores that text as it
        # is (canonical_data) and parses it into the jsonb data. Canonical JSON holds no
        # raw control character (they are escaped inside its strings), so quoting it
        # needs only its backslashes and quotes escaped.
        rows.append(
            b'{"v":%d,"e":%b,"t":%b,"s":%d,"d":"%b","a":%b,"r":%b,"p":"%b","h":"%b"}'
            % (
                version,
                event_id_json,
                type_json,
                int(event.schema_version),
                data_json.replace(b"\\", b"\\\\").replace(b'"', b'\\"'),
                actor_id_json,
                actor_role_json,
                prev,
                hash_bytes,
            )
        )
        hashes.append(event_hash)
        prev = hash_bytes
        prev_hash = event_hash
    return (b"[" + b",".join(rows) + b"]").decode(), hashes
