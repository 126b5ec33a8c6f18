"""The yearly revision (rullering) as the API and the web page show it: built from the
folded plan state (the store's record), never from the running workflow."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from api.views import PendingDecision, _View
from catalogue import t
from domain.alike import alike
from domain.hierarchy import Measure
from domain.phases import StepKind
from domain.plan import Participant, PlanDefinition
from domain.plan_state import (
    ChangeProposal,
    GoalIndicatorState,
    MeasureReportState,
    PlanState,
    RevisionRound,
    SignOff,
)
from domain.revision_decisions import reporters_for
from domain.revision_models import Scorecard
from domain.roles import Role


class RevisionMeasure(_View):
    """One measure the round asks about, who reports it and what they reported."""

    measure_id: str
    strategy_id: str
    title: str
    completion_criterion: str
    responsible_unit: str
    indicator_name: str | None
    indicator_unit: str | None
    indicator_baseline: Decimal | None
    indicator_target: Decimal | None
    reporters: list[str]
    report: MeasureReportState | None
    mine: bool  # the caller may report (or correct) it
    awaits_me: bool  # the round is open and the caller has not reported it yet


class RevisionView(_View):
    plan_id: str
    year: int
    workflow_id: str
    scheduled_at: datetime
    content_version: int | None
    content_hash: str | None
    round_open: bool
    deadline: datetime | None
    measures: list[RevisionMeasure]
    reports: list[MeasureReportState]  # every report in order; the latest per measure counts
    goal_indicators: list[GoalIndicatorState]
    unreported: list[str]  # measures without a report (so far, or at the deadline)
    reminded: list[str]
    scorecard: Scorecard | None
    proposals: list[ChangeProposal]
    pending_proposal: ChangeProposal | None
    sign_offs: list[SignOff]
    outcome: str | None
    awaiting_me: list[str]  # measure ids that wait for a report from the caller
    review_awaits_me: bool  # a proposal waits for the caller's review (steering group)


def _unit_members(definition: PlanDefinition, measure: Measure) -> tuple[str, ...]:
    unit = measure.responsible_unit.casefold()
    return tuple(
        p.id for p in definition.participants if p.unit is not None and p.unit.casefold() == unit
    )


def report_role(definition: PlanDefinition, measure: Measure, person: Participant) -> Role:
    """The role a report is recorded in: the unit member's own, or the project leader's
    when the leader reports for a unit nobody in the plan belongs to."""
    if person.id in _unit_members(definition, measure):
        return person.roles[0]
    return Role.PROJECT_LEADER


def round_measures(state: PlanState, revision: RevisionRound) -> list[Measure]:
    if revision.content_version is None:
        return []
    version = state.content(revision.content_version)
    if version is None:
        return []
    asked = set(revision.measure_ids)
    return [m for m in version.content.measures if m.id in asked]


def _review_awaits(state: PlanState, revision: RevisionRound, person_id: str) -> bool:
    assert state.definition is not None
    proposal = revision.pending_proposal()
    person = state.definition.participant(person_id)
    if proposal is None or person is None or Role.STEERING_GROUP not in person.roles:
        return False
    return not any(
        s.actor_id == person_id and s.content_version == proposal.content_version
        for s in revision.sign_offs
    )


def revision_view(state: PlanState, revision: RevisionRound, person_id: str) -> RevisionView:
    definition = state.definition
    assert definition is not None
    latest = revision.latest_reports()
    measures: list[RevisionMeasure] = []
    for measure in round_measures(state, revision):
        reporters = [p.id for p in reporters_for(definition, measure)]
        mine = person_id in reporters
        indicator = measure.indicator
        measures.append(
            alike(
                RevisionMeasure,
                measure,
                measure_id=measure.id,
                indicator_name=indicator.name if indicator else None,
                indicator_unit=indicator.unit if indicator else None,
                indicator_baseline=indicator.baseline if indicator else None,
                indicator_target=indicator.target if indicator else None,
                reporters=reporters,
                report=latest.get(measure.id),
                mine=mine,
                awaits_me=mine and revision.round_open and measure.id not in latest,
            )
        )
    version = state.content(revision.content_version) if revision.content_version else None
    return alike(
        RevisionView,
        revision,
        plan_id=state.plan_id or "",
        content_hash=version.content_hash if version else None,
        measures=measures,
        unreported=[m for m in revision.measure_ids if m not in latest],
        pending_proposal=revision.pending_proposal(),
        awaiting_me=[m.measure_id for m in measures if m.awaits_me],
        review_awaits_me=_review_awaits(state, revision, person_id),
    )


def revision_pending_for(person_id: str, state: PlanState) -> list[PendingDecision]:
    """What a yearly revision waits for from the person: each measure they report in an
    open round (with the round's deadline), and a proposal for the steering group."""
    definition = state.definition
    if definition is None or state.status != "adopted":
        return []
    person = definition.participant(person_id)
    if person is None:
        return []
    pending: list[PendingDecision] = []
    for revision in state.revisions:
        year = revision.year
        if revision.round_open:
            version = state.content(revision.content_version)
            latest = revision.latest_reports()
            for measure in round_measures(state, revision):
                if measure.id in latest:
                    continue
                if person_id not in [p.id for p in reporters_for(definition, measure)]:
                    continue
                about = {"year": year, "measure": measure.id, "title": measure.title}
                pending.append(
                    PendingDecision(
                        kind="revision_report",
                        plan_id=definition.plan_id,
                        plan_title=definition.title,
                        phase=None,
                        step_key=f"revision.{year}.report",
                        step_kind=None,
                        step_title_nb=t("pending.revision_report", "nb", **about),
                        step_title_en=t("pending.revision_report", "en", **about),
                        role=report_role(definition, measure, person),
                        content_version=revision.content_version,
                        content_hash=version.content_hash if version else None,
                        deadline=revision.deadline,
                        revision_year=year,
                        measure_id=measure.id,
                    )
                )
        proposal = revision.pending_proposal()
        if proposal is not None and _review_awaits(state, revision, person_id):
            pending.append(
                PendingDecision(
                    kind="revision_review",
                    plan_id=definition.plan_id,
                    plan_title=definition.title,
                    phase=None,
                    step_key=f"revision.{year}.quality_assurance",
                    step_kind=StepKind.SIGN_OFF,
                    step_title_nb=t("pending.revision_review", "nb", year=year),
                    step_title_en=t("pending.revision_review", "en", year=year),
                    role=Role.STEERING_GROUP,
                    content_version=proposal.content_version,
                    content_hash=proposal.content_hash,
                    deadline=None,
                    revision_year=year,
                )
            )
    return pending
