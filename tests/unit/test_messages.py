"""Messages people read: they say where a plan stands in words that fit it."""

from __future__ import annotations

import pytest

from audit.commands import awaited_line
from domain import commands as cmd
from domain.decisions import Refusal, RefusalCode, sign_off
from domain.gates import Awaited, phase_steps
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from domain.state import PlanState


def _refusal(state: PlanState) -> Refusal:
    command = cmd.SignOff(
        actor_id="per.olsen",
        step_key="goals.quality_assurance",
        content_version=1,
        content_hash="x",
    )
    with pytest.raises(Refusal) as caught:
        sign_off(state, command, None, None)  # type: ignore[arg-type]
    return caught.value


def test_a_plan_between_phases_is_not_said_to_wait_at_none(bodo: PlanDefinition) -> None:
    done = tuple(step.key for step in phase_steps(Phase.GOALS, bodo.settings))
    between = PlanState(
        plan_id=bodo.plan_id,
        definition=bodo,
        status="active",
        phase=Phase.GOALS,
        completed_steps=done,
    )
    refusal = _refusal(between)
    assert refusal.code is RefusalCode.GATE_NOT_OPEN
    assert "none" not in refusal.message
    assert "the goals phase is done and the next one is being opened" in refusal.message
    adopted = between.model_copy(update={"status": "adopted"})
    assert "no step: the plan is adopted" in _refusal(adopted).message


def test_awaited_lines_fit_the_step() -> None:
    hearing = Awaited(role=Role.PUBLIC, needed=0, given=2, people=())
    assert awaited_line(hearing) == "public: anyone may respond (2 response(s) so far)"
    round_ = Awaited(role=Role.REFERENCE_GROUP, needed=0, given=1, people=("eva",))
    assert awaited_line(round_) == "reference_group: 1 answered; yet to answer: eva"
    quorum = Awaited(role=Role.STEERING_GROUP, needed=2, given=1, people=("per", "ola"))
    assert awaited_line(quorum) == "steering_group (1 of 2 needed given): per, ola"
