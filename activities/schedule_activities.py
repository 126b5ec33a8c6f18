"""The revision schedule (rullering) on the Temporal server: created on adoption, acted
on by schedulers. Activities, because a schedule is a server-side object (I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleBackfill,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.attestation import SCHEDULE_ACTION, check, policy_for
from activities.models import (
    ApplyScheduleActionInput,
    ApplyScheduleActionOutput,
    EnsureScheduleInput,
    EnsureScheduleOutput,
    RevisionReminderInput,
)
from domain import search_attributes as sa
from domain.ids import TIME_ZONE, reminder_workflow_id, schedule_id_for
from domain.plan import PlanDefinition, RevisionDate
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from runtime.formatting import OSLO

log = structlog.get_logger(__name__)
REMINDER_WORKFLOW = "RevisionReminderWorkflow"


class AttestScheduleActionInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    plan_id: str
    command: ScheduleCommand


class AttestScheduleActionOutput(BaseModel):
    model_config = ConfigDict(frozen=True)

    attested: bool  # False: recorded as unattested (the deployment does not require it)


def revision_spec(definition: PlanDefinition, default: RevisionDate) -> ScheduleSpec:
    """Yearly, on the plan's date (or the deployment's default) in Oslo time, ending with
    the last day of the planning period: no reminders for a plan no longer in force."""
    date = definition.settings.revision_date or default
    end = datetime(definition.period.to_year, 12, 31, 23, 59, 59, tzinfo=OSLO)
    return ScheduleSpec(
        calendars=[
            ScheduleCalendarSpec(
                month=[ScheduleRange(date.month)],
                day_of_month=[ScheduleRange(date.day)],
                hour=[ScheduleRange(date.hour)],
                comment="yearly revision reminder (rullering)",
            )
        ],
        time_zone_name=TIME_ZONE,
        end_at=end,
    )


class ScheduleActivities:
    def __init__(self, client: Client, task_queue: str, default_date: RevisionDate) -> None:
        self._client = client
        self._task_queue = task_queue
        self._default_date = default_date

    def _schedule(self, plan_id: str, definition: PlanDefinition) -> Schedule:
        return Schedule(
            action=ScheduleActionStartWorkflow(
                REMINDER_WORKFLOW,
                RevisionReminderInput(plan_id=plan_id),
                id=reminder_workflow_id(plan_id),
                task_queue=self._task_queue,
                memo={"plan_id": plan_id},
            ),
            spec=revision_spec(definition, self._default_date),
            # A revision still open a year later is not doubled by the next reminder.
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(note=f"yearly revision of {plan_id}"),
        )

    @activity.defn(name="ensure_revision_schedule")
    async def ensure_revision_schedule(self, request: EnsureScheduleInput) -> EnsureScheduleOutput:
        """Create the plan's schedule, or bring an existing one to the wanted spec: the id
        is the plan's, so a retry, a replay or a second adoption never makes two."""
        schedule_id = schedule_id_for(request.plan_id)
        wanted = self._schedule(request.plan_id, request.definition)
        already_existed = False
        try:
            await self._client.create_schedule(
                schedule_id,
                wanted,
                memo={
                    "plan_id": request.plan_id,
                    "municipality": request.definition.municipality.name,
                },
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(sa.MUNICIPALITY, request.definition.municipality.number)]
                ),
            )
        except ScheduleAlreadyRunningError:
            already_existed = True

            def keep_state(update: ScheduleUpdateInput) -> ScheduleUpdate:
                # The spec and action follow the plan; a scheduler's pause stays.
                current = update.description.schedule
                return ScheduleUpdate(
                    schedule=Schedule(
                        action=wanted.action,
                        spec=wanted.spec,
                        policy=wanted.policy,
                        state=current.state,
                    )
                )

            await self._client.get_schedule_handle(schedule_id).update(keep_state)
        date = request.definition.settings.revision_date or self._default_date
        assert wanted.spec.end_at is not None
        log.info("revision schedule ready", plan_id=request.plan_id, existed=already_existed)
        return EnsureScheduleOutput(
            schedule_id=schedule_id,
            month=date.month,
            day=date.day,
            hour=date.hour,
            time_zone=TIME_ZONE,
            end_at=wanted.spec.end_at,
            already_existed=already_existed,
        )

    @activity.defn(name="check_schedule_attestation")
    async def check_schedule_attestation(
        self, request: AttestScheduleActionInput
    ) -> AttestScheduleActionOutput:
        """The front door's signature on who asked for the action, checked as an update
        validator checks a decision's (activities/attestation.py). An activity, because the
        keys and the requirement are the worker's settings: its answer is in the action's
        history, so a replay never reads them."""
        command = request.command
        try:
            check(policy_for(activity.info().task_queue), SCHEDULE_ACTION, request.plan_id, command)
        except ApplicationError as refusal:
            log.warning(
                "schedule action refused",
                plan_id=request.plan_id,
                action=command.action.value,
                actor=command.actor_id,
                refusal=refusal.type,
            )
            raise
        return AttestScheduleActionOutput(attested=command.attestation is not None)

    @activity.defn(name="apply_schedule_action")
    async def apply_schedule_action(
        self, request: ApplyScheduleActionInput
    ) -> ApplyScheduleActionOutput:
        command = request.command
        handle = self._client.get_schedule_handle(request.schedule_id)
        note = f"{command.actor_id}: {command.reason}".strip(": ")
        try:
            match command.action:
                case ScheduleAction.PAUSE:
                    await handle.pause(note=note)
                case ScheduleAction.UNPAUSE:
                    await handle.unpause(note=note)
                case ScheduleAction.TRIGGER:
                    await handle.trigger()
                case ScheduleAction.BACKFILL:
                    assert command.backfill_from is not None
                    assert command.backfill_to is not None
                    await handle.backfill(
                        ScheduleBackfill(
                            start_at=command.backfill_from,
                            end_at=command.backfill_to,
                            # Each year has its own revision workflow: all may run.
                            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
                        )
                    )
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise ApplicationError(
                    f"the schedule {request.schedule_id} does not exist on the Temporal server",
                    type="ScheduleNotFound",
                    non_retryable=True,
                ) from exc
            raise
        log.info(
            "schedule action applied",
            plan_id=request.plan_id,
            action=command.action.value,
            actor=command.actor_id,
        )
        return ApplyScheduleActionOutput(applied=command.action.value)

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.ensure_revision_schedule,
            self.check_schedule_attestation,
            self.apply_schedule_action,
        ]
