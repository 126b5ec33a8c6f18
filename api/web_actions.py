"""The web page's forms for the project leader's revision actions (goal indicator, close
the round, propose changes with a field for each part of the measure, conclude) and the revision schedule's actions (trigger,
pause with a reason, unpause, backfill).

Each form is turned into the API's own request model and handed to the API's own route
function, so the page takes the same commands and gives the same refusals as the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from api import requests as rq
from api import routes_revisions as rr
from api import routes_schedules as rs
from api.errors import ApiError
from api.web import (
    _ctx,
    _form,
    _invalid,
    _receipt_page,
    _signed_in,
    _typed_number,
    _year,
    shown_beside_the_form,
)
from api.web_decisions import plan_receipt, show_plan
from api.web_revision import show_revision
from domain.commands import Receipt
from domain.hierarchy import Measure
from runtime.formatting import zoned

router = APIRouter(include_in_schema=False)
REVISION_ACTIONS = ("goal-indicator", "close", "changes", "conclude")
SCHEDULE_ACTIONS = ("trigger", "pause", "unpause", "backfill")


# The measure's fields on the change form, as the plan file names them.
MEASURE_TEXT = ("id", "strategy_id", "title", "completion_criterion", "responsible_unit")
MEASURE_CHOICE = ("basis", "actor")
COSTS = ("investment_nok", "running_nok_per_year")


def _cost(text: str) -> str | None:
    """A cost as typed ("1 250 000", "ukjent"/"unknown"), as the plan file takes it."""
    cleaned = "".join(text.split())
    if cleaned.lower() in ("ukjent", "unknown"):
        return "unknown"
    return cleaned or None


def change_from_form(fields: dict[str, str], in_force: dict[str, Measure]) -> dict[str, Any]:
    """One change as the API takes it (``MeasureChange``), from the form's fields.

    A change to a measure starts from the measure in force, and a field left empty keeps
    its value; a new measure has only what was typed, so what it lacks is refused by the
    API's own model with the API's own messages."""
    kind = fields.get("change_kind", "")
    reason = fields.get("reason", "")
    target = fields.get("measure_id", "")
    if kind == "retire":
        return {"kind": kind, "measure_id": target or None, "reason": reason}
    current = in_force.get(target) if kind == "change" else None
    if kind == "change" and current is None:
        raise ApiError(
            422,
            "UnknownItem",
            f"measure_id: choose the measure to change ({target[:40]!r} is not in force)",
        )
    measure: dict[str, Any] = current.model_dump(mode="json") if current else {}
    for name in (*MEASURE_TEXT, *MEASURE_CHOICE):
        typed = fields.get(f"m_{name}", "").strip()
        if typed:
            measure[name] = typed
    due = fields.get("m_due_year", "").strip()
    if due:
        measure["due_year"] = due
    costs = dict(measure.get("costs") or {})
    for name in COSTS:
        typed_cost = _cost(fields.get(f"m_{name}", ""))
        if typed_cost is not None:
            costs[name] = typed_cost
    if costs:
        measure["costs"] = costs
    groups = fields.get("m_target_groups", "").strip()
    if groups:
        measure["target_groups"] = [g.strip() for g in groups.split(",") if g.strip()]
    return {"kind": kind, "measure": measure, "reason": reason}


@router.post("/plans/{plan_id}/revisions/{year}/act/{action}")
async def revision_action(plan_id: str, year: str, action: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    wanted = _year(year)
    if action not in REVISION_ACTIONS:
        raise ApiError(404, "NotFound", f"no revision action {action[:30]!r}")
    state = await ctx.plans.state(plan_id)
    # A refused form comes back filled in as it was sent, the refusal beside it.
    typed = {**fields, "form": action}
    receipt: Receipt
    try:
        if action == "goal-indicator":
            receipt = await rr.report_goal_indicator(
                plan_id,
                wanted,
                ctx,
                me,
                rq.GoalIndicatorRequest.model_validate(
                    {
                        "goal_id": fields.get("goal_id", ""),
                        "value": _typed_number(fields.get("value", "")),
                    }
                ),
            )
        elif action == "changes":
            revision = state.revision(wanted)
            version = revision.content_version if revision else None
            content = state.content(version) if version else None
            in_force = {m.id: m for m in content.content.measures} if content else {}
            change = change_from_form(fields, in_force)
            receipt = await rr.propose_changes(
                plan_id, wanted, ctx, me, rq.ChangesRequest.model_validate({"changes": [change]})
            )
        elif action == "close":
            receipt = await rr.close_round(plan_id, wanted, ctx, me, None)
        else:
            receipt = await rr.conclude(plan_id, wanted, ctx, me, None)
    except ValidationError as exc:
        refusal = _invalid(exc)
        return show_revision(request, me, state, wanted, error=refusal, values=typed)
    except ApiError as refusal:
        if not shown_beside_the_form(refusal):
            raise
        return show_revision(request, me, state, wanted, error=refusal, values=typed)
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
    return zoned(moment).isoformat()


@router.post("/plans/{plan_id}/schedule/{action}")
async def schedule_action(plan_id: str, action: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    if action not in SCHEDULE_ACTIONS:
        raise ApiError(404, "NotFound", f"no schedule action {action[:30]!r}")
    state = await ctx.plans.state(plan_id)
    # As with the revision forms: a refused form comes back as it was sent, the refusal
    # beside it (the plan page's decision forms use no "form" field).
    typed = {**fields, "form": f"schedule-{action}"}
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
        return await show_plan(request, me, state, error=_invalid(exc), values=typed)
    except ApiError as refusal:
        if not shown_beside_the_form(refusal):
            raise
        return await show_plan(request, me, state, error=refusal, values=typed)
    return plan_receipt(request, me, plan_id, receipt=receipt, state=state)
