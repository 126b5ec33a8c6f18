"""What the fold rebuilds: a plan's state and its records (content versions,
sign-offs, hearing, decisions, the revision schedule and the yearly rounds).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.alike import alike
from domain.events import (
    ContentAmended,
    ContentSubmitted,
    EventBase,
    MeasureChangesProposed,
    VoteCast,
)
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.revision_models import MeasureChange, ReportStatus, Scorecard
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

    def shown_content(self, version: int | None = None) -> ContentVersion | None:
        """``version`` if given; else what a reader wants to see: the content under
        review, else the adopted, else the latest."""
        if version is not None:
            return self.content(version)
        return self.content() or self.content(self.adopted_version) or self.latest_content()

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


def _content_version(
    event: ContentSubmitted | ContentAmended | MeasureChangesProposed, phase: Phase
) -> ContentVersion:
    """A new version of the content under review, as its event recorded it."""
    return alike(
        ContentVersion,
        event,
        version=event.content_version,
        phase=phase,
        submitted_by=event.actor_id,
        submitted_at=event.occurred_at,
    )


def counted_vote(event: VoteCast, version: int = 0) -> Vote:
    """The vote a ``vote_cast`` event records, as the body's tally counts it."""
    return alike(Vote, event, body=event.actor_role, at=event.occurred_at, version=version)


def _decision(event: EventBase, phase: Phase | None, **extra: object) -> Decision:
    return Decision(
        event_type=event.type,
        phase=phase,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        at=event.occurred_at,
        **extra,
    )


def _after(
    state: PlanState, event: EventBase, decision: Decision | None = None, **changes: object
) -> PlanState:
    """``state`` after one more event: the event's own ``changes``, and the decision it
    records, if it records one."""
    update: dict[str, object] = {
        "events_folded": state.events_folded + 1,
        "last_event_at": event.occurred_at,
        **changes,
    }
    if decision is not None:
        update["decisions"] = (*state.decisions, decision)
    return state.model_copy(update=update)
