"""What the store takes and gives: new events, stored events, receipts and the result
of a chain's verification.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.canonical import (
    canonical_json,
    chain_record,
)
from domain.events import Event as DomainEvent
from domain.events import EventBase, from_record, to_record
from eventstore.rows import from_row


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``event_id`` must be deterministic for its decision, so that
    a retried append is recognised instead of written twice."""

    event_id: UUID
    type: str
    data: Mapping[str, Any]
    actor_id: str
    actor_role: str
    schema_version: int = 1

    @classmethod
    def from_domain(cls, event: EventBase) -> NewEvent:
        event_type, schema_version, data = to_record(event)
        return cls(
            event_id=event.event_id,
            type=event_type,
            data=data,
            actor_id=event.actor_id,
            actor_role=event.actor_role.value,
            schema_version=schema_version,
        )

    def chain_record(self, stream_id: str, version: int, recorded_at: datetime) -> dict[str, Any]:
        """The fields its hash will cover once appended at ``version`` of ``stream_id``
        at ``recorded_at``, by their names in the export format."""
        return chain_record(
            stream_id=stream_id, version=version, recorded_at=recorded_at, **_as_written(self)
        )


# The one member of an event's data that a retried append may change without being
# refused: the decision time a workflow takes from its clock. A workflow task that dies
# before its result is recorded runs again later, and then reads a later clock; what it
# decides is otherwise the same to the byte. The record keeps the first value, and the
# receipt hands it back so that the writer can adopt it (docs/audit-format.md).
IDEMPOTENCY_IGNORES = "occurred_at"


@dataclass(frozen=True, slots=True)
class Receipt:
    stream_id: str
    version: int
    event_id: UUID
    hash: str
    recorded_at: datetime
    position: int
    # For an event stored by an earlier attempt: its data's IDEMPOTENCY_IGNORES member
    # as recorded (None for an event this append wrote).
    stored_occurred_at: str | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    position: int
    stream_id: str
    version: int
    event_id: UUID
    type: str
    schema_version: int
    data: dict[str, Any]
    actor_id: str
    actor_role: str
    recorded_at: datetime
    prev_hash: str
    hash: str

    def receipt(self) -> Receipt:
        return Receipt(
            self.stream_id, self.version, self.event_id, self.hash, self.recorded_at, self.position
        )

    def chain_record(self) -> dict[str, Any]:
        """The fields its hash covers, by their names in the export format."""
        return chain_record(
            stream_id=self.stream_id,
            version=self.version,
            recorded_at=self.recorded_at,
            **_as_written(self),
        )

    def to_domain(self) -> DomainEvent:
        return from_record(**_as_written(self))


@dataclass(frozen=True, slots=True)
class VerifyResult:
    stream_id: str
    events_checked: int
    last_version: int
    last_hash: str
    broken_version: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_version is None


def _as_written(event: NewEvent | StoredEvent) -> dict[str, Any]:
    """An event as its writer gave it: id, type and schema, data, actor. Its chain record,
    before it is appended and after, and its domain event are made of these."""
    return {
        "event_id": str(event.event_id),
        "event_type": event.type,
        "schema_version": event.schema_version,
        "data": dict(event.data),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
    }


def _occurred_at(data: Mapping[str, Any]) -> str | None:
    value = data.get(IDEMPOTENCY_IGNORES)
    return value if isinstance(value, str) else None


def _stored(row: asyncpg.Record) -> StoredEvent:
    return from_row(StoredEvent, row, data=json.loads(row["data"]))


def _same_content(stored: StoredEvent, stream_id: str, new: NewEvent) -> bool:
    """Everything but recorded_at (the store's) and the data's IDEMPOTENCY_IGNORES
    member (the writer's clock) is compared, byte for byte in canonical form."""
    return (
        stored.stream_id == stream_id
        and stored.type == new.type
        and stored.schema_version == new.schema_version
        and stored.actor_id == new.actor_id
        and stored.actor_role == new.actor_role
        and canonical_json(_without_clock(stored.data))
        == canonical_json(_without_clock(dict(new.data)))
    )


def _without_clock(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != IDEMPOTENCY_IGNORES}
