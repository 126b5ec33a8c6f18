"""docs/audit-format.md and the code must say the same thing."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from domain.canonical import GENESIS_HASH, canonical_json, chain_hash
from domain.events import EVENT_TYPES
from tests.unit.conftest import worked_example_record

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"


def test_worked_example_record_is_the_canonical_form_the_code_builds() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)\n```", text, re.DOTALL)
    assert example is not None
    documented = example.group(1).encode("utf-8")
    record = worked_example_record()
    assert canonical_json(record) == documented
    # The shell recipe in the document computes the same hash as the code.
    assert hashlib.sha256(GENESIS_HASH.encode() + documented).hexdigest() == chain_hash(
        GENESIS_HASH, record
    )


def test_documented_string_escapes_match_the_encoder() -> None:
    assert canonical_json('a"b\\c\n\x01/\u2028ø') == '"a\\"b\\\\c\\n\\u0001/\u2028ø"'.encode()


def test_every_event_type_is_documented_and_no_other() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Event types", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}
    assert documented == set(EVENT_TYPES)
