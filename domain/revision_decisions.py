"""Decide the yearly revision (rullering): the schedule's actions, the reporting round,
the scorecard and the changes for next year. Pure, like the plan's decisions (see
domain.refusals): the workflow's validators and handlers call the same functions.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from domain import revision_commands as rc
from domain.events import (
    ContentRevised,
    Event,
    MeasureChangesProposed,
    MeasureChangesRejected,
    MeasureChangesSignedOff,
    ReportingRoundClosed,
    ReportingRoundOpened,
    ReportReminderRecorded,
    RevisionConcluded,
    RevisionReminderSent,
    RevisionScheduleChanged,
    RevisionScheduleCreated,
    ScorecardRecorded,
)
from domain.hierarchy import Measure, PlanContent
from domain.ids import revision_year
from domain.phases import Phase
from domain.plan import Participant, PlanDefinition
from domain.plan_state import PlanState, RevisionRound
from domain.refusals import ENGINE, NewId, Refusal, RefusalCode, _participant, _require_role
from domain.revision_models import ChangeKind, ScheduleAction
from domain.roles import Role
from domain.rules import content_problems
from domain.scorecard import compile_scorecard


def _by_engine(at: datetime, new_id: NewId) -> dict[str, Any]:
    """The envelope of an event the process itself decides."""
    return _by(ENGINE, Role.SYSTEM, at, new_id)


def _by(actor_id: str, role: Role, at: datetime, new_id: NewId) -> dict[str, Any]:
    return {"event_id": new_id(), "occurred_at": at, "actor_id": actor_id, "actor_role": role}


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
    state: PlanState,
    *,
    schedule_id: str,
    month: int,
    day: int,
    hour: int,
    time_zone: str,
    end_at: datetime,
    already_existed: bool,
    at: datetime,
    new_id: NewId,
) -> list[Event]:
    _adopted(state)
    return [
        RevisionScheduleCreated(
            **_by_engine(at, new_id),
            schedule_id=schedule_id,
            month=month,
            day=day,
            hour=hour,
            time_zone=time_zone,
            end_at=end_at,
            already_existed=already_existed,
        )
    ]


def schedule_action(
    state: PlanState, command: rc.ScheduleCommand, at: datetime, new_id: NewId
) -> list[Event]:
    _adopted(state)
    person = _participant(state, command.actor_id)
    _require_role(person, Role.SCHEDULER, f"{command.action.value} the revision schedule")
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


def _proposals_open(revision: RevisionRound) -> None:
    if revision.outcome is not None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, f"the revision for {revision.year} is concluded")
    if revision.scorecard is None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"changes for next year are proposed after the {revision.year} scorecard",
        )


def apply_changes(content: PlanContent, command: rc.ProposeChanges) -> PlanContent:
    measures = list(content.measures)
    index = {m.id: i for i, m in enumerate(measures)}
    retired: set[str] = set()
    for number, change in enumerate(command.changes):
        target = change.target_id
        where = f"changes[{number}]"
        if change.kind is ChangeKind.ADD:
            if target in index:
                raise Refusal(
                    RefusalCode.INVALID_CONTENT,
                    f"{where}: measure '{target}' exists already; use 'change' to alter it",
                )
            assert change.measure is not None
            index[target] = len(measures)
            measures.append(change.measure)
        elif target not in index or target in retired:
            raise Refusal(
                RefusalCode.UNKNOWN_ITEM,
                f"{where}: measure '{target}' is not in the plan in force "
                f"(known: {', '.join(sorted(set(index) - retired))})",
            )
        elif change.kind is ChangeKind.CHANGE:
            assert change.measure is not None
            measures[index[target]] = change.measure
        else:
            retired.add(target)
    return content.model_copy(
        update={"measures": tuple(m for m in measures if m.id not in retired)}
    )


def propose_changes(
    state: PlanState, command: rc.ProposeChanges, at: datetime, new_id: NewId
) -> list[Event]:
    definition = _adopted(state)
    person = _participant(state, command.actor_id)
    _require_role(person, Role.PROJECT_LEADER, "propose changes to the measures")
    revision = _round(state, command.year)
    _proposals_open(revision)
    if revision.pending_proposal() is not None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            "a proposal is waiting for the steering group; it must be decided first",
        )
    content = apply_changes(_in_force(state), command)
    problems = content_problems(content, definition, Phase.ADOPTION)
    if problems:
        raise Refusal(
            RefusalCode.INVALID_CONTENT,
            "the changed plan breaks the hierarchy rules: "
            + "; ".join(p.render() for p in problems),
        )
    version = max(v.version for v in state.content_versions) + 1
    return [
        MeasureChangesProposed(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            year=command.year,
            content_version=version,
            content_hash=content.content_hash(),
            changes=command.changes,
            content=content,
        )
    ]


def review_changes(
    state: PlanState, command: rc.ReviewChanges, at: datetime, new_id: NewId
) -> list[Event]:
    """The steering group's quality assurance of next year's changes, with the plan's
    quorum rule for the steering group, as at the phase gates."""
    definition = _adopted(state)
    person = _participant(state, command.actor_id)
    _require_role(person, Role.STEERING_GROUP, "review changes to the measures")
    revision = _round(state, command.year)
    proposal = revision.pending_proposal()
    if proposal is None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, "no proposed changes wait for review")
    if (command.content_version, command.content_hash) != (
        proposal.content_version,
        proposal.content_hash,
    ):
        raise Refusal(
            RefusalCode.STALE_CONTENT,
            f"content version {command.content_version} is not the one under review; "
            f"version {proposal.content_version} with hash {proposal.content_hash} is",
        )
    signed = [s for s in revision.sign_offs if s.content_version == proposal.content_version]
    if any(s.actor_id == person.id for s in signed):
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"'{person.id}' has already signed version {proposal.content_version}",
        )
    if not command.approve:
        if not command.comment.strip():
            raise Refusal(RefusalCode.INVALID_DECISION, "requesting changes needs a reason")
        return [
            MeasureChangesRejected(
                **_by(person.id, Role.STEERING_GROUP, at, new_id),
                year=command.year,
                content_version=proposal.content_version,
                content_hash=proposal.content_hash,
                reason=command.comment.strip(),
            )
        ]
    events: list[Event] = [
        MeasureChangesSignedOff(
            **_by(person.id, Role.STEERING_GROUP, at, new_id),
            year=command.year,
            content_version=proposal.content_version,
            content_hash=proposal.content_hash,
            comment=command.comment.strip(),
        )
    ]
    members = len(definition.members(Role.STEERING_GROUP))
    needed = definition.settings.quorum_for(Role.STEERING_GROUP).required(members)
    if len(signed) + 1 >= needed:
        events += [
            ContentRevised(
                **_by_engine(at, new_id),
                year=command.year,
                content_version=proposal.content_version,
                content_hash=proposal.content_hash,
            ),
            RevisionConcluded(
                **_by_engine(at, new_id),
                year=command.year,
                outcome="revised",
                content_version=proposal.content_version,
            ),
        ]
    return events


def conclude_revision(
    state: PlanState, actor_id: str | None, year: int, at: datetime, new_id: NewId
) -> list[Event]:
    """No changes this year: by the project leader, or by the engine when the time for
    proposals has run out with none pending."""
    revision = _round(state, year)
    _proposals_open(revision)
    if revision.pending_proposal() is not None:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            "a proposal is waiting for the steering group; it must be decided first",
        )
    if actor_id is not None:
        person = _participant(state, actor_id)
        _require_role(person, Role.PROJECT_LEADER, "conclude the revision")
    assert state.in_force_version is not None
    return [
        RevisionConcluded(
            event_id=new_id(),
            occurred_at=at,
            actor_id=actor_id or ENGINE,
            actor_role=Role.PROJECT_LEADER if actor_id else Role.SYSTEM,
            year=year,
            outcome="unchanged",
            content_version=state.in_force_version,
        )
    ]
