"""The event store: append with optimistic concurrency and idempotency, read, verify.

Append costs two round trips: one read of the stream head (none for a new stream), then
one INSERT ... SELECT FROM jsonb_to_recordset(...) that commits on its own. A single
statement is atomic, so no explicit transaction is needed, and concurrent appenders are
told apart by the primary key (stream_id, version). A retried append is recognised with one more read,
looking for its event ids, when the head is not at the expected version or the insert
hits a version or an event id that is already stored (event_id is UNIQUE); the common
case, a new append, never pays for that look-up.

Hashing follows domain.canonical to the byte. For the usual event data (plain dicts,
lists, strings, integers, booleans, None) the canonical record is assembled around one
``canonical_json(data)`` instead of serialising and checking the data twice; anything
else takes the reference functions themselves.

Each event also stores that canonical text of its data (``canonical_data``, migration
0003), so verification hashes the stored text directly; the server checks, bit for bit,
that the jsonb ``data`` is what that text parses to (see _VERIFY_COLUMNS).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from domain.canonical import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    chain_record,
    format_timestamp,
)
from domain.events import Event as DomainEvent
from eventstore.errors import (
    AppendOnlyViolation,
    ConcurrencyConflict,
    DataRefused,
    EventIdConflict,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.hashing import (
    _canonical_text,
    _json,
    _json_string,
    _plain,
    _short_json,
)
from eventstore.records import (
    NewEvent,
    Receipt,
    StoredEvent,
    VerifyResult,
    _occurred_at,
    _same_content,
    _stored,
)
from eventstore.verification import (
    _CAST_FAILED,
    _VERIFY_COLUMNS,
    _VERIFY_COLUMNS_REFERENCE,
    _VERIFY_PAGE,
    _VERIFY_SLICE,
    CanonicalDataUnreadable,
    _CastFailed,
    _ChainWalk,
    _verify_first,
    _verify_many,
    _verify_next,
)

APPEND_ONLY_SQLSTATE = "TP001"

_COLUMNS = (
    "position, stream_id, version, event_id, type, schema_version, data::text AS data, "
    "actor_id, actor_role, recorded_at, prev_hash, hash"
)

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


# Errors about the data itself (class 22, e.g. \u0000 in jsonb; class 23, a constraint;
# class 54, a limit such as nesting depth): no retry can change the answer.
_REFUSES_DATA = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventStore:
    def __init__(self, pool: asyncpg.Pool, clock: Callable[[], datetime] = _utc_now) -> None:
        self._pool = pool
        self._clock = clock

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool it reads and writes through (the Merkle log's readers share it)."""
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == APPEND_ONLY_SQLSTATE:
                raise AppendOnlyViolation(str(exc)) from exc
            if isinstance(exc, _REFUSES_DATA):
                raise DataRefused(f"the database cannot store this: {exc}") from exc
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
            # A new stream has no head to chain to; if the stream exists after all, the
            # insert of version 1 hits the primary key and is sorted out below.
            head = await conn.fetchrow(_HEAD, stream_id) if expected_version != 0 else None
            actual = head["version"] if head is not None else 0
            if actual != expected_version:
                # Either a retry of an append that went through, or a real conflict.
                return await self._after_race(conn, stream_id, expected_version, events)
            prev_hash = head["hash"] if head is not None else GENESIS_HASH
            recorded_at = self._clock()
            # Keeps recorded_at monotonic within a stream even if clocks differ between
            # machines, so "as of" reads never skip an earlier version.
            if head is not None and recorded_at < head["recorded_at"]:
                recorded_at = head["recorded_at"]
            batch, hashes = self._chain(stream_id, expected_version, prev_hash, recorded_at, events)
            try:
                inserted = await conn.fetch(_INSERT, stream_id, recorded_at, batch)
            except asyncpg.UniqueViolationError:
                # Another writer took the version, or some of these event ids are stored.
                return await self._after_race(conn, stream_id, expected_version, events)
        return [
            Receipt(stream_id, row["version"], e.event_id, h, recorded_at, row["position"])
            # RETURNING order is not promised by SQL: pair rows to events by version.
            for row, e, h in zip(
                sorted(inserted, key=lambda r: r["version"]), events, hashes, strict=True
            )
        ]

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
    def _chain(
        stream_id: str,
        expected_version: int,
        prev_hash: str,
        recorded_at: datetime,
        events: Sequence[NewEvent],
    ) -> tuple[str, list[str]]:
        """The batch as a JSON array of rows for the insert, and each event's hash."""
        rows: list[str] = []
        hashes: list[str] = []
        recorded_at_json = _json(format_timestamp(recorded_at))
        stream_json = _json(stream_id) if type(stream_id) is str else None
        # The part of every record after its event id, up to its schema version: one
        # per batch (see _record_hash for the whole record).
        middle = f'","recorded_at":{recorded_at_json},"schema_version":'
        sha256 = hashlib.sha256
        version = expected_version
        for event in events:
            version += 1
            data = event.data if type(event.data) is dict else dict(event.data)
            event_id = str(event.event_id)
            if (
                stream_json is not None
                and type(event.event_id) is UUID
                and type(event.type) is str
                and type(event.schema_version) is int
                and type(event.actor_id) is str
                and type(event.actor_role) is str
                and _plain(data)
            ):
                data_json = _canonical_text(data)
                type_json = _short_json(event.type)
                actor_id_json = _short_json(event.actor_id)
                actor_role_json = _short_json(event.actor_role)
                # _record_hash, inlined: this loop is most of an append's own time.
                event_hash = sha256(
                    (
                        f'{prev_hash}{{"actor_id":{actor_id_json},"actor_role":{actor_role_json},'
                        f'"data":{data_json},"event_id":"{event_id}{middle}'
                        f'{event.schema_version},"stream_id":{stream_json},"type":{type_json},'
                        f'"version":{version}}}'
                    ).encode()
                ).hexdigest()
            else:
                record = chain_record(
                    stream_id=stream_id,
                    version=version,
                    event_id=event_id,
                    event_type=event.type,
                    schema_version=event.schema_version,
                    data=dict(event.data),
                    actor_id=event.actor_id,
                    actor_role=event.actor_role,
                    recorded_at=recorded_at,
                )
                event_hash = chain_hash(prev_hash, record)
                data_json = canonical_json(record["data"]).decode()
                type_json = _json(str(event.type))
                actor_id_json = _json(str(event.actor_id))
                actor_role_json = _json(str(event.actor_role))
            # d is the canonical text as a JSON string: the server stores that text as it
            # is (canonical_data) and parses it into the jsonb data.
            rows.append(
                f'{{"v":{version},"e":"{event_id}","t":{type_json},'
                f'"s":{int(event.schema_version)},"d":{_json_string(data_json)},'
                f'"a":{actor_id_json},"r":{actor_role_json},"p":"{prev_hash}","h":"{event_hash}"}}'
            )
            hashes.append(event_hash)
            prev_hash = event_hash
        return "[" + ",".join(rows) + "]", hashes

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
        from_version: int | None = None,
    ) -> list[StoredEvent]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1"
                " AND ($2::int IS NULL OR version <= $2)"
                " AND ($3::timestamptz IS NULL OR recorded_at <= $3)"
                " AND ($4::int IS NULL OR version >= $4)"
                " ORDER BY version",
                stream_id,
                up_to_version,
                as_of,
                from_version,
            )
        return [_stored(r) for r in rows]

    async def iter_stream(
        self, stream_id: str, *, up_to_version: int | None = None, page: int = 2000
    ) -> AsyncIterator[StoredEvent]:
        """A stream's events in version order, a page at a time: flat memory for exports
        of streams of any length."""
        after = 0
        while True:
            async with self._connection() as conn:
                rows = await conn.fetch(
                    f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2"
                    " AND ($3::int IS NULL OR version <= $3) ORDER BY version LIMIT $4",
                    stream_id,
                    after,
                    up_to_version,
                    page,
                )
            for row in rows:
                yield _stored(row)
            if len(rows) < page:
                return
            after = rows[-1]["version"]

    async def iter_chain_pages(
        self, stream_id: str, *, up_to_version: int, page: int = 2000
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """A stream's events up to a version, in version order, a page at a time, with the
        columns verify reads: ``data`` is NULL where the server has confirmed that the
        jsonb is exactly what ``canonical_data`` parses to, so a reader can use the stored
        canonical text as it is; otherwise it is the jsonb as text. Each page is one
        statement by key (a plan's whole record is usually one page, one round trip: a
        cursor would cost a transaction and more round trips than it saves). A
        ``canonical_data`` that does not parse (it was changed) raises
        CanonicalDataUnreadable; read such a stream with ``iter_stream``."""
        query = (
            f"SELECT {_VERIFY_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 "
            "AND version <= $3 ORDER BY version LIMIT $4"
        )
        after = 0
        while True:
            try:
                async with self._connection() as conn:
                    rows = await conn.fetch(query, stream_id, after, up_to_version, page)
            except EventStoreError as exc:
                if isinstance(exc.__cause__, _CAST_FAILED):
                    raise CanonicalDataUnreadable(str(exc)) from exc
                raise
            if rows:
                yield rows
            if len(rows) < page:
                return
            after = rows[-1]["version"]

    async def iter_chain_pages_of(
        self, stream_ids: Sequence[str], *, reference: bool = False
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """Many streams' events with the columns of iter_chain_pages, for exporting them
        all at once: the streams in code point order of their ids, each stream's events
        in version order, a page at a time from one server-side cursor (one statement, so
        one snapshot of every stream, read once in key order). A ``canonical_data`` that
        does not parse raises CanonicalDataUnreadable; ``reference`` then reads every
        event's data as the text of its jsonb instead (``data`` never NULL)."""
        columns = _VERIFY_COLUMNS_REFERENCE if reference else _VERIFY_COLUMNS
        try:
            async with aclosing(self._pages_of(sorted(set(stream_ids)), columns)) as pages:
                async for rows in pages:
                    yield rows
        except _CastFailed as exc:
            raise CanonicalDataUnreadable(str(exc.__cause__)) from exc

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
        """Walk the stream in version order, a page of events at a time (flat memory),
        and report the first version where numbering or the hash chain breaks.

        Pages are read by version (the first without a lower bound, then after the last
        version seen), each page one statement: events are only ever appended, so a walk
        over several pages sees what one snapshot would, plus any events appended while
        it runs, which it checks as well."""
        try:
            return await self._verify_one(stream_id, _VERIFY_COLUMNS)
        except _CastFailed:
            return await self._verify_one(stream_id, _VERIFY_COLUMNS_REFERENCE)

    async def _verify_one(self, stream_id: str, columns: str) -> VerifyResult:
        walk = _ChainWalk(stream_id)
        async with self._connection() as conn:
            try:
                rows = await conn.fetch(_verify_first(columns), stream_id)
                while True:
                    for row in rows:
                        broken = walk.feed(row)
                        if broken is not None:
                            return broken
                    if len(rows) < _VERIFY_PAGE:
                        return walk.result()
                    rows = await conn.fetch(_verify_next(columns), stream_id, rows[-1]["version"])
            except _CAST_FAILED as exc:
                raise _CastFailed from exc

    async def _pages_of(
        self, wanted: list[str], columns: str = _VERIFY_COLUMNS
    ) -> AsyncGenerator[list[asyncpg.Record], None]:
        """The streams' events in the order of ``wanted``, a page at a time, from one
        server-side cursor: each row is read once (paging by key with LIMIT would re-read
        the rest of the batch for every page) and memory stays flat: one page in hand,
        the next one on its way. Each page is asked for before the previous one is
        handed over, so the server reads and checks it while the caller hashes."""
        async with self._connection() as conn, conn.transaction(readonly=True):
            try:
                cursor = await conn.cursor(_verify_many(columns), wanted)
                pending = asyncio.ensure_future(cursor.fetch(_VERIFY_PAGE))
                try:
                    while True:
                        rows = await pending
                        if len(rows) < _VERIFY_PAGE:
                            if rows:
                                yield rows
                            return
                        pending = asyncio.ensure_future(cursor.fetch(_VERIFY_PAGE))
                        await asyncio.sleep(0)  # the request goes out now
                        yield rows
                finally:
                    # Closed early (the caller failed): the connection must be idle again
                    # before the transaction ends.
                    if not pending.done():
                        await asyncio.wait({pending})
                    if not pending.cancelled():
                        pending.exception()  # retrieved: the caller's error is the one
            except _CAST_FAILED as exc:
                raise _CastFailed from exc

    async def verify_streams(self, stream_ids: Sequence[str]) -> list[VerifyResult]:
        """Verify many streams in few round trips (auditors check every plan at once):
        a page holds the events of several streams, read in primary-key order, so
        memory stays flat however long the streams are. Results follow the input order;
        a stream with no events has ``events_checked == 0``."""
        wanted = sorted(set(stream_ids))
        try:
            walks = await self._walk_streams(wanted, _VERIFY_COLUMNS)
        except _CastFailed:
            # A canonical_data that does not parse: it was changed. Walk again from the
            # jsonb, which names the event.
            walks = await self._walk_streams(wanted, _VERIFY_COLUMNS_REFERENCE)
        results: list[VerifyResult] = []
        for stream in stream_ids:
            walk = walks.get(stream)
            if walk is None:
                results.append(VerifyResult(stream, 0, 0, GENESIS_HASH))
            else:
                results.append(walk.broken or walk.result())
        return results

    async def _walk_streams(self, wanted: list[str], columns: str) -> dict[str, _ChainWalk]:
        walks: dict[str, _ChainWalk] = {}
        walk: _ChainWalk | None = None
        async with aclosing(self._pages_of(wanted, columns)) as pages:
            async for rows in pages:
                for start in range(0, len(rows), _VERIFY_SLICE):
                    for row in rows[start : start + _VERIFY_SLICE]:
                        # Rows come grouped by stream: look the walk up when it changes.
                        stream = row[0]
                        if walk is None or walk.stream_id != stream:
                            walk = walks.get(stream)
                            if walk is None:
                                walk = walks[stream] = _ChainWalk(stream)
                        if walk.broken is None:  # the first break is the finding
                            walk.broken = walk.feed(row)
                    # Let the event loop read what the server has sent of the next page
                    # meanwhile, so that it is not held up by a full socket buffer.
                    await asyncio.sleep(0)
        return walks
