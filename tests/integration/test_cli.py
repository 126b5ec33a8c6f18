"""The `temaplan` command against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from temaplan.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.servers


def test_validate_accepts_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "bodo.yaml")]) == 0
    assert "plan id 1804-boligplan-2026" in capsys.readouterr().out


def test_validate_lists_every_problem_with_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "feil.yaml"
    bad.write_text(
        (EXAMPLES / "bodo.yaml")
        .read_text(encoding="utf-8")
        .replace("number: '1804'", "number: '18O4'")
        .replace("from_year: 2026", "from_year: 2031"),
        encoding="utf-8",
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "municipality.number: '18O4' is not valid here; expected four digits" in err
    assert "period: to_year 2029 is before from_year 2031" in err


def test_validate_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: (top level): file not found" in capsys.readouterr().err


def test_demo_records_the_opening_once_and_verifies(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "plan_created" in first
    assert "Hash chain of '1804-boligplan-2026': OK (2 events checked)" in first
    assert "recorded version 2" in first
    # Running it again records nothing new: the plan was opened once.
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "already recorded: the stream holds 2 events" in second
    assert "OK (2 events checked)" in second
    assert main(["verify", "1804-boligplan-2026"]) == 0
    assert main(["verify", "no-such-plan"]) == 1
