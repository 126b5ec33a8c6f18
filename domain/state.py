"""PlanState and the pure fold that rebuilds it from events.

This is what auditors replay: the state at any version or point in time is the fold of
the events up to it, so it must depend on nothing but the events themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

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
from domain.hierarchy import PlanContent
from domain.phases import Phase, StepKind, phase_spec, step_by_key
from domain.plan import PlanDefinition
from domain.quorum import quorum_reached
from domain.revision_models import MeasureChange, ReportStatus, ScheduleAction, Scorecard
from domain.roles import Role
from domain.votes import MeetingReference, Vote


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ContentVersion(_Frozen):
    version: int
    phase: Phase
    content_hash: str
    content: PlanContent
    submitted_by: str
    submitted_at: datetime


class SignOff(_Frozen):
    step_key: str
    content_version: int
    actor_id: str
    body: Role
    at: datetime
    kind: Literal["sign_off", "anchoring"] = "sign_off"


class Comment(_Frozen):
    phase: Phase
    content_version: int
    actor_id: str
    text: str
    at: datetime


class HearingResponse(_Frozen):
    """A response as the state knows it. The text itself stays in its event: a hearing
    may get thousands of long responses, and the workflow carries this state across
    continue-as-new inside Temporal's payload limit."""

    response_id: str
    name: str
    organisation: str | None
    text_sha256: str
    version: int  # the event's version in the plan's stream
    at: datetime


class HearingClose(_Frozen):
    """How the latest hearing ended: at its deadline, or early by a person with a reason."""

    at: datetime
    by: str
    early: bool
    reason: str = ""


class Decision(_Frozen):
    """Every decision in order, as auditors read them: who, which role, on what, when."""

    event_type: str
    phase: Phase | None
    actor_id: str
    actor_role: Role
    at: datetime
    content_version: int | None = None
    outcome: str = ""
    reason: str = ""
    step_key: str | None = None
    meeting: MeetingReference | None = None


class ReturnInstructions(_Frozen):
    """Why the council sent the plan back, shown to the project leader until the plan
    comes back to the council."""

    return_to: Phase
    instructions: str
    at: datetime
    meeting: MeetingReference | None = None


class ScheduleState(_Frozen):
    schedule_id: str
    month: int
    day: int
    hour: int
    time_zone: str
    end_at: datetime
    paused: bool = False
    pause_reason: str = ""
    changed_by: str | None = None
    changed_at: datetime | None = None


class MeasureReportState(_Frozen):
    measure_id: str
    status: ReportStatus
    comment: str
    indicator_value: Decimal | None
    actor_id: str
    at: datetime
    version: int  # the event's version in the plan's stream: the receipt's number


class GoalIndicatorState(_Frozen):
    goal_id: str
    value: Decimal
    actor_id: str
    at: datetime


class ChangeProposal(_Frozen):
    content_version: int
    content_hash: str
    changes: tuple[MeasureChange, ...]
    proposed_by: str
    at: datetime
    status: Literal["pending", "approved", "rejected"] = "pending"
    reason: str = ""


class RevisionRound(_Frozen):
    """One year's revision: the reporting round, its scorecard and the changes made."""

    year: int
    workflow_id: str
    scheduled_at: datetime
    content_version: int | None = None
    measure_ids: tuple[str, ...] = ()
    deadline: datetime | None = None
    round_open: bool = False
    reports: tuple[MeasureReportState, ...] = ()
    goal_indicators: tuple[GoalIndicatorState, ...] = ()
    unreported: tuple[str, ...] = ()
    reminded: tuple[str, ...] = ()
    scorecard: Scorecard | None = None
    proposals: tuple[ChangeProposal, ...] = ()
    sign_offs: tuple[SignOff, ...] = ()
    outcome: Literal["revised", "unchanged"] | None = None

    def latest_reports(self) -> dict[str, MeasureReportState]:
        """The report that counts per measure: a unit may correct its report while the
        round is open, and the latest one stands."""
        return {r.measure_id: r for r in self.reports}

    def pending_proposal(self) -> ChangeProposal | None:
        last = self.proposals[-1] if self.proposals else None
        return last if last is not None and last.status == "pending" else None


class PlanState(_Frozen):
    plan_id: str | None = None
    definition: PlanDefinition | None = None
    status: Literal["not_started", "active", "adopted"] = "not_started"
    phase: Phase | None = None
    events_folded: int = 0
    last_event_at: datetime | None = None
    content_versions: tuple[ContentVersion, ...] = ()
    # The content version under review in the current phase, if one was submitted.
    under_review: int | None = None
    # Steps done in the current phase since its content version was submitted; a new
    # version or "changes requested" clears them, because they no longer count.
    completed_steps: tuple[str, ...] = ()
    sign_offs: tuple[SignOff, ...] = ()
    changes_requested: tuple[Decision, ...] = ()
    comments: tuple[Comment, ...] = ()
    comment_round_deadline: datetime | None = None
    hearing_deadline: datetime | None = None
    hearing_open: bool = False
    hearing_responses: tuple[HearingResponse, ...] = ()
    hearing_summary: str | None = None
    # The latest hearing: when it opened (its first event's version marks which of the
    # responses are its own) and how it closed.
    hearing_opened_at: datetime | None = None
    hearing_opened_version: int | None = None
    hearing_close: HearingClose | None = None
    decisions: tuple[Decision, ...] = ()
    # The votes of the current round at the current decision step; an outcome, a
    # withdrawal or a new phase closes the round (the votes stay in the record).
    votes: tuple[Vote, ...] = ()
    # Counts the rounds closed: a vote's identity includes its round, so a member votes
    # again after a withdrawal or a postponement.
    vote_round: int = 0
    postponed_to: date | None = None
    return_instructions: ReturnInstructions | None = None
    adopted_version: int | None = None
    adopted_hash: str | None = None
    # The content in force: the adopted version, later replaced by approved revisions.
    in_force_version: int | None = None
    in_force_hash: str | None = None
    schedule: ScheduleState | None = None
    revisions: tuple[RevisionRound, ...] = ()

    def content(self, version: int | None = None) -> ContentVersion | None:
        wanted = self.under_review if version is None else version
        for item in self.content_versions:
            if item.version == wanted:
                return item
        return None

    def latest_content(self) -> ContentVersion | None:
        return self.content_versions[-1] if self.content_versions else None

    def revision(self, year: int) -> RevisionRound | None:
        for item in self.revisions:
            if item.year == year:
                return item
        return None

    def current_hearing_responses(self) -> tuple[HearingResponse, ...]:
        """The responses to the latest hearing: a plan returned to the draft goes on
        hearing again, and each hearing counts its own."""
        opened = self.hearing_opened_version
        if opened is None:
            return self.hearing_responses
        return tuple(r for r in self.hearing_responses if r.version > opened)

    def valid_sign_offs(self) -> tuple[SignOff, ...]:
        """Sign-offs that still count: on the current version, not cleared since."""
        return tuple(s for s in self.sign_offs if s.content_version == self.under_review)


def _content_version(event: ContentSubmitted | ContentAmended) -> ContentVersion:
    """A new version of the content under review, as its event recorded it."""
    return ContentVersion(
        version=event.content_version,
        phase=event.phase,
        content_hash=event.content_hash,
        content=event.content,
        submitted_by=event.actor_id,
        submitted_at=event.occurred_at,
    )


def _decision(event: Event, phase: Phase | None, **extra: object) -> Decision:
    return Decision(
        event_type=event.type,
        phase=phase,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        at=event.occurred_at,
        **extra,
    )


def evolve(state: PlanState, event: Event) -> PlanState:  # noqa: PLR0911, PLR0912
    """Apply one event. Pure: the same state and event always give the same result."""
    base = {"events_folded": state.events_folded + 1, "last_event_at": event.occurred_at}
    match event:
        case PlanCreated():
            return state.model_copy(
                update={
                    **base,
                    "plan_id": event.plan_id,
                    "definition": event.definition,
                    "status": "active",
                }
            )
        case PhaseStarted():
            # Phases that begin with a submission review new content; the hearing and
            # the council's decision look at the draft version already under review.
            first_step = phase_spec(event.phase).steps[0]
            under_review = None if first_step.kind is StepKind.SUBMIT else state.under_review
            return state.model_copy(
                update={
                    **base,
                    "phase": event.phase,
                    "under_review": under_review,
                    "completed_steps": (),
                    "comment_round_deadline": None,
                    "votes": (),
                    "vote_round": state.vote_round + 1,
                    "postponed_to": None,
                    "return_instructions": (
                        None if event.phase is Phase.ADOPTION else state.return_instructions
                    ),
                    "decisions": (
                        *state.decisions,
                        _decision(event, event.phase, reason=event.reason),
                    ),
                }
            )
        case PhaseCompleted():
            return state.model_copy(
                update={**base, "decisions": (*state.decisions, _decision(event, event.phase))}
            )
        case ContentSubmitted():
            version = _content_version(event)
            return state.model_copy(
                update={
                    **base,
                    "content_versions": (*state.content_versions, version),
                    "under_review": event.content_version,
                    "completed_steps": (f"{event.phase.value}.submit",),
                    "decisions": (
                        *state.decisions,
                        _decision(event, event.phase, content_version=event.content_version),
                    ),
                }
            )
        case CommentRoundOpened():
            return state.model_copy(update={**base, "comment_round_deadline": event.deadline})
        case CommentRecorded():
            comment = Comment(
                phase=event.phase,
                content_version=event.content_version,
                actor_id=event.actor_id,
                text=event.text,
                at=event.occurred_at,
            )
            return state.model_copy(update={**base, "comments": (*state.comments, comment)})
        case CommentRoundClosed():
            return state.model_copy(
                update={
                    **base,
                    "comment_round_deadline": None,
                    "completed_steps": (
                        *state.completed_steps,
                        f"{event.phase.value}.reference_round",
                    ),
                }
            )
        case SignOffGiven() | AnchoringRecorded():
            sign_off = SignOff(
                step_key=event.step_key,
                content_version=event.content_version,
                actor_id=event.actor_id,
                body=event.actor_role,
                at=event.occurred_at,
                kind="sign_off" if isinstance(event, SignOffGiven) else "anchoring",
            )
            signed = state.model_copy(
                update={
                    **base,
                    "sign_offs": (*state.sign_offs, sign_off),
                    "decisions": (
                        *state.decisions,
                        _decision(
                            event,
                            event.phase,
                            content_version=event.content_version,
                            step_key=event.step_key,
                        ),
                    ),
                }
            )
            return _complete_if_quorum(signed, event.step_key)
        case ChangesRequested():
            decision = _decision(
                event,
                event.phase,
                content_version=event.content_version,
                reason=event.reason,
                step_key=event.step_key,
            )
            return state.model_copy(
                update={
                    **base,
                    # The reviewed version is rejected: nothing done on it counts any more.
                    "under_review": None,
                    "completed_steps": (),
                    "changes_requested": (*state.changes_requested, decision),
                    "decisions": (*state.decisions, decision),
                }
            )
        case DraftStepCompleted():
            return state.model_copy(
                update={
                    **base,
                    "completed_steps": (*state.completed_steps, event.step_key),
                    "decisions": (
                        *state.decisions,
                        _decision(event, Phase.DRAFT, content_version=event.content_version),
                    ),
                }
            )
        case HearingOpened():
            return state.model_copy(
                update={
                    **base,
                    "hearing_open": True,
                    "hearing_deadline": event.deadline,
                    "hearing_summary": None,
                    "hearing_opened_at": event.occurred_at,
                    "hearing_opened_version": state.events_folded + 1,
                    "hearing_close": None,
                    "decisions": (
                        *state.decisions,
                        _decision(event, Phase.HEARING, content_version=event.content_version),
                    ),
                }
            )
        case HearingResponseReceived():
            response = HearingResponse(
                response_id=event.response_id,
                name=event.name,
                organisation=event.organisation,
                text_sha256=hashlib.sha256(event.text.encode()).hexdigest(),
                version=state.events_folded + 1,
                at=event.occurred_at,
            )
            return state.model_copy(
                update={**base, "hearing_responses": (*state.hearing_responses, response)}
            )
        case HearingClosed():
            return state.model_copy(
                update={
                    **base,
                    "hearing_open": False,
                    "hearing_close": HearingClose(
                        at=event.occurred_at,
                        by=event.actor_id,
                        early=event.early,
                        reason=event.reason,
                    ),
                    "completed_steps": (*state.completed_steps, "hearing.public"),
                    "decisions": (
                        *state.decisions,
                        _decision(event, Phase.HEARING, reason=event.reason),
                    ),
                }
            )
        case HearingSummarySubmitted():
            return state.model_copy(
                update={
                    **base,
                    "hearing_summary": event.summary,
                    "completed_steps": (*state.completed_steps, "hearing.summary"),
                    "decisions": (*state.decisions, _decision(event, Phase.HEARING)),
                }
            )
        case VoteCast():
            vote = Vote(
                step_key=event.step_key,
                content_version=event.content_version,
                actor_id=event.actor_id,
                body=event.actor_role,
                outcome=event.outcome,
                return_to=event.return_to,
                postponed_to=event.postponed_to,
                amended_hash=event.amended_hash,
                reason=event.reason,
                meeting=event.meeting,
                at=event.occurred_at,
                version=state.events_folded + 1,
            )
            decision = _decision(
                event,
                event.phase,
                content_version=event.content_version,
                outcome=vote.proposal,
                reason=event.reason,
                step_key=event.step_key,
                meeting=event.meeting,
            )
            return state.model_copy(
                update={
                    **base,
                    "votes": (*state.votes, vote),
                    "decisions": (*state.decisions, decision),
                }
            )
        case VoteWithdrawn():
            decision = _decision(
                event,
                event.phase,
                content_version=event.content_version,
                outcome="withdrawn",
                reason=event.reason,
                step_key=event.step_key,
            )
            return state.model_copy(
                update={
                    **base,
                    "votes": (),
                    "vote_round": state.vote_round + 1,
                    "decisions": (*state.decisions, decision),
                }
            )
        case ContentAmended():
            version = _content_version(event)
            return state.model_copy(
                update={
                    **base,
                    "content_versions": (*state.content_versions, version),
                    "under_review": event.content_version,
                    "decisions": (
                        *state.decisions,
                        _decision(
                            event,
                            event.phase,
                            content_version=event.content_version,
                            reason=event.reason,
                        ),
                    ),
                }
            )
        case HearingDecided():
            return state.model_copy(
                update={
                    **base,
                    "votes": (),
                    "vote_round": state.vote_round + 1,
                    "completed_steps": (*state.completed_steps, "hearing.decision"),
                    "decisions": (
                        *state.decisions,
                        _decision(
                            event,
                            Phase.HEARING,
                            outcome=event.outcome,
                            reason=event.reason,
                            step_key="hearing.decision",
                            meeting=event.meeting,
                        ),
                    ),
                }
            )
        case CouncilDecided():
            decision = _decision(
                event,
                Phase.ADOPTION,
                content_version=event.content_version,
                outcome=event.outcome,
                reason=event.reason,
                step_key="adoption.council",
                meeting=event.meeting,
            )
            if event.outcome == "postponed":
                # The item goes to a later meeting: the plan waits at the council.
                return state.model_copy(
                    update={
                        **base,
                        "votes": (),
                        "vote_round": state.vote_round + 1,
                        "postponed_to": event.postponed_to,
                        "decisions": (*state.decisions, decision),
                    }
                )
            instructions = state.return_instructions
            if event.outcome == "returned" and event.return_to is not None:
                instructions = ReturnInstructions(
                    return_to=event.return_to,
                    instructions=event.reason,
                    at=event.occurred_at,
                    meeting=event.meeting,
                )
            return state.model_copy(
                update={
                    **base,
                    "votes": (),
                    "vote_round": state.vote_round + 1,
                    "postponed_to": None,
                    "return_instructions": instructions,
                    "completed_steps": (*state.completed_steps, "adoption.council"),
                    "decisions": (*state.decisions, decision),
                }
            )
        case PlanAdopted():
            return state.model_copy(
                update={
                    **base,
                    "status": "adopted",
                    "adopted_version": event.content_version,
                    "adopted_hash": event.content_hash,
                    "in_force_version": event.content_version,
                    "in_force_hash": event.content_hash,
                }
            )
        case _:
            return _evolve_revision(state, event, base)


def _added_to_round(state: PlanState, year: int, field: str, item: object) -> dict[str, object]:
    """``item`` appended to one of the year's round's tuples."""
    current = state.revision(year)
    assert current is not None
    return _with_round(state, year, **{field: (*getattr(current, field), item)})


def _with_round(state: PlanState, year: int, **changes: object) -> dict[str, object]:
    rounds = tuple(r.model_copy(update=changes) if r.year == year else r for r in state.revisions)
    return {"revisions": rounds}


def _evolve_revision(  # noqa: PLR0911, PLR0912
    state: PlanState, event: Event, base: dict[str, object]
) -> PlanState:
    """The events after adoption: the revision schedule and the yearly rounds."""
    decisions = (*state.decisions, _decision(event, None))
    match event:
        case RevisionScheduleCreated():
            schedule = ScheduleState(
                schedule_id=event.schedule_id,
                month=event.month,
                day=event.day,
                hour=event.hour,
                time_zone=event.time_zone,
                end_at=event.end_at,
                changed_by=event.actor_id,
                changed_at=event.occurred_at,
            )
            return state.model_copy(update={**base, "schedule": schedule, "decisions": decisions})
        case RevisionScheduleChanged():
            current = state.schedule
            if current is not None and event.action in (
                ScheduleAction.PAUSE,
                ScheduleAction.UNPAUSE,
            ):
                paused = event.action is ScheduleAction.PAUSE
                current = current.model_copy(
                    update={
                        "paused": paused,
                        "pause_reason": event.reason if paused else "",
                        "changed_by": event.actor_id,
                        "changed_at": event.occurred_at,
                    }
                )
            outcome = f"{event.action.value} failed" if event.failed else event.action.value
            decision = _decision(event, None, outcome=outcome, reason=event.failed or event.reason)
            return state.model_copy(
                update={
                    **base,
                    "schedule": current,
                    "decisions": (*state.decisions, decision),
                }
            )
        case RevisionReminderSent():
            revision = RevisionRound(
                year=event.year, workflow_id=event.workflow_id, scheduled_at=event.scheduled_at
            )
            return state.model_copy(
                update={
                    **base,
                    "revisions": (*state.revisions, revision),
                    "decisions": decisions,
                }
            )
        case ReportingRoundOpened():
            return state.model_copy(
                update={
                    **base,
                    **_with_round(
                        state,
                        event.year,
                        content_version=event.content_version,
                        measure_ids=event.measure_ids,
                        deadline=event.deadline,
                        round_open=True,
                    ),
                    "decisions": decisions,
                }
            )
        case MeasureReported():
            report = MeasureReportState(
                measure_id=event.measure_id,
                status=event.status,
                comment=event.comment,
                indicator_value=event.indicator_value,
                actor_id=event.actor_id,
                at=event.occurred_at,
                version=state.events_folded + 1,
            )
            decision = _decision(event, None, outcome=event.status.value, reason=event.comment)
            return state.model_copy(
                update={
                    **base,
                    **_added_to_round(state, event.year, "reports", report),
                    "decisions": (*state.decisions, decision),
                }
            )
        case GoalIndicatorReported():
            value = GoalIndicatorState(
                goal_id=event.goal_id,
                value=event.value,
                actor_id=event.actor_id,
                at=event.occurred_at,
            )
            return state.model_copy(
                update={
                    **base,
                    **_added_to_round(state, event.year, "goal_indicators", value),
                    "decisions": decisions,
                }
            )
        case ReportingRoundClosed():
            return state.model_copy(
                update={
                    **base,
                    **_with_round(state, event.year, round_open=False, unreported=event.unreported),
                    "decisions": decisions,
                }
            )
        case ReportReminderRecorded():
            return state.model_copy(
                update={
                    **base,
                    **_with_round(state, event.year, reminded=event.measure_ids),
                    "decisions": decisions,
                }
            )
        case ScorecardRecorded():
            return state.model_copy(
                update={
                    **base,
                    **_with_round(state, event.year, scorecard=event.scorecard),
                    "decisions": decisions,
                }
            )
        case MeasureChangesProposed():
            proposal = ChangeProposal(
                content_version=event.content_version,
                content_hash=event.content_hash,
                changes=event.changes,
                proposed_by=event.actor_id,
                at=event.occurred_at,
            )
            version = ContentVersion(
                version=event.content_version,
                phase=Phase.MEASURES,
                content_hash=event.content_hash,
                content=event.content,
                submitted_by=event.actor_id,
                submitted_at=event.occurred_at,
            )
            decision = _decision(event, None, content_version=event.content_version)
            return state.model_copy(
                update={
                    **base,
                    "content_versions": (*state.content_versions, version),
                    **_added_to_round(state, event.year, "proposals", proposal),
                    "decisions": (*state.decisions, decision),
                }
            )
        case MeasureChangesSignedOff():
            sign_off = SignOff(
                step_key=f"revision.{event.year}.quality_assurance",
                content_version=event.content_version,
                actor_id=event.actor_id,
                body=event.actor_role,
                at=event.occurred_at,
            )
            decision = _decision(event, None, content_version=event.content_version)
            return state.model_copy(
                update={
                    **base,
                    **_added_to_round(state, event.year, "sign_offs", sign_off),
                    "decisions": (*state.decisions, decision),
                }
            )
        case MeasureChangesRejected():
            decision = _decision(
                event, None, content_version=event.content_version, reason=event.reason
            )
            return state.model_copy(
                update={
                    **base,
                    **_last_proposal_decided(state, event.year, "rejected", event.reason),
                    "decisions": (*state.decisions, decision),
                }
            )
        case ContentRevised():
            decision = _decision(event, None, content_version=event.content_version)
            return state.model_copy(
                update={
                    **base,
                    "in_force_version": event.content_version,
                    "in_force_hash": event.content_hash,
                    **_last_proposal_decided(state, event.year, "approved", ""),
                    "decisions": (*state.decisions, decision),
                }
            )
        case RevisionConcluded():
            decision = _decision(
                event, None, content_version=event.content_version, outcome=event.outcome
            )
            return state.model_copy(
                update={
                    **base,
                    **_with_round(state, event.year, outcome=event.outcome),
                    "decisions": (*state.decisions, decision),
                }
            )
    raise TypeError(f"no fold rule for {type(event).__name__}")  # pragma: no cover


def _last_proposal_decided(
    state: PlanState, year: int, status: Literal["approved", "rejected"], reason: str
) -> dict[str, object]:
    current = state.revision(year)
    assert current is not None
    *earlier, last = current.proposals
    decided = last.model_copy(update={"status": status, "reason": reason})
    return _with_round(state, year, proposals=(*earlier, decided))


def _complete_if_quorum(state: PlanState, step_key: str) -> PlanState:
    step = step_by_key(step_key)
    if step.key in state.completed_steps:
        return state
    assert state.definition is not None
    if not quorum_reached(state.definition, state.sign_offs, state.under_review, step):
        return state
    return state.model_copy(update={"completed_steps": (*state.completed_steps, step.key)})


def fold(events: Iterable[Event], state: PlanState | None = None) -> PlanState:
    current = state if state is not None else PlanState()
    for event in events:
        current = evolve(current, event)
    return current
