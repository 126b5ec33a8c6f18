"""Messages people read: they say where a plan stands in words that fit it."""

from __future__ import annotations

import pytest

from audit.commands import awaited_line
from domain import commands as cmd
from domain.gates import Awaited, phase_steps
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from domain.refusals import Refusal, RefusalCode
from domain.review_decisions import sign_off
from domain.roles import Role


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
    assert awaited_line(hearing, "en") == "public: anyone may respond (2 response(s) so far)"
    assert awaited_line(hearing) == "allmennheten: alle kan svare (2 uttalelser så langt)"
    round_ = Awaited(role=Role.REFERENCE_GROUP, needed=0, given=1, people=("eva",))
    assert awaited_line(round_, "en") == "reference_group: 1 answered; yet to answer: eva"
    assert awaited_line(round_) == "referansegruppen: 1 har svart; har ikke svart: eva"
    quorum = Awaited(role=Role.STEERING_GROUP, needed=2, given=1, people=("per", "ola"))
    assert awaited_line(quorum, "en") == "steering_group (1 of 2 needed given): per, ola"
    assert awaited_line(quorum) == "styringsgruppen (1 av 2 som trengs): per, ola"
    nobody = Awaited(role=Role.STEERING_GROUP, needed=2, given=2, people=())
    assert awaited_line(nobody) == "styringsgruppen (2 av 2 som trengs): ingen igjen"


def _at_council(plan: PlanDefinition) -> PlanState:
    from datetime import UTC, datetime

    from domain.hierarchy import PlanContent
    from domain.plan_state import ContentVersion

    content = plan.proposals or PlanContent()
    version = ContentVersion(
        version=1,
        phase=Phase.DRAFT,
        content_hash=content.content_hash(),
        content=content,
        submitted_by="kari.nilsen",
        submitted_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    return PlanState(
        plan_id=plan.plan_id,
        definition=plan,
        status="active",
        phase=Phase.ADOPTION,
        under_review=1,
        content_versions=(version,),
    )


def test_adoption_is_refused_when_the_period_is_over_or_too_short(bodo: PlanDefinition) -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from domain.council_decisions import council_decision_alone, council_vote
    from domain.plan import Period

    council = bodo.members(Role.MUNICIPAL_COUNCIL)[0].id
    state = _at_council(bodo)
    current = state.content()
    assert current is not None
    command = cmd.CouncilDecision(
        actor_id=council,
        outcome="adopted",
        content_version=1,
        content_hash=current.content_hash,
    )
    in_time = datetime(2026, 12, 4, 12, tzinfo=UTC)
    alone = council_decision_alone(state, command, in_time, uuid4)
    assert [e.type for e in alone] == ["council_decided", "plan_adopted"]
    assert council_vote(state, command, in_time, uuid4)[0].type == "vote_cast"
    # Runs recorded before votes (one member decides) and voting runs refuse alike.
    for decide in (council_decision_alone, council_vote):
        with pytest.raises(Refusal) as over:
            decide(state, command, datetime(2030, 2, 1, tzinfo=UTC), uuid4)
        assert over.value.code is RefusalCode.INVALID_DECISION
        assert "the planning period 2026-2029 ended on 2029-12-31" in over.value.message
        one_year = bodo.model_copy(update={"period": Period(from_year=2026, to_year=2026)})
        short = state.model_copy(update={"definition": one_year})
        with pytest.raises(Refusal) as too_short:
            decide(short, command, in_time, uuid4)
        assert "before its first yearly revision could run (2027-09-01" in too_short.value.message


def test_a_comment_where_no_round_comes_is_not_told_to_wait(bodo: PlanDefinition) -> None:
    from datetime import UTC, datetime

    from domain.review_decisions import add_comment

    member = bodo.members(Role.REFERENCE_GROUP)[0].id
    at_goals = PlanState(plan_id=bodo.plan_id, definition=bodo, status="active", phase=Phase.GOALS)
    command = cmd.AddComment(actor_id=member, content_version=1, text="Innspill.")
    with pytest.raises(Refusal) as caught:
        add_comment(at_goals, command, datetime(2026, 3, 1, tzinfo=UTC), None)  # type: ignore[arg-type]
    assert caught.value.code is RefusalCode.GATE_NOT_OPEN
    assert "the goals phase has no reference-group round" in caught.value.message
    at_strategies = at_goals.model_copy(update={"phase": Phase.STRATEGIES})
    with pytest.raises(Refusal) as early:
        add_comment(at_strategies, command, datetime(2026, 3, 1, tzinfo=UTC), None)  # type: ignore[arg-type]
    assert early.value.code is RefusalCode.NOT_OPEN_YET
