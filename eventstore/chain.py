"""Checks one stream's chain, one event at a time, in constant memory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.canonical import GENESIS_HASH, chain_hash, chain_record
from eventstore.records import StoredEvent


@dataclass(frozen=True, slots=True)
class ChainBreak:
    version: int
    problem: str


class ChainChecker:
    """Feed a stream's events in version order; the first break is remembered."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.expected_version = 1
        self.prev_hash = GENESIS_HASH
        self.checked = 0
        self.first_break: ChainBreak | None = None

    def feed(
        self,
        *,
        version: int,
        event_id: str,
        event_type: str,
        schema_version: int,
        data: dict[str, Any],
        actor_id: str,
        actor_role: str,
        recorded_at: datetime,
        prev_hash: str,
        stored_hash: str,
    ) -> ChainBreak | None:
        if self.first_break is not None:
            return self.first_break
        self.checked += 1
        problem: str | None = None
        if version != self.expected_version:
            problem = (
                f"numbering breaks: expected version {self.expected_version}, found {version}"
                + (" (a gap: events are missing)" if version > self.expected_version else "")
            )
        elif prev_hash != self.prev_hash:
            problem = "prev_hash does not match the previous event's hash"
        else:
            record = chain_record(
                stream_id=self.stream_id,
                version=version,
                event_id=event_id,
                event_type=event_type,
                schema_version=schema_version,
                data=data,
                actor_id=actor_id,
                actor_role=actor_role,
                recorded_at=recorded_at,
            )
            if chain_hash(prev_hash, record) != stored_hash:
                problem = "hash does not match the event's content: it was changed after recording"
        if problem is not None:
            # Report the version the caller sees in the row, or the missing one for a gap.
            self.first_break = ChainBreak(
                version=min(version, self.expected_version), problem=problem
            )
            return self.first_break
        self.expected_version = version + 1
        self.prev_hash = stored_hash
        return None

    def feed_stored(self, event: StoredEvent) -> ChainBreak | None:
        return self.feed(
            version=event.version,
            event_id=str(event.event_id),
            event_type=event.type,
            schema_version=event.schema_version,
            data=event.data,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            recorded_at=event.recorded_at,
            prev_hash=event.prev_hash,
            stored_hash=event.hash,
        )
