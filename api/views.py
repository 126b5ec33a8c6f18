"""What the API answers with: pydantic models built from the folded plan state."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import catalogue
from api.web_deadlines import adoption_deadline
from domain import gates
from domain.alike import alike
from domain.gates import Awaited, plan_status
from domain.hierarchy import Goal, Measure, PlanContent, Strategy
from domain.phases import PHASE_ORDER, Phase, StepKind
from domain.plan import RevisionDate
from domain.plan_state import ContentVersion, PlanState
from domain.roles import Role


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


def _step_title(step_key: str | None, language: catalogue.Language) -> str | None:
    """The step's title from the catalogue, which the API has always answered beside its
    key (the domain names a step by key only); none without a step."""
    return catalogue.step_title(step_key, language) if step_key is not None else None


class PlanStatus(gates.PlanStatus):
    """The folded plan status as the API answers it: the domain's, with the step's titles.
    Named as the domain's, so the API's schema and its clients see the model they knew."""

    step_title_nb: str | None
    step_title_en: str | None


def status_view(state: PlanState) -> PlanStatus:
    status = plan_status(state)
    return PlanStatus.model_validate(
        {
            **dict(status),
            "step_title_nb": _step_title(status.step_key, "nb"),
            "step_title_en": _step_title(status.step_key, "en"),
        }
    )


class PlanSummary(_View):
    plan_id: str
    title: str
    municipality: str
    municipality_number: str
    status: str
    phase: Phase | None
    step_key: str | None
    step_title_nb: str | None
    step_title_en: str | None
    awaited_roles: list[str]
    awaited: tuple[Awaited, ...]
    content_version: int | None
    comment_round_deadline: datetime | None
    hearing_deadline: datetime | None
    hearing_open: bool
    my_roles: list[Role]


def summary(state: PlanState, my_roles: tuple[Role, ...] = ()) -> PlanSummary:
    assert state.definition is not None
    status = plan_status(state)
    return alike(
        PlanSummary,
        status,
        municipality=state.definition.municipality.name,
        municipality_number=state.definition.municipality.number,
        step_title_nb=_step_title(status.step_key, "nb"),
        step_title_en=_step_title(status.step_key, "en"),
        awaited_roles=status.awaited_roles,
        my_roles=list(my_roles),
    )


class PendingDecision(_View):
    """One thing that waits for the person: where, what, in which role, on which version.

    ``kind`` says which: a step of the plan's process, a measure to report in a yearly
    revision's open reporting round, or a revision's proposed changes to review."""

    kind: Literal["plan_step", "revision_report", "revision_review"] = "plan_step"
    plan_id: str
    plan_title: str
    phase: Phase | None
    step_key: str
    step_kind: StepKind | None = Field(description="none for a measure to report")
    step_title_nb: str
    step_title_en: str
    role: Role
    content_version: int | None
    content_hash: str | None
    deadline: datetime | date | None = Field(
        description="by when: a moment (a comment round's, a hearing's or a reporting "
        "round's end), or a day (the council's: the meeting a postponed item goes to, "
        "else the day before the first yearly revision after the planning period)"
    )
    revision_year: int | None = None
    measure_id: str | None = None


def pending_for(
    person_id: str, state: PlanState, revision_date: RevisionDate
) -> list[PendingDecision]:
    """What the plan's current step waits for from the person, each with the step's
    deadline; ``revision_date`` is the deployment's, for a plan file that names none
    (the council's deadline follows from it, api/web_deadlines.py)."""
    status = plan_status(state)
    if status.step_key is None or status.step_kind is None:
        return []
    # The round or the hearing shows a moment before the engine opens it: not yet actionable.
    if status.step_kind is StepKind.COMMENT_ROUND and status.comment_round_deadline is None:
        return []
    deadline = (
        status.comment_round_deadline
        if status.step_kind is StepKind.COMMENT_ROUND
        else status.hearing_deadline
        if status.step_kind is StepKind.HEARING
        else adoption_deadline(state, revision_date)
    )
    return [
        alike(
            PendingDecision,
            status,
            plan_title=status.title,
            step_title_nb=catalogue.step_title(status.step_key, "nb"),
            step_title_en=catalogue.step_title(status.step_key, "en"),
            role=waiting.role,
            deadline=deadline,
        )
        for waiting in status.awaited
        if person_id in waiting.people
    ]


class MeasureNode(_View):
    measure: Measure


class StrategyNode(_View):
    strategy: Strategy
    measures: list[Measure]


class GoalNode(_View):
    goal: Goal
    strategies: list[StrategyNode]


class ContentView(_View):
    """The content under review as a goal -> strategy -> measure tree."""

    plan_id: str
    version: int
    phase: Phase
    content_hash: str
    submitted_by: str
    submitted_at: datetime
    under_review: bool
    adopted: bool
    tree: list[GoalNode]
    analysis: str


def tree(content: PlanContent) -> list[GoalNode]:
    return [
        GoalNode(
            goal=goal,
            strategies=[
                StrategyNode(
                    strategy=strategy,
                    measures=[m for m in content.measures if m.strategy_id == strategy.id],
                )
                for strategy in content.strategies
                if strategy.goal_id == goal.id
            ],
        )
        for goal in content.goals
    ]


def content_view(state: PlanState, version: ContentVersion) -> ContentView:
    return alike(
        ContentView,
        version,
        plan_id=state.plan_id or "",
        under_review=state.under_review == version.version,
        adopted=state.adopted_version == version.version,
        tree=tree(version.content),
        analysis=version.content.analysis,
    )


class PhaseMark(_View):
    phase: Phase
    title_nb: str
    title_en: str
    state: Literal["done", "current", "coming"]  # also the page's label (plan.html)


def timeline(state: PlanState) -> list[PhaseMark]:
    current = state.phase.order if state.phase else -1
    adopted = state.status == "adopted"
    return [
        PhaseMark(
            phase=phase,
            title_nb=catalogue.phase_name(phase.value, "nb"),
            title_en=catalogue.phase_name(phase.value, "en"),
            state="done"
            if adopted or phase.order < current
            else "current"
            if phase.order == current
            else "coming",
        )
        for phase in PHASE_ORDER
    ]


class PlanDetail(_View):
    summary: PlanSummary
    status: PlanStatus
    timeline: list[PhaseMark]
    pending_for_me: list[PendingDecision]


class PublicHearing(_View):
    """What anyone may read while a plan is on hearing."""

    plan_id: str
    title: str
    municipality: str
    hearing_open: bool
    hearing_deadline: datetime | None
    responses_so_far: int
    draft: ContentView | None


class HearingReceipt(_View):
    receipt_number: str
    plan_id: str
    version: int
    hash: str
    recorded_at: datetime
    response_id: str
    # The response's leaf in the Merkle log; its inclusion proof is at
    # /api/log/inclusion/{event_id}.
    event_id: str | None = None
    leaf_index: int | None = None
    # The same request sent again (its Idempotency-Key, or the same response without
    # one): this is the original receipt, and nothing new was recorded.
    duplicate: bool = False
    # The receipt goes to the e-mail address the request gave (queued once per response).
    emailed: bool = False


def people_names(state: PlanState) -> dict[str, tuple[str, tuple[Role, ...]]]:
    """Each participant's name and roles from the plan file, by id: the page shows people
    by name; the id stays for auditors."""
    if state.definition is None:
        return {}
    return {p.id: (p.name, tuple(p.roles)) for p in state.definition.participants}
