"""The public hearing: anyone may read the draft and send a response while it is open."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, Request

from api import requests as rq
from api import service
from api.auth import Context, PlanId
from api.errors import ERROR_RESPONSES, ApiError, refused, unknown_plan
from api.hearing_receipts import queue_receipt, receipt_address
from api.service import ApiContext
from api.views import HearingReceipt, PublicHearing, content_view
from domain.plan_state import PlanState
from eventstore.errors import StoreUnavailable
from eventstore.hearing_inbox import InboxRefusal, PublicResponse
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


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


async def respond(
    ctx: ApiContext,
    plan_id: str,
    body: rq.PublicResponseRequest,
    address: str,
    idempotency_key: str | None = None,
) -> HearingReceipt:
    """Appended to the plan's record here, not sent to the workflow as an Update
    (eventstore/hearing_inbox.py): the workflow reads the responses when it closes the
    hearing. The fence refuses a response to a hearing that is not open. With an e-mail
    address the receipt is queued for it (api/hearing_receipts.py), for the web form and
    the API alike; the address is checked before anything is recorded."""
    if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ApiError(
            422,
            "InvalidIdempotencyKey",
            "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces",
        )
    mail_to = receipt_address(body.email)
    if mail_to is not None and not ctx.settings.smtp_host:
        raise ApiError(
            422,
            "EmailUnavailable",
            "email: this server sends no e-mail (no mail server is configured), so it "
            "takes no address; leave it out and keep the receipt this answer gives",
        )
    if not await ctx.limiter.allow(address):
        raise ApiError(
            429,
            "TooManyRequests",
            f"at most {ctx.limiter.limit} hearing responses a minute from one address; "
            "wait a minute and send it again",
        )
    if not re.fullmatch(service.PLAN_ID_PATTERN, plan_id):
        raise unknown_plan(plan_id[:80])
    bind_context(plan_id=plan_id)
    response = PublicResponse(
        name=body.name,
        organisation=body.organisation or None,
        text=body.text,
        idempotency_key=idempotency_key,
    )
    try:
        receipt = await ctx.inbox.respond(plan_id, response)
    except InboxRefusal as refusal:
        if refusal.code == "NotOpenYet":
            await ctx.plans.state(plan_id)  # an unknown plan is told so (404)
        if refusal.code in ("PlanBusy",):
            raise ApiError(429, refusal.code, refusal.message) from None
        raise refused(refusal.code, refusal.message) from None
    except StoreUnavailable:
        raise ApiError(
            503,
            "StoreUnavailable",
            "the record could not be reached; sending the same response again is safe "
            "(it is recorded once)",
        ) from None
    answer = HearingReceipt(
        receipt_number=f"{receipt.version}-{receipt.hash[:8].upper()}",
        plan_id=plan_id,
        version=receipt.version,
        hash=receipt.hash,
        recorded_at=receipt.recorded_at,
        response_id=receipt.response_id,
        event_id=str(receipt.event_id),
        leaf_index=receipt.leaf_index,
        duplicate=receipt.duplicate,
        emailed=mail_to is not None,
    )
    if mail_to is not None:
        state = await ctx.plans.state(plan_id)
        title = state.definition.title if state.definition else plan_id
        await queue_receipt(ctx.pool, plan_id=plan_id, title=title, address=mail_to, receipt=answer)
    return answer


@router.post(
    "/plans/{plan_id}/hearing/responses",
    status_code=201,
    summary="send a hearing response (name, optional organisation, text, optional e-mail "
    "for the receipt); returns a receipt",
    description="Records the response while the hearing is open and returns its receipt "
    "(number, version and hash in the plan's record, its leaf in the Merkle log).\n\n"
    "**Receipt by e-mail (optional):** give `email`, and the same receipt is sent to that "
    "address, as the web form's e-mail field does (`emailed` in the answer says it is "
    "queued; sent once per response, however often the request is repeated). The address "
    "is not published and never enters the plan's record: it is kept only in the "
    "notification outbox until the receipt is sent or given up on (within a day), then "
    "blanked. Refused before anything is recorded: `422 InvalidEmail` when it is not one "
    "address (`name@example.no`), `422 EmailUnavailable` where the server has no mail "
    "server (`TEMAPLAN_SMTP_HOST` unset).",
)
async def send_response(
    plan_id: PlanId,
    body: rq.PublicResponseRequest,
    request: Request,
    ctx: Context,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="any unique string of yours (e.g. a UUID): the same request sent "
            "again with it gets the original receipt, and is recorded once"
        ),
    ] = None,
) -> HearingReceipt:
    return await respond(ctx, plan_id, body, client_address(request), idempotency_key)
