"""Verification of a stream's hash chain as the store reads it: the statements and the
walk that checks each event on a fast path, and by the reference
(eventstore.chain.ChainChecker) where that path does not confirm it.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from domain.canonical import (
    GENESIS_HASH,
    chain_record,
    format_timestamp,
)
from eventstore.chain import ChainChecker
from eventstore.errors import (
    EventStoreError,
)
from eventstore.hashing import (
    _canonical_text,
    _json,
    _loads,
    _record_hash,
    _short_json,
)
from eventstore.records import (
    VerifyResult,
)

# verify() reads a stream in pages of this many events: flat memory, one round trip for
# all but the longest streams. A literal, so the planner sees the real row count.
_VERIFY_PAGE = 2000


# verify_streams hashes this many rows between visits to the event loop (see there).
_VERIFY_SLICE = 250


# What verify reads of each event, in the order _ChainWalk.feed unpacks it. ``data`` is
# NULL when the server has checked that the jsonb is, bit for bit (record image
# equality, *=, which unlike = tells 1 from 1.0), what canonical_data parses to: the
# walk then hashes canonical_data as stored, and the jsonb is never written out as text
# nor parsed in Python. Otherwise (events from before migration 0003, or a column
# changed) ``data`` is the jsonb as text and the walk checks it the reference way.
# canonical_data comes from the table, so it may not parse: the cast then fails the
# statement, and verification starts over with _VERIFY_COLUMNS_REFERENCE.
_VERIFY_COLUMNS = (
    "stream_id, version, event_id::text AS event_id, type, schema_version, canonical_data, "
    "CASE WHEN canonical_data IS NOT NULL AND ROW(data)::record *= ROW(canonical_data::jsonb)::record "
    "THEN NULL ELSE data::text END AS data, "
    "actor_id, actor_role, recorded_at, prev_hash, hash"
)


# The same without the cast: every event checked from its jsonb, and its canonical_data
# compared with the canonical text of that in Python.
_VERIFY_COLUMNS_REFERENCE = (
    "stream_id, version, event_id::text AS event_id, type, schema_version, canonical_data, "
    "data::text AS data, actor_id, actor_role, recorded_at, prev_hash, hash"
)


# The errors the cast of a changed canonical_data can raise: not JSON, \u0000, a number
# out of range (class 22), nesting too deep (54001).
_CAST_FAILED = (asyncpg.DataError, asyncpg.ProgramLimitExceededError)


def _verify_first(columns: str) -> str:
    return (
        f"SELECT {columns} FROM events WHERE stream_id = $1 ORDER BY version LIMIT {_VERIFY_PAGE}"
    )


def _verify_next(columns: str) -> str:
    return (
        f"SELECT {columns} FROM events WHERE stream_id = $1 AND version > $2 "
        f"ORDER BY version LIMIT {_VERIFY_PAGE}"
    )


def _verify_many(columns: str) -> str:
    """Several streams at once, read through a cursor: one walk down the primary key per
    stream, in the order of $1, each stream's events in version order. ``stream_id =
    ANY($1) ORDER BY stream_id, version`` gets a bitmap heap scan and a sort that spills
    to disk once the batch outgrows work_mem; this reads rows in index order and sorts
    nothing. The nested loop a LATERAL join plans to (cursors never run in parallel)
    emits each stream's rows together, in the order of the inner ORDER BY; should rows
    ever come otherwise, the walk reports a numbering break rather than passing them."""
    return (
        "SELECT e.* FROM unnest($1::text[]) AS s(id) CROSS JOIN LATERAL "
        f"(SELECT {columns} FROM events WHERE stream_id = s.id ORDER BY version) AS e"
    )


class CanonicalDataUnreadable(EventStoreError):
    """A stored canonical_data that PostgreSQL cannot parse: it was changed."""


class _CastFailed(Exception):
    """The fast verify statement failed on a stored canonical_data: start over with the
    reference columns."""


class _ChainWalk:
    """verify()'s walk along a chain. Each event is first checked on a fast path (the
    rule of domain.canonical, assembled as append does it); an event that path does not
    confirm goes to eventstore.chain.ChainChecker, the reference, set to the same place
    in the chain, which either names the break or accepts the event.

    The fast path hashes canonical_data as stored when the server has confirmed that the
    jsonb data is exactly what it parses to (``data`` is NULL in the row); otherwise the
    jsonb's text is parsed and written out canonically, as for events recorded before
    canonical_data existed. Either way an event that carries canonical_data must have its
    data's canonical text there, or the walk breaks at it."""

    __slots__ = (
        "broken",
        "checked",
        "expected_version",
        "last_hash",
        "last_version",
        "moment",
        "moment_json",
        "prev_hash",
        "stream_id",
        "stream_json",
    )

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
        self.broken: VerifyResult | None = None

    def feed(self, row: asyncpg.Record) -> VerifyResult | None:
        """One row of _VERIFY_COLUMNS (or _VERIFY_COLUMNS_REFERENCE)."""
        (
            _,
            version,
            event_id,
            event_type,
            schema_version,
            canonical,
            data_text,
            actor_id,
            actor_role,
            recorded_at,
            prev_hash,
            stored_hash,
        ) = row
        if (
            data_text is None
            and version == self.expected_version
            and prev_hash == self.prev_hash
            and self.stream_json is not None
            and type(version) is int
            and type(schema_version) is int
        ):
            # The server confirmed data == canonical_data::jsonb bit for bit: the hash
            # over canonical_data is the hash over the data's canonical text.
            if recorded_at != self.moment:
                self.moment_json = _json(format_timestamp(recorded_at))
                self.moment = recorded_at
            event_hash = _record_hash(
                prev_hash,
                stream_json=self.stream_json,
                version=version,
                event_id=event_id,
                type_json=_short_json(event_type),
                schema_version=schema_version,
                data_json=canonical,
                actor_id_json=_short_json(actor_id),
                actor_role_json=_short_json(actor_role),
                recorded_at_json=self.moment_json,
            )
            if event_hash == stored_hash:
                self.checked += 1
                self.expected_version = version + 1
                self.prev_hash = self.last_hash = stored_hash
                self.last_version = version
                return None
        # The reference way. With data NULL the jsonb equals what canonical_data parses
        # to, so parsing canonical_data gives the data.
        data, plain = _loads(data_text if data_text is not None else canonical)
        data_json = _canonical_text(data) if plain else None
        if not (plain and self._confirms(row, data_json)):
            checker = ChainChecker()
            checker.expected_version = self.expected_version
            checker.prev_hash = self.prev_hash
            checker.checked = self.checked
            record = chain_record(
                stream_id=self.stream_id,
                version=version,
                event_id=str(event_id),
                event_type=event_type,
                schema_version=schema_version,
                data=data,
                actor_id=actor_id,
                actor_role=actor_role,
                recorded_at=recorded_at,
            )
            broken = checker.feed(record, prev_hash=prev_hash, stored_hash=stored_hash)
            if broken is not None:
                return self._break(checker.checked, broken.version, broken.problem)
        if canonical is not None and canonical != data_json:
            return self._break(
                self.checked + 1,
                version,
                "canonical_data is not the canonical text of data: one of them was changed "
                "after recording",
            )
        self.checked += 1
        self.expected_version = version + 1
        self.prev_hash = stored_hash
        self.last_version, self.last_hash = version, stored_hash
        return None

    def _break(self, checked: int, version: int, problem: str) -> VerifyResult:
        return VerifyResult(
            self.stream_id,
            checked,
            self.last_version,
            self.last_hash,
            broken_version=version,
            problem=problem,
        )

    def _confirms(self, row: asyncpg.Record, data_json: str | None) -> bool:
        version = row["version"]
        if (
            data_json is None
            or self.stream_json is None
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
            data_json=data_json,
            actor_id_json=_short_json(row["actor_id"]),
            actor_role_json=_short_json(row["actor_role"]),
            recorded_at_json=self.moment_json,
        )
        return bool(event_hash == row["hash"])

    def result(self) -> VerifyResult:
        return VerifyResult(self.stream_id, self.checked, self.last_version, self.last_hash)
