"""Each rule of the plan definition refuses an invalid plan with its message and path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from domain.plan import PlanDefinition
from domain.planfile import parse_plan_data, parse_plan_text
from domain.problems import DomainValidationError, Problem
from domain.roles import Role

Refuse = Callable[..., DomainValidationError]  # the ``refuse`` fixture (conftest.py)


def find_problem(error: DomainValidationError, path: str, *fragments: str) -> Problem:
    """The problem reported at exactly ``path`` whose message has every fragment."""
    for problem in error.problems:
        if problem.path == path and all(f in problem.message for f in fragments):
            return problem
    raise AssertionError(f"no problem at {path!r} containing {fragments!r}; got:\n{error.render()}")


def drop_role(data: dict[str, Any], role: str) -> None:
    data["participants"] = [p for p in data["participants"] if role not in p["roles"]]


# --- municipality ---------------------------------------------------------------


def test_kommunenummer_must_be_four_digits(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["municipality"]["number"] = "184"
    error = refuse(bodo_data)
    find_problem(error, "municipality.number", "'184'", "four digits in quotes")


def test_kommunenummer_unquoted_in_yaml_is_refused(bodo_text: str) -> None:
    text = bodo_text.replace("number: '1804'", "number: 1804")
    assert text != bodo_text
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text(text, "bodo.yaml")
    find_problem(info.value, "municipality.number", "got the number 1804", "in quotes")


def test_kommunenummer_with_leading_zero_unquoted_is_not_read_as_octal(
    bodo_text: str,
) -> None:
    # YAML 1.1 reads 0301 (Oslo) as octal 193: that must be refused, not coerced.
    text = bodo_text.replace("number: '1804'", "number: 0301")
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text(text, "oslo.yaml")
    find_problem(info.value, "municipality.number", "got the number 193")


# --- period -----------------------------------------------------------------------


def test_period_reversed_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["period"] = {"from_year": 2029, "to_year": 2026}
    error = refuse(bodo_data)
    find_problem(error, "period", "to_year 2026 is before from_year 2029")


def test_period_longer_than_20_years_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["period"] = {"from_year": 2026, "to_year": 2046}  # 21 years
    error = refuse(bodo_data)
    find_problem(error, "period", "at most 20 years")


def test_period_of_exactly_20_years_is_accepted(bodo_data: dict[str, Any]) -> None:
    bodo_data["period"] = {"from_year": 2026, "to_year": 2045}
    assert parse_plan_data(bodo_data).period.to_year == 2045


# --- participants and roles -------------------------------------------------------


def test_duplicate_participant_id_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    twin = dict(bodo_data["participants"][1], id="kari.nilsen")
    bodo_data["participants"].append(twin)
    error = refuse(bodo_data)
    find_problem(error, "participants", "participant id 'kari.nilsen' is used twice")


def test_unknown_role_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["participants"][0]["roles"] = ["mayor"]
    error = refuse(bodo_data)
    find_problem(
        error,
        "participants[0].roles[0]",
        "'mayor' is not a role",
        "allowed roles: project_leader",
    )


def test_unknown_role_message_does_not_offer_the_system_role(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["participants"][0]["roles"] = ["mayor"]
    problem = find_problem(refuse(bodo_data), "participants[0].roles[0]")
    assert "system" not in problem.message


def test_system_role_on_a_participant_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["participants"][0]["roles"] = ["project_leader", "system"]
    error = refuse(bodo_data)
    find_problem(error, "participants[0].roles[1]", "'system' is the engine's own role")


def test_role_listed_twice_on_one_participant_is_refused(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["participants"][0]["roles"] = ["project_leader", "project_leader"]
    find_problem(refuse(bodo_data), "participants[0]", "a role is listed twice")


def test_missing_finance_office_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    drop_role(bodo_data, "finance_office")
    error = refuse(bodo_data)
    find_problem(error, "participants", "nobody has the role 'finance_office'", "process needs")


def test_missing_reference_group_is_refused_while_a_round_is_on(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    drop_role(bodo_data, "reference_group")
    bodo_data["settings"]["reference_round_strategies"] = False
    bodo_data["settings"]["reference_round_measures"] = True
    error = refuse(bodo_data)
    find_problem(error, "participants", "nobody has the role 'reference_group'")


def test_missing_reference_group_is_fine_when_both_rounds_are_off(
    bodo_data: dict[str, Any],
) -> None:
    drop_role(bodo_data, "reference_group")
    bodo_data["settings"]["reference_round_strategies"] = False
    bodo_data["settings"]["reference_round_measures"] = False
    plan = parse_plan_data(bodo_data)
    assert plan.members(Role.REFERENCE_GROUP) == ()


# --- hearing ----------------------------------------------------------------------


def test_kommunedelplan_hearing_shorter_than_42_days_is_refused(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["settings"]["hearing_days"] = 41
    error = refuse(bodo_data)
    find_problem(error, "settings.hearing_days", "is 41 days", "at least 42 days", "kommunedelplan")


def test_kommunedelplan_hearing_of_42_days_is_accepted(
    bodo_data: dict[str, Any],
) -> None:
    bodo_data["settings"]["hearing_days"] = 42
    assert parse_plan_data(bodo_data).settings.hearing_days == 42


def test_temaplan_hearing_of_one_day_is_accepted(larvik_data: dict[str, Any]) -> None:
    larvik_data["settings"]["hearing_days"] = 1
    assert parse_plan_data(larvik_data).settings.hearing_days == 1


def test_temaplan_hearing_of_zero_days_is_refused(
    larvik_data: dict[str, Any], refuse: Refuse
) -> None:
    larvik_data["settings"]["hearing_days"] = 0
    error = refuse(larvik_data)
    find_problem(error, "settings.hearing_days", "greater than or equal to 1")


# --- quorum -----------------------------------------------------------------------


def test_quorum_for_a_role_that_does_not_decide_is_refused(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["settings"]["quorum"]["finance_office"] = "all"
    error = refuse(bodo_data)
    find_problem(
        error,
        "settings",
        "quorum is set for finance_office",
        "do not decide at a gate",
        "allowed: steering_group",
    )


# --- proposals: references and ids ------------------------------------------------


@pytest.mark.parametrize(
    ("items", "index", "field", "value", "message"),
    [
        pytest.param(
            "strategies",
            1,
            "goal_id",
            "mal-9",
            "goal 'mal-9' does not exist",
            id="strategy-pointing-at-a-missing-goal",
        ),
        pytest.param(
            "measures",
            2,
            "strategy_id",
            "str-9",
            "strategy 'str-9' does not exist",
            id="measure-pointing-at-a-missing-strategy",
        ),
        pytest.param(
            "measures",
            0,
            "due_year",
            2025,
            "2025 is outside the planning period 2026-2029",
            id="measure-due-before-the-period",
        ),
        pytest.param(
            "measures",
            0,
            "due_year",
            2030,
            "2030 is outside the planning period 2026-2029",
            id="measure-due-after-the-period",
        ),
        pytest.param(
            "goals",
            0,
            "target_area",
            "Boligpolitikk",
            "'Boligpolitikk' is not one of the plan's target areas",
            id="goal-with-unknown-target-area",
        ),
    ],
)
def test_a_proposal_field_that_points_outside_the_plan_is_refused(
    bodo_data: dict[str, Any],
    refuse: Refuse,
    items: str,
    index: int,
    field: str,
    value: str | int,
    message: str,
) -> None:
    bodo_data["proposals"][items][index][field] = value
    error = refuse(bodo_data)
    find_problem(error, f"proposals.{items}[{index}].{field}", message)


def test_id_shared_by_a_goal_and_a_measure_is_refused(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["proposals"]["measures"][0]["id"] = "mal-1"
    error = refuse(bodo_data)
    matches = [
        p
        for p in error.problems
        if "id 'mal-1' is used by more than one goal, strategy or measure" in p.message
    ]
    assert len(matches) == 1
    assert matches[0].path == "proposals"


def test_id_shared_by_two_strategies_is_refused(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["proposals"]["strategies"][1]["id"] = "str-1.1"
    error = refuse(bodo_data)
    assert any("id 'str-1.1' is used by more than one" in p.message for p in error.problems)


# --- file-level reporting ---------------------------------------------------------


def test_unknown_field_is_reported_as_not_known(bodo_data: dict[str, Any], refuse: Refuse) -> None:
    bodo_data["settings"]["hearing_dayz"] = 42
    error = refuse(bodo_data)
    find_problem(error, "settings.hearing_dayz", "is not a known field")


def test_unknown_top_level_field_is_reported_as_not_known(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["titel"] = bodo_data.pop("title")
    error = refuse(bodo_data)
    find_problem(error, "titel", "is not a known field")
    find_problem(error, "title", "is required but missing")


def test_invalid_yaml_is_reported_with_line_and_column() -> None:
    text = "title: Temaplan for bolig\nperiod:\n\tfrom_year: 2026\n"
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text(text, "plan.yaml")
    find_problem(info.value, "line 3, column 1", "invalid YAML")


def test_invalid_json_is_reported_with_line_and_column() -> None:
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text('{\n  "title": \n}', "plan.json")
    find_problem(info.value, "line 3, column 1", "invalid JSON")


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text("- 1\n- 2\n", "plan.yaml")
    find_problem(info.value, "", "expected a mapping of plan fields, got list")


def test_error_text_names_the_source_file(bodo_text: str) -> None:
    text = bodo_text.replace("hearing_days: 42", "hearing_days: 14")
    with pytest.raises(DomainValidationError) as info:
        parse_plan_text(text, "examples/bodo-feil.yaml")
    assert info.value.source == "examples/bodo-feil.yaml"
    first_line = str(info.value).splitlines()[0]
    assert first_line == "1 problem(s) in examples/bodo-feil.yaml:"
    problem_lines = str(info.value).splitlines()[1:]
    assert problem_lines == [
        "  - examples/bodo-feil.yaml: settings.hearing_days: is 14 days, but a "
        "kommunedelplan must be on hearing for at least 42 days (six weeks, planning law)"
    ]


def test_several_rule_problems_are_reported_together(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    drop_role(bodo_data, "finance_office")
    bodo_data["settings"]["hearing_days"] = 30
    bodo_data["proposals"]["strategies"][0]["goal_id"] = "mal-9"
    bodo_data["proposals"]["measures"][0]["due_year"] = 2031
    error = refuse(bodo_data)
    find_problem(error, "participants", "'finance_office'")
    find_problem(error, "settings.hearing_days", "is 30 days")
    find_problem(error, "proposals.strategies[0].goal_id", "'mal-9'")
    find_problem(error, "proposals.measures[0].due_year", "2031")
    assert len(error.problems) == 4
    assert str(error).startswith("4 problem(s) in plan.yaml:")


def test_several_field_problems_are_reported_together(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["municipality"]["number"] = "18O4"
    bodo_data["period"] = {"from_year": 2029, "to_year": 2026}
    bodo_data["participants"][0]["email"] = "kari.nilsen"
    bodo_data["proposals"]["measures"][0]["basis"] = "maybe"
    error = refuse(bodo_data)
    find_problem(error, "municipality.number", "'18O4'")
    find_problem(error, "period", "before from_year")
    find_problem(error, "participants[0].email", "an e-mail address")
    find_problem(error, "proposals.measures[0].basis", "'must'")
    # The rules that compare fields ran too, where their fields are valid: nothing is
    # left for a second run.
    assert all("checked once" not in p.message for p in error.problems)


def test_plan_definition_enforces_cross_field_rules_without_the_parser(
    bodo_data: dict[str, Any],
) -> None:
    drop_role(bodo_data, "finance_office")
    with pytest.raises(ValidationError, match="nobody has the role 'finance_office'"):
        PlanDefinition.model_validate(bodo_data)
