"""The words of the auditors' report: its labels from the catalogue, and each event of
the record described in one line (the decision table, `audit history`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import catalogue
from catalogue import Language
from catalogue import formats as fmt
from domain import events as ev
from domain.phases import Phase
from domain.votes import MeetingReference
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
    ev.RevisionScheduleCreated,
    ev.RevisionScheduleChanged,
    ev.RevisionReminderSent,
    ev.ReportingRoundOpened,
    ev.MeasureReported,
    ev.GoalIndicatorReported,
    ev.ReportingRoundClosed,
    ev.ReportReminderRecorded,
    ev.ScorecardRecorded,
    ev.MeasureChangesProposed,
    ev.MeasureChangesSignedOff,
    ev.MeasureChangesRejected,
    ev.ContentRevised,
    ev.RevisionConcluded,
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
        return catalogue.step_title(step_key, self.language)

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


def _phase_of(event: ev.Event, running: Phase | None) -> Phase | None:
    if isinstance(event, _AFTER_ADOPTION):
        return None  # the yearly revision belongs to no phase of the making of the plan
    own = getattr(event, "phase", None)
    if isinstance(own, Phase):
        return own
    return _PHASE_OF_TYPE.get(event.type, running)


def _describe(text: _Text, event: ev.Event) -> str:  # noqa: PLR0911, PLR0912 - one case per type
    """What the event decided, in words, unescaped."""
    match event:
        case ev.PlanCreated():
            return text.raw("ev_plan_created")
        case ev.PhaseStarted():
            line = text.raw("ev_phase_started", phase=text.phase(event.phase))
            return f"{line} – {event.reason}" if event.reason else line
        case ev.PhaseCompleted():
            return text.raw("ev_phase_completed", phase=text.phase(event.phase))
        case ev.ContentSubmitted():
            content = event.content
            return text.raw(
                "ev_content_submitted",
                goals=len(content.goals),
                strategies=len(content.strategies),
                measures=len(content.measures),
            )
        case ev.CommentRoundOpened():
            return text.raw("ev_comment_round_opened", deadline=text.moment(event.deadline))
        case ev.CommentRecorded():
            return text.raw("ev_comment_recorded", text=event.text)
        case ev.CommentRoundClosed():
            line = text.raw("ev_comment_round_closed", count=event.comment_count)
            return line + (text.raw("early") if event.early else "")
        case ev.SignOffGiven():
            line = text.raw("ev_sign_off_given", step=text.step(event.step_key))
            return f"{line}; {text.raw('note', note=event.comment)}" if event.comment else line
        case ev.ChangesRequested():
            return text.raw(
                "ev_changes_requested", step=text.step(event.step_key), reason=event.reason
            )
        case ev.AnchoringRecorded():
            return text.raw(
                "ev_anchoring_recorded", step=text.step(event.step_key), form=event.form
            )
        case ev.DraftStepCompleted():
            line = text.raw("ev_draft_step_completed", step=text.step(event.step_key))
            return f"{line}; {text.raw('note', note=event.note)}" if event.note else line
        case ev.HearingOpened():
            return text.raw("ev_hearing_opened", deadline=text.moment(event.deadline))
        case ev.HearingResponseReceived():
            who = f"{event.name} ({event.organisation})" if event.organisation else event.name
            return text.raw("ev_hearing_response_received", name=who)
        case ev.HearingClosed():
            line = text.raw("ev_hearing_closed", count=event.response_count)
            return line + (text.raw("early") if event.early else "")
        case ev.HearingSummarySubmitted():
            return text.raw("ev_hearing_summary_submitted")
        case ev.HearingDecided():
            line = text.raw("ev_hearing_decided", outcome=text.raw(f"outcome_{event.outcome}"))
            return _with_votes(text, line, event)
        case ev.CouncilDecided():
            line = text.raw("ev_council_decided", outcome=_outcome(text, event))
            return _with_votes(text, line, event)
        case ev.PlanAdopted():
            return text.raw("ev_plan_adopted", version=event.content_version)
    return _describe_vote(text, event)


def describe(event: ev.Event, language: Language = "nb") -> str:
    """What the event decided, in words of ``language`` (for the CLI's history too)."""
    return _describe(_Text(language), event)


def _outcome(text: _Text, event: ev.CouncilDecided | ev.VoteCast) -> str:
    outcome = text.raw(f"outcome_{event.outcome}", phase=text.phase(event.return_to))
    if event.postponed_to is not None:
        outcome += " " + text.raw("postponed_to", date=event.postponed_to.isoformat())
    return outcome


def _meeting_line(text: _Text, meeting: MeetingReference | None) -> str:
    if meeting is None:
        return ""
    return text.raw("meeting", case=meeting.case_number, date=meeting.meeting_date.isoformat())


def _with_votes(text: _Text, line: str, event: ev.CouncilDecided | ev.HearingDecided) -> str:
    """The body's outcome: who carried it, where it was decided, and why."""
    parts = [line]
    if event.voters:
        parts.append(text.raw("votes_for", voters=", ".join(event.voters), needed=event.needed))
    if event.meeting is not None:
        parts.append(_meeting_line(text, event.meeting))
    if event.reason:
        parts.append(event.reason)
    return " – ".join(parts)


def _describe_vote(text: _Text, event: ev.Event) -> str:
    match event:
        case ev.VoteCast():
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
        case ev.VoteWithdrawn():
            line = text.raw(
                "ev_vote_withdrawn", step=text.step(event.step_key), reason=event.reason
            )
            if event.return_to is not None:
                line += " – " + text.raw("outcome_returned", phase=text.phase(event.return_to))
            return line
        case ev.ContentAmended():
            line = text.raw(
                "ev_content_amended", version=event.content_version, amends=event.amends_version
            )
            return f"{line} – {event.reason}"
    return _describe_revision(text, event)


def _describe_revision(text: _Text, event: ev.Event) -> str:  # noqa: PLR0911, PLR0912 - one case per type
    match event:
        case ev.RevisionScheduleCreated():
            return text.raw(
                "ev_revision_schedule_created",
                day=event.day,
                month=event.month,
                hour=f"{event.hour:02d}",
                tz=event.time_zone,
                end=text.moment(event.end_at),
            )
        case ev.RevisionScheduleChanged():
            line = text.raw(
                "ev_revision_schedule_changed",
                action=catalogue.schedule_action_name(event.action.value, text.language),
            )
            return f"{line} – {event.reason}" if event.reason else line
        case ev.RevisionReminderSent():
            return text.raw(
                "ev_revision_reminder_sent", year=event.year, count=len(event.recipients)
            )
        case ev.ReportingRoundOpened():
            return text.raw(
                "ev_reporting_round_opened",
                year=event.year,
                count=len(event.measure_ids),
                deadline=text.moment(event.deadline),
            )
        case ev.MeasureReported():
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
        case ev.GoalIndicatorReported():
            return text.raw(
                "ev_goal_indicator_reported", goal=event.goal_id, value=text.decimal(event.value)
            )
        case ev.ReportingRoundClosed():
            return text.raw(
                "ev_reporting_round_closed",
                year=event.year,
                missing=", ".join(event.unreported) or "-",
            )
        case ev.ReportReminderRecorded():
            return text.raw("ev_report_reminder_recorded", count=len(event.measure_ids))
        case ev.ScorecardRecorded():
            card = event.scorecard
            return text.raw(
                "ev_scorecard_recorded", year=event.year, done=card.done, total=card.total
            )
        case ev.MeasureChangesProposed():
            return text.raw("ev_measure_changes_proposed", version=event.content_version)
        case ev.MeasureChangesSignedOff():
            return text.raw("ev_measure_changes_signed_off", version=event.content_version)
        case ev.MeasureChangesRejected():
            return text.raw("ev_measure_changes_rejected", reason=event.reason)
        case ev.ContentRevised():
            return text.raw("ev_content_revised", version=event.content_version)
        case ev.RevisionConcluded():
            return text.raw(
                "ev_revision_concluded",
                year=event.year,
                outcome=catalogue.revision_outcome_name(event.outcome, text.language),
            )
    return event.type  # pragma: no cover - every event type has a case


# --- the parts of the page ---------------------------------------------------------------
