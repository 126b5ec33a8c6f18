"""The events of the plan's making, from its start to the council's adoption: phases,
content, the reference group's round, sign-offs, draft steps, the public hearing, votes
and decisions. Callers import them from domain.events."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
)

from domain.event_base import EventBase, left_out_when_empty
from domain.hierarchy import PlanContent, ShortText, Text
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from domain.votes import MeetingReference


class PlanCreated(EventBase):
    type: Literal["plan_created"] = "plan_created"
    plan_id: str
    definition: PlanDefinition


class PhaseStarted(EventBase):
    type: Literal["phase_started"] = "phase_started"
    phase: Phase
    reason: str = ""


class PhaseCompleted(EventBase):
    type: Literal["phase_completed"] = "phase_completed"
    phase: Phase


class NewContentVersion(EventBase):
    """A new version of the content under review, recorded with its text."""

    phase: Phase
    content_version: int = Field(ge=1)
    content_hash: str
    content: PlanContent


class ContentSubmitted(NewContentVersion):
    type: Literal["content_submitted"] = "content_submitted"


class CommentRoundOpened(EventBase):
    type: Literal["comment_round_opened"] = "comment_round_opened"
    phase: Phase
    content_version: int
    deadline: AwareDatetime


class CommentRecorded(EventBase):
    type: Literal["comment_recorded"] = "comment_recorded"
    phase: Phase
    content_version: int
    text: Text


class CommentRoundClosed(EventBase):
    type: Literal["comment_round_closed"] = "comment_round_closed"
    phase: Phase
    comment_count: int
    early: bool


class StepEvent(EventBase):
    """An action at one step of a phase, on one content version."""

    phase: Phase
    step_key: str
    content_version: int


class StepDecision(StepEvent):
    """A decision at one step on the version under review, named by its hash too."""

    content_hash: str


class SignOffGiven(StepDecision):
    type: Literal["sign_off_given"] = "sign_off_given"
    comment: str = ""


class ChangesRequested(StepDecision):
    type: Literal["changes_requested"] = "changes_requested"
    reason: Text


class AnchoringRecorded(StepDecision):
    type: Literal["anchoring_recorded"] = "anchoring_recorded"
    form: ShortText = Field(description="how it was anchored, e.g. 'sak til formannskapet'")


class DraftStepCompleted(EventBase):
    type: Literal["draft_step_completed"] = "draft_step_completed"
    step_key: str
    step_number: int = Field(ge=1, le=8)
    content_version: int
    note: str = ""
    # The economic check (step 6) records the measures whose costs were unknown to it.
    unknown_costs: tuple[str, ...] = ()

    _without_empty_unknown_costs = left_out_when_empty("unknown_costs")


class HearingOpened(EventBase):
    type: Literal["hearing_opened"] = "hearing_opened"
    content_version: int
    content_hash: str
    deadline: AwareDatetime


class PublicRequest(BaseModel):
    """How a hearing response appended by the API itself (not by the workflow) traces
    back to the request that carried it: the event id is derived from these, so an
    auditor recomputes it (docs/audit-format.md, "Public hearing responses")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    via: Literal["public-api"] = "public-api"
    # "key:" + SHA-256 of the request's Idempotency-Key, or "content:" + SHA-256 of the
    # response's canonical content when the request had none.
    request_key: str
    hearing_version: int  # the version of the hearing_opened event it answers


class HearingResponseReceived(EventBase):
    type: Literal["hearing_response_received"] = "hearing_response_received"
    response_id: str
    name: ShortText
    organisation: str | None = None
    text: Text
    # Absent on responses recorded by the workflow (and from their data, so that their
    # bytes are unchanged).
    received: PublicRequest | None = None


class HearingClosed(EventBase):
    type: Literal["hearing_closed"] = "hearing_closed"
    response_count: int  # responses to this hearing (a returned plan may have had others)
    early: bool
    reason: str = ""  # why it was closed before its deadline (required then)


class HearingSummarySubmitted(EventBase):
    type: Literal["hearing_summary_submitted"] = "hearing_summary_submitted"
    content_version: int
    summary: Text


# What a member may vote for at a decision step (the steering group's two, the council's four).
VoteOutcome = Literal[
    "revise", "to_council", "adopted", "returned", "postponed", "adopted_with_changes"
]


class VoteCast(StepDecision):
    """One member's vote at a decision step, in the body named by ``actor_role``. The
    body has decided when one proposal reaches its quorum (a ``hearing_decided`` or
    ``council_decided`` event follows, whose actor is the body itself)."""

    type: Literal["vote_cast"] = "vote_cast"
    outcome: VoteOutcome
    return_to: Phase | None = None
    postponed_to: date | None = None
    amended_hash: str | None = None
    reason: str = ""
    meeting: MeetingReference | None = None


class VoteWithdrawn(StepEvent):
    """The project leader withdrew the item from the vote (e.g. no proposal can reach the
    quorum any more): the votes stay in the record and count no longer. With
    ``return_to`` the plan goes back to that phase for a new version; without, the body
    votes again on the same version."""

    type: Literal["vote_withdrawn"] = "vote_withdrawn"
    reason: Text
    return_to: Phase | None = None


class ContentAmended(NewContentVersion):
    """The council adopted the plan with changes: its text is a new content version."""

    type: Literal["content_amended"] = "content_amended"
    amends_version: int
    reason: Text


class HearingDecided(EventBase):
    """After the hearing: the steering group's decision, its actor the body itself, once
    its votes reach its quorum (older records: by the one member who decided alone)."""

    type: Literal["hearing_decided"] = "hearing_decided"
    outcome: Literal["revise", "to_council"]
    reason: str = ""
    body: Role | None = None
    voters: tuple[str, ...] = ()
    needed: int | None = None
    meeting: MeetingReference | None = None


class CouncilDecided(EventBase):
    """The council's decision, its actor the council itself, once its votes reach its
    quorum (older records: by the one member who decided alone)."""

    type: Literal["council_decided"] = "council_decided"
    outcome: Literal["adopted", "returned", "postponed", "adopted_with_changes"]
    content_version: int
    content_hash: str
    return_to: Phase | None = None
    reason: str = ""
    postponed_to: date | None = None
    amends_version: int | None = None
    body: Role | None = None
    voters: tuple[str, ...] = ()
    needed: int | None = None
    meeting: MeetingReference | None = None


class PlanAdopted(EventBase):
    type: Literal["plan_adopted"] = "plan_adopted"
    content_version: int
    content_hash: str
