"""Failures between the workflow and the record: a lost activity answer and a lost worker.

Both must leave the plan's stream exactly as a run without failures would: versions
1..N without gaps or duplicates, one event per decision, a chain that verifies, and a
fold of the stored events that is the workflow's own state.

The last test reproduces a race once found in the workflow's main loop (a decision recorded
while the engine was still notifying people of a step was waited past), so it stays fixed.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.models import AppendEventsInput, AppendEventsOutput, NotifyInput, NotifyOutput
from activities.plan_activities import PlanActivities
from activities.schedule_activities import ScheduleActivities
from audit import commands
from client.simulation import PlanDriver, send_hearing_responses
from client.typed import PlanClient
from domain import commands as cmd
from domain import review_decisions
from domain.gates import PlanStatus
from domain.ids import event_id
from domain.plan import PlanDefinition
from domain.roles import Role
from domain.state import fold
from eventstore import EventStore, NewEvent
from tests.integration.conftest import sign_off_by, started, unique
from tests.integration.replay import drive_until
from workflows.plan_models import PlanResult
from workflows.registry import DEFAULT_REVISION_DATE, WORKFLOWS, build_worker

pytestmark = pytest.mark.servers


class AnswerLostAfterCommit(PlanActivities):
    """append_events commits, then 'loses the connection' before answering, on the first
    attempt of its first ``failures`` calls. Temporal retries (after the policy's 1 s)."""

    def __init__(self, pool: asyncpg.Pool, failures: int) -> None:
        super().__init__(pool)
        self.failures_left = failures
        self.failed_versions: list[int] = []  # expected_version of each failed append
        self.retried_versions: list[int] = []  # expected_version of each later attempt

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        result = await super().append_events(request)
        attempt = activity.info().attempt
        if attempt > 1:
            self.retried_versions.append(request.expected_version)
        elif self.failures_left > 0:
            self.failures_left -= 1
            self.failed_versions.append(request.expected_version)
            raise RuntimeError("connection reset after COMMIT; the receipt never arrived")
        return result


def worker_with(client: Client, queue: str, activities: PlanActivities) -> Worker:
    """workflows.registry.build_worker, with other activities."""
    return Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                "domain", "activities"
            )
        ),
        activities=[
            *activities.all(),
            *ScheduleActivities(client, queue, DEFAULT_REVISION_DATE).all(),
        ],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )


@asynccontextmanager
async def running_with(
    env: WorkflowEnvironment, definition: PlanDefinition, activities: PlanActivities
) -> AsyncIterator[PlanDriver]:
    """``definition`` started on a task queue of its own, whose one worker runs the plan
    workflow with ``activities``: its driver, while that worker runs."""
    queue = f"plans-{uuid.uuid4()}"
    async with worker_with(env.client, queue, activities):
        yield await started(env, queue, definition)


async def assert_record_intact(
    store: EventStore, handle: WorkflowHandle[Any, Any], plan_id: str
) -> int:
    """Gapless versions, unique ids, a chain that verifies, and the workflow's count and
    state equal to the stored events. Returns the number of events."""
    stored = await store.read(plan_id)
    versions = [e.version for e in stored]
    assert versions == list(range(1, len(stored) + 1))
    assert len({e.event_id for e in stored}) == len(stored)
    verification = await store.verify(plan_id)
    assert verification.ok, verification.problem
    assert verification.events_checked == len(stored)
    status = await PlanClient(handle).status()
    assert status.events_recorded == len(stored)
    live = await PlanClient(handle).state()
    assert fold(e.to_domain() for e in stored) == live
    return len(stored)


async def test_an_append_whose_answer_is_lost_is_retried_into_exactly_one_event(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    flaky = AnswerLostAfterCommit(pool, failures=3)
    store = EventStore(pool)
    async with running_with(temporal_env, definition, flaky) as driver:
        handle = driver.handle
        status = await drive_until(driver, lambda s: s.phase is not None and s.phase != "goals")
        assert status.step_key == "strategies.submit"

        # The three lost answers were the plan's start (2 events), the goals submission
        # and the first steering-group sign-off; each was retried, and only once.
        assert flaky.failed_versions == [0, 2, 3]
        assert flaky.retried_versions == [0, 2, 3]
        count = await assert_record_intact(store, handle, definition.plan_id)
        # created, phase started, submitted, 2 of 3 sign-offs (majority), phase completed,
        # phase started: nothing twice.
        stored = await store.read(definition.plan_id)
        assert [e.type for e in stored] == [
            "plan_created",
            "phase_started",
            "content_submitted",
            "sign_off_given",
            "sign_off_given",
            "phase_completed",
            "phase_started",
        ]
        assert count == 7
        # The receipts people got back from the retried updates are the original commits.
        by_version = {e.version: e for e in stored}
        assert len(driver.receipts) == 3
        for receipt in driver.receipts:
            original = by_version[receipt.version]
            assert (receipt.event_id, receipt.hash, receipt.recorded_at) == (
                original.event_id,
                original.hash,
                original.recorded_at,
            )
        # Temporal saw it too: three appends completed on their second attempt (a
        # person's decision is appended by a local activity, whose marker holds it).
        attempts = []
        async for e in handle.fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                attempts.append(e.activity_task_started_event_attributes.attempt)
            elif e.marker_recorded_event_attributes.marker_name == "core_local_activity":
                [data] = e.marker_recorded_event_attributes.details["data"].payloads
                attempts.append(json.loads(data.data)["attempt"])
        assert sorted(attempts).count(2) == 3
        assert set(attempts) == {1, 2}
        await handle.terminate("test done")


async def test_a_plan_waiting_at_a_gate_survives_a_worker_replacement(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    queue = f"plans-{uuid.uuid4()}"
    store = EventStore(pool)
    client = temporal_env.client

    async with build_worker(client, pool, queue):  # worker A
        driver = await started(temporal_env, queue, definition)
        handle = driver.handle
        at_gate = await drive_until(driver, lambda s: s.step_key == "strategies.quality_assurance")
        before = await assert_record_intact(store, handle, definition.plan_id)
    # Worker A is gone. The plan is parked on the server, not failed or lost.
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert (await store.head(definition.plan_id))[0] == before

    # A sign-off sent while no worker runs waits for one; nothing is recorded meanwhile.
    signer = at_gate.awaited[0].people[0]
    pending = asyncio.create_task(
        driver.update(
            "sign_off",
            cmd.SignOff(
                actor_id=signer,
                step_key="strategies.quality_assurance",
                content_version=at_gate.content_version or 0,
                content_hash=at_gate.content_hash or "",
                role=Role.STEERING_GROUP,
            ),
        )
    )
    await asyncio.sleep(2)
    assert not pending.done()
    assert (await store.head(definition.plan_id))[0] == before

    async with build_worker(client, pool, queue):  # worker B
        receipt = await asyncio.wait_for(pending, timeout=30)
        assert receipt.version == before + 1
        assert receipt.event_type == "sign_off_given"

        async def hearing(status: PlanStatus) -> None:
            assert status.hearing_open
            await send_hearing_responses(driver, 4, with_receipt=2)
            await driver.wait_for(lambda s: s.hearing_responses == 4)
            await temporal_env.fast_forward(handle, timedelta(weeks=6, minutes=5))

        final = await drive_until(driver, hearing=hearing)
        assert final.status == "adopted"
        result = await handle.result()
        assert isinstance(result, PlanResult)
        assert result.status == "adopted"
        count = await assert_record_intact(store, handle, definition.plan_id)
        assert result.events_recorded == count

    stored = await store.read(definition.plan_id)
    assert sum(1 for e in stored if e.type == "hearing_response_received") == 4
    assert sum(1 for e in stored if e.type == "plan_adopted") == 1
    # The sign-off sent during the outage was recorded once, at the version its receipt names.
    by_version = {e.version: e for e in stored}
    assert by_version[receipt.version].hash == receipt.hash
    assert by_version[receipt.version].actor_id == signer
    assert (
        sum(
            1
            for e in stored
            if e.type == "sign_off_given"
            and e.actor_id == signer
            and e.data.get("step_key") == "strategies.quality_assurance"
        )
        == 1
    )
    for r in driver.receipts:
        assert by_version[r.version].hash == r.hash


class SlowNotifications(PlanActivities):
    """notify takes half a second, as a mail relay under load might."""

    @activity.defn(name="notify")
    async def notify(self, request: NotifyInput) -> NotifyOutput:
        await asyncio.sleep(0.5)
        return await super().notify(request)


async def test_a_decision_made_while_the_step_is_announced_is_not_waited_past(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    """The steering group signs while the engine is still notifying them that the step
    is open. The majority is reached before the notification activity returns; the
    engine must still notice and close the phase."""
    definition = unique(bodo)
    async with running_with(temporal_env, definition, SlowNotifications(pool)) as driver:
        handle = driver.handle
        submit = await driver.wait_for(lambda s: s.step_key == "goals.submit")
        await driver.act_once(submit, hearing=None)  # type: ignore[arg-type]
        gate = await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
        await driver.act_once(gate, hearing=None)  # type: ignore[arg-type]  # 2 sign-offs
        try:
            moved = await driver.wait_for(lambda s: s.step_key == "strategies.submit", timeout=10)
        finally:
            await handle.terminate("test done")
        assert moved.phase == "strategies"


class StoredByAKilledAttempt(PlanActivities):
    """The state a worker killed with SIGKILL in the middle of a person's decision leaves
    behind: the first sign-off's events were committed by an attempt whose workflow task
    never completed, so the workflow decides the same sign-off again in a later task, at
    a later workflow.now(). Here the earlier attempt is played by committing the same
    events, 7 seconds earlier, just before the retry's append."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.planted: list[Any] = []
        self.planted_at: datetime | None = None

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        if request.events[0].type == "sign_off_given" and not self.planted:
            self.planted_at = request.events[0].occurred_at - timedelta(seconds=7)
            earlier = [
                NewEvent.from_domain(e.model_copy(update={"occurred_at": self.planted_at}))
                for e in request.events
            ]
            self.planted = await EventStore(self._pool).append(
                request.stream_id, request.expected_version, earlier
            )
        return await super().append_events(request)


async def test_a_decision_committed_by_a_killed_attempt_gets_its_original_receipt(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    killed = StoredByAKilledAttempt(pool)
    store = EventStore(pool)
    async with running_with(temporal_env, definition, killed) as driver:
        handle = driver.handle
        gate = await drive_until(driver, lambda s: s.step_key == "goals.quality_assurance")
        signer = gate.awaited[0].people[0]
        receipt = await driver.update("sign_off", sign_off_by(gate, signer))

        # The person gets the receipt of the event the first attempt committed.
        [original] = killed.planted
        assert (receipt.version, receipt.event_id, receipt.hash, receipt.recorded_at) == (
            original.version,
            original.event_id,
            original.hash,
            original.recorded_at,
        )
        # The record keeps the first attempt's time, and the workflow adopted it: its
        # state is the fold of the stored events (assert_record_intact).
        stored = await store.read(definition.plan_id, from_version=original.version)
        assert stored[0].to_domain().occurred_at == killed.planted_at
        await assert_record_intact(store, handle, definition.plan_id)

        # Nothing is stuck: the plan goes on to the next phase.
        moved = await drive_until(driver, lambda s: s.phase == "strategies")
        assert moved.step_key == "strategies.submit"
        await assert_record_intact(store, handle, definition.plan_id)
        await handle.terminate("test done")


class RecordGetsAhead(PlanActivities):
    """Before the first sign-off ``signer`` sends is appended, another member's sign-off
    lands in the record behind the workflow's back: the stream is one event ahead of the
    workflow, and its next event id is taken (plan event ids follow the version)."""

    def __init__(self, pool: asyncpg.Pool, other: str) -> None:
        super().__init__(pool)
        self.other = other
        self.planted: list[Any] = []

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        first = request.events[0]
        if first.type == "sign_off_given" and not self.planted and first.actor_id != self.other:
            store = EventStore(self._pool)
            state = fold(await store.read_domain(request.stream_id))
            command = cmd.SignOff(
                actor_id=self.other,
                step_key=first.step_key,
                content_version=first.content_version,
                content_hash=first.content_hash,
                role=Role.STEERING_GROUP,
            )
            ahead = review_decisions.sign_off(
                state,
                command,
                first.occurred_at,
                lambda: event_id(request.stream_id, "v", request.expected_version + 1),
            )
            self.planted = await store.append(
                request.stream_id,
                request.expected_version,
                [NewEvent.from_domain(e) for e in ahead],
            )
        return await super().append_events(request)


async def test_a_workflow_behind_its_record_catches_up_on_its_next_step(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    steering = [p.id for p in definition.members(Role.STEERING_GROUP)]
    ahead = RecordGetsAhead(pool, other=steering[1])
    store = EventStore(pool)
    async with running_with(temporal_env, definition, ahead) as driver:
        handle = driver.handle
        gate = await drive_until(driver, lambda s: s.step_key == "goals.quality_assurance")
        receipt = await driver.update("sign_off", sign_off_by(gate, steering[0]))

        [planted] = ahead.planted
        assert planted.version == gate.events_recorded + 1
        assert receipt.version == planted.version + 1
        stored = {e.version: e for e in await store.read(definition.plan_id)}
        assert stored[planted.version].actor_id == steering[1]
        assert stored[receipt.version].actor_id == steering[0]
        assert stored[receipt.version].hash == receipt.hash
        # Two of three is the majority: the workflow saw both and closed the phase.
        moved = await driver.wait_for(lambda s: s.step_key == "strategies.submit")
        assert moved.phase == "strategies"
        await assert_record_intact(store, handle, definition.plan_id)
        # audit verify: the planted event traces back through the catch-up's read, and
        # every receipt in the history matches the store.
        out = io.StringIO()
        plan = definition.plan_id
        assert await commands.verify(store, temporal_env.client, [plan], out, language="en") == 0
        assert "1 caught up after an append whose result was lost" in out.getvalue()
        await handle.terminate("test done")


async def test_a_worker_killed_after_committing_a_decision_loses_nothing(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    database_url: str,
    bodo: PlanDefinition,
    tmp_path: Path,
) -> None:
    """The fault as it happens: a worker process is killed with SIGKILL after its append
    of a person's sign-off committed and before the workflow task completed. The next
    worker decides the sign-off again (a later workflow.now()); the person gets the
    receipt of the event already in the record, and the plan goes on."""
    definition = unique(bodo)
    queue = f"plans-{uuid.uuid4()}"
    client = temporal_env.client
    store = EventStore(pool)
    marker = tmp_path / "committed.json"
    async with build_worker(client, pool, queue):
        driver = await started(temporal_env, queue, definition)
        handle = driver.handle
        gate = await drive_until(driver, lambda s: s.step_key == "goals.quality_assurance")
    doomed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.killable_worker",
        client.service_client.config.target_host, client.namespace, database_url, queue,
        str(marker),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert doomed.stdout is not None
        assert (await asyncio.wait_for(doomed.stdout.readline(), 30)).strip() == b"ready"
        signer = gate.awaited[0].people[0]
        with temporal_env.with_time_skipping_disabled():
            sent = asyncio.create_task(driver.update("sign_off", sign_off_by(gate, signer)))
            for _ in range(300):
                if marker.exists():
                    break
                await asyncio.sleep(0.1)
            assert marker.exists(), "the worker never committed the sign-off"
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
            committed = AppendEventsOutput.model_validate_json(marker.read_text())
            [original] = committed.receipts
            assert (await store.head(definition.plan_id))[0] == original.version
            assert not sent.done()

            async with build_worker(client, pool, queue):  # the next worker
                receipt = await asyncio.wait_for(sent, 60)
                assert (receipt.version, receipt.event_id, receipt.hash) == (
                    original.version,
                    original.event_id,
                    original.hash,
                )
                assert receipt.recorded_at == original.recorded_at
                moved = await drive_until(driver, lambda s: s.phase == "strategies")
                assert moved.step_key == "strategies.submit"
                await assert_record_intact(store, handle, definition.plan_id)
                stored = await store.read(definition.plan_id)
                assert (
                    sum(1 for e in stored if e.type == "sign_off_given" and e.actor_id == signer)
                    == 1
                )
    finally:
        if doomed.returncode is None:
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
        await handle.terminate("test done")
