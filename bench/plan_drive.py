"""How the plan benchmark drives plans and times them: Bodø plans brought to the steering
group's sign-off and each sign-off timed next to a minimal update, and plans and minimal
workflows driven start to end by concurrent lanes."""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from temporalio.client import WorkflowHandle

from bench.minimal_workflow import MinimalWorkflow
from bench.plan_results import Server, Throughput
from bench.stack import CoreLog
from client.plans import start_plan
from client.simulation import PlanDriver, send_hearing_responses, settle
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.plan import PlanDefinition, QuorumRule
from domain.plan_type import PlanType
from domain.roles import Role

SETUP_CONCURRENCY = 10
THROUGHPUT_LANES = 20
# A plan set up while others are being set up beside it may take this long to settle.
SETTLE_TIMEOUT = 60.0


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
    await settle(handle, SETTLE_TIMEOUT)
    await settle(minimal, SETTLE_TIMEOUT)
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
        await settle(plan.driver.handle, SETTLE_TIMEOUT)
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
