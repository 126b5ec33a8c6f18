"""Event store benchmark: our hash-chained EventStore beside the raw asyncpg floor and the
`eventsourcing` library, against the same PostgreSQL in one run.

    python -m bench.eventstore_bench          (what `make bench` runs)
    python -m bench.eventstore_bench --runs 3 --workloads b   (batched appends, three runs)

PostgreSQL is ``DATABASE_URL`` when set, otherwise an embedded pgserver in a temporary
directory. Every system gets scratch databases of its own in every pass (created here,
dropped WITH (FORCE) afterwards), so no run sees another's rows: one database for
workload (a), one for (b) whose streams (c) then replays. Ours and the raw floor use the
migrated ``events`` table (same constraints, triggers, foreign key); the library creates
its own ``stored_events`` table.

Workloads, with the same sign-off payload everywhere:

a) 2,000 single-event appends, each its own transaction: 200 streams x 10 appends,
   round-robin over the streams, expected version tracked by the caller;
b) 2,000 streams x 20 events, one append call (one transaction) per stream;
c) replay of b's 2,000 streams with verification: ours runs ``store.verify_streams``
   over each slice's 100 streams (the hash chain, event by event, several streams per
   read; ``store.verify(stream)`` one stream per call is shown too, as a diagnosis),
   the library loads each aggregate with ``app.repository.get`` (decoding, rebuilding the
   aggregate, no hashing); the floor does the
   same read as verify_streams without the walk: the slice's 100 streams through one
   server-side cursor with verify's statement, columns and page size, rows decoded,
   nothing hashed (so the ratio shows what the hashing and the walk cost).

Method. One client, no concurrency: every call is awaited before the next. The machine
is shared and its speed drifts by the second, so the systems are not run one after the
other: each workload is cut into slices (a: 10 of 200 appends, b and c: 20 of 100
streams) and every slice runs every system in turn, the order rotating from slice to
slice, so that drift hits all systems alike. The whole set runs PASSES times on fresh
databases. events/s is all events over all measured time; p50/p99 are over all calls
(per append in a and b, per stream in c). A ratio is given overall and per slice (the
two systems' rates in the same slice, seconds apart); a target is judged on the median
of the per-slice ratios, the paired estimate, which a burst of load on the machine moves
least. Each system is warmed up on its own streams first, and a CHECKPOINT runs before
each workload. Event objects are built inside the timed calls for every system (uuid4
ids, payload dicts), as a caller would.

The row marked * is a diagnosis, not a system: our per-stream verify(). Ratios and
targets use the batched verify_streams, which is what `temaplan verify --all` runs.

Ours is measured three times. As shipped, with the Merkle log: the worker's
checkpointer runs beside the appends as in production (audit/checkpointer.py: every 2 s
it runs the log's sequencer of migration 0070, which gives the events committed since
its last round their leaves, and builds the tree; it signs a checkpoint on the 300 s
timer or after a phase change, none of which these events are), on the same pool, CPU
and database, so its work slows the appends it competes with; appends never wait for
it. Its own time (rounds, seconds, per event) is reported beside the table, and every
pass ends with a checkpoint of the whole log, untimed. With each append followed by the
look-up of its leaves that a person's receipt makes (the worker's append activity does
it; it runs the sequencer when the events have none yet): a row of its own, no target.
And with the hash chain only: nothing runs the sequencer, as before the log. The raw
floor inserts into the same table, and nothing sequences its events either.

Our store is driven here; the sizes, payload and server are in bench/eventstore_workload.py,
the raw floor in bench/eventstore_floor.py, the library in bench/eventstore_library.py, and
the table, ratios and targets in bench/eventstore_report.py.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from audit.checkpointer import Checkpointer
from bench.databases import postgres_server
from bench.eventstore_floor import Raw
from bench.eventstore_library import Library
from bench.eventstore_report import Measurement, report, summary
from bench.eventstore_workload import (
    BACKGROUND,
    BATCH_SIZE,
    BATCH_STREAMS,
    CHAIN_ONLY,
    CHECKPOINT_INTERVAL,
    LOG_KEY,
    OURS,
    OURS_PER_STREAM,
    OURS_RECEIPTS,
    PASSES,
    SINGLE_APPENDS_PER_STREAM,
    SINGLE_STREAMS,
    SLICES,
    WARMUP_BATCH_STREAMS,
    WARMUP_SINGLE,
    Latencies,
    PoolFactory,
    Server,
    System,
    TimedCheckpointer,
    each_timed,
    new_event,
    shipped_pool,
    slice_of,
    timed_calls,
)
from eventstore import NewEvent
from eventstore.log import MerkleLog
from eventstore.store import EventStore

RESULTS = Path(__file__).parent / "results" / "eventstore.json"


# --------------------------------------------------------------------------- systems


class Ours(System):
    """Our store. With ``log`` (as shipped) the worker's checkpointer runs beside the
    appends as in production: it runs the log's sequencer, which gives the committed
    events their leaves, and builds the tree; without it nothing gives leaves: the hash
    chain alone, as before the log. With ``receipts`` each append is followed by the
    look-up of its leaves that a person's receipt makes (which sequences when they have
    none yet), as the worker's append activity does."""

    def __init__(
        self, name: str, make_pool: PoolFactory, *, log: bool = True, receipts: bool = False
    ) -> None:
        self.name = name
        self.make_pool = make_pool
        self.log = log
        self.receipts = receipts
        self.checkpointers: dict[int, Checkpointer] = {}
        self.logs: dict[int, MerkleLog] = {}
        if not log or receipts:
            self.workloads = frozenset("ab")  # replay reads the same rows either way

    async def _store(self, stack: AsyncExitStack, server: Server, label: str) -> EventStore:
        url = await stack.enter_async_context(server.scratch(label, migrated=True))
        pool = await self.make_pool(url)
        stack.push_async_callback(pool.close)
        store = EventStore(pool)
        self.logs[id(store)] = MerkleLog(pool)  # each store's own database
        if self.log:
            checkpointer = TimedCheckpointer(pool, LOG_KEY, interval=CHECKPOINT_INTERVAL)
            self.checkpointers[id(store)] = checkpointer
            stop = asyncio.Event()
            task = asyncio.create_task(checkpointer.run(stop))

            async def stopped() -> None:
                stop.set()
                await task
                # The whole log checkpointed at the end, untimed: nothing left unbuilt.
                final = await checkpointer.checkpoint_now()
                BACKGROUND["leaves"] += final.tree_size if final is not None else 0

            stack.push_async_callback(stopped)
        return store

    async def open(self, stack: AsyncExitStack, server: Server) -> None:
        self.single_store = await self._store(stack, server, "ours_a")
        self.batch_store = await self._store(stack, server, "ours_bc")
        for i in range(WARMUP_SINGLE):
            await self.single_store.append(f"warmup-{i % 10}", i // 10, [new_event(i)])
        for i in range(WARMUP_BATCH_STREAMS):
            events = [new_event(n) for n in range(BATCH_SIZE)]
            await self.batch_store.append(f"warmup-{i}", 0, events)
            await self.batch_store.verify(f"warmup-{i}")

    async def _append(
        self, store: EventStore, stream: str, after: int, events: list[NewEvent]
    ) -> None:
        receipts = await store.append(stream, after, events)
        if self.receipts:
            await self.logs[id(store)].leaf_indexes([r.position for r in receipts])

    async def single(self, after: int, streams: range) -> Latencies:
        return await each_timed(
            streams,
            lambda s: self._append(self.single_store, f"plan-{s}", after, [new_event(after)]),
        )

    async def batch(self, streams: range) -> Latencies:
        return await each_timed(
            streams,
            lambda s: self._append(
                self.batch_store, f"plan-{s}", 0, [new_event(n) for n in range(BATCH_SIZE)]
            ),
        )

    async def replay(self, streams: range) -> tuple[int, Latencies]:
        latencies: Latencies = []
        done = timed_calls(latencies)
        events = 0
        # One verify_streams call per slice: how an auditor checks many plans at once.
        t0 = time.perf_counter()
        for result in await self.batch_store.verify_streams([f"plan-{s}" for s in streams]):
            if not result.ok:
                raise RuntimeError(f"{result.stream_id}: chain broken: {result}")
            events += result.events_checked
        done(t0)
        return events, latencies


class OursPerStream(System):
    """Replay only: ``store.verify(stream)`` one stream per call, on our store's database
    of (b). A diagnosis beside the batched verify; not used for the targets."""

    name = OURS_PER_STREAM
    workloads = frozenset("c")

    def __init__(self, ours: Ours) -> None:
        self.ours = ours

    async def open(self, stack: AsyncExitStack, server: Server) -> None:
        for i in range(WARMUP_BATCH_STREAMS):
            await self.ours.batch_store.verify(f"warmup-{i}")

    async def replay(self, streams: range) -> tuple[int, Latencies]:
        events = 0

        async def verify(s: int) -> None:
            nonlocal events
            result = await self.ours.batch_store.verify(f"plan-{s}")
            if not result.ok:
                raise RuntimeError(f"plan-{s}: chain broken: {result}")
            events += result.events_checked

        latencies = await each_timed(streams, verify)
        return events, latencies


# --------------------------------------------------------------------------- running

SliceRun = Callable[[System, int], Awaitable[tuple[int, Latencies]]]


async def run_single(system: System, index: int) -> tuple[int, Latencies]:
    return SINGLE_STREAMS, await system.single(index, range(SINGLE_STREAMS))


async def run_batch(system: System, index: int) -> tuple[int, Latencies]:
    return len(slice_of(index)) * BATCH_SIZE, await system.batch(slice_of(index))


async def run_replay(system: System, index: int) -> tuple[int, Latencies]:
    return await system.replay(slice_of(index))


async def measure(
    workload: str,
    systems: list[System],
    run_slice: SliceRun,
    results: dict[tuple[str, str], Measurement],
) -> None:
    taking_part = [s for s in systems if workload in s.workloads]
    for index in range(SLICES[workload]):
        shift = index % len(taking_part)
        for system in taking_part[shift:] + taking_part[:shift]:
            gc.collect()
            t0 = time.perf_counter()
            events, latencies = await run_slice(system, index)
            seconds = time.perf_counter() - t0
            key = (workload, system.name)
            results.setdefault(key, Measurement(workload, system.name)).add(
                events, seconds, latencies
            )
    expected = {"a": SINGLE_STREAMS * SINGLE_APPENDS_PER_STREAM, "b": BATCH_STREAMS * BATCH_SIZE}
    expected["c"] = expected["b"]
    for system in taking_part:
        m = results[workload, system.name]
        if m.events % expected[workload]:
            raise RuntimeError(f"{system.name}: {m.events} events in workload {workload}")


async def one_pass(
    server: Server, results: dict[tuple[str, str], Measurement], workloads: str = "abc"
) -> None:
    ours = Ours(OURS, shipped_pool)
    systems: list[System] = [
        ours,
        Ours(OURS_RECEIPTS, shipped_pool, receipts=True),
        Ours(CHAIN_ONLY, shipped_pool, log=False),
        OursPerStream(ours),
        Raw(),
        Library(),
    ]
    async with AsyncExitStack() as stack:
        for system in systems:
            await system.open(stack, server)
        for workload, run_slice in (("a", run_single), ("b", run_batch), ("c", run_replay)):
            if workload not in workloads:
                continue
            await server.settle()
            t0 = time.perf_counter()
            await measure(workload, systems, run_slice, results)
            print(f"  workload {workload}: {time.perf_counter() - t0:5.1f} s", file=sys.stderr)


async def run(admin_url: str, mode: str, workloads: str = "abc") -> dict[str, Any]:
    server = Server(admin_url)
    BACKGROUND.update(rounds=0, seconds=0.0, leaves=0)
    context: dict[str, Any] = {
        "mode": mode,
        "server": await server.describe(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "passes": PASSES,
        "slices_per_pass": SLICES,
        "workloads": workloads,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }
    results: dict[tuple[str, str], Measurement] = {}
    started = time.perf_counter()
    for number in range(PASSES):
        print(f"pass {number + 1}/{PASSES}", file=sys.stderr)
        await one_pass(server, results, workloads)
    context["wall_seconds"] = round(time.perf_counter() - started, 1)
    context["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return report(results, context)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=1, help="run everything this many times; report the median"
    )
    parser.add_argument(
        "--workloads",
        default="abc",
        help="which of a, b, c to run (c replays b's streams, so it needs b)",
    )
    options = parser.parse_args(argv)
    workloads = "".join(sorted(set(options.workloads)))
    if not workloads or set(workloads) - set("abc") or ("c" in workloads and "b" not in workloads):
        parser.error("--workloads takes letters of abc, and c only with b")
    # Migration log lines would interleave with the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    documents = []
    with postgres_server() as (admin_url, mode):
        for number in range(options.runs):
            if options.runs > 1:
                print(f"run {number + 1}/{options.runs}", file=sys.stderr)
            documents.append(asyncio.run(run(admin_url, mode, workloads)))
    document = documents[0] if len(documents) == 1 else {"runs": documents}
    if len(documents) > 1:
        document["targets_median_of_runs"] = summary(documents)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
