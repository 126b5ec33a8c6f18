"""The inbox, the plan page and its decision forms: each form is turned into the API's
own request model and handed to the API's own route, so the page takes the same
decisions and gives the same refusals as the API.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

import catalogue
from api import requests as rq
from api import routes_plans
from api.errors import ApiError
from api.i18n import translator
from api.routes_plans import my_pending_decisions
from api.service import (
    may_read,
    require_actor,
    require_auditor,
    require_reader,
    roles_of,
)
from api.tokens import Principal
from api.views import content_view, pending_for, people_names, summary, timeline
from api.web import (
    _ctx,
    _form,
    _invalid,
    _receipt_page,
    _signed_in,
    event_detail,
    language,
    refused_form,
    render,
    render_plan,
    shown_beside_the_form,
)
from api.web_deadlines import adoption_deadline
from domain.commands import Receipt
from domain.gates import current_step, plan_status
from domain.phases import Phase, StepKind
from domain.plan import RevisionDate
from domain.plan_state import PlanState
from domain.roles import Role
from eventstore import EventStore

router = APIRouter(include_in_schema=False)
RETURNABLE = (Phase.GOALS, Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING)


@router.get("/inbox")
async def inbox(request: Request) -> Response:
    me = await _signed_in(request)
    states = [s for s in await _ctx(request).plans.states() if may_read(me, s)]
    revision_date = _ctx(request).settings.revision_date()
    plans = [plan_row(state, me, revision_date) for state in states]
    pending = my_pending_decisions(me, states, revision_date)
    return render(request, "inbox.html", principal=me, pending=pending, plans=plans)


def phase_deadline(state: PlanState, revision_date: RevisionDate) -> datetime | date | None:
    """The deadline of the phase the plan is in: the round's in a comment round, the
    hearing's in the hearing, the council's day in adoption (api/web_deadlines.py; the
    hearing's date is history there), none otherwise."""
    status = plan_status(state)
    if status.phase is Phase.ADOPTION:
        return adoption_deadline(state, revision_date)
    if status.step_kind is StepKind.COMMENT_ROUND:
        return status.comment_round_deadline
    if status.phase is Phase.HEARING:
        return status.hearing_deadline
    return None


def plan_row(state: PlanState, me: Principal, revision_date: RevisionDate) -> dict[str, Any]:
    status = plan_status(state)
    names = people_names(state)
    awaited = [
        (names[p][0] if p in names else p, str(a.role)) for a in status.awaited for p in a.people
    ]
    return {
        "summary": summary(state, roles_of(me, state)),
        "deadline": phase_deadline(state, revision_date),
        "awaited": awaited,
        "awaits_me": any(me.person_id in a.people for a in status.awaited),
    }


@router.get("/plans/{plan_id}")
async def plan_page(plan_id: str, request: Request) -> Response:
    me = await _signed_in(request)
    state = await _ctx(request).plans.state(plan_id)
    require_reader(me, state)
    return await show_plan(request, me, state)


async def show_plan(
    request: Request,
    me: Principal,
    state: PlanState,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The plan page; after a refused decision, with the refusal in the page's language
    beside the form, and the form filled in as it was sent."""
    ctx = _ctx(request)
    plan_id = state.plan_id or ""
    current = state.shown_content()
    stored = await EventStore(ctx.pool).read(plan_id)
    lang = language(request)
    return render_plan(
        request,
        "plan.html",
        me,
        state,
        with_my_roles=True,
        status=plan_status(state),
        timeline=timeline(state),
        deadline=phase_deadline(state, ctx.settings.revision_date()),
        content=content_view(state, current) if current else None,
        pending=(
            pending_for(me.person_id, state, ctx.settings.revision_date()) if me.may_change else []
        ),
        history=[(e, event_detail(translator(lang), e)) for e in stored],
        revisions=[r.year for r in state.revisions],
        returnable=RETURNABLE,
        kinds=StepKind,
        withdrawable=me.may_change and _leads_a_vote(me.person_id, state),
        auditor=_audits(me, state),
        schedulable=me.may_change
        and state.status == "adopted"
        and Role.SCHEDULER in roles_of(me, state),
        **refused_form(request, error, values),
    )


def _audits(me: Principal, state: PlanState) -> bool:
    try:
        require_auditor(me, state)
    except ApiError:
        return False
    return True


def _leads_a_vote(person_id: str, state: PlanState) -> bool:
    """The project leader, at a decision step: the item may be withdrawn from the vote."""
    person = state.definition.participant(person_id) if state.definition else None
    step = current_step(state)
    return (
        person is not None
        and Role.PROJECT_LEADER in person.roles
        and step is not None
        and step.kind is StepKind.DECISION
    )


# The API's route for each kind of form: the page builds the API's request model from
# the form and hands it to the same function the API runs, so the request-to-command
# mapping exists once, in api/routes_plans.py.
_ROUTES: dict[str, Any] = {
    "sign_off": routes_plans.sign_off,
    "draft_step": routes_plans.draft_step,
    "comment": routes_plans.comment,
    "summary": routes_plans.hearing_summary,
    "hearing_decision": routes_plans.hearing_decision,
    "council": routes_plans.council_decision,
    "withdraw_vote": routes_plans.withdraw_vote,
}


def _request(fields: dict[str, str]) -> tuple[Any, Any]:
    """The form as the API's request model, and the API's route that takes it."""
    kind = fields.get("kind", "")
    version = fields.get("content_version", "")
    route = _ROUTES.get(kind)
    if route is None:
        raise ApiError(422, "ValidationError", f"unknown kind of decision {kind[:40]!r}")
    body: Any
    if kind == "sign_off":
        body = rq.SignOffRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "content_version": version,
                "content_hash": fields.get("content_hash", ""),
                "decision": fields.get("decision", ""),
                "comment": fields.get("comment", ""),
                "role": fields.get("role") or None,
                "anchoring_form": fields.get("anchoring_form") or None,
            }
        )
    elif kind == "draft_step":
        body = rq.DraftStepRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "content_version": version,
                "note": fields.get("note", ""),
            }
        )
    elif kind == "comment":
        body = rq.CommentRequest.model_validate(
            {"content_version": version, "text": fields.get("text", "")}
        )
    elif kind == "summary":
        body = rq.HearingSummaryRequest.model_validate({"summary": fields.get("summary", "")})
    elif kind == "hearing_decision":
        body = rq.HearingDecisionRequest.model_validate(
            {
                "outcome": fields.get("outcome", ""),
                "reason": fields.get("reason", ""),
                "role": fields.get("role") or None,
                "meeting": _meeting(fields),
            }
        )
    elif kind == "council":
        body = rq.CouncilDecisionRequest.model_validate(
            {
                "outcome": fields.get("outcome", ""),
                "content_version": version,
                "content_hash": fields.get("content_hash", ""),
                "return_to": fields.get("return_to") or None,
                "reason": fields.get("reason", ""),
                "role": fields.get("role") or None,
                "meeting": _meeting(fields),
                "postponed_to": fields.get("postponed_to") or None,
                "amended_content": _json_field(fields, "amended_content"),
            }
        )
    else:
        body = rq.WithdrawVoteRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "reason": fields.get("reason", ""),
                "return_to": fields.get("return_to") or None,
            }
        )
    return route, body


def _meeting(fields: dict[str, str]) -> dict[str, str] | None:
    """The meeting reference from the form: both fields or neither."""
    case, held = fields.get("case_number", "").strip(), fields.get("meeting_date", "").strip()
    return {"case_number": case, "meeting_date": held} if case or held else None


def _json_field(fields: dict[str, str], name: str) -> Any:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            422,
            "ValidationError",
            f"{name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None


# The council's adoption cannot be undone: the page asks again before it is sent.
FINAL_OUTCOMES = ("adopted", "adopted_with_changes")


@router.post("/plans/{plan_id}/decide")
async def decide(plan_id: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    state = await ctx.plans.state(plan_id)
    require_actor(me, state)
    try:
        try:
            route, body = _request(fields)
        except ValidationError as exc:
            raise _invalid(exc) from None
        if (
            fields.get("kind") == "council"
            and fields.get("outcome") in FINAL_OUTCOMES
            and fields.get("confirmed") != "yes"
        ):
            return render_plan(
                request,
                "confirm.html",
                me,
                state,
                fields={k: v for k, v in fields.items() if k != "confirmed"},
            )
        receipt = await route(plan_id, body, ctx, me)
    except ApiError as refusal:
        if not shown_beside_the_form(refusal):
            raise
        return await show_plan(request, me, state, error=refusal, values=fields)
    return plan_receipt(
        request, me, plan_id, receipt=receipt, state=state, decided=_decided(state, me, fields)
    )


def plan_receipt(
    request: Request,
    me: Principal,
    plan_id: str,
    *,
    receipt: Receipt,
    state: PlanState,
    **extra: Any,
) -> Response:
    """The receipt for a command sent from the plan page: back to the plan, its people
    by name; ``extra`` is what the page adds (what was decided)."""
    return _receipt_page(
        request,
        me,
        receipt=receipt,
        state=state,
        back=f"/plans/{plan_id}",
        names=people_names(state),
        **extra,
    )


def _decided(state: PlanState, me: Principal, fields: dict[str, str]) -> dict[str, Any]:
    """What the receipt says in words: which step, on which version, by whom, and the
    choice made."""
    status = plan_status(state)
    choice = fields.get("decision") or fields.get("outcome") or ""
    return {
        "step_nb": catalogue.step_title(status.step_key, "nb"),
        "step_en": catalogue.step_title(status.step_key, "en"),
        "content_version": fields.get("content_version") or status.content_version,
        "actor": me.person_id,
        "role": fields.get("role") or None,
        "choice": choice,
    }
