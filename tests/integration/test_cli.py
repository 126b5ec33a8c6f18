"""The `temaplan` command against a real database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from temaplan.cli import main
from tests.conftest import EXAMPLES
from tests.ports import free_port

pytestmark = pytest.mark.servers


def edited_example(path: Path, example: str, edits: dict[str, str]) -> Path:
    """The example plan file with each of ``edits``' keys replaced by its value, written to
    ``path``; each key must occur, or the test would check the unedited example."""
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    for old, new in edits.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_accepts_the_examples(capsys: pytest.CaptureFixture[str]) -> None:
    bodo = EXAMPLES / "bodo.yaml"
    assert main(["validate", str(bodo)]) == 0
    assert capsys.readouterr().out == f"{bodo}: gyldig; plan-id 1804-boligplan-2026\n"
    assert main(["--lang", "en", "validate", str(bodo)]) == 0
    assert capsys.readouterr().out == f"{bodo}: valid; plan id 1804-boligplan-2026\n"


def test_validate_lists_every_problem_with_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = edited_example(
        tmp_path / "feil.yaml",
        "bodo.yaml",
        {"number: '1804'": "number: '18O4'", "from_year: 2026": "from_year: 2031"},
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "municipality.number: '18O4' is not valid here; expected four digits" in err
    assert "period: to_year 2029 is before from_year 2031" in err
    # In bokmål first, as the upload page says it; the API's own lines stay below.
    assert err.startswith(
        f"Dette må rettes i {bad}:\n"
        "  - municipality.number: må være fire sifre i anførselstegn, for eksempel '1804'\n"
    )
    assert main(["--lang", "en", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"2 problem(s) in {bad}:\n")
    assert "Dette må rettes" not in err


def test_validate_reports_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: (top level): file not found" in capsys.readouterr().err


def test_demo_runs_the_bodo_plan_to_adoption_and_verifies(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMAPLAN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.setattr("temaplan.demo.UI_PORT", free_port())
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "høringsperioden på 42 dager går fort fordi utviklingsserveren hopper over tid" in out
    assert "vedtak: kommunestyret vedtok planen" in out
    assert "Prosjektleder legger fram mål" not in out  # a submission is said by its phase
    assert "Styringsgruppen kvalitetssikrer: styringsgruppen godkjente" in out
    assert re.search(
        r"Hashkjeden til «1804-boligplan-2026-demo-\d+»: hel \(antall kontrollerte hendelser: \d+\)",
        out,
    )
    assert "Planen er vedtatt; hash for det fastfrosne innholdet " in out
    assert "Målekort " in out
    assert "adopted" not in out
    drafts = sorted(p.suffix for p in (tmp_path / "drafts").iterdir())
    assert drafts == [".html", ".md"]
    named = re.search(r"plan-id (\S+);", out)
    assert named is not None
    plan_id = named.group(1)
    assert main(["--lang", "en", "demo"]) == 0
    out = capsys.readouterr().out
    assert "the 42-day hearing is passed by the dev server's time skipping" in out
    assert "adoption: the municipal council adopted the plan" in out
    assert "goals.quality_assurance: steering_group signed" in out
    assert re.search(
        r"Hash chain of '1804-boligplan-2026-demo-\d+': OK \(\d+ events checked\)", out
    )
    assert "Plan adopted; frozen content hash " in out
    assert main(["verify", plan_id]) == 0
    assert main(["verify", "no-such-plan"]) == 1


def test_validate_warns_of_a_period_that_ends_before_its_first_revision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = edited_example(
        tmp_path / "gammel.yaml",
        "gratangen.yaml",
        {
            **{f"due_year: {year}": "due_year: 2019" for year in ("2026", "2027", "2028")},
            "from_year: 2026": "from_year: 2016",
            "to_year: 2030": "to_year: 2019",
        },
    )
    ended = f"{old}: period.to_year: the planning period 2016-2019 ended on 2019-12-31"
    assert main(["validate", str(old)]) == 0
    out = capsys.readouterr().out
    assert f"advarsel: {ended}" in out
    assert "(et vedtak ville blitt avvist)" in out
    assert main(["--lang", "en", "validate", str(old)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {ended}" in out
    assert "(adoption would be refused)" in out
    assert main(["validate", str(EXAMPLES / "gratangen.json")]) == 0
    assert "advarsel" not in capsys.readouterr().out


def test_validate_names_the_nearest_field_and_the_value_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = edited_example(
        tmp_path / "feil.yaml",
        "gratangen.yaml",
        {
            "hearing_days: 42": "hearing_dayz: 42",
            "running_nok_per_year: 150000": "running_nok_per_year: mye",
        },
    )
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "settings.hearing_dayz: is not a known field; did you mean 'hearing_days'?" in err
    assert "costs.running_nok_per_year: got 'mye'; allowed: a whole number of NOK" in err
