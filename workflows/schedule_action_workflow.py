"""A scheduler's action on a plan's revision schedule (pause, unpause, trigger,
backfill): decided against the plan's record, applied to the schedule, and recorded as an
event in the plan's stream with a receipt. A workflow, so that the action and its record
happen together even if a worker dies in between, and so that the auditors' cross-check
finds every event in a workflow history."""

from __future__ import annotations

from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.attestation import attested
    from activities.models import ApplyScheduleActionInput, LoadPlanInput
    from activities.plan_activities import PlanActivities
    from activities.schedule_activities import AttestScheduleActionInput, ScheduleActivities
    from domain import revision_decisions as rd
    from domain.events import Event, RevisionScheduleChanged
    from domain.ids import event_id
    from workflows.deciding import (
        ACTIVITY_TIMEOUT,
        STORE_RETRY,
        append_at_end,
        decided,
        using,
    )
    from workflows.revision_models import ScheduleActionRequest, ScheduleActionResult


# Patch id: a trigger whose revision cannot run is recorded as failed and not sent.
TRIGGER_CHECKED = "trigger-checks-its-revision"
# Patch id: the front door's attestation of the scheduler is checked before anything.
ATTESTATION_CHECKED = "schedule-action-attested"


@workflow.defn(name="ScheduleActionWorkflow")
class ScheduleActionWorkflow:
    @workflow.run
    async def run(self, request: ScheduleActionRequest) -> ScheduleActionResult:
        command = request.command
        # Actions started before the check existed replay without it.
        if workflow.patched(ATTESTATION_CHECKED):
            await _check_attestation(request)
        loaded = await workflow.execute_activity_method(
            PlanActivities.load_plan,
            LoadPlanInput(plan_id=request.plan_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        numbers = iter(range(1, 100))

        def new_id() -> UUID:
            return event_id(request.plan_id, "schedule", command.request_id, next(numbers))

        # The scheduler's event says how they were authenticated and carries the front
        # door's attestation, if any (a command without either records as before).
        events = decided(
            attested(using(rd.schedule_action, command), command.attestation),
            loaded.state,
            new_id,
        )
        schedule = loaded.state.schedule
        assert schedule is not None
        failed = _failure(events)
        # A trigger whose revision cannot run is recorded, not sent (histories recorded
        # before this check replay through the action as they were).
        if not (failed and workflow.patched(TRIGGER_CHECKED)):
            await workflow.execute_activity_method(
                ScheduleActivities.apply_schedule_action,
                ApplyScheduleActionInput(
                    plan_id=request.plan_id, schedule_id=schedule.schedule_id, command=command
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        result = await append_at_end(request.plan_id, events)
        return ScheduleActionResult(receipt=result.receipts[0], failed=failed)


def _failure(events: list[Event]) -> str:
    return next((e.failed for e in events if isinstance(e, RevisionScheduleChanged)), "")


async def _check_attestation(request: ScheduleActionRequest) -> None:
    """Refuse, before the schedule is touched or anything recorded, a forged attestation
    and, where the deployment requires it, an unattested action: the action's workflow
    fails with the refusal's own type and message (Unattested, AttestationInvalid)."""
    try:
        await workflow.execute_activity_method(
            ScheduleActivities.check_schedule_attestation,
            AttestScheduleActionInput(plan_id=request.plan_id, command=request.command),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
    except ActivityError as failed:
        cause = failed.cause
        if isinstance(cause, ApplicationError):
            raise ApplicationError(cause.message, type=cause.type, non_retryable=True) from None
        raise
