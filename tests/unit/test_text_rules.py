"""The character rule for what people send (domain/text.py), at the plan-file edge and in
the commands the workflows decode, and the record that stays readable whatever it holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from domain import commands as cmd
from domain.events import CommentRecorded, from_record
from domain.text import unsafe_character
from temaplan.cli import main
from tests.conftest import EXAMPLES

REFUSED = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\ufdd0", "\ufffe", "\U0010ffff"]
SIGN_OFF = {"actor_id": "k", "step_key": "s", "content_version": 1, "content_hash": "h"}
KEPT = ["\t", "\n", "\r", "\x7f", "ø", "e\u0301", "\u2028", "\U0001f3e0", "\ufeff"]


@pytest.mark.parametrize("char", REFUSED)
def test_refused_characters_are_named_with_their_position(char: str) -> None:
    problem = unsafe_character(f"ab{char}c")
    assert problem is not None
    assert f"U+{ord(char):04X}" in problem
    assert "at position 3" in problem


@pytest.mark.parametrize("char", KEPT)
def test_other_text_is_kept_as_sent_without_normalising(char: str) -> None:
    assert unsafe_character(f"ab{char}c") is None
    comment = cmd.AddComment(actor_id="kari", content_version=1, text=f"a{char}b")
    assert comment.text == f"a{char}b"  # not NFC: e + combining acute stays two points


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        (cmd.HearingResponse, {"name": "a\x00b", "text": "x"}, "name"),
        (cmd.HearingResponse, {"name": "a", "organisation": "\x01", "text": "x"}, "organisation"),
        (cmd.AddComment, {"actor_id": "k", "content_version": 1, "text": "x\ufffe"}, "text"),
        (cmd.SignOff, {**SIGN_OFF, "comment": "\x1b[31m"}, "comment"),
        (cmd.HearingDecision, {"actor_id": "k\x00", "outcome": "revise"}, "actor_id"),
    ],
)
def test_commands_refuse_them_naming_the_field(
    model: type[cmd.HearingResponse], fields: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(fields))
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert "U+" in error["msg"]


def test_a_recorded_event_is_read_whatever_it_holds() -> None:
    event = from_record(
        event_type="comment_recorded",
        schema_version=1,
        data={
            "occurred_at": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
            "phase": "goals",
            "content_version": 1,
            "text": "written before the rule\x01",
        },
        event_id=uuid4(),
        actor_id="kari",
        actor_role="reference_group",
    )
    assert isinstance(event, CommentRecorded)
    assert event.text.endswith("\x01")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("title: ", 'title: "Bolig\\0"  # ', "title"),
        ("    name: Kari Nilsen", '    name: "Kari\\x07 Nilsen"', "participants[0].name"),
    ],
)
def test_validate_calls_such_a_plan_file_invalid_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, field: str
) -> None:
    source = (EXAMPLES / "bodo.yaml").read_text(encoding="utf-8")
    assert old in source
    bad = tmp_path / "kontroll.yaml"
    bad.write_text(source.replace(old, new, 1), encoding="utf-8")
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: {field}: contains U+" in err
