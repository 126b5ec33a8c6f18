"""`temaplan validate` in one run: every problem of a file, the rules that compare fields
wherever those fields are valid, the nearest known field for a misspelled one, the value
given beside what is allowed; and the period checked against the first revision."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from domain.plan import Period, RevisionDate
from domain.planfile import parse_plan_data
from domain.problems import DomainValidationError
from domain.rules import first_revision, period_problems


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DomainValidationError) as caught:
        parse_plan_data(data, "plan.yaml")
    return {p.path: p.message for p in caught.value.problems}


def test_every_problem_in_one_run_with_the_cross_field_rules(bodo_data: dict[str, Any]) -> None:
    bodo_data["titel"] = bodo_data.pop("title")
    bodo_data["settings"]["hearing_dayz"] = 10
    bodo_data["period"]["to_year"] = "2030x"
    bodo_data["participants"][1]["id"] = bodo_data["participants"][0]["id"]
    bodo_data["proposals"]["measures"][0]["costs"]["investment_nok"] = "mye"
    bodo_data["proposals"]["measures"][1]["costs"]["running_nok_per_year"] = True
    found = _problems(bodo_data)
    assert found["titel"] == "is not a known field; did you mean 'title'?"
    assert found["settings.hearing_dayz"] == "is not a known field; did you mean 'hearing_days'?"
    assert found["title"] == "is required but missing"
    assert "(got '2030x')" in found["period.to_year"]
    assert found["proposals.measures[0].costs.investment_nok"] == (
        "got 'mye'; allowed: a whole number of NOK (0 or more), or 'unknown'"
    )
    assert "got True" in found["proposals.measures[1].costs.running_nok_per_year"]
    # A rule comparing valid fields is reported in the same run.
    assert "is used twice" in found["participants"]


def test_cross_field_rules_run_where_their_fields_are_valid(bodo_data: dict[str, Any]) -> None:
    bodo_data["municipality"]["number"] = 1804  # its own problem
    bodo_data["settings"]["hearing_days"] = 14  # a kommunedelplan needs 42
    bodo_data["proposals"]["goals"][0]["target_area"] = "Ukjent område"
    found = _problems(bodo_data)
    assert "write the kommunenummer as four digits in quotes" in found["municipality.number"]
    assert "at least 42 days" in found["settings.hearing_days"]
    assert "is not one of the plan's target areas" in found["proposals.goals[0].target_area"]


def test_a_misspelled_nested_field_names_the_nearest_known_one(bodo_data: dict[str, Any]) -> None:
    bodo_data["proposals"]["measures"][0]["responsible_unt"] = bodo_data["proposals"]["measures"][
        0
    ].pop("responsible_unit")
    found = _problems(bodo_data)
    assert found["proposals.measures[0].responsible_unt"] == (
        "is not a known field; did you mean 'responsible_unit'?"
    )


def test_unknown_costs_are_not_zero(bodo_data: dict[str, Any]) -> None:
    costs = bodo_data["proposals"]["measures"][0]["costs"]
    costs["investment_nok"] = "unknown"
    costs["running_nok_per_year"] = None
    plan = parse_plan_data(bodo_data)
    assert plan.proposals is not None
    measure = plan.proposals.measures[0]
    assert (measure.costs.investment_nok, measure.costs.running_nok_per_year) == (None, None)
    assert plan.proposals.measures[1].costs.investment_nok is not None
    del costs["investment_nok"]
    assert _problems(bodo_data)["proposals.measures[0].costs.investment_nok"] == (
        "is required but missing"
    )


def test_the_period_must_outlast_the_first_revision() -> None:
    september = RevisionDate(month=9, day=1)
    assert first_revision(september, date(2026, 12, 4)) == date(2027, 9, 1)
    assert first_revision(september, date(2026, 3, 1)) == date(2026, 9, 1)
    assert period_problems(Period(from_year=2026, to_year=2029), september, date(2026, 12, 4)) == []
    [ended] = period_problems(Period(from_year=2022, to_year=2025), september, date(2026, 12, 4))
    assert ended.path == "period.to_year"
    assert "ended on 2025-12-31" in ended.message
    [too_short] = period_problems(
        Period(from_year=2026, to_year=2026), september, date(2026, 12, 4)
    )
    assert "before its first yearly revision could run (2027-09-01" in too_short.message
