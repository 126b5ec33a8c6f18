"""domain.phases: the six phases, their steps, and the roles the process needs."""

from __future__ import annotations

import pytest

import catalogue
from domain.phases import (
    PHASE_ORDER,
    PHASES,
    GateStep,
    Phase,
    StepKind,
    phase_spec,
    step_by_key,
)
from domain.plan import Settings
from domain.roles import Role
from domain.rules import roles_needed


def test_six_phases_in_order() -> None:
    expected = ["goals", "strategies", "measures", "draft", "hearing", "adoption"]
    assert [p.value for p in PHASE_ORDER] == expected
    assert [spec.phase for spec in PHASES] == list(PHASE_ORDER)
    assert [p.order for p in PHASE_ORDER] == list(range(6))


def test_phase_spec_finds_each_phase() -> None:
    for phase in Phase:
        assert phase_spec(phase).phase is phase


def draft_steps() -> dict[int, GateStep]:
    spec = phase_spec(Phase.DRAFT)
    return {
        step.draft_step_number: step for step in spec.steps if step.draft_step_number is not None
    }


@pytest.mark.parametrize(
    ("number", "role"),
    [
        (1, Role.PROJECT_GROUP),
        (2, Role.STEERING_GROUP),
        (3, Role.PROJECT_GROUP),
        (4, Role.PROJECT_LEADER),
        (5, Role.PROJECT_LEADER),
        (6, Role.FINANCE_OFFICE),
        (7, Role.STEERING_GROUP),
    ],
)
def test_draft_steps_one_to_seven_have_their_responsible_role(number: int, role: Role) -> None:
    step = draft_steps()[number]
    assert step.kind is StepKind.DRAFT_STEP
    assert role in step.roles
    assert step.key == f"draft.step{number}"
    assert catalogue.step_title(step.key).startswith(f"{number}. ")


def test_draft_step_eight_is_the_final_review_by_two_bodies() -> None:
    steps = draft_steps()
    assert sorted(steps) == list(range(1, 9))
    final = steps[8]
    assert final.kind is StepKind.SIGN_OFF
    assert final.roles == (Role.STEERING_GROUP, Role.POLITICAL_LEADERSHIP)
    assert final is phase_spec(Phase.DRAFT).steps[-1]


def test_draft_phase_starts_with_the_project_leaders_submission() -> None:
    first = phase_spec(Phase.DRAFT).steps[0]
    assert first.kind is StepKind.SUBMIT
    assert first.roles == (Role.PROJECT_LEADER,)


def test_strategy_anchoring_is_always_on_and_measure_anchoring_is_optional() -> None:
    assert step_by_key("strategies.anchoring").enabled_by is None
    assert step_by_key("measures.anchoring").enabled_by == "anchor_measures"
    assert step_by_key("strategies.anchoring").roles == (
        Role.POLITICAL_LEADERSHIP,
        Role.ADMINISTRATIVE_LEADERSHIP,
    )


def test_adoption_is_decided_by_the_municipal_council() -> None:
    (step,) = phase_spec(Phase.ADOPTION).steps
    assert step.kind is StepKind.DECISION
    assert step.roles == (Role.MUNICIPAL_COUNCIL,)


def test_step_by_key_refuses_an_unknown_key() -> None:
    with pytest.raises(KeyError):
        step_by_key("draft.step9")


def test_roles_needed_with_every_step_on() -> None:
    needed = roles_needed(Settings(anchor_measures=True))
    assert needed == {
        Role.PROJECT_LEADER,
        Role.PROJECT_GROUP,
        Role.STEERING_GROUP,
        Role.REFERENCE_GROUP,
        Role.POLITICAL_LEADERSHIP,
        Role.ADMINISTRATIVE_LEADERSHIP,
        Role.FINANCE_OFFICE,
        Role.MUNICIPAL_COUNCIL,
    }
    assert Role.PUBLIC not in needed  # anyone may respond to a hearing


def test_roles_needed_drops_reference_group_when_both_rounds_are_off() -> None:
    settings = Settings(reference_round_strategies=False, reference_round_measures=False)
    assert Role.REFERENCE_GROUP not in roles_needed(settings)


@pytest.mark.parametrize(("strategies", "measures"), [(True, False), (False, True), (True, True)])
def test_roles_needed_keeps_reference_group_while_one_round_is_on(
    strategies: bool, measures: bool
) -> None:
    settings = Settings(reference_round_strategies=strategies, reference_round_measures=measures)
    assert Role.REFERENCE_GROUP in roles_needed(settings)
