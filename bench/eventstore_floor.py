"""The event store benchmark's floor (bench/eventstore_bench.py): asyncpg on a plain
connection into the same ``events`` table, without the log's sequencer, the head read,
the idempotency check or the hashing; and for the replay, verify_streams' own read without
its walk."""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.eventstore_workload import (
    ACTOR_ID,
    ACTOR_ROLE,
    BATCH_SIZE,
    EVENT_TYPE,
    RAW,
    WARMUP_BATCH_STREAMS,
    WARMUP_SINGLE,
    Latencies,
    Server,
    System,
    each_timed,
    payload,
    timed_calls,
)
from eventstore.verification import _VERIFY_COLUMNS, _VERIFY_PAGE, _verify_many

# The same table and statement shape as the store's insert, minus the head read, the
# idempotency check and the hashing: the hashes are constant dummies.
RAW_INSERT = """
INSERT INTO events (stream_id, version, event_id, type, schema_version, data,
                    actor_id, actor_role, recorded_at, prev_hash, hash)
SELECT $1, u.version, u.event_id, $2, 1, u.data::jsonb, $3, $4, $5, $6, $7
  FROM unnest($8::int[], $9::uuid[], $10::text[]) AS u(version, event_id, data)
"""
RAW_SELECT = (
    "SELECT position, stream_id, version, event_id, type, schema_version, data::text AS data,"
    " actor_id, actor_role, recorded_at, prev_hash, hash"
    " FROM events WHERE stream_id = $1 ORDER BY version"
)
DUMMY_PREV_HASH = "0" * 64
DUMMY_HASH = "f" * 64


class Raw(System):
    """asyncpg on a plain connection: one INSERT ... SELECT FROM unnest per transaction,
    no head read, no hashing; a plain SELECT per stream to replay."""

    name = RAW

    async def _connect(self, stack: AsyncExitStack, server: Server, label: str) -> Any:
        url = await stack.enter_async_context(server.scratch(label, migrated=True))
        # The table's own constraints and nothing of ours: the log's sequencer never runs
        # on the floor's database, and its txid default is the table's.
        conn = await asyncpg.connect(url)
        stack.push_async_callback(conn.close)
        return conn

    async def open(self, stack: AsyncExitStack, server: Server) -> None:
        self.single_conn = await self._connect(stack, server, "raw_a")
        self.batch_conn = await self._connect(stack, server, "raw_bc")
        for i in range(WARMUP_SINGLE):
            await self._append(self.single_conn, f"warmup-{i % 10}", i // 10, 1)
        for i in range(WARMUP_BATCH_STREAMS):
            await self._append(self.batch_conn, f"warmup-{i}", 0, BATCH_SIZE)
            await self.batch_conn.fetch(RAW_SELECT, f"warmup-{i}")

    @staticmethod
    async def _append(conn: Any, stream: str, after: int, count: int) -> None:
        versions = list(range(after + 1, after + count + 1))
        await conn.execute(
            RAW_INSERT,
            stream,
            EVENT_TYPE,
            ACTOR_ID,
            ACTOR_ROLE,
            datetime.now(UTC),
            DUMMY_PREV_HASH,
            DUMMY_HASH,
            versions,
            [uuid.uuid4() for _ in versions],
            [json.dumps(payload(v - 1), ensure_ascii=False) for v in versions],
        )

    async def single(self, after: int, streams: range) -> Latencies:
        return await each_timed(
            streams, lambda s: self._append(self.single_conn, f"plan-{s}", after, 1)
        )

    async def batch(self, streams: range) -> Latencies:
        return await each_timed(
            streams, lambda s: self._append(self.batch_conn, f"plan-{s}", 0, BATCH_SIZE)
        )

    async def replay(self, streams: range) -> tuple[int, Latencies]:
        """The slice's streams read the way verify_streams reads them: one statement
        (verify's, with verify's columns and the server's check of canonical_data against
        the jsonb) through one server-side cursor, verify's page size; the rows are
        decoded by asyncpg and nothing is hashed. What verify adds to this is its walk:
        the hashing, and decoding a jsonb the server did not confirm."""
        latencies: Latencies = []
        done = timed_calls(latencies)
        events = 0
        wanted = sorted(f"plan-{s}" for s in streams)
        t0 = time.perf_counter()
        async with self.batch_conn.transaction(readonly=True):
            cursor = await self.batch_conn.cursor(_verify_many(_VERIFY_COLUMNS), wanted)
            while True:
                rows = await cursor.fetch(_VERIFY_PAGE)
                events += len(rows)
                if len(rows) < _VERIFY_PAGE:
                    break
        done(t0)
        return events, latencies
