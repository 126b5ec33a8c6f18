"""The event store: append with optimistic concurrency and idempotency (reads and
verification: eventstore/reading.py).

Append costs two round trips: one read of the stream head (none for a new stream, and
none when this store appended the event the caller expects to follow), then one INSERT ... SELECT FROM jsonb_to_recordset(...) that commits on its own. A single
statement is atomic, so no explicit transaction is needed, and concurrent appenders are
told apart by the primary key (stream_id, version). A retried append is recognised with one more read,
looking for its event ids, when the head is not at the expected version or the insert
hits a version or an event id that is already stored (event_id is UNIQUE); the common
case, a new append, never pays for that look-up.

Hashing follows domain.canonical to the byte (eventstore/hashing.py, encode_batch).
Each event also stores the canonical text of its data (``canonical_data``, migration
0003), which verification hashes as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from domain.canonical import GENESIS_HASH
from eventstore.errors import ConcurrencyConflict, EventIdConflict
from eventstore.hashing import encode_batch
from eventstore.reading import _COLUMNS, APPEND_ONLY_SQLSTATE, StoreReader, _utc_now
from eventstore.records import (
    NewEvent,
    Receipt,
    StoredEvent,
    _occurred_at,
    _same_content,
    _stored,
)

__all__ = ["APPEND_ONLY_SQLSTATE", "_COLUMNS", "_INSERT", "EventStore"]

_HEAD = (
    "SELECT version, hash, recorded_at FROM events WHERE stream_id = $1 "
    "ORDER BY version DESC LIMIT 1"
)

_HEAD_AND_DUPLICATES = f"""
(SELECT 'head' AS kind, {_COLUMNS} FROM events
  WHERE stream_id = $1 ORDER BY version DESC LIMIT 1)
UNION ALL
(SELECT 'duplicate' AS kind, {_COLUMNS} FROM events WHERE event_id = ANY($2::uuid[]))
"""

# The batch travels as one JSON document: its parts are canonical JSON already, so
# building it is string joining, and the server parses it in one go. jsonb_to_recordset
# parses the document once, where json_to_recordset would validate it, parse it again
# and then parse each data a third time (measured: the statement costs about a fifth
# less; an array per column, unnested, costs the server the same and asyncpg several
# times more to encode). Each data travels as a JSON string holding its canonical text, exactly as
# hashed, which is stored as it is in canonical_data and parsed into the jsonb data.
_INSERT = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data, canonical_data,
                    actor_id, actor_role, recorded_at, prev_hash, hash)
SELECT $1, u.v, u.e, u.t, u.s, u.d::jsonb, u.d, u.a, u.r, $2, u.p, u.h
  FROM jsonb_to_recordset($3::jsonb)
       AS u(v int, e uuid, t text, s int, d text, a text, r text, p text, h text)
RETURNING version, position
"""


# Streams whose last appended event an EventStore remembers (the least recent go first).
HEADS_KEPT = 10_000


class EventStore(StoreReader):
    # The batch encoder, also used by the hearing inbox's group commit.
    _chain = staticmethod(encode_batch)

    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__(pool, clock)
        # The last event this store appended to each stream: (version, hash, recorded_at).
        # A stored event never changes, so when a caller expects exactly that version the
        # head read is skipped and the append costs one round trip; if another writer
        # appended since, the insert hits the primary key and is sorted out as usual.
        self._heads: dict[str, tuple[int, str, datetime]] = {}

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
        # Taken out while this append runs: put back only once its insert has committed.
        known = self._heads.pop(stream_id, None)
        async with self._connection() as conn:
            # A new stream has no head to chain to; if the stream exists after all, the
            # insert of version 1 hits the primary key and is sorted out below.
            if expected_version == 0:
                head = None
            elif known is not None and known[0] == expected_version:
                head = known
            else:
                row = await conn.fetchrow(_HEAD, stream_id)
                head = (row["version"], row["hash"], row["recorded_at"]) if row else None
            actual = head[0] if head is not None else 0
            if actual != expected_version:
                # Either a retry of an append that went through, or a real conflict.
                return await self._after_race(conn, stream_id, expected_version, events)
            prev_hash = head[1] if head is not None else GENESIS_HASH
            recorded_at = self._clock()
            # Keeps recorded_at monotonic within a stream even if clocks differ between
            # machines, so "as of" reads never skip an earlier version.
            if head is not None and recorded_at < head[2]:
                recorded_at = head[2]
            batch, hashes = encode_batch(
                stream_id, expected_version, prev_hash, recorded_at, events
            )
            try:
                inserted = await conn.fetch(_INSERT, stream_id, recorded_at, batch)
            except asyncpg.UniqueViolationError:
                # Another writer took the version, or some of these event ids are stored.
                return await self._after_race(conn, stream_id, expected_version, events)
            except asyncpg.ForeignKeyViolationError:
                if head is None or head is not known:
                    raise
                # The remembered head is no longer stored: the stream was cut behind the
                # store's back (only its owner can). Read the stream as it is instead.
                inserted = None
        if inserted is None:
            return await self.append(stream_id, expected_version, events)
        self._remember(stream_id, (expected_version + len(events), hashes[-1], recorded_at))
        return [
            Receipt(stream_id, row["version"], e.event_id, h, recorded_at, row["position"])
            # RETURNING order is not promised by SQL: pair rows to events by version.
            for row, e, h in zip(
                sorted(inserted, key=lambda r: r["version"]), events, hashes, strict=True
            )
        ]

    def _remember(self, stream_id: str, head: tuple[int, str, datetime]) -> None:
        heads = self._heads
        heads[stream_id] = head
        if len(heads) > HEADS_KEPT:
            del heads[next(iter(heads))]

    async def append_at_end(
        self, stream_id: str, events: Sequence[NewEvent], attempts: int = 50
    ) -> list[Receipt]:
        """Append after whatever the stream holds now, for streams with more than one
        writer (after adoption: the yearly revisions and the scheduler's actions).

        Safe to retry only because each writer derives its event ids from its own
        identity, never from the version: a retry finds its events by id and gets the
        original receipts, wherever they landed.
        """
        for _ in range(attempts):
            version, _hash = await self.head(stream_id)
            try:
                return await self.append(stream_id, version, events)
            except ConcurrencyConflict:
                continue  # another writer got in between: read the new head, try again
        version, _hash = await self.head(stream_id)
        raise ConcurrencyConflict(stream_id, version, version)

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
        return [
            dataclasses.replace(
                by_id[e.event_id].receipt(),
                stored_occurred_at=_occurred_at(by_id[e.event_id].data),
            )
            for e in events
        ]

    async def _after_race(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[Receipt]:
        """The head was not where the caller expected, or another writer won between our
        read and our insert: either these very events are stored already (a retry, maybe
        a concurrent one), or the stream moved on."""
        rows = await conn.fetch(_HEAD_AND_DUPLICATES, stream_id, [e.event_id for e in events])
        duplicates = [_stored(r) for r in rows if r["kind"] == "duplicate"]
        if duplicates:
            return self._replayed(stream_id, events, duplicates)
        head = next((r for r in rows if r["kind"] == "head"), None)
        raise ConcurrencyConflict(stream_id, expected_version, head["version"] if head else 0)
