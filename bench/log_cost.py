"""What the Merkle log's sequencer costs a batched append: the store's append of 20
events to a new stream (workload b of bench/eventstore_bench.py), on scratch databases
of the shipped schema, with the sequencer (migration 0070) run in three ways.

    python -m bench.log_cost [--rounds 100] [--appends 40]

- ``append only``: nothing sequences (the chain alone);
- ``sequenced per round``: one ``sequence()`` after each round's appends, timed with
  them, as the checkpointer's rounds sequence many appends at a time;
- ``receipt per append``: each append followed by the look-up of its leaves that a
  person's receipt makes, which sequences them (the worker's append activity).

Rounds alternate the variants (bench/rounds.py).
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from bench.databases import scratch_database
from bench.rounds import Append, Round, alternate, appends_only, run
from eventstore.log import MerkleLog
from eventstore.pool import create_pool
from eventstore.store import EventStore

VARIANTS = ("append only", "sequenced per round", "receipt per append")


async def measure(admin_url: str, rounds: int, appends: int) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        variants: dict[str, tuple[EventStore, Round]] = {}
        for n, name in enumerate(VARIANTS):
            url = await stack.enter_async_context(scratch_database(admin_url, f"log_cost_{n}"))
            pool = await create_pool(url)
            stack.push_async_callback(pool.close)
            log = MerkleLog(pool)

            async def sequenced_per_round(append: Append, log: MerkleLog = log) -> None:
                await appends_only(appends)(append)
                await log.sequence()

            async def receipt_per_append(append: Append, log: MerkleLog = log) -> None:
                for _ in range(appends):
                    await log.leaf_indexes([r.position for r in await append()])

            rounds_of = {
                "append only": appends_only(appends),
                "sequenced per round": sequenced_per_round,
                "receipt per append": receipt_per_append,
            }
            variants[name] = EventStore(pool), rounds_of[name]
        return await alternate(variants, rounds, appends)


def main(argv: list[str] | None = None) -> None:
    run(__doc__ or "", argv, "temaplan-log-cost-", measure)


if __name__ == "__main__":
    main()
