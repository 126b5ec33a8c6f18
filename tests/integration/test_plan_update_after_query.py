"""A person's update in the workflow task after a query brought the plan up to date.

The chaos test's long form found the sequence: a worker dies while the engine's append
is in flight; the append completes; a status query is served by a new worker without the
plan in its cache, which replays the history up to that completion (the engine folds it
and publishes the next phase there); the person, seeing the next phase, acts, and the
update arrives in the next workflow task. Replayed, that task must give the same
commands (workflows.registry._UpdatesLast).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.models import AppendEventsInput, AppendEventsOutput
from activities.plan_activities import PlanActivities
from client.simulation import content_for
from domain import commands as cmd
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.refusals import ENGINE
from domain.roles import Role
from tests.integration.conftest import started, unique
from tests.integration.replay import drive_until, replay_all, settle
from workflows.plan_workflow import PlanWorkflow
from workflows.registry import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.servers


class HeldAppends(PlanActivities):
    """The engine's own appends wait while ``hold`` is clear (people's decisions, which
    new runs append with the same regular activity, go through)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.hold = asyncio.Event()
        self.hold.set()
        self.holding = asyncio.Event()

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        if not activity.info().is_local and request.events[0].actor_id == ENGINE:
            while not self.hold.is_set():
                self.holding.set()
                await asyncio.sleep(0.05)
        return await super().append_events(request)


def workflow_worker(client: Client, queue: str, activities: PlanActivities) -> Worker:
    """Workflows and local activities only: the regular activities run elsewhere, so this
    worker can stop while one is in flight."""
    return Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        activities=activities.all(),
        no_remote_activities=True,
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=1),
    )


async def test_an_update_after_a_query_on_an_uncached_worker_replays(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    client = temporal_env.client
    queue = f"after-query-{uuid.uuid4().hex[:8]}"
    appends = HeldAppends(pool)
    activities = Worker(client, task_queue=queue, activities=appends.all())
    first = workflow_worker(client, queue, appends)
    definition = unique(bodo)
    async with activities:
        first_run = asyncio.create_task(first.run())
        driver = await started(temporal_env, queue, definition)
        handle = driver.handle
        status = await drive_until(driver, done=lambda s: s.step_key == "goals.quality_assurance")
        assert status.step_key == "goals.quality_assurance"

        # The last sign-off completes the phase; the engine's append that opens the next
        # one is held, and the worker holding the plan stops meanwhile.
        appends.hold.clear()
        await driver.act_once(status, lambda _s: asyncio.sleep(0))
        await asyncio.wait_for(appends.holding.wait(), 30)
        await first.shutdown()
        await first_run
        appends.hold.set()
        await settle_activities(handle)

        # The person asks for the status and acts on the next phase before any worker
        # runs the workflow task the append's completion scheduled.
        query = asyncio.create_task(handle.query(PlanWorkflow.status))
        await asyncio.sleep(0.5)
        submitted = asyncio.create_task(
            driver.update(
                "submit_content",
                cmd.SubmitContent(
                    actor_id=driver.person(Role.PROJECT_LEADER),
                    phase=Phase.STRATEGIES,
                    content=content_for(Phase.STRATEGIES, driver.proposals),
                ),
            )
        )
        await asyncio.sleep(0.5)
        async with workflow_worker(client, queue, appends):
            seen = await asyncio.wait_for(query, 30)
            receipt = await asyncio.wait_for(submitted, 30)
            assert seen.phase is Phase.STRATEGIES
            assert receipt.version > status.events_recorded
            await driver.wait_for(lambda s: s.step_key == "strategies.reference_round")
            await settle(handle)

    events = (await handle.fetch_history()).events
    accepted = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "submit_content"
    ]
    assert len(accepted) == 2  # the goals and the strategies
    await replay_all(client, [handle.id])


async def settle_activities(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the held append has completed (its workflow task waits for a worker)."""
    for _ in range(600):
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the held append did not complete")
