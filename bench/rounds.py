"""Variants of the store's batched append measured in alternating rounds (what
bench/log_cost.py and bench/pool_release.py share): each round runs every variant's
appends to new streams, the order reversed from round to round, so that drift on a
shared machine hits all alike. The figure is the median of the rounds' mean per append,
the first rounds left out as warm-up. PostgreSQL is DATABASE_URL when set, otherwise an
embedded pgserver."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import structlog

from bench.databases import postgres_server
from bench.eventstore_workload import BATCH_SIZE, new_event
from eventstore.records import Receipt
from eventstore.store import EventStore

# One variant's round: it is given the store's appends to time (each to a new stream),
# and does whatever else the variant does around them.
Append = Callable[[], Awaitable[list[Receipt]]]
Round = Callable[[Append], Awaitable[None]]
WARM_UP_ROUNDS = 3


def appends_only(appends: int) -> Round:
    """The round of a variant that does nothing but the appends."""

    async def round_of(append: Append) -> None:
        for _ in range(appends):
            await append()

    return round_of


async def alternate(
    variants: dict[str, tuple[EventStore, Round]], rounds: int, appends: int
) -> dict[str, float]:
    """Median ms per append of each variant."""
    streams: Iterator[int] = itertools.count(1)
    per_round: dict[str, list[float]] = {name: [] for name in variants}
    for number in range(rounds):
        order = list(variants.items())
        for name, (store, run_round) in order if number % 2 else reversed(order):

            def append(store: EventStore = store) -> Awaitable[list[Receipt]]:
                batch = [new_event(k) for k in range(BATCH_SIZE)]
                return store.append(f"plan-{next(streams)}", 0, batch)

            began = time.perf_counter()
            await run_round(append)
            per_round[name].append((time.perf_counter() - began) / appends * 1000)
    warm = min(WARM_UP_ROUNDS, rounds - 1)
    return {name: statistics.median(times[warm:]) for name, times in per_round.items()}


def run(
    doc: str,
    argv: list[str] | None,
    prefix: str,
    measure: Callable[[str, int, int], Coroutine[Any, Any, dict[str, float]]],
) -> None:
    """The command line: --rounds and --appends, then each variant's median against the
    first variant's."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--appends", type=int, default=40)
    options = parser.parse_args(argv)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server(prefix) as (admin_url, how):
        medians = asyncio.run(measure(admin_url, options.rounds, options.appends))
    base_name, base = next(iter(medians.items()))
    print(
        f"PostgreSQL via {how}; {options.rounds} rounds of {options.appends} appends of "
        f"{BATCH_SIZE} events per variant, alternating; median ms per append"
    )
    for name, ms in medians.items():
        print(f"  {name:<20} {ms:6.3f} ms  ({ms - base:+.3f} ms against {base_name})")
