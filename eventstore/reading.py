"""Reading and verifying the record: streams in version order, every stream in global
order, and the hash chain walked a page at a time (one stream, or many at once through
one server-side cursor).

Each event stores the canonical text of its data (``canonical_data``, migration 0003), so
verification hashes the stored text directly; the server checks, bit for bit, that the
jsonb ``data`` is what that text parses to (see _VERIFY_COLUMNS).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime

import asyncpg

from domain.canonical import GENESIS_HASH
from domain.events import Event as DomainEvent
from eventstore.errors import (
    AppendOnlyViolation,
    DataRefused,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.records import StoredEvent, VerifyResult, _stored
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


# Errors about the data itself (class 22, e.g. \u0000 in jsonb; class 23, a constraint;
# class 54, a limit such as nesting depth): no retry can change the answer.
_REFUSES_DATA = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreReader:
    """The store's reads and checks; EventStore (eventstore/store.py) adds the appends."""

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
