"""The revision schedule as Temporal holds it, against the scheduler actions the record
holds. An attested action (`temaplan schedule ...`, the API, the web page) is applied to
the schedule and recorded as a revision_schedule_changed event; the raw `temporal
schedule toggle/trigger/backfill` acts on the schedule alone. What such an action leaves
behind is what this compares:

- paused or not, and the note: an attested pause or unpause sets the note to
  "<actor>: <reason>" (apply_schedule_action); the schedule is created with
  "yearly revision of <plan>". A paused flag or a note that the last recorded pause or
  unpause does not explain was set past the front door.
- the recent runs (Temporal keeps the last ten): a run at one of the calendar's times that
  started on time is the schedule's own; one started later than LATE is a backfill (or a
  catch-up after the server was down), explained only by a recorded backfill whose range
  holds that time; a run at any other time is a trigger, explained only by a recorded
  trigger within TRIGGER_SLACK of it, each recorded trigger explaining one run.

A raw action older than the schedule's last ten runs is seen through the pause state and
the note only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from catalogue import Language, formats, schedule_action_name, t
from domain.events import Event, RevisionScheduleChanged, RevisionScheduleCreated
from domain.ids import schedule_id_for
from domain.revision_models import ScheduleAction

# The events this compares with the schedule.
SCHEDULE_EVENTS = frozenset({"revision_schedule_created", "revision_schedule_changed"})
# A run at a calendar time that starts later than this was not started by the calendar.
LATE = timedelta(minutes=5)
# A recorded trigger explains a run scheduled this close to the time it was decided.
TRIGGER_SLACK = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    scheduled_at: datetime
    started_at: datetime
    workflow_id: str


@dataclass(frozen=True, slots=True)
class DescribedSchedule:
    """What Temporal holds of a plan's revision schedule."""

    schedule_id: str
    paused: bool
    note: str
    recent: tuple[ScheduleRun, ...]


async def describe(client: Client, plan_id: str) -> DescribedSchedule | None:
    """The plan's schedule as Temporal holds it; None when there is none."""
    schedule_id = schedule_id_for(plan_id)
    try:
        described = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    state = described.schedule.state
    return DescribedSchedule(
        schedule_id=schedule_id,
        paused=state.paused,
        note=state.note or "",
        recent=tuple(
            ScheduleRun(a.scheduled_at, a.started_at, getattr(a.action, "workflow_id", ""))
            for a in described.info.recent_actions
        ),
    )


def applied_note(event: RevisionScheduleChanged) -> str:
    """The note an attested pause or unpause sets (apply_schedule_action's)."""
    return f"{event.actor_id}: {event.reason}".strip(": ")


def unattested_actions(
    plan_id: str, events: Sequence[Event], schedule: DescribedSchedule, language: Language = "en"
) -> list[str]:
    """What the schedule shows that no recorded scheduler action explains, each naming
    the schedule and what differs, in ``language``; empty when all is explained."""
    created = next((e for e in events if isinstance(e, RevisionScheduleCreated)), None)
    if created is None:
        return [t("schedule_check.not_created", language, schedule=schedule.schedule_id)]
    actions = [e for e in events if isinstance(e, RevisionScheduleChanged) and not e.failed]
    return _state_problems(plan_id, actions, schedule, language) + _run_problems(
        created, actions, schedule, language
    )


def _at(moment: datetime, language: Language) -> str:
    """A time exactly as recorded in English (ISO 8601); in bokmål as the CLI writes it."""
    return moment.isoformat() if language == "en" else formats.stamp(moment, language)


def _state_problems(
    plan_id: str,
    actions: list[RevisionScheduleChanged],
    schedule: DescribedSchedule,
    language: Language,
) -> list[str]:
    toggles = [a for a in actions if a.action in (ScheduleAction.PAUSE, ScheduleAction.UNPAUSE)]
    last = toggles[-1] if toggles else None
    paused = last is not None and last.action is ScheduleAction.PAUSE
    note = applied_note(last) if last is not None else f"yearly revision of {plan_id}"
    said = (
        t(
            "schedule_check.last_action",
            language,
            action=last.action.value
            if language == "en"
            else schedule_action_name(last.action.value, language),
            actor=last.actor_id,
            at=_at(last.occurred_at, language),
        )
        if last is not None
        else t("schedule_check.no_toggle", language)
    )

    def state(is_paused: bool) -> str:
        return t("verify.schedule_paused" if is_paused else "verify.schedule_active", language)

    if schedule.paused != paused:
        changed = (
            "schedule_check.changed_pause" if schedule.paused else "schedule_check.changed_unpause"
        )
        return [
            t(
                "schedule_check.state_differs",
                language,
                schedule=schedule.schedule_id,
                in_temporal=state(schedule.paused).upper(),
                note=repr(schedule.note),
                recorded=state(paused),
                said=said,
                changed=t(changed, language),
            )
        ]
    if schedule.note != note:
        return [
            t(
                "schedule_check.note_differs",
                language,
                schedule=schedule.schedule_id,
                note=repr(schedule.note),
                recorded_note=repr(note),
                said=said,
            )
        ]
    return []


def _run_problems(
    created: RevisionScheduleCreated,
    actions: list[RevisionScheduleChanged],
    schedule: DescribedSchedule,
    language: Language,
) -> list[str]:
    zone = ZoneInfo(created.time_zone)
    triggers = sorted(
        (a.occurred_at for a in actions if a.action is ScheduleAction.TRIGGER), reverse=True
    )
    backfills = [
        (a.backfill_from, a.backfill_to)
        for a in actions
        if a.action is ScheduleAction.BACKFILL and a.backfill_from and a.backfill_to
    ]
    problems = []
    for run in sorted(schedule.recent, key=lambda r: r.scheduled_at):
        local = run.scheduled_at.astimezone(zone)
        on_calendar = (local.month, local.day, local.hour) == (
            created.month,
            created.day,
            created.hour,
        ) and (local.minute, local.second, local.microsecond) == (0, 0, 0)
        if on_calendar and run.started_at - run.scheduled_at <= LATE:
            continue  # the calendar's own
        if on_calendar:
            if any(start <= run.scheduled_at <= end for start, end in backfills):
                continue
            started = _at(run.started_at, language)
            problems.append(
                _run_problem("schedule_check.late_run", schedule, run, language, started=started)
            )
            continue
        near = [at for at in triggers if abs(at - run.scheduled_at) <= TRIGGER_SLACK]
        if near:
            triggers.remove(min(near, key=lambda at: abs(at - run.scheduled_at)))
            continue
        problems.append(_run_problem("schedule_check.off_calendar", schedule, run, language))
    return problems


def _run_problem(
    key: str,
    schedule: DescribedSchedule,
    run: ScheduleRun,
    language: Language,
    **details: str,
) -> str:
    """A problem with one run, which names it by its schedule, time and workflow."""
    return t(
        key,
        language,
        schedule=schedule.schedule_id,
        scheduled=_at(run.scheduled_at, language),
        workflow=run.workflow_id,
        **details,
    )
