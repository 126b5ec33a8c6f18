"""What every decision event is: frozen, versioned, an envelope (id, actor, role) that
becomes columns in the store and the rest its ``data``. The events are in
domain.plan_events and domain.revision_events, their union and records in domain.events."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from domain.attestation import Attestation
from domain.roles import Role

ENVELOPE_FIELDS = frozenset({"type", "event_id", "actor_id", "actor_role"})


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    SCHEMA_VERSION: ClassVar[int] = 1

    event_id: UUID
    occurred_at: AwareDatetime
    actor_id: str
    actor_role: Role
    # How the actor was authenticated ("token <token id>", "oidc <issuer>"); absent on
    # the engine's events, the public's, and every event recorded before it was kept.
    authenticated_by: str | None = None
    # A person's decision sent through the front door: its signature on who sent it
    # (domain/attestation.py). Kept in data only when present, so that every event
    # recorded without one keeps its bytes.
    attestation: Attestation | None = None
    # Each event class narrows it to its own literal. Declared here so that it keeps its
    # place in every event's field order, whatever fields a family's base adds before
    # the class's own.
    type: str


def left_out_when_empty(
    field: str,
) -> Callable[[EventBase, SerializerFunctionWrapHandler], dict[str, object]]:
    """A serializer that leaves ``field`` out of the event's data when it is empty, so
    that the events recorded before the field was added dump as they did."""

    @model_serializer(mode="wrap")
    def serialize(self: EventBase, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        if not data.get(field):
            data.pop(field, None)
        return data

    return serialize
