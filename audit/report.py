"""The auditors' report: one plan's decision record as a single printable HTML page.

The export is evidence. Everything on the page comes from the plan's stored events: the
facts, a timeline figure drawn here as inline SVG, every event in the decision table,
the hearing responses with their texts, and the adopted goal -> strategy -> measure
hierarchy. The page has no scripts and no web fonts, and it fetches nothing. Every text
from the record is escaped. The report recomputes the hash chain and the adopted
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
from html import escape
from pathlib import Path
from zoneinfo import ZoneInfo

import catalogue
from catalogue import Language
from catalogue import formats as fmt
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
from domain.state import ContentVersion, PlanState, fold
from domain.votes import MeetingReference
from eventstore.chain import ChainChecker
from eventstore.store import EventStore, StoredEvent

OSLO = ZoneInfo("Europe/Oslo")


def _report_labels(language: Language) -> dict[str, str]:
    """The report's own labels from the shared catalogue (keys ``report.*``)."""
    return {
        key.removeprefix("report."): text
        for key, text in catalogue.labels(language).items()
        if key.startswith("report.")
    }


# Every label on the page comes from the catalogue. Placeholders in braces are filled with
# values from the record and the result is escaped as a whole.
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
    """Labels in one language; every result is escaped, values included."""

    def __init__(self, language: Language) -> None:
        if language not in LABELS:
            raise ValueError(f"language must be one of {', '.join(LABELS)}, not {language!r}")
        self.language = language
        self.labels = LABELS[language]

    def raw(self, key: str, **values: object) -> str:
        text = self.labels[key]
        return text.format(**values) if values else text

    def __call__(self, key: str, **values: object) -> str:
        return escape(self.raw(key, **values))

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
        return fmt.money(amount, self.language, unknown=self("unknown_cost"))

    def duration(self, span: timedelta) -> str:
        minutes = span.total_seconds() / 60
        if minutes < 90:
            return self.raw("duration_minutes", n=max(round(minutes), 0) or "<1")
        if minutes < 48 * 60:
            return self.raw("duration_hours", n=round(minutes / 60))
        return self.raw("duration_days", n=round(minutes / 1440))


def _utc_cell(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc:%Y-%m-%d}<br>{utc:%H:%M:%S}"


def _oslo_cell(text: _Text, at: datetime) -> str:
    day = fmt.short_day(at, text.language)
    return f"{day}<br>{fmt.clock(at, text.language, seconds=True)}"


def _short(value: str | None, length: int = 12) -> str:
    if not value:
        return ""
    return f'<code class="hash" title="{escape(value)}">{escape(value[:length])}</code>'


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


def _timeline_svg(text: _Text, title: str, runs: list[_PhaseRun], last: datetime) -> str:
    width, label_w, right = 800, 150, 16
    row_h, bar_y, bar_h, top = 46, 6, 16, 8
    x0, x1 = label_w, width - right
    start = runs[0].start
    end = max(last, start + timedelta(minutes=1))
    total = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return x0 + (x1 - x0) * (at - start).total_seconds() / total

    axis_y = top + row_h * len(runs) + 4
    height = axis_y + 26 + 30
    parts: list[str] = []
    described: list[str] = []
    # Grid and axis first, so the bars and marks are drawn over them.
    ticks, fmt = _axis_ticks(start, end)
    day_fmt = "%d.%m.%Y" if text.language == "nb" else "%Y-%m-%d"
    for tick in ticks:
        tx = x(tick)
        label = tick.strftime(day_fmt if fmt == "DAY" else fmt)
        parts.append(
            f'<line class="grid" x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{axis_y}"/>'
            f'<text class="tick" x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append(f'<line class="axis" x1="{x0}" y1="{axis_y}" x2="{x1}" y2="{axis_y}"/>')
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
        colour = _PHASE_COLOURS[run.phase]
        parts.append(
            f'<g class="phase-row" data-phase="{escape(run.phase.value)}">'
            f'<text class="phase-name" x="8" y="{y + bar_y + 13}">{escape(name)}</text>'
            f'<rect class="phase-bar" x="{bx:.1f}" y="{y + bar_y}" width="{bw:.1f}" '
            f'height="{bar_h}" rx="2" fill="{colour}">'
            f"<title>{escape(name)}: {escape(span)} ({escape(duration)})</title></rect>"
        )
        # The dates under the bar: from its start when they fit, else ending at the axis end.
        dates = f"{span} · {duration}"
        estimate = len(dates) * 6.2
        anchor, tx = ("start", bx) if bx + estimate <= x1 else ("end", float(x1))
        parts.append(
            f'<text class="phase-dates" x="{tx:.1f}" y="{y + bar_y + bar_h + 14}" '
            f'text-anchor="{anchor}">{escape(dates)}</text>'
        )
        for version, event in run.marks:
            mx = x(event.occurred_at)
            tip = f"v{version} · {text.moment(event.occurred_at)} · {_describe(text, event)}"
            if event.type in _RULINGS:
                cy = y + bar_y + bar_h / 2
                parts.append(
                    f'<path class="mark ruling" d="M{mx:.1f} {cy - 8:.1f} l6 8 l-6 8 l-6 -8 z">'
                    f"<title>{escape(tip)}</title></path>"
                )
            else:
                parts.append(
                    f'<line class="mark" x1="{mx:.1f}" y1="{y + bar_y - 3}" x2="{mx:.1f}" '
                    f'y2="{y + bar_y + bar_h + 3}"><title>{escape(tip)}</title></line>'
                )
        parts.append("</g>")
    # Legend under the axis.
    ly = axis_y + 44
    parts.append(
        f'<g class="legend"><rect x="{x0}" y="{ly - 10}" width="22" height="10" rx="2" '
        f'fill="#888"/><text x="{x0 + 28}" y="{ly}">{text("legend_phase")}</text>'
        f'<line class="mark" x1="{x0 + 110}" y1="{ly - 12}" x2="{x0 + 110}" y2="{ly + 2}"/>'
        f'<text x="{x0 + 118}" y="{ly}">{text("legend_decision")}</text>'
        f'<path class="mark ruling" d="M{x0 + 230} {ly - 13} l6 8 l-6 8 l-6 -8 z"/>'
        f'<text x="{x0 + 242}" y="{ly}">{text("legend_key")}</text></g>'
    )
    svg_title = text("timeline_title", title=title)
    desc = text("timeline_desc", phases="; ".join(described))
    return (
        f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="timeline-title timeline-desc" '
        f'preserveAspectRatio="xMinYMin meet">'
        f'<title id="timeline-title">{svg_title}</title>'
        f'<desc id="timeline-desc">{desc}</desc>' + "".join(parts) + "</svg>"
    )


def _chain_status(text: _Text, stored: Sequence[StoredEvent]) -> str:
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
            return (
                '<strong class="bad">'
                + text("chain_broken", version=record.version, problem=str(exc))
                + "</strong>"
            )
        if broken is not None:
            return (
                '<strong class="bad">'
                + text("chain_broken", version=broken.version, problem=broken.problem)
                + "</strong>"
            )
    return '<span class="ok">' + text("chain_ok", count=checker.checked) + "</span>"


def _facts(
    text: _Text,
    *,
    state: PlanState,
    definition: PlanDefinition,
    stored: Sequence[StoredEvent],
    events: Sequence[Event],
    adoption: datetime | None,
) -> str:
    if state.status == "adopted" and adoption is not None:
        status = text("status_adopted", at=text.moment(adoption))
    elif state.status == "active":
        status = text("status_active", phase=text.phase(state.phase))
    else:
        status = text("status_not_started")
    adopted_hash = text("none")
    if state.adopted_hash:
        adopted = state.content(state.adopted_version)
        computed = adopted.content.content_hash() if adopted else ""
        check = (
            f'<span class="ok">{text("hash_matches")}</span>'
            if computed == state.adopted_hash
            else f'<strong class="bad">{text("hash_differs", computed=computed or "?")}</strong>'
        )
        adopted_hash = f'<code class="hash">{escape(state.adopted_hash)}</code><br>{check}'
    rows = [
        ("plan_id", f"<code>{escape(state.plan_id or stored[0].stream_id)}</code>"),
        ("municipality", escape(definition.municipality.name)),
        ("municipality_number", escape(definition.municipality.number)),
        ("title", escape(definition.title)),
        ("plan_type", text(f"plan_type_{definition.plan_type.value}")),
        ("period", f"{definition.period.from_year}–{definition.period.to_year}"),
        ("target_areas", "<br>".join(escape(a) for a in definition.target_areas)),
        ("status", status),
        (
            "adopted_version",
            str(state.adopted_version) if state.adopted_version else text("none"),
        ),
        ("adopted_hash", adopted_hash),
        ("event_count", str(len(stored))),
        ("first_hash", f'<code class="hash">{escape(stored[0].hash)}</code>'),
        ("last_hash", f'<code class="hash">{escape(stored[-1].hash)}</code>'),
        ("chain", _chain_status(text, stored)),
        (
            "plan_time",
            f"{escape(text.moment(events[0].occurred_at))} – "
            f"{escape(text.moment(events[-1].occurred_at))}",
        ),
    ]
    facts = "".join(
        f"<tr><th scope='row'>{text(key)}</th><td>{value}</td></tr>" for key, value in rows
    )
    people = "".join(
        f"<tr><td>{escape(p.name)}</td><td><code>{escape(p.id)}</code></td>"
        f"<td>{escape(', '.join(text.role(r.value) for r in p.roles))}</td></tr>"
        for p in definition.participants
    )
    return (
        f'<section id="facts"><h2>{text("facts")}</h2>'
        f'<table class="facts"><tbody>{facts}</tbody></table>'
        f"<h3>{text('participants')}</h3>"
        f'<table class="participants"><thead><tr><th scope="col">{text("name")}</th>'
        f'<th scope="col">{text("id")}</th><th scope="col">{text("roles")}</th></tr></thead>'
        f"<tbody>{people}</tbody></table></section>"
    )


def _attested_mark(text: _Text, record: StoredEvent) -> str:
    """Whether the front door vouched for who decided (docs/audit-format.md)."""
    kind = actor_kind(record.actor_role, record.data)
    if kind not in {"attested", "unattested"}:
        return ""
    return f'<br><span class="actor-{kind}" data-actor="{kind}">{text("actor_" + kind)}</span>'


def _decision_table(text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]) -> str:
    rows: list[str] = []
    running: Phase | None = None
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, PhaseStarted):
            running = event.phase
        phase = _phase_of(event, running)
        content_version = getattr(event, "content_version", None)
        content_hash = getattr(event, "content_hash", None)
        css = ' class="ruling"' if event.type in _RULINGS else ""
        rows.append(
            f'<tr id="event-{record.version}" data-version="{record.version}"'
            f' data-type="{escape(event.type)}"{css}>'
            f'<td class="num">{record.version}</td>'
            f"<td>{_oslo_cell(text, event.occurred_at)}</td>"
            f"<td>{_utc_cell(event.occurred_at)}</td>"
            f'<td><span class="actor">{escape(record.actor_id)}</span><br>'
            f'<span class="role">{escape(text.role(record.actor_role))}</span>'
            f"{_attested_mark(text, record)}</td>"
            f"<td>{escape(_describe(text, event))}</td>"
            f"<td>{escape(text.phase(phase))}</td>"
            f'<td class="num">{content_version if content_version is not None else ""}</td>'
            f"<td>{_short(content_hash if isinstance(content_hash, str) else None)}</td>"
            f"<td>{_short(record.hash)}</td></tr>"
        )
    columns = (
        ("col_version", "c-ver"),
        ("col_oslo", "c-time"),
        ("col_utc", "c-time"),
        ("col_actor", "c-actor"),
        ("col_decision", "c-decision"),
        ("col_phase", "c-phase"),
        ("col_content_version", "c-cv"),
        ("col_content_hash", "c-hash"),
        ("col_event_hash", "c-hash"),
    )
    colgroup = "".join(f'<col class="{css}">' for _key, css in columns)
    head = "".join(f'<th scope="col">{text(key)}</th>' for key, _css in columns)
    return (
        f'<section id="decisions"><h2>{text("decisions")}</h2>'
        f'<p class="caption">{text("decisions_caption", count=len(stored))}</p>'
        f'<table class="decisions"><colgroup>{colgroup}</colgroup>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


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


def _paragraphs(value: str) -> str:
    return "".join(f"<p>{escape(part)}</p>" for part in value.split("\n\n") if part.strip())


def _hearing(text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]) -> str:
    rounds = _hearing_rounds(stored, events)
    out = [f'<section id="hearing"><h2>{text("hearing")}</h2>']
    if not rounds:
        out.append(f"<p>{text('no_hearing')}</p></section>")
        return "".join(out)
    for number, hearing in enumerate(rounds, start=1):
        out.append(f'<div class="round"><h3>{text("hearing_round", n=number)}</h3><p>')
        if hearing.opened is not None:
            opened = hearing.opened[1]
            out.append(
                text(
                    "hearing_round_facts",
                    opened=text.moment(opened.occurred_at),
                    version=opened.content_version,
                    deadline=text.moment(opened.deadline),
                )
            )
        if hearing.closed is not None:
            key = "hearing_closed_early" if hearing.closed.early else "hearing_closed_at"
            out.append(
                " "
                + text(
                    key,
                    closed=text.moment(hearing.closed.occurred_at),
                    count=hearing.closed.response_count,
                )
            )
        else:
            out.append(" " + text("hearing_still_open"))
        out.append("</p></div>")
        if hearing.responses:
            body = "".join(
                f'<tr id="response-{escape(r.response_id)}"><td class="num">{version}</td>'
                f"<td>{escape(r.name)}</td><td>{escape(r.organisation or '')}</td>"
                f'<td class="response-text">{escape(r.text)}</td>'
                f"<td>{_oslo_cell(text, r.occurred_at)}</td></tr>"
                for version, r in hearing.responses
            )
            out.append(
                '<table class="responses"><thead><tr>'
                f'<th scope="col">{text("col_version")}</th>'
                f'<th scope="col">{text("name")}</th>'
                f'<th scope="col">{text("col_organisation")}</th>'
                f'<th scope="col">{text("col_response")}</th>'
                f'<th scope="col">{text("col_received")}</th>'
                f"</tr></thead><tbody>{body}</tbody></table>"
            )
        else:
            out.append(f"<p>{text('hearing_none')}</p>")
        out.append(f'<div class="weighing"><h4>{text("weighing")}</h4>')
        for version, summary in hearing.summaries:
            out.append(
                '<div class="summary"><p class="by">'
                + text(
                    "summary_by",
                    actor=summary.actor_id,
                    at=text.moment(summary.occurred_at),
                    version=version,
                )
                + f"</p><blockquote>{_paragraphs(summary.summary)}</blockquote></div>"
            )
        if not hearing.summaries:
            out.append(f"<p>{text('no_summary')}</p>")
        for version, decided in hearing.decisions:
            out.append(
                '<p class="decided"><strong>'
                + text(
                    "decision_by",
                    actor=", ".join(decided.voters) or decided.actor_id,
                    at=text.moment(decided.occurred_at),
                    version=version,
                    outcome=text.raw(f"outcome_{decided.outcome}"),
                )
                + "</strong>"
                + (f"<br>{text('reason', reason=decided.reason)}" if decided.reason else "")
                + "</p>"
            )
        if not hearing.decisions:
            out.append(f"<p>{text('no_decision')}</p>")
        out.append("</div>")
    out.append("</section>")
    return "".join(out)


def _indicator(text: _Text, indicator: Indicator) -> str:
    unit = f" {indicator.unit}" if indicator.unit else ""
    return text(
        "indicator",
        name=indicator.name,
        baseline=f"{text.decimal(indicator.baseline)}{unit}",
        target=f"{text.decimal(indicator.target)}{unit}",
    )


def _item_id(text: _Text, kind: str, item_id: str) -> str:
    return f'{text(kind)} <code class="item-id">{escape(item_id)}</code>'


def _measure(text: _Text, measure: Measure) -> str:
    """A measure and its facts, two facts to a row so that a measure stays short in print."""

    def pair(key: str, value: str, span: int = 1) -> str:
        return f"<th scope='row'>{text(key)}</th><td colspan='{span}'>{value}</td>"

    rows = [
        pair("completion", escape(measure.completion_criterion), span=3),
        pair("responsible", escape(measure.responsible_unit))
        + pair("due_year", str(measure.due_year)),
        pair("investment", escape(text.nok(measure.costs.investment_nok)))
        + pair("running", escape(text.nok(measure.costs.running_nok_per_year))),
        pair("basis", text(f"basis_{measure.basis.value}"))
        + pair("carried_out_by", text(f"actor_{measure.actor.value}")),
    ]
    if measure.target_groups:
        rows.append(pair("target_groups", escape(", ".join(measure.target_groups)), span=3))
    if measure.indicator is not None:
        rows.append(f"<td colspan='4'>{_indicator(text, measure.indicator)}</td>")
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return (
        f'<div class="measure" id="measure-{escape(measure.id)}" data-measure="{escape(measure.id)}">'
        f'<p class="measure-title"><strong>{_item_id(text, "measure", measure.id)}</strong> '
        f"{escape(measure.title)}</p>"
        '<table class="measure-facts"><colgroup><col class="k"><col class="v"><col class="k">'
        f'<col class="v"></colgroup><tbody>{body}</tbody></table></div>'
    )


def _hierarchy(text: _Text, state: PlanState, definition: PlanDefinition) -> str:
    version: ContentVersion | None
    if state.adopted_version is not None:
        version, heading = state.content(state.adopted_version), text("hierarchy")
    else:
        version, heading = state.latest_content(), text("hierarchy_latest")
    out = [f'<section id="hierarchy"><h2>{heading}</h2>']
    if version is None:
        out.append(f"<p>{text('hierarchy_none')}</p></section>")
        return "".join(out)
    content: PlanContent = version.content
    out.append(
        "<p>"
        + text(
            "hierarchy_facts",
            version=version.version,
            at=text.moment(version.submitted_at),
            actor=version.submitted_by,
        )
        + f' <code class="hash">{escape(version.content_hash)}</code></p>'
    )
    if definition.vision:
        out.append(
            f'<p class="vision"><strong>{text("vision")}:</strong> {escape(definition.vision)}</p>'
        )
    areas = list(definition.target_areas)
    areas += [g.target_area for g in content.goals if g.target_area not in areas]
    for area in areas:
        goals = [g for g in content.goals if g.target_area == area]
        if not goals:
            continue
        out.append(f'<h3 class="area">{text("area", area=area)}</h3>')
        for goal in goals:
            out.append(
                f'<div class="goal" id="goal-{escape(goal.id)}">'
                f"<h4>{_item_id(text, 'goal', goal.id)}</h4><p>{escape(goal.title)}</p>"
            )
            if goal.target_groups:
                out.append(
                    f'<p class="meta">{text("target_groups")}: '
                    f"{escape(', '.join(goal.target_groups))}</p>"
                )
            if goal.indicator is not None:
                out.append(f'<p class="meta">{_indicator(text, goal.indicator)}</p>')
            for strategy in (s for s in content.strategies if s.goal_id == goal.id):
                out.append(
                    f'<div class="strategy" id="strategy-{escape(strategy.id)}">'
                    f"<h5>{_item_id(text, 'strategy', strategy.id)}</h5>"
                    f"<p>{escape(strategy.title)}</p>"
                )
                measures = [m for m in content.measures if m.strategy_id == strategy.id]
                out.extend(_measure(text, m) for m in measures)
                if not measures:
                    out.append(f'<p class="meta">{text("no_measures")}</p>')
                out.append("</div>")
            out.append("</div>")
    totals = content.cost_totals()
    unknown = content.measures_with_unknown_costs()
    out.append(
        '<p class="totals">'
        + text(
            "totals",
            count=len(content.measures),
            investment=text.nok(totals.investment_nok),
            running=text.nok(totals.running_nok_per_year),
        )
        + (" " + text("totals_exclude", measures=", ".join(unknown)) if unknown else "")
        + "</p></section>"
    )
    return "".join(out)


_STYLE = """
:root { color-scheme: light; }
body { font-family: "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif;
  font-size: 15px; line-height: 1.45; color: #1b1b1b; background: #fff;
  max-width: 64rem; margin: 2rem auto; padding: 0 1.25rem; }
header .kicker { text-transform: uppercase; letter-spacing: .06em; font-size: .8rem;
  color: #555; margin: 0; }
h1 { font-size: 1.75rem; margin: .2rem 0 .5rem; line-height: 1.2; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #1f4e79; padding-bottom: .2rem;
  margin: 2.2rem 0 .8rem; color: #1f4e79; }
h3 { font-size: 1.1rem; margin: 1.4rem 0 .5rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
h5 { font-size: .95rem; margin: .8rem 0 .2rem; }
p { margin: .3rem 0 .6rem; }
.meta, .caption, .generated { color: #444; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .4rem 0 1rem; }
th, td { border: 1px solid #c5ccd6; padding: .3rem .45rem; text-align: left;
  vertical-align: top; }
thead th { background: #e8eef5; font-weight: bold; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .hash { font-family: "Liberation Mono", "DejaVu Sans Mono", monospace;
  font-size: .85em; }
code.hash { word-break: break-all; }
table.facts th { width: 16rem; background: #f4f6f9; font-weight: normal; }
table.decisions { table-layout: fixed; font-size: .8rem; }
table.decisions col.c-ver { width: 3.2rem; }
table.decisions col.c-time { width: 6.4rem; }
table.decisions col.c-actor { width: 10.5rem; }
table.decisions col.c-phase { width: 6rem; }
table.decisions col.c-cv { width: 4.2rem; }
table.decisions col.c-hash { width: 7.6rem; }
table.decisions td, table.decisions th { overflow-wrap: break-word; }
table.decisions .role { color: #555; }
tr.ruling td { background: #fff6d8; }
.ok { color: #1d6b2f; }
.bad { color: #b00020; }
figure { margin: 1rem 0; }
figcaption { color: #444; font-size: .9rem; margin-top: .3rem; }
svg.timeline { width: 100%; height: auto; display: block; font-size: 12px; }
svg.timeline .phase-name { font-size: 13px; font-weight: bold; fill: #1b1b1b; }
svg.timeline .phase-dates { font-size: 11px; fill: #333; }
svg.timeline .tick, svg.timeline .legend text { font-size: 11px; fill: #333; }
svg.timeline .grid { stroke: #dde2e8; stroke-width: 1; }
svg.timeline .axis { stroke: #555; stroke-width: 1; }
svg.timeline line.mark { stroke: #111; stroke-width: 1.5; }
svg.timeline path.mark.ruling { fill: #ffd23f; stroke: #111; stroke-width: 1.2; }
.round { margin-top: .6rem; }
.weighing { border-left: 3px solid #1f4e79; padding: .1rem .9rem; margin: .6rem 0 1.2rem;
  background: #f6f8fb; }
blockquote { margin: .2rem 0 .6rem 1rem; font-style: italic; }
.response-text { white-space: pre-wrap; }
.goal { margin: .6rem 0 1rem; }
.strategy { margin: .4rem 0 .6rem 1rem; }
.measure { border-left: 3px solid #2a9d5f; padding: .1rem .75rem; margin: .4rem 0 .8rem 1rem; }
.measure-title { margin: .2rem 0; }
table.measure-facts { font-size: .82rem; margin: .2rem 0 .3rem; }
table.measure-facts { table-layout: fixed; }
table.measure-facts col.k { width: 18%; }
table.measure-facts col.v { width: 32%; }
table.measure-facts th { font-weight: normal; background: #f4f6f9; }
code.item-id { font-size: .85em; font-weight: normal; background: #eef1f5; padding: 0 .3em;
  border-radius: 3px; }
.totals { font-weight: bold; margin-top: 1rem; }
footer { margin-top: 2.5rem; border-top: 1px solid #c5ccd6; padding-top: .5rem;
  color: #555; font-size: .85rem; }
@page { size: A4; margin: 14mm 12mm 16mm 12mm;
  @bottom-left { content: "__PAGE_LABEL__"; font-family: "Liberation Sans", "DejaVu Sans",
    Arial, sans-serif; font-size: 8pt; color: #555; }
  @bottom-right { content: counter(page) " / " counter(pages); font-family: "Liberation Sans",
    "DejaVu Sans", Arial, sans-serif; font-size: 8pt; color: #555; } }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  html, body { font-size: 10pt; }
  body { max-width: none; margin: 0; padding: 0; color: #000; }
  h1 { font-size: 17pt; }
  h2 { font-size: 13pt; margin-top: 14pt; }
  h3 { font-size: 11pt; }
  h4, h5 { font-size: 10pt; }
  h2, h3, h4, h5 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  table.decisions { font-size: 7.5pt; }
  table.decisions col.c-ver { width: 8mm; }
  table.decisions col.c-time { width: 17mm; }
  table.decisions col.c-actor { width: 28mm; }
  table.decisions col.c-phase { width: 15mm; }
  table.decisions col.c-cv { width: 13mm; }
  table.decisions col.c-hash { width: 19mm; }
  th, td { padding: 2pt 3pt; }
  thead { display: table-header-group; }
  tfoot { display: table-footer-group; }
  tr, th, td, .measure, figure, .weighing, .goal > h4, .strategy > h5 {
    break-inside: avoid; page-break-inside: avoid; }
  figure { max-width: 100%; }
  svg.timeline { width: 100% !important; max-width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


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
    """The report for one plan's stored events, as a self-contained HTML page."""
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
    if runs:
        timeline = (
            f"<figure>{_timeline_svg(text, definition.title, runs, last)}"
            f"<figcaption>{text('timeline_caption')}</figcaption></figure>"
        )
    else:
        timeline = f"<p>{text('none')}</p>"
    generated = text(
        "generated",
        oslo=text.moment(generated_at),
        utc=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        count=len(stored),
    )
    style = _STYLE.replace("__PAGE_LABEL__", _page_label(text, state.plan_id or ""))
    return "\n".join(
        [
            "<!doctype html>",
            f'<html lang="{language}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{text('page_label')}: {escape(definition.title)}</title>",
            f"<style>{style}</style>",
            "</head>",
            "<body>",
            f'<header><p class="kicker">{text("kicker")}</p>'
            f"<h1>{escape(definition.title)}</h1>"
            f'<p class="generated">{escape(definition.municipality.name)} · {generated}</p>'
            + (
                f'<p class="meta">{text("revises", plan=definition.revises.describe())}</p>'
                if definition.revises
                else ""
            )
            + f'<p class="meta">{text("evidence_note")}</p></header>',
            "<main>",
            _facts(
                text,
                state=state,
                definition=definition,
                stored=stored,
                events=domain_events,
                adoption=adoption,
            ),
            f'<section id="timeline"><h2>{text("timeline")}</h2>{timeline}</section>',
            _decision_table(text, stored, domain_events),
            _hearing(text, stored, domain_events),
            _hierarchy(text, state, definition),
            _checkpoint_section(language, checkpoint),
            "</main>",
            f"<footer>{text('footer')}</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _checkpoint_section(language: Language, checkpoint: str | None) -> str:
    """The Merkle log's latest (co-)signed checkpoint, for an auditor to keep and to check
    later records against (docs/audit-format.md, "Checkpoints")."""
    if language == "nb":
        title, none = "Signert sjekkpunkt for hele loggen", "Ingen sjekkpunkt er signert ennå."
        note = (
            "Loggens signerte tre-hode med vitnenes medsignaturer. Ta vare på det: en senere "
            "eksport kontrolleres mot det med verify_export.py --checkpoint."
        )
    else:
        title, none = "Signed checkpoint of the whole log", "No checkpoint has been signed yet."
        note = (
            "The log's signed tree head with the witnesses' cosignatures. Keep it: a later "
            "export is checked against it with verify_export.py --checkpoint."
        )
    body = f"<p>{note}</p><pre>{escape(checkpoint)}</pre>" if checkpoint else f"<p>{none}</p>"
    return f'<section id="checkpoint"><h2>{title}</h2>{body}</section>'


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
    events = [event async for event in store.iter_stream(plan_id)]
    if not events:
        raise UnknownPlanError(
            f"no plan '{plan_id}' in the event store: it has no events under that id "
            "(plan ids look like '1804-boligplan-2026')"
        )
    page = render_report(
        events, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    await asyncio.to_thread(_write_atomically, Path(out), page.encode("utf-8"))
    return len(events)


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

    events = [event async for event in store.iter_stream(plan_id)]
    if not events:
        raise UnknownPlanError(
            f"no plan '{plan_id}' in the event store: it has no events under that id "
            "(plan ids look like '1804-boligplan-2026')"
        )
    page = render_report(
        events, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    document = await asyncio.to_thread(html_to_pdf, page)
    await asyncio.to_thread(_write_atomically, Path(out), document)
    return len(events)


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
