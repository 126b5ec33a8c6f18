"""The API answers with the step's title in both languages as before, now from the
catalogue: the domain's status names the step by key only."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from api.views import pending_for, status_view, summary
from domain.events import PlanCreated
from domain.gates import plan_status
from domain.phases import Phase
from domain.plan import PlanDefinition, RevisionDate
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import fold
from tests.unit.conftest import opened

T0 = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)


def at_goals(plan: PlanDefinition) -> PlanState:
    return fold(opened(plan, Phase.GOALS, T0))


def test_the_status_summary_and_pending_carry_the_catalogues_step_titles(
    bodo: PlanDefinition,
) -> None:
    state = at_goals(bodo)
    domain_status = plan_status(state).model_dump(mode="json")
    assert "step_title_nb" not in domain_status
    answered = status_view(state).model_dump(mode="json")
    assert answered == {
        **domain_status,
        "step_title_nb": "Prosjektleder legger fram mål",
        "step_title_en": "Project leader submits the goals",
    }
    plan_summary = summary(state)
    assert plan_summary.step_key == "goals.submit"
    assert plan_summary.step_title_nb == "Prosjektleder legger fram mål"
    assert plan_summary.step_title_en == "Project leader submits the goals"
    leader = bodo.members(Role.PROJECT_LEADER)[0].id
    (pending,) = pending_for(leader, state, RevisionDate(month=1, day=15))
    assert (pending.step_title_nb, pending.step_title_en) == (
        "Prosjektleder legger fram mål",
        "Project leader submits the goals",
    )


def test_a_plan_without_a_step_answers_no_title(bodo: PlanDefinition) -> None:
    system = {"actor_id": "temaplan", "actor_role": Role.SYSTEM}
    created = PlanCreated(
        event_id=UUID(int=1), occurred_at=T0, plan_id=bodo.plan_id, definition=bodo, **system
    )
    answered = status_view(fold([created]))
    assert answered.step_key is None
    assert (answered.step_title_nb, answered.step_title_en) == (None, None)
