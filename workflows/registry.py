"""The workflows and activities one worker runs, and the sandbox runner they run in.

The worker, the replayer (audit) and the tests build from here, so a workflow is
registered in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import asyncpg
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.client import Client
from temporalio.worker import Worker, WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.attestation import AttestationPolicy
from activities.attestation import configure as configure_attestation
from activities.plan_activities import PlanActivities
from activities.schedule_activities import ScheduleActivities
from domain.plan import RevisionDate
from workflows.plan_patches import UPDATES_LAST_ATTRIBUTE
from workflows.plan_workflow import PlanWorkflow
from workflows.revision_reminder_workflow import RevisionReminderWorkflow
from workflows.revision_workflow import RevisionWorkflow
from workflows.schedule_action_workflow import ScheduleActionWorkflow

WORKFLOWS: Sequence[type] = (
    PlanWorkflow,
    RevisionReminderWorkflow,
    RevisionWorkflow,
    ScheduleActionWorkflow,
)


DEFAULT_REVISION_DATE = RevisionDate(month=9, day=1)


class _Runner(SandboxedWorkflowRunner):
    """The SDK's sandbox, less one cost. For every payload it encodes or decodes (several
    passes each), the worker asks the workflow instance for the payload's serialization
    and external-storage context, and the sandboxed instance answers by compiling and
    exec'ing a snippet inside the sandbox's import context: about 0.2 ms a call on a busy
    machine, some 14 calls per sign-off. The answer comes from plain lookups in the
    instance's own tables (temporalio.worker._workflow_instance), which imports nothing
    and touches nothing restricted, so it is taken from the sandboxed object directly.
    If an SDK version lays the instance out differently, the SDK's own path stays (the
    test for this runner notices)."""

    def __init__(
        self, *, restrictions: SandboxRestrictions, updates_last: bool | None = None
    ) -> None:
        super().__init__(restrictions=restrictions)
        self._updates_last = updates_last

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        instance = super().create_instance(det)
        in_sandbox = getattr(instance, "globals_and_locals", {}).get("__temporal_in_sandbox")
        for name in ("get_serialization_context", "get_external_store_context"):
            direct = getattr(in_sandbox, name, None)
            if callable(direct) and callable(getattr(instance, name, None)):
                setattr(instance, name, direct)
        forced = self._updates_last

        def updates_last() -> bool:
            if forced is not None:
                return forced
            # The workflow object, inside the sandbox's instance; absent before the run's
            # first activation (which then runs as it comes).
            workflow_object = getattr(getattr(in_sandbox, "instance", None), "_object", None)
            return getattr(workflow_object, UPDATES_LAST_ATTRIBUTE, False) is True

        setattr(instance, "activate", _UpdatesLast(instance.activate, updates_last))  # noqa: B010
        return instance


class _UpdatesLast:
    """Runs an activation that holds both updates and other jobs as two: the other jobs
    first, then the updates, for workflows that ask for it (PlanWorkflow since
    UPDATES_LAST).

    Why: the SDK runs an update's validator and accepts it before the workflow sees the
    other jobs of the same activation, but the same workflow task does not always reach
    the workflow as one activation. A query served by a worker without the plan in its
    cache replays the plan's history up to its newest event, so an activity completed
    since the last workflow task reaches the workflow there, and its commands wait for
    the next workflow task; an update that task brings runs after them. Replayed, both
    come in one activation, the update first, and the commands no longer match the
    history (TMPRL1100 "Update machine does not handle this event"). Running updates
    after the other jobs gives the same commands whichever way the task was split."""

    def __init__(
        self,
        activate: Callable[[WorkflowActivation], WorkflowActivationCompletion],
        wanted: Callable[[], bool],
    ) -> None:
        self._activate = activate
        self._wanted = wanted

    def __call__(self, act: WorkflowActivation) -> WorkflowActivationCompletion:
        updates = [job for job in act.jobs if job.HasField("do_update")]
        if not updates or len(updates) == len(act.jobs) or not self._wanted():
            return self._activate(act)
        first = WorkflowActivation()
        first.CopyFrom(act)
        del first.jobs[:]
        first.jobs.extend(job for job in act.jobs if not job.HasField("do_update"))
        then = WorkflowActivation()
        then.CopyFrom(act)
        del then.jobs[:]
        then.jobs.extend(updates)
        done = self._activate(first)
        if not done.HasField("successful"):
            return done
        more = self._activate(then)
        if not more.HasField("successful"):
            return more
        done.successful.commands.extend(more.successful.commands)
        done.successful.used_internal_flags.extend(
            flag
            for flag in more.successful.used_internal_flags
            if flag not in done.successful.used_internal_flags
        )
        if more.successful.versioning_behavior:
            done.successful.versioning_behavior = more.successful.versioning_behavior
        return done


def workflow_runner(updates_last: bool | None = None) -> SandboxedWorkflowRunner:
    """domain/ and activities' models are pure and deterministic; passing them through
    keeps one copy of each pydantic class (validators import lazily inside them).
    ``cryptography`` verifies front-door signatures in update validators (pure, and it
    loads its backend lazily). The replayer must use the same settings as the worker.

    ``updates_last``: None lets each workflow say (see _UpdatesLast); True or False
    forces it, for replaying a history recorded one way or the other."""
    return _Runner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "domain", "activities", "cryptography"
        ),
        updates_last=updates_last,
    )


# Plans wait at their gates for days: a worker holding every open plan in memory grows
# with their number (the SDK's default keeps 1,000, each a sandboxed instance). 250 keeps
# the worker's memory bounded; a plan out of the cache replays its history (one run: at
# most a few hundred events) when a person next acts on it.
DEFAULT_WORKFLOW_CACHE = 250


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    revision_date: RevisionDate = DEFAULT_REVISION_DATE,
    *,
    max_cached_workflows: int = DEFAULT_WORKFLOW_CACHE,
    attestation: AttestationPolicy | None = None,
) -> Worker:
    # Read by update validators only, so never by a replay (activities/attestation.py).
    configure_attestation(task_queue, attestation or AttestationPolicy())
    activities = PlanActivities(pool)
    schedules = ScheduleActivities(client, task_queue, revision_date)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        activities=[*activities.all(), *schedules.all()],
        max_cached_workflows=max_cached_workflows,
        # A killed worker's sticky queue otherwise stalls its plans for ~10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=10),
    )
