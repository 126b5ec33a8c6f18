"""Where a batched append's time goes: cProfile over ``EventStore.append`` of 20 events to
new streams (workload b of bench/eventstore_bench.py), with the wall time split into
waiting for PostgreSQL (the event loop's poll), writing to its socket, and Python.

    python -m bench.append_profile [--appends 1000] [--top 18]

PostgreSQL is DATABASE_URL when set, otherwise an embedded pgserver (a scratch database,
dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import logging
import pstats
import time

import structlog

from bench.databases import postgres_server, scratch_database
from bench.eventstore_workload import BATCH_SIZE, new_event
from eventstore.pool import create_pool
from eventstore.store import EventStore

WAITING = (
    "{method 'poll' of 'select.epoll' objects}",
    "{method 'send' of '_socket.socket' objects}",
)


async def profile(admin_url: str, appends: int, top: int) -> None:
    async with scratch_database(admin_url, "profile") as url:
        pool = await create_pool(url)
        store = EventStore(pool)
        for i in range(50):  # warm-up: connections, prepared statements
            await store.append(f"warmup-{i}", 0, [new_event(n) for n in range(BATCH_SIZE)])
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for s in range(appends):
            await store.append(f"plan-{s}", 0, [new_event(n) for n in range(BATCH_SIZE)])
        profiler.disable()
        wall = time.perf_counter() - began
        await pool.close()
    stats = pstats.Stats(profiler)
    # typeshed's pstats declares neither Stats.stats nor func_std_string, which CPython has.
    name = pstats.func_std_string  # type: ignore[attr-defined]
    waiting = {
        name(f): tt
        for f, (_cc, _nc, tt, _ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if name(f) in WAITING
    }
    poll = waiting.get(WAITING[0], 0.0)
    send = waiting.get(WAITING[1], 0.0)
    print(
        f"{appends} appends of {BATCH_SIZE} events in {wall:.2f} s (profiled): waiting for "
        f"PostgreSQL {poll:.2f} s ({poll / wall:.0%}), socket writes {send:.2f} s "
        f"({send / wall:.0%}), the rest {wall - poll - send:.2f} s "
        f"({(wall - poll - send) / wall:.0%}) in Python"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--top", type=int, default=18)
    options = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server("temaplan-profile-") as (admin_url, _how):
        asyncio.run(profile(admin_url, options.appends, options.top))


if __name__ == "__main__":
    main()
