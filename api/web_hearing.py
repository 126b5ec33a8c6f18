"""The public hearing on the web page: the plans on hearing, the draft with what happens
to a response, and the response form, open to anyone without logging in.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api import requests as rq
from api.errors import ApiError
from api.hearing_receipts import mint_idempotency_key
from api.routes_public import client_address, hearing_view, on_hearing, respond
from api.views import summary
from api.web import (
    _ctx,
    _invalid,
    _principal,
    refused_form,
    render,
)
from domain.plan_state import PlanState
from domain.roles import Role

router = APIRouter(include_in_schema=False)


@router.get("/hearing")
async def hearings(request: Request) -> Response:
    found = [hearing_view(s) for s in await _ctx(request).plans.states() if s.hearing_open]
    return render(request, "hearings.html", principal=await _principal(request), hearings=found)


@router.get("/hearing/{plan_id}")
async def hearing_page(plan_id: str, request: Request) -> Response:
    state = await on_hearing(_ctx(request), plan_id)
    return await _hearing_page(request, state)


async def _hearing_page(
    request: Request,
    state: PlanState,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The draft, what happens to a response, and the form; after a refusal the same
    page with the refusal in the page's language and what was typed."""
    definition = state.definition
    assert definition is not None
    leaders = definition.members(Role.PROJECT_LEADER)
    return render(
        request,
        "hearing.html",
        principal=await _principal(request),
        hearing=hearing_view(state),
        contact=leaders[0] if leaders else None,
        **refused_form(request, error, values),
        # Kept across a refusal: the response was not recorded, the key is still unused.
        idempotency_key=(values or {}).get("idempotency_key") or mint_idempotency_key(),
        mail_receipt=bool(_ctx(request).settings.smtp_host),
    )


def _consent_missing() -> ApiError:
    return ApiError(
        422,
        "ConsentMissing",
        "confirm that you have read what happens to your name and response",
    )


@router.post("/hearing/{plan_id}")
async def hearing_respond(plan_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    state = await on_hearing(ctx, plan_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        # The page publishes the name and the response: it takes them only from someone
        # who has been told so (the privacy notice above the form).
        try:
            body = rq.PublicResponseRequest.model_validate(
                {
                    "name": fields.get("name", ""),
                    "organisation": fields.get("organisation") or None,
                    "text": fields.get("text", ""),
                    # Asked for only where a mail server sends the receipt (the form
                    # offers the field then); respond() checks it and queues the receipt.
                    "email": fields.get("email") if ctx.settings.smtp_host else None,
                }
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        if fields.get("consent") != "yes":
            raise _consent_missing()
        key = fields.get("idempotency_key") or None
        receipt = await respond(ctx, plan_id, body, client_address(request), key)
    except ApiError as refusal:
        if refusal.status == 429:
            raise
        return await _hearing_page(
            request, await ctx.plans.state(plan_id), error=refusal, values=fields
        )
    state = await ctx.plans.state(plan_id)
    return render(
        request,
        "receipt.html",
        principal=await _principal(request),
        plan=summary(state),
        receipt=receipt,
        receipt_number=receipt.receipt_number,
        public=True,
        mailed=receipt.emailed,
        back=f"/hearing/{plan_id}",
    )
