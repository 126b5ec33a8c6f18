"""worker._Runner: the sandboxed instance answers serialization and external-storage
context lookups directly, not through a snippet exec'd in the sandbox per payload."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import workflow
from temporalio.converter import WorkflowSerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails

from worker import _Runner, workflow_runner
from workflows.plan_workflow import PlanWorkflow


async def test_the_plan_workflow_runner_answers_contexts_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[WorkflowInstance] = []
    create = _Runner.create_instance

    def keep(self: _Runner, det: WorkflowInstanceDetails) -> WorkflowInstance:
        made.append(create(self, det))
        return made[-1]

    monkeypatch.setattr(_Runner, "create_instance", keep)
    # Validation at worker start creates an instance with placeholder info.
    workflow_runner().prepare_workflow(workflow._Definition.must_from_class(PlanWorkflow))
    [instance] = made
    in_sandbox: Any = getattr(instance, "globals_and_locals", {})["__temporal_in_sandbox"]
    # With another SDK layout this fails: the runner then falls back to the SDK's path,
    # which is correct but slower; look at _Runner again.
    assert instance.get_serialization_context == in_sandbox.get_serialization_context
    assert instance.get_external_store_context == in_sandbox.get_external_store_context
    context = instance.get_serialization_context(None)
    info = instance.get_info()
    assert context == WorkflowSerializationContext(
        namespace=info.namespace, workflow_id=info.workflow_id
    )
