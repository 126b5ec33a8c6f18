"""What handing a connection back to the pool costs a batched append: the store's append
of 20 events to a new stream (workload b of bench/eventstore_bench.py) through the
shipped pool (eventstore/quick_release.py) and through asyncpg's own pool with the same
settings, on scratch databases of the shipped schema.

    python -m bench.pool_release [--rounds 100] [--appends 40]

Rounds alternate the two, so drift on a shared machine hits both alike; the figure is
the median of the rounds' per-append mean. PostgreSQL is DATABASE_URL when set,
otherwise an embedded pgserver.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from contextlib import AsyncExitStack

import asyncpg
import structlog

from bench.databases import postgres_server, scratch_database
from bench.eventstore_workload import BATCH_SIZE, new_event
from eventstore.pool import create_pool
from eventstore.quick_release import keep_session
from eventstore.store import EventStore

ASYNCPG = "asyncpg's release"
SHIPPED = "shipped pool"


async def asyncpg_pool(url: str) -> asyncpg.Pool:
    """create_pool's settings, asyncpg's own pool class."""
    return await asyncpg.create_pool(
        url, min_size=1, max_size=10, command_timeout=60, reset=keep_session
    )


async def measure(admin_url: str, rounds: int, appends: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        stores: dict[str, EventStore] = {}
        for n, name in enumerate((ASYNCPG, SHIPPED)):
            url = await stack.enter_async_context(scratch_database(admin_url, f"pool_{n}"))
            pool = await (asyncpg_pool(url) if name == ASYNCPG else create_pool(url))
            stack.push_async_callback(pool.close)
            stores[name] = EventStore(pool)
        per_round: dict[str, list[float]] = {name: [] for name in stores}
        stream = 0
        for number in range(rounds):
            order = list(stores.items())
            for name, store in order if number % 2 else reversed(order):
                began = time.perf_counter()
                for _ in range(appends):
                    stream += 1
                    await store.append(
                        f"plan-{stream}", 0, [new_event(k) for k in range(BATCH_SIZE)]
                    )
                per_round[name].append((time.perf_counter() - began) / appends * 1000)
        warm = min(3, rounds - 1)
        return {name: statistics.median(times[warm:]) for name, times in per_round.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--appends", type=int, default=40)
    options = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server("temaplan-pool-release-") as (admin_url, how):
        medians = asyncio.run(measure(admin_url, options.rounds, options.appends))
    base = medians[ASYNCPG]
    print(
        f"PostgreSQL via {how}; {options.rounds} rounds of {options.appends} appends of "
        f"{BATCH_SIZE} events per pool, alternating; median ms per append"
    )
    for name, ms in medians.items():
        print(f"  {name:<18} {ms:6.3f} ms  ({ms - base:+.3f} ms against {ASYNCPG})")


if __name__ == "__main__":
    main()
