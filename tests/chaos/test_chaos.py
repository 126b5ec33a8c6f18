"""Chaos: many plans driven to adoption by their people while the worker is killed with
SIGKILL at random moments and PostgreSQL and the Temporal server are restarted; then
invariants checked over the whole record.

Short form in `make test` (10 plans, >= 5 kills, one restart of each server); the long
form with `make chaos` (TEMAPLAN_CHAOS=long: 100 plans, >= 50 kills). TEMAPLAN_CHAOS_SEED
replays a run's fault schedule.

The invariants, over the whole record:
- every plan is adopted and its workflow has completed;
- every decision a person got a receipt for is in the record exactly once, at the
  version and with the hash the receipt names;
- no event without a receipt of the workflow: `temaplan audit verify --all` cross-checks
  every event against the Temporal history, and checks every chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from pydantic import BaseModel
from temporalio.api.enums.v1 import WorkflowTaskFailedCause
from temporalio.client import Client

from client.plans import start_plan
from client.simulation import PlanDriver
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.phases import StepKind
from domain.plan import PlanDefinition
from domain.plan_type import PlanType
from domain.roles import Role
from eventstore import EventStore
from eventstore.log import MerkleLog
from eventstore.migrate import migrate
from eventstore.pool import create_pool, with_database
from runtime.planfile import load_plan_file
from runtime.settings import Settings
from tests.chaos.servers import ROOT, Postgres, Temporal, WorkerProcess
from workflows.plan_models import PlanResult

pytestmark = [pytest.mark.chaos, pytest.mark.servers]

HEARING_RESPONSES = 3  # with receipts, per plan


@dataclass(frozen=True)
class Form:
    plans: int
    kills: int
    postgres_restarts: int
    temporal_restarts: int
    gap: tuple[float, float]  # seconds between two faults
    deadline: float  # for the whole drive


SHORT = Form(plans=10, kills=6, postgres_restarts=1, temporal_restarts=1, gap=(2, 5), deadline=150)
LONG = Form(
    plans=100, kills=55, postgres_restarts=3, temporal_restarts=3, gap=(2, 6), deadline=1800
)


@dataclass
class Tally:
    faults: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    updates: int = 0

    def note(self, exc: BaseException) -> None:
        cause = getattr(exc, "cause", None)
        kind = type(exc).__name__ + (
            f"/{getattr(cause, 'type', None) or type(cause).__name__}" if cause else ""
        )
        self.errors[kind] += 1
        self.samples.setdefault(kind, str(cause or exc)[:300])


class ChaosDriver(PlanDriver):
    """A person's client: an answer that does not come is a question asked again, once
    the plan's status says what is still awaited."""

    tally: Tally
    decision_sent: asyncio.Event  # lets the fault injector kill mid-decision

    async def update(self, name: str, command: BaseModel) -> cmd.Receipt:
        self.tally.updates += 1
        self.decision_sent.set()
        return await super().update(name, command)


T = TypeVar("T")


async def ask(coro: Awaitable[T], timeout: float) -> T:
    return await asyncio.wait_for(coro, timeout)


HOSTILE_NAME = "Innbygger\u0000med NUL"


async def hearing_for(driver: ChaosDriver, status: PlanStatus) -> None:
    leader = driver.person(Role.PROJECT_LEADER)
    if status.hearing_responses == 0:
        # Text PostgreSQL cannot store: refused at the edge, the plan carries on.
        try:
            await driver.update(
                "respond_to_hearing",
                cmd.HearingResponse(name=HOSTILE_NAME, text="x", response_id="hostile"),
            )
        except Exception as exc:
            driver.tally.note(exc)
            driver.tally.faults["hostile text refused"] += 1
    for n in range(status.hearing_responses, HEARING_RESPONSES):
        await driver.update(
            "respond_to_hearing",
            cmd.HearingResponse(
                name=f"Innbygger {n + 1}",
                text=f"Uttalelse {n + 1}: flere utleieboliger nær sentrum.",
                response_id=f"{driver.definition.slug}-{n + 1}",
            ),
        )
    await driver.update(
        "close_hearing",
        cmd.CloseHearing(actor_id=leader, reason="Høringen lukkes tidlig i testen."),
    )


async def drive(driver: ChaosDriver, deadline: float) -> PlanStatus:
    """Carry one plan to the end, whatever fails on the way."""
    loop = asyncio.get_running_loop()
    tally = driver.tally

    async def hearing(status: PlanStatus) -> None:
        await hearing_for(driver, status)

    while True:
        if loop.time() > deadline:
            status = await ask(driver.status(), 10)
            raise TimeoutError(f"{driver.definition.plan_id} stuck at {status.step_key}")
        try:
            status = await ask(driver.status(), 10)
            if status.status != "active":
                result = await ask(driver.handle.result(), 30)
                assert isinstance(result, PlanResult)
                return status
            if status.step_key is None:
                await asyncio.sleep(0.1)
                continue
            marker = (status.step_key, status.events_recorded)
            await ask(driver.act_once(status, hearing), 30)
            # Until the plan moves on (or a while: a comment round opens by itself).
            for _ in range(100):
                moved = await ask(driver.status(), 10)
                if (moved.step_key, moved.events_recorded) != marker or moved.status != "active":
                    break
                await asyncio.sleep(0.1)
        except Exception as exc:  # a fault, or a refusal of a question asked twice
            tally.note(exc)
            await asyncio.sleep(0.5)


async def wedged(driver: ChaosDriver) -> str:
    """Why a plan's workflow does not move on: its pending workflow task's attempt and
    the last workflow task failure in its history. A task that fails the same way on
    every attempt never completes, whatever the people send, and only the history says
    so (the people see time-outs)."""
    try:
        described = await asyncio.wait_for(driver.handle.describe(), 10)
        attempt = described.raw_description.pending_workflow_task.attempt
        failed = None
        async for event in driver.handle.fetch_history_events():
            if event.HasField("workflow_task_failed_event_attributes"):
                failed = event.workflow_task_failed_event_attributes
    except Exception as exc:
        return f"its workflow could not be described ({type(exc).__name__}: {exc})"
    found = f"workflow task attempt {attempt}"
    if failed is not None:
        cause = WorkflowTaskFailedCause.Name(failed.cause)
        found += f", last task failure {cause}: {failed.failure.message[:200]}"
    return found


async def inject_faults(
    form: Form,
    rng: random.Random,
    worker: WorkerProcess,
    postgres: Postgres,
    temporal: Temporal,
    tally: Tally,
    running: asyncio.Event,
    sent: asyncio.Event,
) -> None:
    schedule = (
        ["kill"] * form.kills
        + ["postgres"] * form.postgres_restarts
        + ["temporal"] * form.temporal_restarts
    )
    rng.shuffle(schedule)
    for fault in schedule:
        await asyncio.sleep(rng.uniform(*form.gap))
        if not running.is_set():
            return
        if fault == "kill":
            if rng.random() < 0.5:
                # In the middle of a person's decision: within 50 ms of an update sent.
                sent.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(sent.wait(), 10)
                await asyncio.sleep(rng.uniform(0, 0.05))
            async with worker.lock:
                worker.kill()
                await asyncio.sleep(rng.uniform(0.1, 1.0))
                worker.start()
        elif fault == "postgres":
            await postgres.restart(down_for=rng.uniform(0.5, 2.0))
        else:
            await temporal.restart(down_for=rng.uniform(0.5, 2.0))
        tally.faults[fault] += 1


async def supervise(worker: WorkerProcess, tally: Tally, running: asyncio.Event) -> None:
    """A worker that exits by itself (its servers gone at start) is started again."""
    while running.is_set():
        async with worker.lock:
            if not worker.running:
                tally.faults["worker exited by itself"] += 1
                worker.start()
        await asyncio.sleep(1.0)


@dataclass
class Stack:
    home: Path
    postgres: Postgres
    temporal: Temporal
    worker: WorkerProcess
    database_url: str
    task_queue: str
    client: Client
    pool: asyncpg.Pool


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    home = Path(tempfile.mkdtemp(prefix="temaplan-chaos-"))
    postgres = await asyncio.to_thread(Postgres, home / "postgres")
    temporal: Temporal | None = None
    worker: WorkerProcess | None = None
    try:
        admin = await asyncpg.connect(postgres.url)
        await admin.execute("CREATE DATABASE chaos")
        await admin.close()
        url = with_database(postgres.url, "chaos")
        conn = await asyncpg.connect(url)
        await migrate(conn)
        await conn.close()
        settings = Settings()
        temporal = Temporal(home / "temporal", settings)
        await temporal.start()
        queue = f"chaos-{uuid.uuid4().hex[:8]}"
        worker = WorkerProcess(
            home,
            {
                "DATABASE_URL": url,
                "TEMPORAL_ADDRESS": temporal.address,
                "TEMPORAL_TASK_QUEUE": queue,
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "WARNING",
            },
        )
        worker.start()
        pool = await create_pool(url, min_size=1, max_size=4)
        try:
            yield Stack(home, postgres, temporal, worker, url, queue, await temporal.client(), pool)
        finally:
            await pool.close()
    finally:
        if worker is not None:
            await worker.stop()
        if temporal is not None:
            await temporal.stop()
        await asyncio.to_thread(postgres.stop)
        shutil.rmtree(home, ignore_errors=True)


async def watched(work: Any, timeout: float) -> Any:
    """The run's own bound: on a hang, every task's stack is printed before failing."""
    try:
        return await asyncio.wait_for(work, timeout)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack(limit=8, file=sys.stderr)
        raise


def chaos_form() -> Form:
    return LONG if os.environ.get("TEMAPLAN_CHAOS") == "long" else SHORT


async def test_plans_reach_adoption_through_kills_and_restarts(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    form = chaos_form()
    seed = int(os.environ.get("TEMAPLAN_CHAOS_SEED") or time.time())
    rng = random.Random(seed)
    tally = Tally()
    base = load_plan_file(ROOT / "examples" / "bodo.yaml")
    # As temaplans: their hearings may be closed early with a reason (a kommunedelplan's
    # runs its legal six weeks, which a dev server without time skipping cannot pass).
    definitions: list[PlanDefinition] = [
        base.model_copy(
            update={"slug": f"c{n:03d}{uuid.uuid4().hex[:6]}", "plan_type": PlanType.TEMAPLAN}
        )
        for n in range(form.plans)
    ]
    began = time.monotonic()
    drivers: list[ChaosDriver] = []
    sent = asyncio.Event()
    for definition in definitions:
        handle = await start_plan(stack.client, definition, stack.task_queue)
        driver = ChaosDriver(handle, definition)
        driver.tally = tally
        driver.decision_sent = sent
        drivers.append(driver)

    running = asyncio.Event()
    running.set()
    deadline = asyncio.get_running_loop().time() + form.deadline
    faults = asyncio.create_task(
        inject_faults(form, rng, stack.worker, stack.postgres, stack.temporal, tally, running, sent)
    )
    supervisor = asyncio.create_task(supervise(stack.worker, tally, running))
    try:
        outcomes = await watched(
            asyncio.gather(*(drive(d, deadline) for d in drivers), return_exceptions=True),
            form.deadline + 60,
        )
    finally:
        running.clear()
        await faults
        supervisor.cancel()
    driven = time.monotonic() - began

    # --- invariants over the whole record ------------------------------------------------
    store = EventStore(stack.pool)
    stuck = []
    for driver, outcome in zip(drivers, outcomes, strict=True):
        if not (isinstance(outcome, PlanStatus) and outcome.status == "adopted"):
            head = (await store.head(driver.definition.plan_id))[0]
            stuck.append(
                f"{driver.definition.plan_id}: {outcome!r}; {head} events stored; "
                f"{await wedged(driver)}"
            )
    assert not stuck, (
        f"seed {seed}; not adopted: {stuck}; faults {dict(tally.faults)}; errors people saw: "
        f"{dict(tally.errors)}; {tally.samples}"
    )
    events = receipts = 0
    for driver in drivers:
        stored = await store.read(driver.definition.plan_id)
        events += len(stored)
        assert [e.version for e in stored] == list(range(1, len(stored) + 1))
        by_id = {e.event_id: e for e in stored}
        assert len(by_id) == len(stored), "an event id stored twice"
        for receipt in driver.receipts:
            original = by_id.get(receipt.event_id)
            assert original is not None, f"receipt {receipt} names no stored event"
            assert (original.version, original.hash) == (receipt.version, receipt.hash)
        receipts += len({r.event_id for r in driver.receipts})
        # The same decision never twice: one sign-off per person, step and role; one
        # record per hearing response.
        signed = Counter(
            (e.actor_id, e.data.get("step_key"), e.data.get("role"))
            for e in stored
            if e.type == "sign_off_given"
        )
        assert max(signed.values()) == 1, signed.most_common(1)
        responses = Counter(
            e.data.get("response_id") for e in stored if e.type == "hearing_response_received"
        )
        assert responses == Counter(
            {f"{driver.definition.slug}-{n + 1}": 1 for n in range(HEARING_RESPONSES)}
        )
        assert sum(1 for e in stored if e.type == "plan_adopted") == 1
    chains = await store.verify_streams([d.definition.plan_id for d in drivers])
    assert all(c.ok for c in chains), [c.problem for c in chains if not c.ok]

    # The Merkle log, once the sequencer has run with nothing writing: every event has
    # one leaf, gapless, each plan's in version order, and every leaf a receipt named
    # (handed out through worker kills and PostgreSQL crashes, whose sequencing commits
    # need not reach the disk) is the event's leaf now.
    log = MerkleLog(stack.pool)
    size = await log.sequence()
    assert size == await stack.pool.fetchval("SELECT count(*) FROM events")
    assert await log.left_out() is None
    leaf_of: dict[uuid.UUID, int] = {}
    versions: dict[str, int] = {}
    async for leaf in log.leaves(0, size):
        assert leaf.version == versions.get(leaf.stream_id, 0) + 1, leaf
        versions[leaf.stream_id] = leaf.version
        leaf_of[leaf.event_id] = leaf.leaf_index
    assert sorted(leaf_of.values()) == list(range(size))
    leafed = [r for d in drivers for r in d.receipts if r.leaf_index is not None]
    for receipt in leafed:
        assert leaf_of[receipt.event_id] == receipt.leaf_index, receipt

    audit = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "temaplan.cli", "audit", "verify", "--all", "--lang", "en"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": stack.database_url,
            "TEMPORAL_ADDRESS": stack.temporal.address,
            "LOG_LEVEL": "WARNING",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert audit.returncode == 0, audit.stdout[-3000:] + audit.stderr[-3000:]
    cross_checked = audit.stdout.count("cross-check OK")
    assert cross_checked == form.plans, audit.stdout[-3000:]

    assert tally.faults["kill"] >= form.kills
    assert tally.faults["postgres"] >= form.postgres_restarts
    assert tally.faults["temporal"] >= form.temporal_restarts
    with capsys.disabled():
        print(
            f"\nchaos (seed {seed}): {form.plans} plans adopted in {driven:.0f} s; faults "
            f"{dict(tally.faults)}; worker processes {stack.worker.started}; "
            f"{tally.updates} updates sent, {receipts} receipts, each once in the record; "
            f"{events} events, {len(chains)} chains verified; {size} leaves, each plan's "
            f"in version order, {len(leafed)} receipts' leaves as named; audit verify --all: "
            f"{cross_checked} plans cross-checked with the Temporal history; "
            f"errors seen by people: {dict(tally.errors)}"
        )


async def no_hearing(status: PlanStatus) -> None:
    raise AssertionError(f"no hearing expected before {status.step_key}")


async def test_the_same_sign_off_sent_twice_while_the_worker_is_down_is_recorded_once(
    stack: Stack,
) -> None:
    """A person whose client got no answer (the worker was killed) sends the same decision
    again; both requests wait on the server and reach the next worker in one workflow
    task. The decision is recorded once and both answers name that one event."""
    base = load_plan_file(ROOT / "examples" / "bodo.yaml")
    definition = base.model_copy(
        update={"slug": f"d{uuid.uuid4().hex[:8]}", "plan_type": PlanType.TEMAPLAN}
    )
    driver = PlanDriver(await start_plan(stack.client, definition, stack.task_queue), definition)
    status = await driver.run_until(lambda s: s.step_kind is StepKind.SIGN_OFF, no_hearing)
    waiting = status.awaited[0]
    command = cmd.SignOff(
        actor_id=waiting.people[0],
        step_key=status.step_key or "",
        content_version=status.content_version or 0,
        content_hash=status.content_hash or "",
        role=waiting.role,
    )
    async with stack.worker.lock:
        await stack.worker.stop()
        sent = [asyncio.create_task(driver.plan.update("sign_off", command)) for _ in range(2)]
        # Both admitted while no worker polls (the sticky queue's 1 s has passed too).
        await asyncio.sleep(3)
        stack.worker.start()
    receipts = await asyncio.wait_for(asyncio.gather(*sent), 60)

    stored = await EventStore(stack.pool).read(definition.plan_id)
    signed = [
        e
        for e in stored
        if e.type == "sign_off_given"
        and e.actor_id == command.actor_id
        and e.data.get("step_key") == command.step_key
    ]
    assert len(signed) == 1, [(e.version, e.event_id) for e in signed]
    assert {r.event_id for r in receipts} == {signed[0].event_id}
