"""The plan benchmark's floor: a minimal Temporal workflow that waits for its approvals,
whose update handler only counts, and its worker. In a module of its own so the worker's
sandbox imports only this."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client
    from temporalio.worker import Worker


@workflow.defn(name="BenchMinimalWorkflow")
class MinimalWorkflow:
    """The floor: waits for ``expected`` approvals; the update handler only counts."""

    def __init__(self) -> None:
        self._approvals = 0

    @workflow.run
    async def run(self, expected: int) -> int:
        await workflow.wait_condition(lambda: self._approvals >= expected)
        return self._approvals

    @workflow.update
    def approve(self) -> bool:
        self._approvals += 1
        return True


def minimal_worker(client: Client, task_queue: str) -> Worker:
    """As build_worker sets up a worker (default sandbox, 1 s sticky timeout), without
    activities."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[MinimalWorkflow],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )
