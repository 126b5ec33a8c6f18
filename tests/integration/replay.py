"""Driving plans for the tests in this folder: ``drive_until`` drives a plan as
PlanDriver.run_to_adoption does, but only once the workflow has nothing in flight
(``settle``, from client.simulation).
Replay itself lives in audit.temporal_history; ``PlanWorkflowWithAPause`` is the change
a replay must refuse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow

from audit.temporal_history import replay_all, replayer, run_histories
from client.simulation import PlanDriver, settle
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
