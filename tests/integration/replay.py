"""Driving plans for the tests in this folder: ``settle`` and ``drive_until`` drive a plan
as PlanDriver.run_to_adoption does, but only once the workflow has nothing in flight.
Replay itself lives in audit.temporal_history; ``PlanWorkflowWithAPause`` is the change
a replay must refuse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import WorkflowHandle

from audit.temporal_history import replay_all, replayer, run_histories
from client.simulation import PlanDriver
from domain.gates import PlanStatus
from workflows.plan_models import PlanInput, PlanResult
from workflows.plan_workflow import PlanWorkflow

__all__ = [
    "PlanWorkflowWithAPause",
    "drive_until",
    "replay_all",
    "replayer",
    "run_histories",
    "settle",
]


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

        def moved_on(s: PlanStatus, marker: tuple[str | None, int] = marker) -> bool:
            return (s.step_key, s.events_recorded) != marker and (
                s.step_key is not None or s.status != "active"
            )

        await driver.wait_for(moved_on)


# --- a change that breaks running plans -------------------------------------------------


# Not sandboxed: the sandbox would re-import this module (and the client, the audit and
# pytest with it) to load the class. Non-determinism is found either way.
@workflow.defn(name="PlanWorkflow", sandboxed=False)
class PlanWorkflowWithAPause(PlanWorkflow):
    """A 'harmless' change: wait a second before starting. Plans already running did not
    wait; their histories start with the activity that records the plan's creation."""

    @workflow.run
    async def run(self, plan: PlanInput) -> PlanResult:
        await workflow.sleep(timedelta(seconds=1))
        return await super().run(plan)
