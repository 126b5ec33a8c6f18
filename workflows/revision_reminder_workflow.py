"""What the revision schedule starts each year: it works out the revision year from the
scheduled time and starts that year's revision, at most once per plan and year."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import SearchAttributeKey, WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import RevisionReminderInput
    from domain.ids import revision_workflow_id, revision_year
    from workflows.revision_models import RevisionInput, RevisionReminderResult
    from workflows.revision_workflow import RevisionWorkflow

# Set by the server on every workflow a schedule starts, backfills included.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn(name="RevisionReminderWorkflow")
class RevisionReminderWorkflow:
    @workflow.run
    async def run(self, reminder: RevisionReminderInput) -> RevisionReminderResult:
        scheduled_at = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        if scheduled_at is None:  # started by hand, not by the schedule
            scheduled_at = workflow.now()
        year = revision_year(scheduled_at)
        child_id = revision_workflow_id(reminder.plan_id, year)
        try:
            # The year's id, never reused: a second reminder in the same year (a manual
            # trigger, a backfill, a retried action) cannot start a second revision.
            handle = await workflow.start_child_workflow(
                RevisionWorkflow.run,
                RevisionInput(plan_id=reminder.plan_id, year=year, scheduled_at=scheduled_at),
                id=child_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("revision %s already exists", child_id)
            return RevisionReminderResult(
                plan_id=reminder.plan_id,
                year=year,
                revision_workflow_id=child_id,
                started=False,
                outcome="already started",
            )
        try:
            # Waiting keeps the schedule's overlap policy meaningful: a revision still open
            # when the next reminder is due makes the schedule skip that reminder.
            result = await handle
        except ChildWorkflowError as err:
            return RevisionReminderResult(
                plan_id=reminder.plan_id,
                year=year,
                revision_workflow_id=child_id,
                started=True,
                outcome=f"failed: {err.cause or err}",
            )
        return RevisionReminderResult(
            plan_id=reminder.plan_id,
            year=year,
            revision_workflow_id=child_id,
            started=True,
            outcome=result.outcome,
        )
