"""Replay recorded plan workflows against the workflow code: the check that a change to
``workflows/`` can be deployed while plans are running.

A plan lives for months, so its history was written by older code; the worker replays
that history with the code it has now, and any difference in the commands it issues is a
non-determinism error that stops the plan. ``replay_all`` runs every recorded run of the
given workflows through ``temporalio.worker.Replayer`` with the worker's own data
converter and sandbox settings, and raises the first failure.

Also here, for want of a better place among the files these tests may add: ``settle``
and ``drive_until``, which drive a plan as PlanDriver.run_to_adoption does, but only
once the workflow has nothing in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from domain.gates import PlanStatus
from temaplan.simulation import PlanDriver
from worker import WORKFLOWS


def replayer(workflows: Sequence[type] = WORKFLOWS) -> Replayer:
    """A replayer configured as worker.build_worker configures the worker."""
    return Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                "domain", "activities"
            )
        ),
    )


async def run_histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of a workflow id, oldest first, continued-as-new runs included.

    The runs come from the visibility store (``list_workflows``); since visibility may
    lag behind, the chain is also followed back from the current run through each
    run's ``continued_execution_run_id``, and both must agree on the runs it holds.
    """
    listed = [
        execution.run_id
        async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"')
    ]
    histories: dict[str, WorkflowHistory] = {}
    run_id: str | None = (await client.get_workflow_handle(workflow_id).describe()).run_id
    chain: list[str] = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories[run_id] = history
        chain.append(run_id)
        started = history.events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
    missing = set(listed) - set(chain)
    if missing:
        raise AssertionError(f"runs of {workflow_id} outside its continue-as-new chain: {missing}")
    return [histories[r] for r in reversed(chain)]


async def replay_all(
    client: Client, workflow_ids: Iterable[str], workflows: Sequence[type] = WORKFLOWS
) -> list[WorkflowHistory]:
    """Replay every run of every workflow; raise the first replay failure (for a code
    change that does not fit the recorded history, ``temporalio.workflow.
    NondeterminismError``). Returns the histories replayed."""
    histories = [h for wid in workflow_ids for h in await run_histories(client, wid)]

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    await replayer(workflows).replay_workflows(each())
    return histories


# --- driving plans (shared by the plan tests in this folder) ----------------------------


async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 30.0) -> None:
    """Wait until the workflow has nothing in flight: no activity, no workflow task.

    Works around the race reported with test_plan_resilience.py::
    test_a_decision_made_while_the_step_is_announced_is_not_waited_past: a decision that
    lands while the engine is still announcing a step (the notify activity) is waited
    past, and a plan whose next step is the engine's own stalls. Acting only on a settled
    plan keeps the other tests about what they test.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"workflow {handle.id} did not settle")
        await asyncio.sleep(0.01)


async def _no_hearing(_status: PlanStatus) -> None:
    raise AssertionError("this plan was not expected to reach the hearing")


async def drive_until(
    driver: PlanDriver,
    done: Callable[[PlanStatus], bool] = lambda _s: False,
    hearing: Callable[[PlanStatus], Awaitable[None]] = _no_hearing,
) -> PlanStatus:
    """PlanDriver.run_to_adoption, acting only on a settled plan, and stopping at the
    first status ``done`` accepts (or when the plan is no longer active)."""
    while True:
        await settle(driver.handle)
        status = await driver.status()
        if status.status != "active" or done(status):
            return status
        marker = (status.step_key, status.events_recorded)
        await driver.act_once(status, hearing)
        await driver.wait_for(
            lambda s, marker=marker: (  # type: ignore[misc]
                (s.step_key, s.events_recorded) != marker
                and (s.step_key is not None or s.status != "active")
            )
        )
