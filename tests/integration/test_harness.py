"""The real Temporal dev server the suite runs on: search attributes and time skipping."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.search_attributes import ALL_KEYS

pytestmark = pytest.mark.servers


@workflow.defn(sandboxed=False)
class SixWeekWait:
    @workflow.run
    async def run(self) -> str:
        started = workflow.now()
        await workflow.sleep(timedelta(weeks=6))
        return str(workflow.now() - started)


async def test_custom_search_attributes_are_registered(temporal_env: WorkflowEnvironment) -> None:
    response = await temporal_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=temporal_env.client.namespace)
    )
    for key in ALL_KEYS:
        assert key.name in response.custom_attributes


async def test_six_weeks_pass_by_time_skipping(temporal_env: WorkflowEnvironment) -> None:
    queue = f"harness-{uuid.uuid4()}"
    async with Worker(temporal_env.client, task_queue=queue, workflows=[SixWeekWait]):
        with temporal_env.with_time_skipping_disabled():
            handle = await temporal_env.client.start_workflow(
                SixWeekWait.run, id=f"wait-{uuid.uuid4()}", task_queue=queue
            )
        # Returns False here because the workflow completes before the seven weeks end;
        # what matters is the virtual time the workflow itself saw.
        await temporal_env.fast_forward(handle, timedelta(weeks=7))
        elapsed = await handle.result()
    assert elapsed.startswith("42 days")
