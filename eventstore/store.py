"""The event store: append with optimistic concurrency and idempotency, read, verify.

Append costs two round trips: one read of the stream head (none for a new stream), then
one INSERT ... SELECT FROM unnest(...) that commits on its own. A single statement is
atomic, so no explicit transaction is needed, and concurrent appenders are told apart by
the primary key (stream_id, version). A retried append is recognised with one more read,
looking for its event ids, when the head is not at the expected version or the insert
hits a version or an event id that is already stored (event_id is UNIQUE); the common
case, a new append, never pays for that look-up.

Hashing follows domain.canonical to the byte. For the usual event data (plain dicts,
lists, strings, integers, booleans, None) the canonical record is assembled around one
``canonical_json(data)`` instead of serialising and checking the data twice; anything
else takes the reference functions themselves.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from domain.canonical import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    chain_record,
    format_timestamp,
)
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
# building it is string joining, and the server parses it in one go.
_INSERT = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data,
                    actor_id, actor_role, recorded_at, prev_hash, hash)
SELECT $1, u.v, u.e, u.t, u.s, u.d, u.a, u.r, $2, u.p, u.h
  FROM json_to_recordset($3::json)
       AS u(v int, e uuid, t text, s int, d jsonb, a text, r text, p text, h text)
RETURNING version, position
"""


# verify() reads a stream in pages of this many events: flat memory, one round trip for
# all but the longest streams. A literal, so the planner sees the real row count.
_VERIFY_PAGE = 2000

_VERIFY_COLUMNS = (
    "version, event_id::text AS event_id, type, schema_version, data::text AS data, actor_id, actor_role, "
    "recorded_at, prev_hash, hash"
)
_VERIFY_FIRST = (
    f"SELECT {_VERIFY_COLUMNS} FROM events WHERE stream_id = $1 "
    f"ORDER BY version LIMIT {_VERIFY_PAGE}"
)
_VERIFY_NEXT = (
    f"SELECT {_VERIFY_COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 "
    f"ORDER BY version LIMIT {_VERIFY_PAGE}"
)
# Several streams at once, in the primary key's order, read through a cursor.
_VERIFY_MANY = (
    f"SELECT stream_id, {_VERIFY_COLUMNS} FROM events "
    "WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, version"
)

# json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), which is
# canonical_json without the checks and the encoding, built once instead of per call.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_json = _CANONICAL.encode
# Types, actors and roles repeat across a stream: encode each once.
_short_json = functools.lru_cache(maxsize=4096)(_json)


_SCALARS = frozenset({str, int, bool, type(None)})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _canonical_text(data: Any) -> str:
    """canonical_json(data) for data already known to be plain. orjson with sorted keys
    writes exactly the bytes of the documented rule for plain values (same escapes, key
    order by code point, compact) several times faster; it refuses integers beyond 64
    bits, which go to the standard library encoder."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _json(data)


def _loads(text: str) -> tuple[Any, bool]:
    """Stored data and whether it is plain (no floats or other values the fast path does
    not hash); anything else is left to the reference path."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if _plain(data):
            return data, True
    # orjson reads integers beyond 64 bits as floats: the standard library reads them
    # exactly, and leaves real floats as floats for the reference path to refuse.
    data = json.loads(text)
    return data, _plain(data)


def _plain(value: Any) -> bool:
    """True when ``value`` is made only of exactly the types canonical_json admits (no
    subclasses), so that the JSON encoder alone gives its canonical form. False sends the
    caller to the reference functions, which also raise the documented errors."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _SCALARS and not _plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item) for item in value)
    return False


def _record_hash(
    prev_hash: str,
    *,
    stream_json: str,
    version: int,
    event_id: str,
    type_json: str,
    schema_version: int,
    data_json: str,
    actor_id_json: str,
    actor_role_json: str,
    recorded_at_json: str,
) -> str:
    """chain_hash(prev_hash, chain_record(...)) from parts already in canonical JSON:
    the record's keys in code point order, no white space. Callers pass ints of type
    int exactly and a UUID's string form, which need no escaping."""
    record = (
        f'{{"actor_id":{actor_id_json},"actor_role":{actor_role_json},"data":{data_json},'
        f'"event_id":"{event_id}","recorded_at":{recorded_at_json},'
        f'"schema_version":{schema_version},"stream_id":{stream_json},'
        f'"type":{type_json},"version":{version}}}'
    )
    return hashlib.sha256((prev_hash + record).encode()).hexdigest()


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
        for offset, event in enumerate(events, start=1):
            version = expected_version + offset
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
                event_hash = _record_hash(
                    prev_hash,
                    stream_json=stream_json,
                    version=version,
                    event_id=event_id,
                    type_json=type_json,
                    schema_version=event.schema_version,
                    data_json=data_json,
                    actor_id_json=actor_id_json,
                    actor_role_json=actor_role_json,
                    recorded_at_json=recorded_at_json,
                )
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
            rows.append(
                f'{{"v":{version},"e":"{event_id}","t":{type_json},'
                f'"s":{int(event.schema_version)},"d":{data_json},"a":{actor_id_json},'
                f'"r":{actor_role_json},"p":"{prev_hash}","h":"{event_hash}"}}'
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
        return [by_id[e.event_id].receipt() for e in events]

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
        walk = _ChainWalk(stream_id)
        async with self._connection() as conn:
            rows = await conn.fetch(_VERIFY_FIRST, stream_id)
            while True:
                for row in rows:
                    broken = walk.feed(row)
                    if broken is not None:
                        return broken
                if len(rows) < _VERIFY_PAGE:
                    return walk.result()
                rows = await conn.fetch(_VERIFY_NEXT, stream_id, rows[-1]["version"])

    async def _pages_of(self, wanted: list[str]) -> AsyncIterator[list[asyncpg.Record]]:
        """The streams' events in key order, a page at a time, from one server-side
        cursor: each row is read once (paging by key with LIMIT would re-read and re-sort
        the rest of the batch for every page) and memory stays flat."""
        async with self._connection() as conn, conn.transaction(readonly=True):
            cursor = await conn.cursor(_VERIFY_MANY, wanted)
            while True:
                rows = await cursor.fetch(_VERIFY_PAGE)
                if rows:
                    yield rows
                if len(rows) < _VERIFY_PAGE:
                    return

    async def verify_streams(self, stream_ids: Sequence[str]) -> list[VerifyResult]:
        """Verify many streams in few round trips (auditors check every plan at once):
        a page holds the events of several streams, read in primary-key order, so
        memory stays flat however long the streams are. Results follow the input order;
        a stream with no events has ``events_checked == 0``."""
        wanted = sorted(set(stream_ids))
        walks: dict[str, _ChainWalk] = {}
        broken: dict[str, VerifyResult] = {}
        async for rows in self._pages_of(wanted):
            for row in rows:
                stream = row["stream_id"]
                if stream in broken:
                    continue  # the first break is the finding; the rest is noise
                walk = walks.get(stream)
                if walk is None:
                    walk = walks[stream] = _ChainWalk(stream)
                found = walk.feed(row)
                if found is not None:
                    broken[stream] = found
        results: list[VerifyResult] = []
        for stream in stream_ids:
            if stream in broken:
                results.append(broken[stream])
            elif stream in walks:
                results.append(walks[stream].result())
            else:
                results.append(VerifyResult(stream, 0, 0, GENESIS_HASH))
        return results


class _ChainWalk:
    """verify()'s walk along a chain. Each event is first checked on a fast path (the
    rule of domain.canonical, assembled as append does it); an event that path does not
    confirm goes to eventstore.chain.ChainChecker, the reference, set to the same place
    in the chain, which either names the break or accepts the event."""

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id
        self.stream_json = _json(stream_id) if type(stream_id) is str else None
        self.expected_version = 1
        self.prev_hash = GENESIS_HASH
        self.checked = 0
        self.last_version = 0
        self.last_hash = GENESIS_HASH
        # Events of one append share recorded_at: format it once per append.
        self.moment: datetime | None = None
        self.moment_json = ""

    def feed(self, row: asyncpg.Record) -> VerifyResult | None:
        version, stored_hash = row["version"], row["hash"]
        data, plain = _loads(row["data"])
        if not (plain and self._confirms(row, data)):
            checker = ChainChecker(self.stream_id)
            checker.expected_version = self.expected_version
            checker.prev_hash = self.prev_hash
            checker.checked = self.checked
            broken = checker.feed(
                version=version,
                event_id=str(row["event_id"]),
                event_type=row["type"],
                schema_version=row["schema_version"],
                data=data,
                actor_id=row["actor_id"],
                actor_role=row["actor_role"],
                recorded_at=row["recorded_at"],
                prev_hash=row["prev_hash"],
                stored_hash=stored_hash,
            )
            if broken is not None:
                return VerifyResult(
                    self.stream_id,
                    checker.checked,
                    self.last_version,
                    self.last_hash,
                    broken_version=broken.version,
                    problem=broken.problem,
                )
        self.checked += 1
        self.expected_version = version + 1
        self.prev_hash = stored_hash
        self.last_version, self.last_hash = version, stored_hash
        return None

    def _confirms(self, row: asyncpg.Record, data: Any) -> bool:
        version = row["version"]
        if (
            self.stream_json is None
            or version != self.expected_version
            or row["prev_hash"] != self.prev_hash
            or type(version) is not int
            or type(row["schema_version"]) is not int
        ):
            return False
        moment = row["recorded_at"]
        if moment != self.moment:
            self.moment_json = _json(format_timestamp(moment))
            self.moment = moment
        event_hash = _record_hash(
            self.prev_hash,
            stream_json=self.stream_json,
            version=version,
            event_id=row["event_id"],
            type_json=_short_json(row["type"]),
            schema_version=row["schema_version"],
            data_json=_canonical_text(data),
            actor_id_json=_short_json(row["actor_id"]),
            actor_role_json=_short_json(row["actor_role"]),
            recorded_at_json=self.moment_json,
        )
        return bool(event_hash == row["hash"])

    def result(self) -> VerifyResult:
        return VerifyResult(self.stream_id, self.checked, self.last_version, self.last_hash)
