"""Decision events: what the audit trail records. Frozen, versioned, upcastable.

An event's envelope (id, actor, role) becomes columns in the store; everything else is
its ``data``. ``SCHEMA_VERSION`` is the version written today; records written under an
older version are brought forward by the registered upcasters before validation, so
old streams stay readable forever without rewriting a single stored row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    TypeAdapter,
    model_serializer,
)

from domain.event_base import ENVELOPE_FIELDS, EventBase
from domain.hierarchy import PlanContent, ShortText, Text
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.revision_events import (
    ContentRevised,
    GoalIndicatorReported,
    MeasureChangesProposed,
    MeasureChangesRejected,
    MeasureChangesSignedOff,
    MeasureReported,
    ReportingRoundClosed,
    ReportingRoundOpened,
    ReportReminderRecorded,
    RevisionConcluded,
    RevisionReminderSent,
    RevisionScheduleChanged,
    RevisionScheduleCreated,
    ScorecardRecorded,
)
from domain.roles import Role
from domain.text import RECORDED
from domain.votes import MeetingReference

# The one place callers import an event from, wherever its class is defined.
__all__ = [
    "ENVELOPE_FIELDS",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "UPCASTERS",
    "AnchoringRecorded",
    "ChangesRequested",
    "CommentRecorded",
    "CommentRoundClosed",
    "CommentRoundOpened",
    "ContentAmended",
    "ContentRevised",
    "ContentSubmitted",
    "CouncilDecided",
    "DraftStepCompleted",
    "Event",
    "EventBase",
    "GoalIndicatorReported",
    "HearingClosed",
    "HearingDecided",
    "HearingOpened",
    "HearingResponseReceived",
    "HearingSummarySubmitted",
    "MeasureChangesProposed",
    "MeasureChangesRejected",
    "MeasureChangesSignedOff",
    "MeasureReported",
    "PhaseCompleted",
    "PhaseStarted",
    "PlanAdopted",
    "PlanCreated",
    "PublicRequest",
    "ReportReminderRecorded",
    "ReportingRoundClosed",
    "ReportingRoundOpened",
    "RevisionConcluded",
    "RevisionReminderSent",
    "RevisionScheduleChanged",
    "RevisionScheduleCreated",
    "ScorecardRecorded",
    "SignOffGiven",
    "UnknownEventError",
    "Upcaster",
    "VoteCast",
    "VoteWithdrawn",
    "from_record",
    "to_record",
    "upcast",
]


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


class ContentSubmitted(EventBase):
    type: Literal["content_submitted"] = "content_submitted"
    phase: Phase
    content_version: int = Field(ge=1)
    content_hash: str
    content: PlanContent


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


class SignOffGiven(EventBase):
    type: Literal["sign_off_given"] = "sign_off_given"
    phase: Phase
    step_key: str
    content_version: int
    content_hash: str
    comment: str = ""


class ChangesRequested(EventBase):
    type: Literal["changes_requested"] = "changes_requested"
    phase: Phase
    step_key: str
    content_version: int
    content_hash: str
    reason: Text


class AnchoringRecorded(EventBase):
    type: Literal["anchoring_recorded"] = "anchoring_recorded"
    phase: Phase
    step_key: str
    content_version: int
    content_hash: str
    form: ShortText = Field(description="how it was anchored, e.g. 'sak til formannskapet'")


class DraftStepCompleted(EventBase):
    type: Literal["draft_step_completed"] = "draft_step_completed"
    step_key: str
    step_number: int = Field(ge=1, le=8)
    content_version: int
    note: str = ""
    # The economic check (step 6) records the measures whose costs were unknown to it.
    unknown_costs: tuple[str, ...] = ()

    @model_serializer(mode="wrap")
    def _without_empty_unknown_costs(
        self, handler: SerializerFunctionWrapHandler
    ) -> dict[str, object]:
        # Left out when empty: events recorded before the field dump as they did.
        data: dict[str, object] = handler(self)
        if not data.get("unknown_costs"):
            data.pop("unknown_costs", None)
        return data


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


class VoteCast(EventBase):
    """One member's vote at a decision step, in the body named by ``actor_role``. The
    body has decided when one proposal reaches its quorum (a ``hearing_decided`` or
    ``council_decided`` event follows, whose actor is the body itself)."""

    type: Literal["vote_cast"] = "vote_cast"
    phase: Phase
    step_key: str
    content_version: int
    content_hash: str
    outcome: Literal[
        "revise", "to_council", "adopted", "returned", "postponed", "adopted_with_changes"
    ]
    return_to: Phase | None = None
    postponed_to: date | None = None
    amended_hash: str | None = None
    reason: str = ""
    meeting: MeetingReference | None = None


class VoteWithdrawn(EventBase):
    """The project leader withdrew the item from the vote (e.g. no proposal can reach the
    quorum any more): the votes stay in the record and count no longer. With
    ``return_to`` the plan goes back to that phase for a new version; without, the body
    votes again on the same version."""

    type: Literal["vote_withdrawn"] = "vote_withdrawn"
    phase: Phase
    step_key: str
    content_version: int
    reason: Text
    return_to: Phase | None = None


class ContentAmended(EventBase):
    """The council adopted the plan with changes: its text is a new content version."""

    type: Literal["content_amended"] = "content_amended"
    phase: Phase
    content_version: int = Field(ge=1)
    content_hash: str
    content: PlanContent
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


Event = Annotated[
    PlanCreated
    | PhaseStarted
    | PhaseCompleted
    | ContentSubmitted
    | CommentRoundOpened
    | CommentRecorded
    | CommentRoundClosed
    | SignOffGiven
    | ChangesRequested
    | AnchoringRecorded
    | DraftStepCompleted
    | HearingOpened
    | HearingResponseReceived
    | HearingClosed
    | HearingSummarySubmitted
    | VoteCast
    | VoteWithdrawn
    | ContentAmended
    | HearingDecided
    | CouncilDecided
    | PlanAdopted
    | RevisionScheduleCreated
    | RevisionScheduleChanged
    | RevisionReminderSent
    | ReportingRoundOpened
    | MeasureReported
    | GoalIndicatorReported
    | ReportingRoundClosed
    | ReportReminderRecorded
    | ScorecardRecorded
    | MeasureChangesProposed
    | MeasureChangesSignedOff
    | MeasureChangesRejected
    | ContentRevised
    | RevisionConcluded,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.model_fields["type"].default: cls
    for cls in EventBase.__subclasses__()  # every event class is a direct subclass
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# (event type, schema version it reads) -> function producing the next version's data.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnknownEventError(ValueError):
    pass


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring ``data`` written under ``schema_version`` up to the type's current version."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise UnknownEventError(f"unknown event type '{event_type}'")
    if schema_version > cls.SCHEMA_VERSION:
        raise UnknownEventError(
            f"'{event_type}' has schema version {schema_version}, newer than this code "
            f"understands ({cls.SCHEMA_VERSION}); upgrade before reading this stream"
        )
    while schema_version < cls.SCHEMA_VERSION:
        step = UPCASTERS.get((event_type, schema_version))
        if step is None:
            raise UnknownEventError(
                f"no upcaster from '{event_type}' v{schema_version} to v{schema_version + 1}"
            )
        data = step(data)
        schema_version += 1
    return data


def to_record(event: EventBase) -> tuple[str, int, dict[str, Any]]:
    """(type, schema version, data) as the store keeps them; data excludes the envelope."""
    left_out = set(ENVELOPE_FIELDS)
    # Kept in data only when present, so every event recorded without them keeps its bytes.
    if event.attestation is None:
        left_out.add("attestation")
    if event.authenticated_by is None:
        left_out.add("authenticated_by")
    if getattr(event, "received", None) is None:
        left_out.add("received")
    data = event.model_dump(mode="json", exclude=left_out)
    return event.model_dump()["type"], type(event).SCHEMA_VERSION, data


def from_record(
    *,
    event_type: str,
    schema_version: int,
    data: dict[str, Any],
    event_id: UUID | str,
    actor_id: str,
    actor_role: str,
) -> Event:
    current = upcast(event_type, schema_version, data)
    return EVENT_ADAPTER.validate_python(
        {
            **current,
            "type": event_type,
            "event_id": event_id,
            "actor_id": actor_id,
            "actor_role": actor_role,
        },
        context={RECORDED: True},
    )
