"""The store's fast canonical encoder must write exactly the documented bytes."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from domain.canonical import (
    GENESIS_HASH,
    CanonicalFormError,
    canonical_json,
    chain_hash,
)
from eventstore.hashing import _canonical_text, _loads, encode_batch
from eventstore.records import NewEvent

CHARS = [chr(i) for i in range(0x300)] + ["\u2028", "\u2029", "\ufeff", "😀", "ø", "Å"]


def random_text(rnd: random.Random, longest: int) -> str:
    return "".join(rnd.choice(CHARS) for _ in range(rnd.randint(0, longest)))


def random_value(rnd: random.Random, depth: int = 0) -> object:
    kinds = ["text", "int", "bool", "none"] + (["list", "dict"] if depth < 3 else [])
    kind = rnd.choice(kinds)
    if kind == "text":
        return random_text(rnd, 12)
    if kind == "int":
        return rnd.choice([0, -1, rnd.randint(-(2**63), 2**63 - 1), 2**64 + 5])
    if kind == "bool":
        return rnd.choice([True, False])
    if kind == "none":
        return None
    if kind == "list":
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    return {random_text(rnd, 6): random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}


def test_fast_encoder_writes_the_documented_bytes_for_plain_values() -> None:
    rnd = random.Random(2026)
    for _ in range(5000):
        value = {random_text(rnd, 6): random_value(rnd) for _ in range(rnd.randint(0, 6))}
        assert _canonical_text(value).encode() == canonical_json(value)


def test_fast_decoder_leaves_floats_to_the_reference_path() -> None:
    assert _loads('{"a": 1, "b": "x"}') == ({"a": 1, "b": "x"}, True)
    assert _loads('{"share": 0.5}')[1] is False
    # orjson alone would read this as a float; the exact integer must come back.
    assert _loads('{"big": 123456789012345678901234567890}') == (
        {"big": 123456789012345678901234567890},
        True,
    )


class _Text(str):
    """A str subclass: canonical_json takes it, the fast path leaves it to the reference."""


def random_event(rnd: random.Random, version: int) -> NewEvent:
    data: dict[str, object] = {random_text(rnd, 6): random_value(rnd) for _ in range(4)}
    odd = rnd.random()
    if odd < 0.1:
        data["sub"] = _Text(random_text(rnd, 5))  # not plain: the reference path
    elif odd < 0.2:
        data["tuple"] = (1, "x", None)  # plain, written as a list
    return NewEvent(
        event_id=uuid.UUID(int=rnd.getrandbits(128)),
        type=rnd.choice(["step_signed_off", "hearing_response_received", random_text(rnd, 8)]),
        data=MappingProxyType(data) if rnd.random() < 0.1 else data,
        actor_id=random_text(rnd, 10),
        actor_role=rnd.choice(["steering_group", random_text(rnd, 6)]),
        schema_version=rnd.randint(1, 3),
    )


def test_batch_encoder_hashes_and_rows_are_the_reference_records() -> None:
    """encode_batch builds records from bytes on its fast path: every hash must be the
    reference chain_hash of the reference record, and every row must carry exactly the
    canonical text, for any text in any field."""
    rnd = random.Random(13)
    for _ in range(400):
        stream_id = random_text(rnd, 12) or "plan"
        start = rnd.randint(0, 5)
        prev_hash = GENESIS_HASH if start == 0 else hashlib.sha256(b"%d" % start).hexdigest()
        moment = datetime(2026, 12, 5, 12, rnd.randint(0, 59), 7, rnd.randint(0, 999999), UTC)
        events = [random_event(rnd, start + n) for n in range(rnd.randint(1, 6))]
        batch, hashes = encode_batch(stream_id, start, prev_hash, moment, events)
        rows = json.loads(batch)
        assert len(rows) == len(hashes) == len(events)
        for offset, (event, row, event_hash) in enumerate(zip(events, rows, hashes, strict=True)):
            record = event.chain_record(stream_id, start + offset + 1, moment)
            assert event_hash == chain_hash(prev_hash, record)
            assert row == {
                "v": start + offset + 1,
                "e": str(event.event_id),
                "t": event.type,
                "s": event.schema_version,
                "d": canonical_json(dict(event.data)).decode(),
                "a": event.actor_id,
                "r": event.actor_role,
                "p": prev_hash,
                "h": event_hash,
            }
            prev_hash = event_hash


def test_batch_encoder_refuses_what_has_no_canonical_form() -> None:
    event = NewEvent(uuid.uuid4(), "t", {"share": 0.5}, "a", "r")
    with pytest.raises(CanonicalFormError):
        encode_batch("plan", 0, GENESIS_HASH, datetime.now(UTC), [event])
