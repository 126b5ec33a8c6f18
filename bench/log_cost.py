"""What the Merkle log's sequencer costs a batched append: the store's append of 20
events to a new stream (workload b of bench/eventstore_bench.py), on scratch databases
of the shipped schema, with the sequencer (migration 0070) run in three ways.

    python -m bench.log_cost [--rounds 100] [--appends 40]

- ``append only``: nothing sequences (the chain alone);
- ``sequenced per round``: one ``sequence()`` after each round's appends, timed with
  them, as the checkpointer's rounds sequence many appends at a time;
- ``receipt per append``: each append followed by the look-up of its leaves that a
  person's receipt makes, which sequences them (the worker's append activity).

Rounds alternate the variants, so drift on a shared machine hits all alike; the figure
is the median of the rounds' per-append mean. PostgreSQL is DATABASE_URL when set,
otherwise an embedded pgserver.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from contextlib import AsyncExitStack

import structlog

from bench.databases import postgres_server, scratch_database
from bench.eventstore_workload import BATCH_SIZE, new_event
from eventstore.log import MerkleLog
from eventstore.pool import create_pool
from eventstore.store import EventStore

VARIANTS = ("append only", "sequenced per round", "receipt per append")


async def measure(admin_url: str, rounds: int, appends: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        stores: dict[str, tuple[EventStore, MerkleLog]] = {}
        for n, name in enumerate(VARIANTS):
            url = await stack.enter_async_context(scratch_database(admin_url, f"log_cost_{n}"))
            pool = await create_pool(url)
            stack.push_async_callback(pool.close)
            stores[name] = EventStore(pool), MerkleLog(pool)
        per_round: dict[str, list[float]] = {name: [] for name in stores}
        stream = 0
        for _ in range(rounds):
            for name, (store, log) in stores.items():
                began = time.perf_counter()
                for _ in range(appends):
                    stream += 1
                    batch = [new_event(k) for k in range(BATCH_SIZE)]
                    receipts = await store.append(f"plan-{stream}", 0, batch)
                    if name == "receipt per append":
                        await log.leaf_indexes([r.position for r in receipts])
                if name == "sequenced per round":
                    await log.sequence()
                per_round[name].append((time.perf_counter() - began) / appends * 1000)
        warm = min(3, rounds - 1)
        return {name: statistics.median(times[warm:]) for name, times in per_round.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--appends", type=int, default=40)
    options = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server("temaplan-log-cost-") as (admin_url, how):
        medians = asyncio.run(measure(admin_url, options.rounds, options.appends))
    base = medians["append only"]
    print(
        f"PostgreSQL via {how}; {options.rounds} rounds of {options.appends} appends of "
        f"{BATCH_SIZE} events per variant, alternating; median ms per append"
    )
    for name, ms in medians.items():
        print(f"  {name:<20} {ms:6.3f} ms  ({ms - base:+.3f} ms against append only)")


if __name__ == "__main__":
    main()
