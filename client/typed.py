"""One typed client for people's actions on a plan and on a year's revision.

Every update, query and signal is sent by method reference (``PlanWorkflow.sign_off``)
with the model the workflow's method takes, so mypy checks each method here against the
workflow's; the names on the wire are the methods' names, as before."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.workflow import UpdateMethodMultiParam

from domain import commands as cmd
from domain import revision_commands as rc
from domain.gates import PlanStatus
from domain.plan_state import PlanState
from workflows.plan_models import PlanResult, PublicResponsesCount, workflow_id_for
from workflows.plan_workflow import PlanWorkflow
from workflows.revision_models import RevisionStatus
from workflows.revision_workflow import RevisionWorkflow

# Any update answering with a receipt: what the by-name tables below can hold. A call by
# name is checked at run time instead (_Typed.by_name); the typed methods are checked by
# mypy.
Update = UpdateMethodMultiParam[[Any, Any], cmd.Receipt]

# The updates by the name the API's routes and the simulation know them by.
PLAN_UPDATES: dict[str, Update] = {
    "submit_content": PlanWorkflow.submit_content,
    "comment": PlanWorkflow.comment,
    "sign_off": PlanWorkflow.sign_off,
    "complete_draft_step": PlanWorkflow.complete_draft_step,
    "respond_to_hearing": PlanWorkflow.respond_to_hearing,
    "close_hearing": PlanWorkflow.close_hearing,
    "submit_hearing_summary": PlanWorkflow.submit_hearing_summary,
    "decide_after_hearing": PlanWorkflow.decide_after_hearing,
    "council_decision": PlanWorkflow.council_decision,
    "withdraw_vote": PlanWorkflow.withdraw_vote,
}
REVISION_UPDATES: dict[str, Update] = {
    "report_measure": RevisionWorkflow.report_measure,
    "report_goal_indicator": RevisionWorkflow.report_goal_indicator,
    "close_round": RevisionWorkflow.close_round,
    "propose_changes": RevisionWorkflow.propose_changes,
    "review_changes": RevisionWorkflow.review_changes,
    "conclude": RevisionWorkflow.conclude,
}


class _Typed:
    # The workflow's updates by name, for update().
    updates: ClassVar[dict[str, Update]]

    def __init__(self, handle: WorkflowHandle[Any, Any]) -> None:
        self.handle = handle

    async def update(self, name: str, command: BaseModel) -> cmd.Receipt:
        """The update named ``name`` (a route's or a driver's), by its method."""
        return await self.by_name(self.updates[name], command)

    async def by_name(self, update: Update, command: BaseModel) -> cmd.Receipt:
        """``update`` sent with ``command``, which must be the model the update takes: a
        call by name is not seen by mypy, so a mismatch is caught here, before it is sent."""
        takes = update._defn.arg_types or []
        if not (len(takes) == 1 and isinstance(command, takes[0])):
            raise TypeError(f"{update._defn.name} takes {takes}, not {type(command).__name__}")
        receipt: cmd.Receipt = await self.handle.execute_update(update, command)
        return receipt


class PlanClient(_Typed):
    """A plan workflow's updates, queries and signals, typed."""

    updates = PLAN_UPDATES

    @classmethod
    def for_plan(cls, client: Client, plan_id: str) -> PlanClient:
        return cls(client.get_workflow_handle(workflow_id_for(plan_id), result_type=PlanResult))

    async def status(self) -> PlanStatus:
        return await self.handle.query(PlanWorkflow.status)

    async def state(self) -> PlanState:
        return await self.handle.query(PlanWorkflow.state)

    async def hearing_response(self, response: cmd.HearingResponse) -> None:
        await self.handle.signal(PlanWorkflow.hearing_response, response)

    async def public_responses(self, count: PublicResponsesCount) -> None:
        await self.handle.signal(PlanWorkflow.public_responses, count)

    async def submit_content(self, command: cmd.SubmitContent) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.submit_content, command)

    async def comment(self, command: cmd.AddComment) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.comment, command)

    async def sign_off(self, command: cmd.SignOff) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.sign_off, command)

    async def complete_draft_step(self, command: cmd.CompleteDraftStep) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.complete_draft_step, command)

    async def respond_to_hearing(self, response: cmd.HearingResponse) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.respond_to_hearing, response)

    async def close_hearing(self, command: cmd.CloseHearing) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.close_hearing, command)

    async def submit_hearing_summary(self, command: cmd.HearingSummary) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.submit_hearing_summary, command)

    async def decide_after_hearing(self, command: cmd.HearingDecision) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.decide_after_hearing, command)

    async def council_decision(self, command: cmd.CouncilDecision) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.council_decision, command)

    async def withdraw_vote(self, command: cmd.WithdrawVote) -> cmd.Receipt:
        return await self.handle.execute_update(PlanWorkflow.withdraw_vote, command)


class RevisionClient(_Typed):
    """A year's revision workflow's updates and queries, typed."""

    updates = REVISION_UPDATES

    async def status(self) -> RevisionStatus:
        return await self.handle.query(RevisionWorkflow.status)

    async def state(self) -> PlanState:
        return await self.handle.query(RevisionWorkflow.state)

    async def report_measure(self, command: rc.ReportMeasure) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.report_measure, command)

    async def report_goal_indicator(self, command: rc.ReportGoalIndicator) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.report_goal_indicator, command)

    async def close_round(self, command: rc.CloseReportingRound) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.close_round, command)

    async def propose_changes(self, command: rc.ProposeChanges) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.propose_changes, command)

    async def review_changes(self, command: rc.ReviewChanges) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.review_changes, command)

    async def conclude(self, command: rc.ConcludeRevision) -> cmd.Receipt:
        return await self.handle.execute_update(RevisionWorkflow.conclude, command)
