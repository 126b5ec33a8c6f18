"""The store's fast canonical encoder must write exactly the documented bytes."""

from __future__ import annotations

import random

from domain.canonical import canonical_json
from eventstore.hashing import _canonical_text, _loads

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
