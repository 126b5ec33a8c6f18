"""The adoption phase's deadline: the meeting the council postponed the item to, else the
day before the period's last yearly revision date (adopted later, the plan would be
refused: its period would end before its first revision)."""

from __future__ import annotations

from datetime import date

from api.web_deadlines import adoption_deadline
from domain.phases import Phase
from domain.plan import PlanDefinition, RevisionDate
from domain.plan_state import PlanState
from domain.rules import period_problems

DEFAULT = RevisionDate(month=3, day=1)


def _in_adoption(plan: PlanDefinition) -> PlanState:
    return PlanState(plan_id=plan.plan_id, definition=plan, status="active", phase=Phase.ADOPTION)


def test_the_last_day_adoption_is_allowed(bodo: PlanDefinition) -> None:
    plan = bodo.model_copy(
        update={"settings": bodo.settings.model_copy(update={"revision_date": None})}
    )
    deadline = adoption_deadline(_in_adoption(plan), DEFAULT)
    assert deadline == date(plan.period.to_year, 2, 28)
    # The rule is the domain's own: adoption on the day is allowed, a day later refused.
    assert period_problems(plan.period, DEFAULT, deadline) == []
    assert period_problems(plan.period, DEFAULT, date(plan.period.to_year, 3, 1)) != []


def test_the_plan_files_revision_date_counts(bodo: PlanDefinition) -> None:
    own = RevisionDate(month=10, day=15)
    plan = bodo.model_copy(
        update={"settings": bodo.settings.model_copy(update={"revision_date": own})}
    )
    assert adoption_deadline(_in_adoption(plan), DEFAULT) == date(plan.period.to_year, 10, 14)


def test_a_postponed_item_is_due_at_its_meeting(bodo: PlanDefinition) -> None:
    state = _in_adoption(bodo).model_copy(update={"postponed_to": date(2027, 2, 11)})
    assert adoption_deadline(state, DEFAULT) == date(2027, 2, 11)


def test_no_adoption_deadline_outside_adoption(bodo: PlanDefinition) -> None:
    hearing = _in_adoption(bodo).model_copy(update={"phase": Phase.HEARING})
    adopted = _in_adoption(bodo).model_copy(update={"status": "adopted"})
    assert adoption_deadline(hearing, DEFAULT) is None
    assert adoption_deadline(adopted, DEFAULT) is None
