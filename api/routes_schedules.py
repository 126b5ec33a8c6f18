"""Schedulers: a plan's yearly revision schedule (issue 5's client.schedules), its
status, trigger, pause and unpause. Each action is checked against the plan's record,
carried out by a workflow and recorded as an event with the scheduler as its actor, attested
by the API as a decision is (docs/audit-format.md "Attested actors")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from temporalio.service import RPCError

from activities.attestation import SCHEDULE_ACTION
from api.attest import attest
from api.auth import Context, Me, PlanId
from api.errors import ERROR_RESPONSES, ApiError, refused
from api.service import ApiContext, require_actor, require_reader
from api.tokens import Principal
from client.schedules import (
    ScheduleRefused,
    ScheduleView,
    act_on_schedule,
    describe_schedule,
    new_request_id,
)
from domain.commands import Receipt
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from domain.text import check_text
from eventstore import EventStore
from runtime.logging import bind_context

router = APIRouter(
    prefix="/api/plans/{plan_id}/schedule", tags=["schedulers"], responses=ERROR_RESPONSES
)
RequestId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8,32}$")]


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: Annotated[str, StringConstraints(max_length=1000), AfterValidator(check_text)] = ""
    request_id: RequestId | None = Field(
        default=None,
        description="8-32 hex digits naming the request: an action with the same id is "
        "never carried out twice (safe to retry); made by the server when left out",
    )


class BackfillRequest(ScheduleRequest):
    backfill_from: AwareDatetime
    backfill_to: AwareDatetime


ActionRequest = TypeVar("ActionRequest", bound=ScheduleRequest)


def _refusal(exc: ScheduleRefused) -> ApiError:
    if exc.code in ("UnknownPlan", "UnknownSchedule"):
        return ApiError(404, exc.code, exc.message)
    return refused(exc.code, exc.message)


@router.get("", summary="the plan's revision schedule: spec, paused, next and recent runs")
async def schedule_status(plan_id: PlanId, ctx: Context, me: Me) -> ScheduleView:
    bind_context(plan_id=plan_id)
    require_reader(me, await ctx.plans.state(plan_id))
    try:
        return await describe_schedule(ctx.client, plan_id)
    except ScheduleRefused as exc:
        raise _refusal(exc) from None
    except RPCError as exc:
        raise ApiError(
            503, "TemporalUnavailable", f"the schedule could not be read: {exc}"
        ) from None


async def _act(
    ctx: ApiContext, me: Principal, plan_id: str, action: ScheduleAction, body: ScheduleRequest
) -> Receipt:
    bind_context(plan_id=plan_id)
    require_actor(me, await ctx.plans.state(plan_id))
    command = ScheduleCommand(
        actor_id=me.person_id,
        authenticated_by=me.authenticated_by,
        action=action,
        reason=body.reason,
        backfill_from=getattr(body, "backfill_from", None),
        backfill_to=getattr(body, "backfill_to", None),
        request_id=body.request_id or new_request_id(),
    )
    # The person the request is authenticated as, vouched for to the action's workflow.
    command = attest(command, SCHEDULE_ACTION, plan_id, ctx.front_door)
    try:
        return await asyncio.wait_for(
            act_on_schedule(ctx.client, EventStore(ctx.pool), plan_id, command, ctx.task_queue),
            timeout=ctx.update_timeout,
        )
    except ScheduleRefused as exc:
        raise _refusal(exc) from None
    except TimeoutError:
        raise ApiError(
            503,
            "PlanNotAnswering",
            "the schedule action did not finish in time (is a worker running?); "
            + (
                "sending the same request_id again is safe"
                if body.request_id
                else "it may still be carried out: look at the schedule before sending it again"
            ),
        ) from None
    except RPCError as exc:
        raise ApiError(503, "TemporalUnavailable", f"the action was not taken: {exc}") from None


def _action_route(
    action: ScheduleAction, summary: str, request: type[ActionRequest]
) -> Callable[[str, ActionRequest, ApiContext, Principal], Awaitable[Receipt]]:
    """The action's route, POST /<action> taking ``request``; the page's forms call it too."""

    async def route(plan_id: PlanId, body: ActionRequest, ctx: Context, me: Me) -> Receipt:
        return await _act(ctx, me, plan_id, action, body)

    # FastAPI reads the request's schema from the annotation, not from the type variable.
    route.__annotations__["body"] = request
    router.add_api_route(
        f"/{action.value}", route, methods=["POST"], name=action.value, summary=summary
    )
    return route


trigger = _action_route(
    ScheduleAction.TRIGGER, "send this year's revision reminder now", ScheduleRequest
)
pause = _action_route(
    ScheduleAction.PAUSE, "stop the reminders (a reason is required)", ScheduleRequest
)
unpause = _action_route(ScheduleAction.UNPAUSE, "resume the reminders", ScheduleRequest)
backfill = _action_route(
    ScheduleAction.BACKFILL, "run the reminders that fall in a time range", BackfillRequest
)
