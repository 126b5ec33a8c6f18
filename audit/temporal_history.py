"""Recorded plan workflows from Temporal: every run of a plan, and replay of them
against the workflow code, the check that a change to ``workflows/`` can be deployed
while plans are running.

A plan lives for months, so its history was written by older code; the worker replays
that history with the code it has now, and any difference in the commands it issues is a
non-determinism error that stops the plan. ``replay_all`` runs every recorded run of the
given workflows through ``temporalio.worker.Replayer`` with the worker's own data
converter and sandbox settings, and raises the first failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from runtime.payload_converter import data_converter
from workflows.registry import WORKFLOWS, workflow_runner


def replayer(workflows: Sequence[type] = WORKFLOWS) -> Replayer:
    """A replayer configured as workflows.registry.build_worker configures the worker."""
    return Replayer(
        workflows=list(workflows),
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
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
        if started.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            raise RuntimeError(f"history of {workflow_id}/{run_id} does not begin with its start")
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
    missing = set(listed) - set(chain)
    if missing:
        raise RuntimeError(f"runs of {workflow_id} outside its continue-as-new chain: {missing}")
    return [histories[r] for r in reversed(chain)]


async def replay_histories(
    histories: Sequence[WorkflowHistory], workflows: Sequence[type] = WORKFLOWS
) -> None:
    """Replay the given runs; raise the first failure (for a code change that does not fit
    the recorded history, ``temporalio.workflow.NondeterminismError``)."""

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    await replayer(workflows).replay_workflows(each())


async def replay_all(
    client: Client, workflow_ids: Iterable[str], workflows: Sequence[type] = WORKFLOWS
) -> list[WorkflowHistory]:
    """Replay every run of every workflow; raise the first replay failure. Returns the
    histories replayed."""
    histories = [h for wid in workflow_ids for h in await run_histories(client, wid)]
    await replay_histories(histories, workflows)
    return histories
