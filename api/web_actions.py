"""The web page's forms for the project leader's revision actions (goal indicator, close
the round, propose changes, conclude) and the revision schedule's actions (trigger,
pause with a reason, unpause, backfill).

Each form is turned into the API's own request model and handed to the API's own route
function, so the page takes the same commands and gives the same refusals as the API.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api import routes_revisions as rr
from api import routes_schedules as rs
from api.errors import ApiError
from api.views import people_names
from api.web import _ctx, _form, _invalid, _receipt_page, _signed_in, _typed_number, _year
from domain.commands import Receipt

router = APIRouter(include_in_schema=False)
OSLO = ZoneInfo("Europe/Oslo")
REVISION_ACTIONS = ("goal-indicator", "close", "changes", "conclude")
SCHEDULE_ACTIONS = ("trigger", "pause", "unpause", "backfill")


def _changes(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise ApiError(
            422,
            "ValidationError",
            f"changes: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None


@router.post("/plans/{plan_id}/revisions/{year}/act/{action}")
async def revision_action(plan_id: str, year: str, action: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    wanted = _year(year)
    if action not in REVISION_ACTIONS:
        raise ApiError(404, "NotFound", f"no revision action {action[:30]!r}")
    state = await ctx.plans.state(plan_id)
    receipt: Receipt
    try:
        if action == "goal-indicator":
            receipt = await rr.report_goal_indicator(
                plan_id,
                wanted,
                rr.GoalIndicatorRequest.model_validate(
                    {
                        "goal_id": fields.get("goal_id", ""),
                        "value": _typed_number(fields.get("value", "")),
                    }
                ),
                ctx,
                me,
            )
        elif action == "changes":
            receipt = await rr.propose_changes(
                plan_id,
                wanted,
                rr.ChangesRequest.model_validate({"changes": _changes(fields.get("changes", ""))}),
                ctx,
                me,
            )
        elif action == "close":
            receipt = await rr.close_round(plan_id, wanted, ctx, me)
        else:
            receipt = await rr.conclude(plan_id, wanted, ctx, me)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return _receipt_page(
        request, me, receipt=receipt, state=state, back=f"/plans/{plan_id}/revisions/{wanted}"
    )


def _moment(text: str, name: str) -> str:
    """A date and time from the page's field, in Oslo time, as the API takes it."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            422, "ValidationError", f"{name}: {text[:40]!r} is not a date and time"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=OSLO)).isoformat()


@router.post("/plans/{plan_id}/schedule/{action}")
async def schedule_action(plan_id: str, action: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    if action not in SCHEDULE_ACTIONS:
        raise ApiError(404, "NotFound", f"no schedule action {action[:30]!r}")
    state = await ctx.plans.state(plan_id)
    body: dict[str, Any] = {"reason": fields.get("reason", "")}
    if fields.get("request_id"):
        body["request_id"] = fields["request_id"]
    try:
        if action == "backfill":
            backfill = rs.BackfillRequest.model_validate(
                {
                    **body,
                    "backfill_from": _moment(fields.get("backfill_from", ""), "backfill_from"),
                    "backfill_to": _moment(fields.get("backfill_to", ""), "backfill_to"),
                }
            )
            receipt = await rs.backfill(plan_id, backfill, ctx, me)
        else:
            request_body = rs.ScheduleRequest.model_validate(body)
            act = {"trigger": rs.trigger, "pause": rs.pause, "unpause": rs.unpause}[action]
            receipt = await act(plan_id, request_body, ctx, me)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return _receipt_page(
        request,
        me,
        receipt=receipt,
        state=state,
        back=f"/plans/{plan_id}",
        names=people_names(state),
    )
