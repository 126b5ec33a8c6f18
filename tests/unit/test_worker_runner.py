"""workflows.registry._Runner: the sandboxed instance answers serialization and external-storage
context lookups directly, not through a snippet exec'd in the sandbox per payload."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio import workflow
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import WorkflowSerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails

from workflows.plan_workflow import PlanWorkflow
from workflows.registry import _Runner, _UpdatesLast, workflow_runner


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


def _activation(*variants: str) -> WorkflowActivation:
    act = WorkflowActivation(run_id="run", is_replaying=True, history_length=65)
    for variant in variants:
        job = act.jobs.add()
        if variant == "do_update":
            job.do_update.id = "update-1"
            job.do_update.protocol_instance_id = "update-1"
            job.do_update.name = "submit_content"
        else:
            job.resolve_activity.seq = 9
    return act


class _Recorder:
    """Stands in for a workflow instance: answers each activation with one command per
    job, so the order of the commands shows the order the jobs ran in."""

    def __init__(self) -> None:
        self.activations: list[list[str]] = []

    def __call__(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        jobs = [str(job.WhichOneof("variant")) for job in act.jobs]
        self.activations.append(jobs)
        completion = WorkflowActivationCompletion(run_id=act.run_id)
        for job in jobs:
            command = completion.successful.commands.add()
            if job == "do_update":
                command.update_response.protocol_instance_id = "update-1"
                command.update_response.accepted.SetInParent()
            else:
                command.upsert_workflow_search_attributes.SetInParent()
        return completion


@pytest.mark.parametrize("wanted", [True, False])
def test_updates_run_after_the_other_jobs_of_their_activation_when_asked(wanted: bool) -> None:
    recorder = _Recorder()
    completion = _UpdatesLast(recorder, lambda: wanted)(
        _activation("do_update", "resolve_activity")
    )
    commands = [str(c.WhichOneof("variant")) for c in completion.successful.commands]
    if wanted:
        assert recorder.activations == [["resolve_activity"], ["do_update"]]
        assert commands == ["upsert_workflow_search_attributes", "update_response"]
        assert completion.run_id == "run"
    else:
        assert recorder.activations == [["do_update", "resolve_activity"]]


def test_an_activation_of_updates_only_or_without_updates_runs_as_it_comes() -> None:
    recorder = _Recorder()
    split = _UpdatesLast(recorder, lambda: True)
    split(_activation("do_update"))
    split(_activation("resolve_activity"))
    assert recorder.activations == [["do_update"], ["resolve_activity"]]


def test_a_failed_first_half_is_the_activation_s_answer() -> None:
    calls: list[WorkflowActivation] = []

    def failing(act: WorkflowActivation) -> WorkflowActivationCompletion:
        calls.append(act)
        completion = WorkflowActivationCompletion(run_id=act.run_id)
        completion.failed.failure.message = "boom"
        return completion

    completion = _UpdatesLast(failing, lambda: True)(_activation("do_update", "resolve_activity"))
    assert completion.failed.failure.message == "boom"
    assert len(calls) == 1  # the updates are not run on a failed activation
