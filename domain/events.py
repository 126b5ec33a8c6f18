"""Decision events: what the audit trail records. Frozen, versioned, upcastable.

The classes are written by family (domain.event_base, domain.plan_events,
domain.revision_events); this module is their union, their registry by type and their
records, and callers import every event from here.

An event's envelope (id, actor, role) becomes columns in the store; everything else is
its ``data``. ``SCHEMA_VERSION`` is the version written today; records written under an
older version are brought forward by the registered upcasters before validation, so
old streams stay readable forever without rewriting a single stored row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, get_args
from uuid import UUID

from pydantic import Field, TypeAdapter

from domain.event_base import ENVELOPE_FIELDS, EventBase
from domain.plan_events import (
    AnchoringRecorded,
    ChangesRequested,
    CommentRecorded,
    CommentRoundClosed,
    CommentRoundOpened,
    ContentAmended,
    ContentSubmitted,
    CouncilDecided,
    DraftStepCompleted,
    HearingClosed,
    HearingDecided,
    HearingOpened,
    HearingResponseReceived,
    HearingSummarySubmitted,
    NewContentVersion,
    PhaseCompleted,
    PhaseStarted,
    PlanAdopted,
    PlanCreated,
    PublicRequest,
    SignOffGiven,
    StepDecision,
    StepEvent,
    VoteCast,
    VoteWithdrawn,
)
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
    YearContentEvent,
    YearEvent,
)
from domain.text import RECORDED

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
    "NewContentVersion",
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
    "StepDecision",
    "StepEvent",
    "UnknownEventError",
    "Upcaster",
    "VoteCast",
    "VoteWithdrawn",
    "YearContentEvent",
    "YearEvent",
    "from_record",
    "to_record",
    "upcast",
]


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
# From the union rather than EventBase's subclasses: the families' bases are no events.
EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(Event)[0])
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
    return event.type, type(event).SCHEMA_VERSION, data


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
