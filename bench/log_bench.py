"""Merkle log benchmark: an inclusion proof (and a root, and a consistency proof) at
10,000, 100,000 and 1,000,000 leaves, to show that it costs O(log n) reads and stays far
under 10 ms whatever the size.

    python -m bench.log_bench          (part of `make bench`)

Each size gets a scratch database. The big logs are bulk-loaded directly (COPY) into the
log's tables: leaves with made-up event hashes, and the hash of every complete subtree from
level STORED_FROM_LEVEL up computed here, exactly as the integrator stores them (a proof
rebuilds the lower ones from their leaves); no events rows, since a proof never reads
them. Then PROOFS inclusion proofs of random leaves against the full tree are timed one by
one through MerkleLog (one query each), and each is checked against the root.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import structlog

from bench.databases import postgres_server, scratch_database
from eventstore import merkle
from eventstore.log import STORED_FROM_LEVEL, MerkleLog
from eventstore.pool import create_pool

RESULTS = Path(__file__).parent / "results" / "log.json"
SIZES = (10_000, 100_000, 1_000_000)
PROOFS = 300
TARGET_MS = 10.0


def nodes_of(size: int) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, bytes]]]:
    leaves = []
    nodes: list[tuple[int, int, bytes]] = []
    row: list[bytes] = []
    for i in range(size):
        event_hash = hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
        leaves.append((i, i + 1, event_hash))
        row.append(merkle.event_leaf_hash(event_hash))
    level = 0
    while row:
        # Levels below STORED_FROM_LEVEL are rebuilt from the leaves, as the integrator
        # leaves them to be.
        if level >= STORED_FROM_LEVEL:
            nodes.extend((level, i, h) for i, h in enumerate(row))
        row = [merkle.node_hash(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return leaves, nodes


async def one_size(admin_url: str, size: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    leaves, nodes = nodes_of(size)
    async with scratch_database(admin_url, f"log{size}") as url:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                await conn.copy_records_to_table(
                    "log_leaves", records=leaves, columns=("leaf_index", "position", "event_hash")
                )
                await conn.copy_records_to_table(
                    "log_nodes", records=nodes, columns=("level", "node_index", "hash")
                )
                await conn.execute("UPDATE log_head SET size = $1", size)
                await conn.execute("UPDATE log_tree SET size = $1", size)
                await conn.execute("ANALYZE log_nodes")
            loaded = time.perf_counter() - t0
            log = MerkleLog(pool)
            root = await log.root(size)
            rng = random.Random(size)
            times: list[float] = []
            for _ in range(20):  # warm the connection and the index's upper pages
                await log.inclusion_proof(rng.randrange(size), size)
            for _ in range(PROOFS):
                index = rng.randrange(size)
                started = time.perf_counter()
                proof = await log.inclusion_proof(index, size)
                times.append((time.perf_counter() - started) * 1000)
                leaf = merkle.event_leaf_hash(leaves[index][2])
                if not merkle.verify_inclusion(index, size, leaf, proof, root):
                    raise RuntimeError(f"proof of leaf {index} in {size} does not verify")
            started = time.perf_counter()
            old = rng.randrange(1, size)
            consistency = await log.consistency_proof(old, size)
            consistency_ms = (time.perf_counter() - started) * 1000
            if not merkle.verify_consistency(old, size, await log.root(old), root, consistency):
                raise RuntimeError("consistency proof does not verify")
        finally:
            await pool.close()
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {
        "leaves": size,
        "load_seconds": round(loaded, 1),
        "proofs": PROOFS,
        "proof_length": len(proof),
        "inclusion_p50_ms": round(q[49], 3),
        "inclusion_p99_ms": round(q[98], 3),
        "inclusion_max_ms": round(max(times), 3),
        "consistency_ms": round(consistency_ms, 3),
    }


async def run(admin_url: str) -> list[dict[str, Any]]:
    rows = []
    for size in SIZES:
        print(f"  {size:,} leaves ...", file=sys.stderr)
        rows.append(await one_size(admin_url, size))
    return rows


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server() as (admin_url, mode):
        rows = asyncio.run(run(admin_url))
    print(f"\nMerkle log proofs via {mode}, {PROOFS} random leaves per size")
    header = f"{'leaves':>10} {'path':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'consistency ms':>15}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['leaves']:>10,} {r['proof_length']:>5} {r['inclusion_p50_ms']:>8.3f}"
            f" {r['inclusion_p99_ms']:>8.3f} {r['inclusion_max_ms']:>8.3f}"
            f" {r['consistency_ms']:>15.3f}"
        )
    worst = max(r["inclusion_p99_ms"] for r in rows)
    print(
        f"{'PASS' if worst < TARGET_MS else 'MISS'}  inclusion proof p99 at 1,000,000 leaves "
        f"{rows[-1]['inclusion_p99_ms']:.3f} ms (target < {TARGET_MS} ms)"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"mode": mode, "sizes": rows}, indent=2) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
