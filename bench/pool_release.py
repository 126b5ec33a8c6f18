"""What handing a connection back to the pool costs a batched append: the store's append
of 20 events to a new stream (workload b of bench/eventstore_bench.py) through the
shipped pool (eventstore/quick_release.py) and through asyncpg's own pool with the same
settings, on scratch databases of the shipped schema.

    python -m bench.pool_release [--rounds 100] [--appends 40]

Rounds alternate the two (bench/rounds.py).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import asyncpg

from bench.databases import scratch_database
from bench.rounds import Round, alternate, appends_only, run
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
        variants: dict[str, tuple[EventStore, Round]] = {}
        for n, name in enumerate((ASYNCPG, SHIPPED)):
            url = await stack.enter_async_context(scratch_database(admin_url, f"pool_{n}"))
            pool = await (asyncpg_pool(url) if name == ASYNCPG else create_pool(url))
            stack.push_async_callback(pool.close)
            variants[name] = EventStore(pool), appends_only(appends)
        return await alternate(variants, rounds, appends)


def main(argv: list[str] | None = None) -> None:
    run(__doc__ or "", argv, "temaplan-pool-release-", measure)


if __name__ == "__main__":
    main()
