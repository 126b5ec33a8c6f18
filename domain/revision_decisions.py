"""Decide the yearly revision (rullering): the schedule's actions and the engine's own
steps (the year's round opens, closes, and gets its scorecard), and what the revision's
people's decisions share (the reporting round in domain.revision_reports, the changes for
next year in domain.revision_changes). Pure, like the plan's decisions (see
domain.refusals): the workflow's validators and handlers call the same functions.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from domain import revision_commands as rc
from domain.events import (
    Event,
    ReportingRoundClosed,
    ReportingRoundOpened,
    ReportReminderRecorded,
    RevisionReminderSent,
    RevisionScheduleChanged,
    RevisionScheduleCreated,
    ScorecardRecorded,
)
from domain.hierarchy import Measure, PlanContent
from domain.ids import revision_year
from domain.plan import Participant, PlanDefinition
from domain.plan_state import PlanState, RevisionRound
from domain.refusals import (
    NewId,
    Refusal,
    RefusalCode,
    _by,
    _by_engine,
    _participant_as,
)
from domain.revision_models import ScheduleAction, ScheduleMade
from domain.roles import Role
from domain.scorecard import compile_scorecard


def _adopted(state: PlanState) -> PlanDefinition:
    if state.definition is None or state.status != "adopted":
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"plan {state.plan_id or '?'} is not adopted; revisions start after adoption",
        )
    return state.definition


def _round(state: PlanState, year: int) -> RevisionRound:
    _adopted(state)
    revision = state.revision(year)
    if revision is None:
        years = ", ".join(str(r.year) for r in state.revisions) or "none yet"
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"there is no revision for {year} in plan {state.plan_id} (revisions: {years})",
        )
    return revision


def _in_force(state: PlanState) -> PlanContent:
    version = state.content(state.in_force_version)
    assert version is not None, "an adopted plan has content in force"
    return version.content


def reporters_for(definition: PlanDefinition, measure: Measure) -> tuple[Participant, ...]:
    """Who reports on a measure: the participants of its responsible unit; where the plan
    names no one in that unit, the project leader reports for it."""
    unit = measure.responsible_unit.casefold()
    members = tuple(
        p for p in definition.participants if p.unit is not None and p.unit.casefold() == unit
    )
    return members or definition.members(Role.PROJECT_LEADER)


def reporters_of(
    definition: PlanDefinition, content: PlanContent, measure_ids: Collection[str] | None = None
) -> tuple[str, ...]:
    """Who reports on the given measures (all when None), each person once."""
    people = [
        p.id
        for measure in content.measures
        if measure_ids is None or measure.id in measure_ids
        for p in reporters_for(definition, measure)
    ]
    return tuple(dict.fromkeys(people))


def revision_recipients(definition: PlanDefinition, content: PlanContent) -> tuple[str, ...]:
    """The project leader and every measure's responsible unit, each person once."""
    leaders = tuple(p.id for p in definition.members(Role.PROJECT_LEADER))
    return tuple(dict.fromkeys(leaders + reporters_of(definition, content)))


# --- the schedule -----------------------------------------------------------------------


def schedule_created(
    state: PlanState, made: ScheduleMade, at: datetime, new_id: NewId
) -> list[Event]:
    _adopted(state)
    return [RevisionScheduleCreated(**_by_engine(at, new_id), **made.model_dump())]


def schedule_action(
    state: PlanState, command: rc.ScheduleCommand, at: datetime, new_id: NewId
) -> list[Event]:
    _adopted(state)
    person = _participant_as(
        state, command.actor_id, Role.SCHEDULER, f"{command.action.value} the revision schedule"
    )
    schedule = state.schedule
    if schedule is None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, f"plan {state.plan_id} has no revision schedule")
    action = command.action
    if action is ScheduleAction.PAUSE:
        if not command.reason.strip():
            raise Refusal(RefusalCode.INVALID_DECISION, "pausing the schedule needs a reason")
        if schedule.paused:
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                f"the schedule is already paused (by {schedule.changed_by}: "
                f"{schedule.pause_reason})",
            )
    elif action is ScheduleAction.UNPAUSE:
        if not schedule.paused:
            raise Refusal(RefusalCode.INVALID_DECISION, "the schedule is not paused")
    elif schedule.paused:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"the schedule is paused ({schedule.pause_reason}); unpause it before you "
            f"{action.value} it",
        )
    if action is ScheduleAction.BACKFILL:
        start, end = command.backfill_from, command.backfill_to
        if start is None or end is None or end <= start:
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                "a backfill needs a time range: --from before --to",
            )
    backfill = action is ScheduleAction.BACKFILL
    failed = trigger_failure(state, at) if action is ScheduleAction.TRIGGER else ""
    return [
        RevisionScheduleChanged(
            **_by(person.id, Role.SCHEDULER, at, new_id),
            schedule_id=schedule.schedule_id,
            action=action,
            reason=command.reason.strip(),
            backfill_from=command.backfill_from if backfill else None,
            backfill_to=command.backfill_to if backfill else None,
            failed=failed,
        )
    ]


def trigger_failure(state: PlanState, at: datetime) -> str:
    """Why a reminder triggered at ``at`` could not start a revision ('' when it can):
    the scheduler is told, and the record keeps it, instead of a reminder that silently
    does nothing."""
    definition = _adopted(state)
    year = revision_year(at)
    period = definition.period
    if not period.contains(year):
        return (
            f"a revision for {year} cannot run: it is outside the planning period "
            f"{period.from_year}-{period.to_year}"
        )
    existing = state.revision(year)
    if existing is not None:
        return (
            f"a revision for {year} cannot run: the revision for {year} already exists "
            f"({existing.workflow_id}); one revision per plan and year"
        )
    return ""


# --- the engine's own steps -------------------------------------------------------------


def open_revision(
    state: PlanState,
    *,
    year: int,
    workflow_id: str,
    scheduled_at: datetime,
    at: datetime,
    new_id: NewId,
    deadline_from: datetime | None = None,
) -> list[Event]:
    """``deadline_from``: when the reporting round's days start counting, the reminder's
    scheduled time (a backfilled year's round runs from its own date, not from today)."""
    definition = _adopted(state)
    period = definition.period
    if not period.contains(year):
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"{year} is outside the planning period {period.from_year}-{period.to_year}",
        )
    if state.revision(year) is not None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, f"the revision for {year} has already begun")
    assert state.in_force_version is not None
    assert state.in_force_hash is not None
    content = _in_force(state)
    deadline = (deadline_from or at) + timedelta(days=definition.settings.reporting_round_days)
    return [
        RevisionReminderSent(
            **_by_engine(at, new_id),
            year=year,
            workflow_id=workflow_id,
            scheduled_at=scheduled_at,
            recipients=revision_recipients(definition, content),
        ),
        ReportingRoundOpened(
            **_by_engine(at, new_id),
            year=year,
            content_version=state.in_force_version,
            content_hash=state.in_force_hash,
            deadline=deadline,
            measure_ids=tuple(m.id for m in content.measures),
        ),
    ]


def close_reporting_round(state: PlanState, year: int, at: datetime, new_id: NewId) -> list[Event]:
    """The deadline passed: unreported measures are marked and their units reminded."""
    revision = _round(state, year)
    if not revision.round_open:
        return []
    definition = _adopted(state)
    reported = revision.latest_reports()
    unreported = tuple(m for m in revision.measure_ids if m not in reported)
    events: list[Event] = [
        ReportingRoundClosed(
            **_by_engine(at, new_id),
            year=year,
            early=False,
            unreported=unreported,
        )
    ]
    if unreported:
        events.append(
            ReportReminderRecorded(
                **_by_engine(at, new_id),
                year=year,
                measure_ids=unreported,
                recipients=reporters_of(definition, round_content(state, revision), unreported),
            )
        )
    return events


def record_scorecard(state: PlanState, year: int, at: datetime, new_id: NewId) -> list[Event]:
    revision = _round(state, year)
    if revision.round_open or revision.scorecard is not None:
        return []
    return [
        ScorecardRecorded(
            **_by_engine(at, new_id),
            year=year,
            scorecard=compile_scorecard(state, revision),
        )
    ]


def round_content(state: PlanState, revision: RevisionRound) -> PlanContent:
    """The plan in force when the year's round opened: what its reports are about."""
    version = state.content(revision.content_version)
    assert version is not None
    return version.content
