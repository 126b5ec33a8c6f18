"""Numbers of any form and nesting of any depth in a plan file, or typed as an indicator
value, get a clear message and never a traceback."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.refusals import Refusal
from domain.revision_reports import _decimal
from temaplan.cli import main


def validate(tmp_path: Path, name: str, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert code == 2, captured.out
    return captured.err


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "(top level)"),
        ("deep.json", '{"a":' * 40 + "1" + "}" * 40, "(top level)"),
        ("deep.yaml", "a: " + "[" * 100_000 + "]" * 100_000, "line 1, column"),
        ("deep.yaml", "a: " + "{b: " * 3000 + "1" + "}" * 3000, "line 1, column"),
    ],
)
def test_deep_nesting_is_refused_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, where: str
) -> None:
    err = validate(tmp_path, name, text, capsys)
    assert where in err
    assert "nested more than 32 levels deep" in err


@pytest.mark.parametrize("name", ["big.json", "big.yaml"])
def test_an_integer_of_thousands_of_digits_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    text = '{"title": ' + "9" * 5000 + "}" if name.endswith("json") else "title: " + "9" * 5000
    assert "Exceeds the limit" in validate(tmp_path, name, text, capsys)


@pytest.mark.parametrize("figure", ["1e-50", "1e-60", "1e400", "123456789012345678901"])
def test_an_indicator_figure_beyond_its_digits_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bodo_data: dict[str, Any], figure: str
) -> None:
    bodo_data["proposals"]["goals"][0]["indicator"]["baseline"] = figure
    err = validate(tmp_path, "tall.json", json.dumps(bodo_data), capsys)
    assert "proposals.goals[0].indicator.baseline: " in err
    assert "more than 18 digits written out" in err


def test_negative_zero_and_exponent_forms_in_range_are_plain_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bodo_data: dict[str, Any]
) -> None:
    bodo_data["proposals"]["goals"][0]["indicator"]["baseline"] = -0.0
    bodo_data["proposals"]["goals"][0]["indicator"]["target"] = "1.5e3"
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(bodo_data), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert _decimal("1.5E+3", "value") == Decimal("1500")
    assert str(_decimal("1.5E+3", "value")) == "1500"
    assert str(_decimal("-0", "value")) == "0"
    assert str(_decimal("-0.00", "value")) == "0.00"
    for typed in ("1e-50", "1e-60", "1E+60", "NaN", "-Infinity", "12,5"):
        with pytest.raises(Refusal):
            _decimal(typed, "value")
