"""The public hearing: anyone may read the draft and send a response while it is open."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from api import requests as rq
from api import service
from api.auth import Context, PlanId
from api.errors import ERROR_RESPONSES, ApiError, refused
from api.service import ApiContext
from api.views import HearingReceipt, PublicHearing, content_view
from domain import commands as cmd
from domain import decisions
from domain.decisions import Refusal
from domain.ids import event_id
from domain.plan_state import PlanState
from runtime.logging import bind_context

router = APIRouter(prefix="/api/public", tags=["public hearing"], responses=ERROR_RESPONSES)


def hearing_view(state: PlanState) -> PublicHearing:
    assert state.definition is not None
    on_hearing = state.hearing_deadline is not None
    draft = state.content() if on_hearing else None
    return PublicHearing(
        plan_id=state.plan_id or "",
        title=state.definition.title,
        municipality=state.definition.municipality.name,
        hearing_open=state.hearing_open,
        hearing_deadline=state.hearing_deadline,
        responses_so_far=len(state.current_hearing_responses()),
        draft=content_view(state, draft) if draft is not None else None,
    )


async def on_hearing(ctx: ApiContext, plan_id: str) -> PlanState:
    """A plan that is or has been on public hearing. Any other answers exactly as an
    unknown plan does: the public learns nothing of a plan before its hearing, not even
    that it exists."""
    try:
        state = await ctx.plans.state(plan_id)
    except ApiError:
        state = None
    if state is None or state.hearing_deadline is None:
        raise ApiError(
            404, "NotOnHearing", f"no plan '{plan_id[:80]}' is or has been on public hearing"
        )
    return state


@router.get("/hearings", summary="plans on public hearing now")
async def open_hearings(ctx: Context) -> list[PublicHearing]:
    return [hearing_view(s) for s in await ctx.plans.states() if s.hearing_open]


@router.get("/plans/{plan_id}/hearing", summary="the draft on hearing, its deadline")
async def hearing(plan_id: PlanId, ctx: Context) -> PublicHearing:
    return hearing_view(await on_hearing(ctx, plan_id))


def client_address(request: Request) -> str:
    """The caller's address; X-Forwarded-For counts only from TEMAPLAN_TRUSTED_PROXIES."""
    ctx: ApiContext = request.app.state.ctx
    peer = request.client.host if request.client else None
    return service.client_address(peer, request.headers.get("x-forwarded-for"), ctx.proxies)


async def respond(
    ctx: ApiContext, plan_id: str, body: rq.PublicResponseRequest, address: str
) -> HearingReceipt:
    if not await ctx.limiter.allow(address):
        raise ApiError(
            429,
            "TooManyRequests",
            f"at most {ctx.limiter.limit} hearing responses a minute from one address; "
            "wait a minute and send it again",
        )
    bind_context(plan_id=plan_id)
    state = await ctx.plans.state(plan_id)
    command = cmd.HearingResponse(
        name=body.name,
        organisation=body.organisation or None,
        text=body.text,
        # Made here, never by the caller: a retry of this request is not possible to
        # confuse with someone else's response.
        response_id=f"web-{uuid.uuid4().hex}",
    )
    try:
        # The recorded state refuses a closed hearing at once (also once the plan has
        # moved on and its workflow ended); the workflow's own validator decides the rest,
        # by its clock.
        decisions.hearing_response(
            state,
            command,
            state.last_event_at or state.hearing_deadline,  # type: ignore[arg-type]
            lambda: event_id(plan_id, "check"),
            "check",
        )
    except Refusal as refusal:
        raise refused(refusal.code.value, refusal.message) from None
    receipt = await ctx.update(plan_id, "respond_to_hearing", command)
    return HearingReceipt(
        receipt_number=f"{receipt.version}-{receipt.hash[:8].upper()}",
        plan_id=plan_id,
        version=receipt.version,
        hash=receipt.hash,
        recorded_at=receipt.recorded_at,
        response_id=command.response_id or "",
        event_id=str(receipt.event_id),
        leaf_index=receipt.leaf_index,
    )


@router.post(
    "/plans/{plan_id}/hearing/responses",
    status_code=201,
    summary="send a hearing response (name, optional organisation, text); returns a receipt",
)
async def send_response(
    plan_id: PlanId, body: rq.PublicResponseRequest, request: Request, ctx: Context
) -> HearingReceipt:
    return await respond(ctx, plan_id, body, client_address(request))
