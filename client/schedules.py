"""The schedulers' operations on a plan's revision schedule, shared by the CLI and the API.

Every action is checked against the plan's record before anything starts (a refused
action leaves no trace), then carried out by a ScheduleActionWorkflow that applies it to
the Temporal schedule and records it in the plan's stream.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain import revision_decisions as rd
from domain.commands import Receipt
from domain.ids import schedule_action_workflow_id, schedule_id_for
from domain.refusals import Refusal
from domain.revision_commands import ScheduleCommand
from domain.state import fold
from eventstore import EventStore
from workflows.revision_models import ScheduleActionRequest, ScheduleActionResult
from workflows.schedule_action_workflow import ScheduleActionWorkflow

SCHEDULE_PREFIX = "revision-"


class ScheduleRefused(Exception):
    """The action was refused; ``code`` is the refusal's type (e.g. WrongRole)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScheduleView(_View):
    schedule_id: str
    plan_id: str
    paused: bool
    note: str
    time_zone: str
    yearly_at: list[str]  # "MM-DD HH:00"
    end_at: AwareDatetime | None
    overlap: str
    next_runs: list[AwareDatetime]
    recent_runs: list[tuple[AwareDatetime, str]]  # (scheduled time, workflow id)
    actions_taken: int
    ended: bool = False  # past its end (the planning period): no more reminders


def has_ended(
    end_at: datetime | None, paused: bool, next_runs: list[datetime], now: datetime
) -> bool:
    """Past its end, or (not paused) with no reminder to come: never shown as active."""
    return (end_at is not None and end_at <= now) or (not paused and not next_runs)


def new_request_id() -> str:
    return uuid4().hex[:16]


async def act_on_schedule(
    client: Client,
    store: EventStore,
    plan_id: str,
    command: ScheduleCommand,
    task_queue: str,
) -> Receipt:
    """Check, carry out and record a scheduler's action; the receipt of its event.

    The request id names the action: sent again (a retry after a lost answer), it gets
    the original receipt instead of being decided a second time."""
    workflow_id = schedule_action_workflow_id(plan_id, command.request_id)
    earlier = client.get_workflow_handle(workflow_id, result_type=ScheduleActionResult)
    try:
        await earlier.describe()
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
    else:
        original = await _receipt_of(earlier)
        return original.model_copy(update={"duplicate": True})
    events = await store.read_domain(plan_id)
    if not events:
        raise ScheduleRefused("UnknownPlan", f"there is no plan '{plan_id}' in the event store")
    try:
        rd.schedule_action(fold(events), command, datetime.now(UTC), uuid4)
    except Refusal as refusal:
        raise ScheduleRefused(refusal.code.value, refusal.message) from None
    try:
        handle = await client.start_workflow(
            ScheduleActionWorkflow.run,
            ScheduleActionRequest(plan_id=plan_id, command=command),
            id=workflow_id,
            task_queue=task_queue,
        )
    except WorkflowAlreadyStartedError:
        handle = earlier  # the same request, sent twice at once
    return await _receipt_of(handle)


async def _receipt_of(handle: WorkflowHandle[Any, ScheduleActionResult]) -> Receipt:
    try:
        result: ScheduleActionResult = await handle.result()
    except WorkflowFailureError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise ScheduleRefused(cause.type or "Refused", cause.message) from None
        raise
    if result.failed:
        receipt = result.receipt
        raise ScheduleRefused(
            "RevisionCannotRun",
            f"{result.failed} (recorded as failed: plan {receipt.plan_id} version "
            f"{receipt.version}, hash {receipt.hash})",
        )
    return result.receipt


async def describe_schedule(client: Client, plan_id: str) -> ScheduleView:
    schedule_id = schedule_id_for(plan_id)
    try:
        described = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise ScheduleRefused(
                "UnknownSchedule",
                f"plan '{plan_id}' has no revision schedule (it is created on adoption)",
            ) from None
        raise
    schedule = described.schedule
    spec = schedule.spec
    yearly = [
        f"{c.month[0].start:02d}-{c.day_of_month[0].start:02d} {c.hour[0].start:02d}:00"
        for c in spec.calendars
        if c.month and c.day_of_month and c.hour
    ]
    return ScheduleView(
        schedule_id=schedule_id,
        plan_id=plan_id,
        paused=schedule.state.paused,
        note=schedule.state.note or "",
        time_zone=spec.time_zone_name or "UTC",
        yearly_at=yearly,
        end_at=spec.end_at,
        overlap=schedule.policy.overlap.name,
        next_runs=list(described.info.next_action_times[:3]),
        recent_runs=[
            (
                a.scheduled_at,
                getattr(a.action, "workflow_id", ""),
            )
            for a in described.info.recent_actions
        ],
        actions_taken=described.info.num_actions,
        ended=has_ended(
            spec.end_at,
            schedule.state.paused,
            list(described.info.next_action_times),
            datetime.now(UTC),
        ),
    )


async def list_schedules(client: Client) -> list[str]:
    """The plans' revision schedules, by schedule id."""
    found: list[str] = []
    async for listed in await client.list_schedules():
        if listed.id.startswith(SCHEDULE_PREFIX):
            found.append(listed.id)
    return sorted(found)
