"""The event store: append with optimistic concurrency and idempotency, read, verify.

Append costs two round trips: one read of the stream head (and of any event ids that are
already stored), then one INSERT ... SELECT FROM unnest(...) that commits on its own.
A single statement is atomic, so no explicit transaction is needed, and concurrent
appenders are told apart by the primary key (stream_id, version).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.canonical import GENESIS_HASH, canonical_json, chain_hash, chain_record
from domain.events import Event as DomainEvent
from domain.events import EventBase, from_record, to_record
from eventstore.chain import ChainChecker
from eventstore.errors import (
    AppendOnlyViolation,
    ConcurrencyConflict,
    EventIdConflict,
    EventStoreError,
    StoreUnavailable,
)

APPEND_ONLY_SQLSTATE = "TP001"

_COLUMNS = (
    "position, stream_id, version, event_id, type, schema_version, data::text AS data, "
    "actor_id, actor_role, recorded_at, prev_hash, hash"
)

_HEAD_AND_DUPLICATES = f"""
(SELECT 'head' AS kind, {_COLUMNS} FROM events
  WHERE stream_id = $1 ORDER BY version DESC LIMIT 1)
UNION ALL
(SELECT 'duplicate' AS kind, {_COLUMNS} FROM events WHERE event_id = ANY($2::uuid[]))
"""

_INSERT = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data,
                    actor_id, actor_role, recorded_at, prev_hash, hash)
SELECT $1, u.version, u.event_id, u.type, u.schema_version, u.data::jsonb,
       u.actor_id, u.actor_role, $2, u.prev_hash, u.hash
  FROM unnest($3::int[], $4::uuid[], $5::text[], $6::int[], $7::text[],
              $8::text[], $9::text[], $10::text[], $11::text[])
       AS u(version, event_id, type, schema_version, data, actor_id, actor_role, prev_hash, hash)
RETURNING version, position
"""


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


@dataclass(frozen=True, slots=True)
class Receipt:
    stream_id: str
    version: int
    event_id: UUID
    hash: str
    recorded_at: datetime
    position: int


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

    def to_domain(self) -> DomainEvent:
        return from_record(
            event_type=self.type,
            schema_version=self.schema_version,
            data=self.data,
            event_id=self.event_id,
            actor_id=self.actor_id,
            actor_role=self.actor_role,
        )


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


def _stored(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        version=row["version"],
        event_id=row["event_id"],
        type=row["type"],
        schema_version=row["schema_version"],
        data=json.loads(row["data"]),
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        recorded_at=row["recorded_at"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _same_content(stored: StoredEvent, stream_id: str, new: NewEvent) -> bool:
    return (
        stored.stream_id == stream_id
        and stored.type == new.type
        and stored.schema_version == new.schema_version
        and stored.actor_id == new.actor_id
        and stored.actor_role == new.actor_role
        and canonical_json(stored.data) == canonical_json(dict(new.data))
    )


class EventStore:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], datetime] = _utc_now) -> None:
        self._pool = pool
        self._clock = clock

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == APPEND_ONLY_SQLSTATE:
                raise AppendOnlyViolation(str(exc)) from exc
            raise EventStoreError(f"database error: {exc}") from exc
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
            raise StoreUnavailable(f"database unavailable: {exc}") from exc

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Receipt]:
        """Append ``events`` after ``expected_version`` (0 for a new stream), atomically.

        Idempotent by event id: if every event is already stored with the same content,
        their original receipts come back and nothing is written.
        """
        if not events:
            raise ValueError("append needs at least one event")
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise ValueError("the same event id appears twice in one append")
        async with self._connection() as conn:
            rows = await conn.fetch(_HEAD_AND_DUPLICATES, stream_id, ids)
            head = next((r for r in rows if r["kind"] == "head"), None)
            duplicates = [_stored(r) for r in rows if r["kind"] == "duplicate"]
            if duplicates:
                return self._replayed(stream_id, events, duplicates)
            actual = head["version"] if head is not None else 0
            if actual != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, actual)
            prev_hash = head["hash"] if head is not None else GENESIS_HASH
            recorded_at = self._clock()
            # Keeps recorded_at monotonic within a stream even if clocks differ between
            # machines, so "as of" reads never skip an earlier version.
            if head is not None and recorded_at < head["recorded_at"]:
                recorded_at = head["recorded_at"]
            columns = self._chain(stream_id, expected_version, prev_hash, recorded_at, events)
            try:
                inserted = await conn.fetch(_INSERT, stream_id, recorded_at, *columns)
            except asyncpg.UniqueViolationError:
                return await self._after_race(conn, stream_id, expected_version, events)
        return [
            Receipt(stream_id, row["version"], e.event_id, h, recorded_at, row["position"])
            for row, e, h in zip(inserted, events, columns[-1], strict=True)
        ]

    @staticmethod
    def _chain(
        stream_id: str,
        expected_version: int,
        prev_hash: str,
        recorded_at: datetime,
        events: Sequence[NewEvent],
    ) -> tuple[list[Any], ...]:
        versions: list[int] = []
        event_ids: list[UUID] = []
        types: list[str] = []
        schema_versions: list[int] = []
        datas: list[str] = []
        actor_ids: list[str] = []
        actor_roles: list[str] = []
        prev_hashes: list[str] = []
        hashes: list[str] = []
        for offset, event in enumerate(events, start=1):
            version = expected_version + offset
            record = chain_record(
                stream_id=stream_id,
                version=version,
                event_id=str(event.event_id),
                event_type=event.type,
                schema_version=event.schema_version,
                data=dict(event.data),
                actor_id=event.actor_id,
                actor_role=event.actor_role,
                recorded_at=recorded_at,
            )
            event_hash = chain_hash(prev_hash, record)
            versions.append(version)
            event_ids.append(event.event_id)
            types.append(event.type)
            schema_versions.append(event.schema_version)
            datas.append(canonical_json(record["data"]).decode())
            actor_ids.append(event.actor_id)
            actor_roles.append(event.actor_role)
            prev_hashes.append(prev_hash)
            hashes.append(event_hash)
            prev_hash = event_hash
        return (
            versions,
            event_ids,
            types,
            schema_versions,
            datas,
            actor_ids,
            actor_roles,
            prev_hashes,
            hashes,
        )

    @staticmethod
    def _replayed(
        stream_id: str, events: Sequence[NewEvent], duplicates: list[StoredEvent]
    ) -> list[Receipt]:
        by_id = {d.event_id: d for d in duplicates}
        for event in events:
            stored = by_id.get(event.event_id)
            if stored is None:
                raise EventIdConflict(
                    str(duplicates[0].event_id),
                    "a different batch: part of this append was stored earlier on its own",
                )
            if not _same_content(stored, stream_id, event):
                raise EventIdConflict(
                    str(event.event_id),
                    f"different content (stream '{stored.stream_id}', version {stored.version})",
                )
        return [by_id[e.event_id].receipt() for e in events]

    async def _after_race(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[Receipt]:
        """Another writer won between our read and our insert: either it wrote these very
        events (a concurrent retry), or the stream moved on."""
        rows = await conn.fetch(_HEAD_AND_DUPLICATES, stream_id, [e.event_id for e in events])
        duplicates = [_stored(r) for r in rows if r["kind"] == "duplicate"]
        if duplicates:
            return self._replayed(stream_id, events, duplicates)
        head = next((r for r in rows if r["kind"] == "head"), None)
        raise ConcurrencyConflict(stream_id, expected_version, head["version"] if head else 0)

    async def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of the stream's last event; (0, genesis) for an empty stream."""
        async with self._connection() as conn:
            row = await conn.fetchrow(
                "SELECT version, hash FROM events WHERE stream_id = $1 "
                "ORDER BY version DESC LIMIT 1",
                stream_id,
            )
        return (row["version"], row["hash"]) if row else (0, GENESIS_HASH)

    async def read(
        self,
        stream_id: str,
        *,
        up_to_version: int | None = None,
        as_of: datetime | None = None,
    ) -> list[StoredEvent]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1"
                " AND ($2::int IS NULL OR version <= $2)"
                " AND ($3::timestamptz IS NULL OR recorded_at <= $3)"
                " ORDER BY version",
                stream_id,
                up_to_version,
                as_of,
            )
        return [_stored(r) for r in rows]

    async def read_domain(
        self, stream_id: str, *, up_to_version: int | None = None, as_of: datetime | None = None
    ) -> list[DomainEvent]:
        stored = await self.read(stream_id, up_to_version=up_to_version, as_of=as_of)
        return [e.to_domain() for e in stored]

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Events of every stream in global order. Positions come from a sequence, so a
        writer that commits late can leave a lower position behind one already read:
        consumers that must see everything re-read a short window behind their mark."""
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2",
                after_position,
                limit,
            )
        return [_stored(r) for r in rows]

    async def stream_ids(self) -> list[str]:
        async with self._connection() as conn:
            rows = await conn.fetch("SELECT DISTINCT stream_id FROM events ORDER BY stream_id")
        return [r["stream_id"] for r in rows]

    async def verify(self, stream_id: str) -> VerifyResult:
        """Walk the stream in version order with a server-side cursor (flat memory) and
        report the first version where numbering or the hash chain breaks."""
        checker = ChainChecker(stream_id)
        last_version, last_hash = 0, GENESIS_HASH
        async with self._connection() as conn, conn.transaction(readonly=True):
            cursor = conn.cursor(
                f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version",
                stream_id,
                prefetch=2000,
            )
            async for row in cursor:
                broken = checker.feed(
                    version=row["version"],
                    event_id=str(row["event_id"]),
                    event_type=row["type"],
                    schema_version=row["schema_version"],
                    data=json.loads(row["data"]),
                    actor_id=row["actor_id"],
                    actor_role=row["actor_role"],
                    recorded_at=row["recorded_at"],
                    prev_hash=row["prev_hash"],
                    stored_hash=row["hash"],
                )
                if broken is not None:
                    return VerifyResult(
                        stream_id,
                        checker.checked,
                        last_version,
                        last_hash,
                        broken_version=broken.version,
                        problem=broken.problem,
                    )
                last_version, last_hash = row["version"], row["hash"]
        return VerifyResult(stream_id, checker.checked, last_version, last_hash)
