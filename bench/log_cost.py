"""What the Merkle log's sequencing costs a batched append, and what two other layouts of
its leaves would: the store's append of 20 events to a new stream (workload b of
bench/eventstore_bench.py), on scratch databases that differ only in the log's trigger.

    python -m bench.log_cost [--rounds 100] [--appends 40]

- ``no log``: the trigger dropped (the chain only);
- ``head only``: the trigger counts the new events and moves log_head, no leaves;
- ``as shipped``: migration 0010, a log_leaves row per event (two indexes);
- ``one row per append``: the leaves of one statement as one row of arrays;
- ``no position index``: as shipped without log_leaves' UNIQUE (position).

The variants are alternatives measured, not the schema: each replaces the trigger's
function in its own scratch database. Rounds alternate the variants, so drift on a
shared machine hits all alike; the figure is the median of the rounds' per-append mean.
PostgreSQL is DATABASE_URL when set, otherwise an embedded pgserver.
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
from eventstore.store import EventStore

_HEAD_ONLY = """
CREATE OR REPLACE FUNCTION log_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    SELECT count(*) INTO added FROM new_events;
    UPDATE log_head SET size = size + added;
    RETURN NULL;
END;
$$;
"""
_ONE_ROW = """
CREATE TABLE log_batches (
    first_index bigint PRIMARY KEY,
    positions   bigint[] NOT NULL,
    hashes      text[]   NOT NULL
);
CREATE OR REPLACE FUNCTION log_sequence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    positions bigint[];
    hashes text[];
    first_index bigint;
BEGIN
    SELECT array_agg(position ORDER BY position), array_agg(hash::text ORDER BY position)
      INTO positions, hashes FROM new_events;
    UPDATE log_head SET size = size + cardinality(positions)
    RETURNING size - cardinality(positions) INTO first_index;
    INSERT INTO log_batches VALUES (first_index, positions, hashes);
    RETURN NULL;
END;
$$;
"""
VARIANTS = {
    "no log": "DROP TRIGGER events_log_sequence ON events",
    "head only": _HEAD_ONLY,
    "as shipped": "",
    "one row per append": _ONE_ROW,
    "no position index": "ALTER TABLE log_leaves DROP CONSTRAINT log_leaves_position_key",
}


async def measure(admin_url: str, rounds: int, appends: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        stores: dict[str, EventStore] = {}
        for n, (name, change) in enumerate(VARIANTS.items()):
            url = await stack.enter_async_context(scratch_database(admin_url, f"log_cost_{n}"))
            if change:
                conn = await asyncpg.connect(url)
                try:
                    await conn.execute(change)
                finally:
                    await conn.close()
            pool = await create_pool(url)
            stack.push_async_callback(pool.close)
            stores[name] = EventStore(pool)
        per_round: dict[str, list[float]] = {name: [] for name in stores}
        stream = 0
        for _ in range(rounds):
            for name, store in stores.items():
                began = time.perf_counter()
                for _ in range(appends):
                    stream += 1
                    batch = [new_event(k) for k in range(BATCH_SIZE)]
                    await store.append(f"plan-{stream}", 0, batch)
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
    base = medians["no log"]
    print(
        f"PostgreSQL via {how}; {options.rounds} rounds of {options.appends} appends of "
        f"{BATCH_SIZE} events per variant, alternating; median ms per append"
    )
    for name, ms in medians.items():
        print(f"  {name:<20} {ms:6.3f} ms  ({ms - base:+.3f} ms against no log)")


if __name__ == "__main__":
    main()
