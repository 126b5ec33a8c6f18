"""The auditors' report: one plan's decision record as a single printable HTML page.

The export is evidence. Everything on the page comes from the plan's stored events: the
facts, a timeline figure as inline SVG, every event in the decision table, the hearing
responses with their texts, and the adopted goal -> strategy -> measure hierarchy. This
module reads the record into plain values; the Jinja2 templates
documents/templates/report.html and report_timeline.svg lay them out, with the labels from
the catalogue. The page has no scripts and no web fonts, and it fetches nothing. Every text
from the record is escaped by the template. The report recomputes the hash chain and the adopted
content hash itself and says whether they hold.

``render_report`` is pure: the same events, language and ``generated_at`` always give
the same page. ``export_html`` reads a plan from the store and writes the page to a file
atomically.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import catalogue
from catalogue import Language
from catalogue import formats as fmt
from documents.render import render
from domain.attestation import actor_kind
from domain.canonical import CanonicalFormError
from domain.events import (
    AnchoringRecorded,
    ChangesRequested,
    CommentRecorded,
    CommentRoundClosed,
    CommentRoundOpened,
    ContentAmended,
    ContentRevised,
    ContentSubmitted,
    CouncilDecided,
    DraftStepCompleted,
    Event,
    GoalIndicatorReported,
    HearingClosed,
    HearingDecided,
    HearingOpened,
    HearingResponseReceived,
    HearingSummarySubmitted,
    MeasureChangesProposed,
    MeasureChangesRejected,
    MeasureChangesSignedOff,
    MeasureReported,
    PhaseCompleted,
    PhaseStarted,
    PlanAdopted,
    PlanCreated,
    ReportingRoundClosed,
    ReportingRoundOpened,
    ReportReminderRecorded,
    RevisionConcluded,
    RevisionReminderSent,
    RevisionScheduleChanged,
    RevisionScheduleCreated,
    ScorecardRecorded,
    SignOffGiven,
    VoteCast,
    VoteWithdrawn,
)
from domain.hierarchy import Indicator, Measure, PlanContent
from domain.phases import Phase, step_by_key
from domain.plan import PlanDefinition
from domain.plan_state import ContentVersion, PlanState
from domain.state import fold
from domain.votes import MeetingReference
from eventstore.chain import ChainChecker
from eventstore.records import StoredEvent
from eventstore.store import EventStore
from runtime.formatting import OSLO


def _report_labels(language: Language) -> dict[str, str]:
    """The report's own labels from the shared catalogue (keys ``report.*``)."""
    return {
        key.removeprefix("report."): text
        for key, text in catalogue.labels(language).items()
        if key.startswith("report.")
    }


# Every label on the page comes from the catalogue. Placeholders in braces are filled with
# values from the record; the template escapes the result as a whole.
NB: dict[str, str] = _report_labels("nb")
EN: dict[str, str] = _report_labels("en")
LABELS: dict[str, dict[str, str]] = {"nb": NB, "en": EN}

# Which phase an event belongs to when it does not name one itself.
_PHASE_OF_TYPE: dict[str, Phase] = {
    "draft_step_completed": Phase.DRAFT,
    "hearing_opened": Phase.HEARING,
    "hearing_response_received": Phase.HEARING,
    "hearing_closed": Phase.HEARING,
    "hearing_summary_submitted": Phase.HEARING,
    "hearing_decided": Phase.HEARING,
    "council_decided": Phase.ADOPTION,
    "content_amended": Phase.ADOPTION,
    "plan_adopted": Phase.ADOPTION,
}
# Decisions marked on the timeline (phase starts and ends are the bars themselves);
# rulings get a larger mark and a highlighted row in the decision table.
_MARKED = frozenset(
    {
        "content_submitted",
        "sign_off_given",
        "changes_requested",
        "anchoring_recorded",
        "draft_step_completed",
        "hearing_opened",
        "hearing_closed",
        "hearing_summary_submitted",
        "hearing_decided",
        "vote_cast",
        "vote_withdrawn",
        "council_decided",
        "content_amended",
        "plan_adopted",
    }
)
_AFTER_ADOPTION = (
    RevisionScheduleCreated,
    RevisionScheduleChanged,
    RevisionReminderSent,
    ReportingRoundOpened,
    MeasureReported,
    GoalIndicatorReported,
    ReportingRoundClosed,
    ReportReminderRecorded,
    ScorecardRecorded,
    MeasureChangesProposed,
    MeasureChangesSignedOff,
    MeasureChangesRejected,
    ContentRevised,
    RevisionConcluded,
)
_RULINGS = frozenset(
    {"changes_requested", "hearing_decided", "council_decided", "content_amended", "plan_adopted"}
)
_PHASE_COLOURS: dict[Phase, str] = {
    Phase.GOALS: "#1f77b4",
    Phase.STRATEGIES: "#2a9d8f",
    Phase.MEASURES: "#6a994e",
    Phase.DRAFT: "#b07d00",
    Phase.HEARING: "#c0504d",
    Phase.ADOPTION: "#7b4ea3",
}


class UnknownPlanError(LookupError):
    """The store holds no events for the plan id asked for."""


# --- small helpers -----------------------------------------------------------------------


class _Text:
    """Labels and values in one language, unescaped: the template escapes what it shows."""

    def __init__(self, language: Language) -> None:
        if language not in LABELS:
            raise ValueError(f"language must be one of {', '.join(LABELS)}, not {language!r}")
        self.language = language
        self.labels = LABELS[language]

    def raw(self, key: str, **values: object) -> str:
        text = self.labels[key]
        return text.format(**values) if values else text

    def phase(self, phase: Phase | None) -> str:
        return catalogue.phase_name(phase.value if phase else None, self.language)

    def step(self, step_key: str) -> str:
        try:
            step = step_by_key(step_key)
        except KeyError:
            return step_key
        return step.title_nb if self.language == "nb" else step.title_en

    def role(self, role: str) -> str:
        return catalogue.role_name(role, self.language)

    def moment(self, at: datetime, *, seconds: bool = False) -> str:
        return fmt.moment(at, self.language, seconds=seconds)

    def span(self, start: datetime, end: datetime) -> str:
        """'21. november 2026 kl. 12.21 – 12.40' within a day, both moments in full otherwise."""
        if start.astimezone(OSLO).date() == end.astimezone(OSLO).date():
            return f"{self.moment(start)} – {fmt.clock(end, self.language)}"
        return f"{self.moment(start)} – {self.moment(end)}"

    def decimal(self, value: Decimal) -> str:
        return fmt.number(value, self.language)

    def day(self, at: datetime) -> str:
        return fmt.day(at, self.language)

    def nok(self, amount: int | None) -> str:
        return fmt.money(amount, self.language, unknown=self.raw("unknown_cost"))

    def duration(self, span: timedelta) -> str:
        minutes = span.total_seconds() / 60
        if minutes < 90:
            return self.raw("duration_minutes", n=max(round(minutes), 0) or "<1")
        if minutes < 48 * 60:
            return self.raw("duration_hours", n=round(minutes / 60))
        return self.raw("duration_days", n=round(minutes / 1440))


def _phase_of(event: Event, running: Phase | None) -> Phase | None:
    if isinstance(event, _AFTER_ADOPTION):
        return None  # the yearly revision belongs to no phase of the making of the plan
    own = getattr(event, "phase", None)
    if isinstance(own, Phase):
        return own
    return _PHASE_OF_TYPE.get(event.type, running)


def _describe(text: _Text, event: Event) -> str:  # noqa: PLR0911, PLR0912 - one case per type
    """What the event decided, in words, unescaped."""
    match event:
        case PlanCreated():
            return text.raw("ev_plan_created")
        case PhaseStarted():
            line = text.raw("ev_phase_started", phase=text.phase(event.phase))
            return f"{line} – {event.reason}" if event.reason else line
        case PhaseCompleted():
            return text.raw("ev_phase_completed", phase=text.phase(event.phase))
        case ContentSubmitted():
            content = event.content
            return text.raw(
                "ev_content_submitted",
                goals=len(content.goals),
                strategies=len(content.strategies),
                measures=len(content.measures),
            )
        case CommentRoundOpened():
            return text.raw("ev_comment_round_opened", deadline=text.moment(event.deadline))
        case CommentRecorded():
            return text.raw("ev_comment_recorded", text=event.text)
        case CommentRoundClosed():
            line = text.raw("ev_comment_round_closed", count=event.comment_count)
            return line + (text.raw("early") if event.early else "")
        case SignOffGiven():
            line = text.raw("ev_sign_off_given", step=text.step(event.step_key))
            return f"{line}; {text.raw('note', note=event.comment)}" if event.comment else line
        case ChangesRequested():
            return text.raw(
                "ev_changes_requested", step=text.step(event.step_key), reason=event.reason
            )
        case AnchoringRecorded():
            return text.raw(
                "ev_anchoring_recorded", step=text.step(event.step_key), form=event.form
            )
        case DraftStepCompleted():
            line = text.raw("ev_draft_step_completed", step=text.step(event.step_key))
            return f"{line}; {text.raw('note', note=event.note)}" if event.note else line
        case HearingOpened():
            return text.raw("ev_hearing_opened", deadline=text.moment(event.deadline))
        case HearingResponseReceived():
            who = f"{event.name} ({event.organisation})" if event.organisation else event.name
            return text.raw("ev_hearing_response_received", name=who)
        case HearingClosed():
            line = text.raw("ev_hearing_closed", count=event.response_count)
            return line + (text.raw("early") if event.early else "")
        case HearingSummarySubmitted():
            return text.raw("ev_hearing_summary_submitted")
        case HearingDecided():
            line = text.raw("ev_hearing_decided", outcome=text.raw(f"outcome_{event.outcome}"))
            return _with_votes(text, line, event)
        case CouncilDecided():
            line = text.raw("ev_council_decided", outcome=_outcome(text, event))
            return _with_votes(text, line, event)
        case PlanAdopted():
            return text.raw("ev_plan_adopted", version=event.content_version)
    return _describe_vote(text, event)


def describe(event: Event, language: Language = "nb") -> str:
    """What the event decided, in words of ``language`` (for the CLI's history too)."""
    return _describe(_Text(language), event)


def _outcome(text: _Text, event: CouncilDecided | VoteCast) -> str:
    outcome = text.raw(f"outcome_{event.outcome}", phase=text.phase(event.return_to))
    if event.postponed_to is not None:
        outcome += " " + text.raw("postponed_to", date=event.postponed_to.isoformat())
    return outcome


def _meeting_line(text: _Text, meeting: MeetingReference | None) -> str:
    if meeting is None:
        return ""
    return text.raw("meeting", case=meeting.case_number, date=meeting.meeting_date.isoformat())


def _with_votes(text: _Text, line: str, event: CouncilDecided | HearingDecided) -> str:
    """The body's outcome: who carried it, where it was decided, and why."""
    parts = [line]
    if event.voters:
        parts.append(text.raw("votes_for", voters=", ".join(event.voters), needed=event.needed))
    if event.meeting is not None:
        parts.append(_meeting_line(text, event.meeting))
    if event.reason:
        parts.append(event.reason)
    return " – ".join(parts)


def _describe_vote(text: _Text, event: Event) -> str:
    match event:
        case VoteCast():
            outcome = (
                text.raw(f"outcome_{event.outcome}", phase=text.phase(event.return_to))
                if event.step_key == "adoption.council"
                else text.raw(f"outcome_{event.outcome}")
            )
            if event.postponed_to is not None:
                outcome += " " + text.raw("postponed_to", date=event.postponed_to.isoformat())
            line = text.raw("ev_vote_cast", role=text.role(event.actor_role.value), outcome=outcome)
            parts = [line, _meeting_line(text, event.meeting), event.reason]
            return " – ".join(p for p in parts if p)
        case VoteWithdrawn():
            line = text.raw(
                "ev_vote_withdrawn", step=text.step(event.step_key), reason=event.reason
            )
            if event.return_to is not None:
                line += " – " + text.raw("outcome_returned", phase=text.phase(event.return_to))
            return line
        case ContentAmended():
            line = text.raw(
                "ev_content_amended", version=event.content_version, amends=event.amends_version
            )
            return f"{line} – {event.reason}"
    return _describe_revision(text, event)


def _describe_revision(text: _Text, event: Event) -> str:  # noqa: PLR0911, PLR0912 - one case per type
    match event:
        case RevisionScheduleCreated():
            return text.raw(
                "ev_revision_schedule_created",
                day=event.day,
                month=event.month,
                hour=f"{event.hour:02d}",
                tz=event.time_zone,
                end=text.moment(event.end_at),
            )
        case RevisionScheduleChanged():
            line = text.raw(
                "ev_revision_schedule_changed",
                action=catalogue.schedule_action_name(event.action.value, text.language),
            )
            return f"{line} – {event.reason}" if event.reason else line
        case RevisionReminderSent():
            return text.raw(
                "ev_revision_reminder_sent", year=event.year, count=len(event.recipients)
            )
        case ReportingRoundOpened():
            return text.raw(
                "ev_reporting_round_opened",
                year=event.year,
                count=len(event.measure_ids),
                deadline=text.moment(event.deadline),
            )
        case MeasureReported():
            value = (
                f" ({text.decimal(event.indicator_value)})"
                if event.indicator_value is not None
                else ""
            )
            line = text.raw(
                "ev_measure_reported",
                measure=event.measure_id,
                status=catalogue.status_name(event.status.value, text.language),
            )
            return line + value
        case GoalIndicatorReported():
            return text.raw(
                "ev_goal_indicator_reported", goal=event.goal_id, value=text.decimal(event.value)
            )
        case ReportingRoundClosed():
            return text.raw(
                "ev_reporting_round_closed",
                year=event.year,
                missing=", ".join(event.unreported) or "-",
            )
        case ReportReminderRecorded():
            return text.raw("ev_report_reminder_recorded", count=len(event.measure_ids))
        case ScorecardRecorded():
            card = event.scorecard
            return text.raw(
                "ev_scorecard_recorded", year=event.year, done=card.done, total=card.total
            )
        case MeasureChangesProposed():
            return text.raw("ev_measure_changes_proposed", version=event.content_version)
        case MeasureChangesSignedOff():
            return text.raw("ev_measure_changes_signed_off", version=event.content_version)
        case MeasureChangesRejected():
            return text.raw("ev_measure_changes_rejected", reason=event.reason)
        case ContentRevised():
            return text.raw("ev_content_revised", version=event.content_version)
        case RevisionConcluded():
            return text.raw(
                "ev_revision_concluded",
                year=event.year,
                outcome=catalogue.revision_outcome_name(event.outcome, text.language),
            )
    return event.type  # pragma: no cover - every event type has a case


# --- the parts of the page ---------------------------------------------------------------


@dataclass
class _PhaseRun:
    phase: Phase
    round: int
    start: datetime
    end: datetime | None = None
    reason: str = ""
    marks: list[tuple[int, Event]] = field(default_factory=list)


def _phase_runs(stored: Sequence[StoredEvent], events: Sequence[Event]) -> list[_PhaseRun]:
    runs: list[_PhaseRun] = []
    seen: dict[Phase, int] = {}
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, PhaseStarted):
            if runs:
                runs[-1].end = event.occurred_at
            seen[event.phase] = seen.get(event.phase, 0) + 1
            runs.append(
                _PhaseRun(event.phase, seen[event.phase], event.occurred_at, reason=event.reason)
            )
        elif runs and event.type in _MARKED:
            runs[-1].marks.append((record.version, event))
            if isinstance(event, PlanAdopted):
                runs[-1].end = event.occurred_at
    return runs


def _axis_ticks(start: datetime, end: datetime) -> tuple[list[datetime], str]:
    """Round tick moments between start and end (UTC), at most about eight of them,
    and the strftime format that labels them."""
    span = (end - start).total_seconds()
    steps = (
        (60, "%H:%M"),
        (300, "%H:%M"),
        (900, "%H:%M"),
        (3600, "%H:%M"),
        (6 * 3600, "%d.%m %H:%M"),
        (86400, "DAY"),
        (7 * 86400, "DAY"),
        (14 * 86400, "DAY"),
        (28 * 86400, "DAY"),
        (91 * 86400, "DAY"),
        (365 * 86400, "DAY"),
    )
    step, fmt = steps[-1]
    for seconds, label in steps:
        if span / seconds <= 8:
            step, fmt = seconds, label
            break
    local_start = start.astimezone(OSLO)
    if step >= 86400:
        # Ticks at Oslo midnight, weekly ones on Mondays.
        first = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        if step % (7 * 86400) == 0:
            first -= timedelta(days=first.weekday())
        if first < local_start:
            first += timedelta(seconds=step)
    else:
        epoch = int(start.timestamp())
        first = datetime.fromtimestamp(epoch - epoch % step + step, tz=UTC).astimezone(OSLO)
    ticks: list[datetime] = []
    moment = first
    while moment <= end and len(ticks) < 16:
        ticks.append(moment)
        if step >= 86400:  # whole days on the Oslo calendar, over summer time changes
            moment = (moment.replace(tzinfo=None) + timedelta(seconds=step)).replace(tzinfo=OSLO)
        else:  # elapsed time
            moment = (moment.astimezone(UTC) + timedelta(seconds=step)).astimezone(OSLO)
    return ticks, fmt


def _timeline(text: _Text, title: str, runs: list[_PhaseRun], last: datetime) -> dict[str, Any]:
    """The timeline figure's geometry and words; templates/report_timeline.svg draws it."""
    width, label_w, right = 800, 150, 16
    row_h, bar_y, bar_h, top = 46, 6, 16, 8
    x0, x1 = label_w, width - right
    start = runs[0].start
    end = max(last, start + timedelta(minutes=1))
    total = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return x0 + (x1 - x0) * (at - start).total_seconds() / total

    axis_y = top + row_h * len(runs) + 4
    ticks, tick_format = _axis_ticks(start, end)
    tick_rows = [
        {
            "x": x(tick),
            "label": fmt.short_day(tick, text.language)
            if tick_format == "DAY"
            else fmt.clock(tick, text.language)
            if tick_format == "%H:%M"
            else f"{fmt.short_day(tick, text.language)[:5]} {fmt.clock(tick, text.language)}",
        }
        for tick in ticks
    ]
    rows: list[dict[str, Any]] = []
    described: list[str] = []
    for index, run in enumerate(runs):
        y = top + index * row_h
        run_end = run.end or last
        bx = x(run.start)
        bw = max(x(run_end) - bx, 3.0)
        name = text.phase(run.phase)
        if run.round > 1:
            name += f" ({text.raw('round', n=run.round)})"
        span = text.span(run.start, run_end)
        duration = text.duration(run_end - run.start)
        if run.end is None:
            duration += f", {text.raw('ongoing')}"
        described.append(
            text.raw(
                "timeline_desc_phase",
                phase=name,
                start=text.moment(run.start),
                end=text.moment(run_end),
                duration=duration,
                count=len(run.marks),
            )
        )
        # The dates under the bar: from its start when they fit, else ending at the axis end.
        dates = f"{span} · {duration}"
        anchor, dates_x = ("start", bx) if bx + len(dates) * 6.2 <= x1 else ("end", float(x1))
        marks = [
            {
                "x": x(event.occurred_at),
                "ruling": event.type in _RULINGS,
                "tip": f"v{version} · {text.moment(event.occurred_at)} · {_describe(text, event)}",
            }
            for version, event in run.marks
        ]
        rows.append(
            {
                "phase": run.phase.value,
                "name": name,
                "y": y + bar_y,
                "bx": bx,
                "bw": bw,
                "colour": _PHASE_COLOURS[run.phase],
                "tip": f"{name}: {span} ({duration})",
                "dates": dates,
                "dates_x": dates_x,
                "anchor": anchor,
                "marks": marks,
            }
        )
    return {
        "width": width,
        "height": axis_y + 26 + 30,
        "x0": x0,
        "x1": x1,
        "top": top,
        "axis_y": axis_y,
        "bar_h": bar_h,
        "ticks": tick_rows,
        "rows": rows,
        "legend_y": axis_y + 44,
        "title": text.raw("timeline_title", title=title),
        "desc": text.raw("timeline_desc", phases="; ".join(described)),
    }


def _chain_status(stored: Sequence[StoredEvent]) -> dict[str, Any]:
    """Whether the hash chain holds, recomputed here: ok, or where it breaks and why."""
    checker = ChainChecker(stored[0].stream_id)
    for record in stored:
        try:
            broken = checker.feed(
                version=record.version,
                event_id=str(record.event_id),
                event_type=record.type,
                schema_version=record.schema_version,
                data=record.data,
                actor_id=record.actor_id,
                actor_role=record.actor_role,
                recorded_at=record.recorded_at,
                prev_hash=record.prev_hash,
                stored_hash=record.hash,
            )
        except CanonicalFormError as exc:
            return {"ok": False, "version": record.version, "problem": str(exc)}
        if broken is not None:
            return {"ok": False, "version": broken.version, "problem": broken.problem}
    return {"ok": True, "count": checker.checked}


def _facts(
    text: _Text,
    *,
    state: PlanState,
    definition: PlanDefinition,
    stored: Sequence[StoredEvent],
    events: Sequence[Event],
    adoption: datetime | None,
) -> dict[str, Any]:
    if state.status == "adopted" and adoption is not None:
        status = text.raw("status_adopted", at=text.moment(adoption))
    elif state.status == "active":
        status = text.raw("status_active", phase=text.phase(state.phase))
    else:
        status = text.raw("status_not_started")
    adopted: dict[str, Any] | None = None
    if state.adopted_hash:
        version = state.content(state.adopted_version)
        computed = version.content.content_hash() if version else ""
        adopted = {
            "hash": state.adopted_hash,
            "matches": computed == state.adopted_hash,
            "computed": computed or "?",
        }
    return {
        "plan_id": state.plan_id or stored[0].stream_id,
        "plan_type": text.raw(f"plan_type_{definition.plan_type.value}"),
        "status": status,
        "adopted_version": state.adopted_version,
        "adopted": adopted,
        "count": len(stored),
        "first_hash": stored[0].hash,
        "last_hash": stored[-1].hash,
        "chain": _chain_status(stored),
        "plan_time": f"{text.moment(events[0].occurred_at)} – "
        f"{text.moment(events[-1].occurred_at)}",
        "people": [
            (p.name, p.id, ", ".join(text.role(r.value) for r in p.roles))
            for p in definition.participants
        ],
    }


def _decision_rows(
    text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    running: Phase | None = None
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, PhaseStarted):
            running = event.phase
        content_version = getattr(event, "content_version", None)
        content_hash = getattr(event, "content_hash", None)
        kind = actor_kind(record.actor_role, record.data)
        utc = event.occurred_at.astimezone(UTC)
        rows.append(
            {
                "version": record.version,
                "type": event.type,
                "ruling": event.type in _RULINGS,
                "oslo_day": fmt.short_day(event.occurred_at, text.language),
                "oslo_time": fmt.clock(event.occurred_at, text.language, seconds=True),
                "utc_day": f"{utc:%Y-%m-%d}",
                "utc_time": f"{utc:%H:%M:%S}",
                "actor": record.actor_id,
                "role": text.role(record.actor_role),
                # Whether the front door vouched for who decided (docs/audit-format.md).
                "attested": kind if kind in {"attested", "unattested"} else None,
                "authenticated_by": _authenticated_by(record),
                "decision": _describe(text, event),
                "phase": text.phase(_phase_of(event, running)),
                "content_version": content_version,
                "content_hash": content_hash if isinstance(content_hash, str) else None,
                "hash": record.hash,
            }
        )
    return rows


@dataclass
class _HearingRound:
    opened: tuple[int, HearingOpened] | None = None
    responses: list[tuple[int, HearingResponseReceived]] = field(default_factory=list)
    closed: HearingClosed | None = None
    summaries: list[tuple[int, HearingSummarySubmitted]] = field(default_factory=list)
    decisions: list[tuple[int, HearingDecided]] = field(default_factory=list)


def _hearing_rounds(stored: Sequence[StoredEvent], events: Sequence[Event]) -> list[_HearingRound]:
    rounds: list[_HearingRound] = []
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, HearingOpened):
            rounds.append(_HearingRound(opened=(record.version, event)))
            continue
        if not isinstance(
            event,
            HearingResponseReceived | HearingClosed | HearingSummarySubmitted | HearingDecided,
        ):
            continue
        if not rounds:
            rounds.append(_HearingRound())
        current = rounds[-1]
        if isinstance(event, HearingResponseReceived):
            current.responses.append((record.version, event))
        elif isinstance(event, HearingClosed):
            current.closed = event
        elif isinstance(event, HearingSummarySubmitted):
            current.summaries.append((record.version, event))
        else:
            current.decisions.append((record.version, event))
    return rounds


def _hearings(
    text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for hearing in _hearing_rounds(stored, events):
        facts = []
        if hearing.opened is not None:
            opened = hearing.opened[1]
            facts.append(
                text.raw(
                    "hearing_round_facts",
                    opened=text.moment(opened.occurred_at),
                    version=opened.content_version,
                    deadline=text.moment(opened.deadline),
                )
            )
        if hearing.closed is not None:
            key = "hearing_closed_early" if hearing.closed.early else "hearing_closed_at"
            facts.append(
                text.raw(
                    key,
                    closed=text.moment(hearing.closed.occurred_at),
                    count=hearing.closed.response_count,
                )
            )
        else:
            facts.append(text.raw("hearing_still_open"))
        out.append(
            {
                "facts": " ".join(facts),
                "responses": [
                    {
                        "version": version,
                        "id": r.response_id,
                        "name": r.name,
                        "organisation": r.organisation or "",
                        "text": r.text,
                        "day": fmt.short_day(r.occurred_at, text.language),
                        "time": fmt.clock(r.occurred_at, text.language, seconds=True),
                    }
                    for version, r in hearing.responses
                ],
                "summaries": [
                    {
                        "by": text.raw(
                            "summary_by",
                            actor=s.actor_id,
                            at=text.moment(s.occurred_at),
                            version=version,
                        ),
                        "paragraphs": [p for p in s.summary.split("\n\n") if p.strip()],
                    }
                    for version, s in hearing.summaries
                ],
                "decisions": [
                    {
                        "by": text.raw(
                            "decision_by",
                            actor=", ".join(d.voters) or d.actor_id,
                            at=text.moment(d.occurred_at),
                            version=version,
                            outcome=text.raw(f"outcome_{d.outcome}"),
                        ),
                        "reason": text.raw("reason", reason=d.reason) if d.reason else "",
                    }
                    for version, d in hearing.decisions
                ],
            }
        )
    return out


def _indicator(text: _Text, indicator: Indicator) -> str:
    unit = f" {indicator.unit}" if indicator.unit else ""
    return text.raw(
        "indicator",
        name=indicator.name,
        baseline=f"{text.decimal(indicator.baseline)}{unit}",
        target=f"{text.decimal(indicator.target)}{unit}",
    )


def _measure(text: _Text, measure: Measure) -> dict[str, Any]:
    return {
        "id": measure.id,
        "title": measure.title,
        "completion": measure.completion_criterion,
        "responsible": measure.responsible_unit,
        "due_year": measure.due_year,
        "investment": text.nok(measure.costs.investment_nok),
        "running": text.nok(measure.costs.running_nok_per_year),
        "basis": text.raw(f"basis_{measure.basis.value}"),
        "actor": text.raw(f"actor_{measure.actor.value}"),
        "target_groups": ", ".join(measure.target_groups),
        "indicator": _indicator(text, measure.indicator) if measure.indicator else "",
    }


def _hierarchy(text: _Text, state: PlanState, definition: PlanDefinition) -> dict[str, Any]:
    version: ContentVersion | None
    if state.adopted_version is not None:
        version, heading = state.content(state.adopted_version), text.raw("hierarchy")
    else:
        version, heading = state.latest_content(), text.raw("hierarchy_latest")
    if version is None:
        return {"heading": heading, "version": None}
    content: PlanContent = version.content
    areas = list(definition.target_areas)
    areas += [g.target_area for g in content.goals if g.target_area not in areas]
    tree = []
    for area in areas:
        goals = []
        for goal in (g for g in content.goals if g.target_area == area):
            strategies = [
                {
                    "id": s.id,
                    "title": s.title,
                    "measures": [
                        _measure(text, m) for m in content.measures if m.strategy_id == s.id
                    ],
                }
                for s in content.strategies
                if s.goal_id == goal.id
            ]
            goals.append(
                {
                    "id": goal.id,
                    "title": goal.title,
                    "target_groups": ", ".join(goal.target_groups),
                    "indicator": _indicator(text, goal.indicator) if goal.indicator else "",
                    "strategies": strategies,
                }
            )
        if goals:
            tree.append((area, goals))
    totals = content.cost_totals()
    unknown = content.measures_with_unknown_costs()
    line = text.raw(
        "totals",
        count=len(content.measures),
        investment=text.nok(totals.investment_nok),
        running=text.nok(totals.running_nok_per_year),
    )
    if unknown:
        line += " " + text.raw("totals_exclude", measures=", ".join(unknown))
    return {
        "heading": heading,
        "version": version.version,
        "facts": text.raw(
            "hierarchy_facts",
            version=version.version,
            at=text.moment(version.submitted_at),
            actor=version.submitted_by,
        ),
        "hash": version.content_hash,
        "tree": tree,
        "totals": line,
    }


def _page_label(text: _Text, plan_id: str) -> str:
    # Goes into a CSS string: keep only characters that need no escaping there.
    return re.sub(r"[^A-Za-z0-9._ -]", "", f"{text.raw('page_label')} {plan_id}")


def render_report(
    events: Sequence[StoredEvent],
    *,
    language: Language = "nb",
    generated_at: datetime,
    checkpoint: str | None = None,
) -> str:
    """The report for one plan's stored events, as a self-contained HTML page
    (documents/templates/report.html)."""
    if not events:
        raise ValueError("no events to report: a plan's stream has at least 'plan_created'")
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must carry a time zone")
    text = _Text(language)
    stored = sorted(events, key=lambda e: e.version)
    streams = {e.stream_id for e in stored}
    if len(streams) != 1:
        raise ValueError(f"events of one plan expected, got streams {sorted(streams)}")
    domain_events = [e.to_domain() for e in stored]
    state = fold(domain_events)
    definition = state.definition
    if definition is None:
        raise ValueError(
            f"stream '{stored[0].stream_id}' does not start with 'plan_created'; "
            "the report needs the whole stream"
        )
    adoption = next(
        (e.occurred_at for e in reversed(domain_events) if isinstance(e, PlanAdopted)), None
    )
    runs = _phase_runs(stored, domain_events)
    last = domain_events[-1].occurred_at
    return render(
        "report.html",
        language,
        definition=definition,
        generated=text.raw(
            "generated",
            oslo=text.moment(generated_at),
            utc=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            count=len(stored),
        ),
        revises=text.raw("revises", plan=definition.revises.describe())
        if definition.revises
        else "",
        page_label=_page_label(text, state.plan_id or ""),
        facts=_facts(
            text,
            state=state,
            definition=definition,
            stored=stored,
            events=domain_events,
            adoption=adoption,
        ),
        timeline=_timeline(text, definition.title, runs, last) if runs else None,
        decisions=_decision_rows(text, stored, domain_events),
        hearings=_hearings(text, stored, domain_events),
        hierarchy=_hierarchy(text, state, definition),
        checkpoint=checkpoint,
    )


async def export_html(
    store: EventStore,
    plan_id: str,
    out: Path,
    *,
    language: Language = "nb",
    generated_at: datetime,
    checkpoint: str | None = None,
) -> int:
    """Write the report of ``plan_id`` to ``out`` (atomically: a temporary file in the
    same directory, then a rename) and return the number of events it covers."""
    page, count = await _report_page(
        store, plan_id, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    await asyncio.to_thread(_write_atomically, Path(out), page.encode("utf-8"))
    return count


async def export_pdf(
    store: EventStore,
    plan_id: str,
    out: Path,
    *,
    language: Language = "nb",
    generated_at: datetime,
    checkpoint: str | None = None,
) -> int:
    """As :func:`export_html`, the same page printed to a PDF by WeasyPrint."""
    from documents.pdf import html_to_pdf

    page, count = await _report_page(
        store, plan_id, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    document = await asyncio.to_thread(html_to_pdf, page)
    await asyncio.to_thread(_write_atomically, Path(out), document)
    return count


async def _report_page(
    store: EventStore,
    plan_id: str,
    *,
    language: Language,
    generated_at: datetime,
    checkpoint: str | None,
) -> tuple[str, int]:
    """The report page of ``plan_id`` for both exports, and the number of events it covers."""
    events = [event async for event in store.iter_stream(plan_id)]
    if not events:
        raise UnknownPlanError(
            f"no plan '{plan_id}' in the event store: it has no events under that id "
            "(plan ids look like '1804-boligplan-2026')"
        )
    page = render_report(
        events, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    return page, len(events)


def _write_atomically(out: Path, page: bytes) -> None:
    """A reader of ``out`` sees the old file or the whole new one, never a part."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp makes the file private; a report is for others to read: keep the
            # mode of the file it replaces, or make it readable like any new document.
            mode = stat.S_IMODE(out.stat().st_mode) if out.exists() else 0o644
            os.fchmod(handle.fileno(), mode)
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, out)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _authenticated_by(record: StoredEvent) -> str | None:
    """How the front door authenticated the actor (a token id or an identity provider)."""
    how = record.data.get("authenticated_by")
    return how if isinstance(how, str) and how else None
