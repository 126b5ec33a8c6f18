"""The event store benchmark's ground (bench/eventstore_bench.py): the workloads' sizes and
slices, the systems' names and targets, the sign-off every system records, the
checkpointer that runs beside our appends, the PostgreSQL server, and the interface each
contender implements."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg

from audit.checkpointer import Checkpointer
from bench.databases import describe_server, scratch_database
from domain.checkpoints import SigningKey
from eventstore.log import StoredCheckpoint
from eventstore.pool import create_pool
from eventstore.records import NewEvent

SINGLE_STREAMS = 200
SINGLE_APPENDS_PER_STREAM = 10  # a) 200 x 10 = 2,000 single-event appends
BATCH_STREAMS = 2_000
BATCH_SIZE = 20  # b) and c) 2,000 x 20 = 40,000 events
# Interleaving: a's slice k is the k-th append to each of the 200 streams; b and c are
# cut into slices of 100 streams.
SLICES = {"a": SINGLE_APPENDS_PER_STREAM, "b": 20, "c": 20}
PASSES = 2
WARMUP_SINGLE = 100
WARMUP_BATCH_STREAMS = 50

OURS = "temaplan: chain + Merkle log"
CHAIN_ONLY = "temaplan: chain only"
OURS_PER_STREAM = "temaplan verify() per stream*"
RAW = "raw asyncpg floor"
LIBRARY = "eventsourcing 9.x"
OURS_RECEIPTS = "temaplan: + receipt's leaf"
SYSTEM_ORDER = [OURS, OURS_RECEIPTS, CHAIN_ONLY, OURS_PER_STREAM, RAW, LIBRARY]

WORKLOADS = {
    "a": f"a) {SINGLE_STREAMS * SINGLE_APPENDS_PER_STREAM:,} single-event appends",
    "b": f"b) {BATCH_STREAMS:,} streams x {BATCH_SIZE} events",
    "c": f"c) replay {BATCH_STREAMS:,} x {BATCH_SIZE} + verify",
}

# (workload, system, reference system, minimum system/reference): the store as shipped,
# with the Merkle log and its checkpoints (issue 13: >= 0.6x the raw floor, >= 2x the
# library), and with the chain only (issue 11: >= 0.75x the raw floor, >= 2.2x the
# library).
TARGETS = [
    ("b", OURS, LIBRARY, 2.0),
    ("b", OURS, RAW, 0.6),
    ("b", CHAIN_ONLY, LIBRARY, 2.2),
    ("b", CHAIN_ONLY, RAW, 0.75),
    ("c", OURS, LIBRARY, 2.0),
]
# The log's checkpoint signer in the benchmark: a fresh key, nothing kept.
LOG_KEY = SigningKey.generate("bench.temaplan.example/log")
# The worker's checkpointer as configured in production (TEMAPLAN_CHECKPOINT_INTERVAL).
CHECKPOINT_INTERVAL = 300.0
# What the background checkpointers did during the measured passes.
BACKGROUND: dict[str, float] = {"rounds": 0, "seconds": 0.0, "leaves": 0}


class TimedCheckpointer(Checkpointer):
    """The worker's checkpointer, its rounds timed for the report."""

    async def step(self) -> StoredCheckpoint | None:
        t0 = time.perf_counter()
        try:
            return await super().step()
        finally:
            BACKGROUND["rounds"] += 1
            BACKGROUND["seconds"] += time.perf_counter() - t0


EVENT_TYPE = "step_signed_off"
ACTOR_ID = "kari.nilsen"
ACTOR_ROLE = "steering_group"
_PAYLOAD = {
    "phase": "strategies",
    "step_key": "strategier.boligsosiale-tiltak",
    "content_version": 0,
    "content_hash": hashlib.sha256(b"Strategier for boligsosialt arbeid").hexdigest(),
    "comment": (
        "Godkjent av styringsgruppen. Tiltakene for førstegangskjøpere og bostøtte må "
        "følges opp før høringen – særlig i Ørsta og på Ås."
    ),
    "decision": "approved",
    "signed_by": ACTOR_ID,
    "role": ACTOR_ROLE,
}


def payload(n: int) -> dict[str, Any]:
    """The sign-off every system records; only the content version changes."""
    return {**_PAYLOAD, "content_version": n}


def slice_of(index: int) -> range:
    per_slice = BATCH_STREAMS // SLICES["b"]
    return range(index * per_slice, (index + 1) * per_slice)


Latencies = list[float]


def timed_calls(latencies: Latencies) -> Callable[[float], None]:
    def done(started: float) -> None:
        latencies.append((time.perf_counter() - started) * 1000)

    return done


async def each_timed(streams: range, call: Callable[[int], Awaitable[object] | None]) -> Latencies:
    """``call(stream)`` for each stream, one after the other, each call timed on its own
    (ms). A call may be synchronous (the library's) or return something to await."""
    latencies: Latencies = []
    done = timed_calls(latencies)
    for s in streams:
        t0 = time.perf_counter()
        pending = call(s)
        if pending is not None:
            await pending
        done(t0)
    return latencies


# --------------------------------------------------------------------------- databases


class Server:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    @asynccontextmanager
    async def scratch(self, label: str, *, migrated: bool) -> AsyncIterator[str]:
        async with scratch_database(self.admin_url, label, migrated=migrated) as url:
            yield url

    async def settle(self) -> None:
        """Flush dirty buffers now rather than in the middle of someone's measurement."""
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute("CHECKPOINT")
        finally:
            await admin.close()

    async def describe(self) -> dict[str, str]:
        return await describe_server(self.admin_url)


# --------------------------------------------------------------------------- systems


class System:
    """One contender. Each call runs one slice and returns its per-call latencies."""

    name = ""
    workloads = frozenset("abc")

    async def open(self, stack: AsyncExitStack, server: Server) -> None:
        raise NotImplementedError

    async def single(self, after: int, streams: range) -> Latencies:
        raise NotImplementedError

    async def batch(self, streams: range) -> Latencies:
        raise NotImplementedError

    async def replay(self, streams: range) -> tuple[int, Latencies]:
        raise NotImplementedError


def new_event(n: int) -> NewEvent:
    return NewEvent(uuid.uuid4(), EVENT_TYPE, payload(n), ACTOR_ID, ACTOR_ROLE)


PoolFactory = Callable[[str], Awaitable[asyncpg.Pool]]


async def shipped_pool(url: str) -> asyncpg.Pool:
    return await create_pool(url)
