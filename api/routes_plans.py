"""Administrators' and stakeholders' routes: plans, status, content, decisions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import requests as rq
from api.auth import Actor, Context, Me, PlanId
from api.errors import ERROR_RESPONSES, ApiError, not_allowed
from api.revision_views import revision_pending_for
from api.service import ApiContext, may_read, require_actor, require_reader, roles_of
from api.tokens import Principal
from api.views import (
    ContentView,
    PendingDecision,
    PlanDetail,
    PlanSummary,
    content_view,
    pending_for,
    status_view,
    summary,
    timeline,
)
from client.plans import start_plan
from domain import commands as cmd
from domain.phases import Phase
from domain.plan import PlanDefinition, RevisionDate
from domain.plan_state import PlanState
from domain.planfile import parse_plan_text
from domain.problems import DomainValidationError
from domain.roles import Role
from runtime.logging import bind_context

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)

_PLAN_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": PlanDefinition.model_json_schema()}},
    }
}


async def readable(ctx: ApiContext, me: Principal, plan_id: str) -> PlanState:
    """The plan's state, for a person who may read it (else refused)."""
    bind_context(plan_id=plan_id)
    state = await ctx.plans.state(plan_id)
    require_reader(me, state)
    return state


@router.get("/me", tags=["everyone"], summary="who the token acts as, and in which plans")
async def who_am_i(ctx: Context, me: Me) -> dict[str, Any]:
    plans = [
        {"plan_id": s.plan_id, "title": s.definition.title if s.definition else "", "roles": roles}
        for s in await ctx.plans.states()
        if (roles := [r.value for r in roles_of(me, s)])
    ]
    return {
        "person_id": me.person_id,
        "kind": me.kind,
        "municipalities": list(me.municipalities) if me.municipalities is not None else None,
        "plans": plans,
    }


@router.post(
    "/plans",
    status_code=201,
    tags=["administrators"],
    summary="create and start a plan from its definition (JSON, as in a plan file)",
    openapi_extra=_PLAN_SCHEMA,
)
async def create_plan(request: Request, ctx: Context, me: Me) -> PlanSummary:
    if not me.is_admin:
        raise not_allowed("only administrators start plans (a token issued with --admin)")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            422, "ValidationError", f"the body is not UTF-8 text (byte {exc.start})"
        ) from None
    try:
        definition = parse_plan_text(text, "request body", "json")
    except DomainValidationError as exc:
        raise ApiError(422, "ValidationError", exc.render(), list(exc.problems)) from None
    return await start_definition(ctx, me, definition)


async def start_definition(
    ctx: ApiContext, me: Principal, definition: PlanDefinition
) -> PlanSummary:
    """Starts a checked plan definition as the administrator; the API's endpoint and the
    web page's upload both start plans here, with the same refusals."""
    if not me.is_admin:
        raise not_allowed("only administrators start plans (a token issued with --admin)")
    number = definition.municipality.number
    if not me.belongs_to(number):
        raise not_allowed(
            f"'{me.person_id}' administers plans of {', '.join(me.municipalities or ())}, "
            f"not of municipality {number}; nothing was started"
        )
    try:
        await start_plan(ctx.client, definition, ctx.task_queue, administrator=me.person_id)
    except WorkflowAlreadyStartedError:
        raise ApiError(
            409, "PlanExists", f"plan '{definition.plan_id}' already exists; nothing was started"
        ) from None
    bind_context(plan_id=definition.plan_id)
    # The workflow records its start a moment later; answer with the recorded plan.
    for _ in range(200):
        try:
            return summary(await ctx.plans.state(definition.plan_id), ())
        except ApiError:
            await asyncio.sleep(0.05)
    raise ApiError(
        503,
        "PlanNotAnswering",
        f"plan '{definition.plan_id}' was started but has not recorded "
        "its start yet (is a worker running?)",
    )


@router.get("/plans", tags=["everyone"], summary="plans with phase, awaited roles and deadlines")
async def list_plans(
    ctx: Context,
    me: Me,
    phase: Phase | None = None,
    municipality: Annotated[str | None, Query(pattern=r"^[0-9]{4}$")] = None,
) -> list[PlanSummary]:
    found = []
    for state in await ctx.plans.states():
        if not may_read(me, state):
            continue
        if phase is not None and state.phase is not phase:
            continue
        assert state.definition is not None
        if municipality is not None and state.definition.municipality.number != municipality:
            continue
        found.append(summary(state, roles_of(me, state)))
    return found


@router.get(
    "/me/pending",
    tags=["stakeholders"],
    summary="my pending decisions across every plan, including the measures I report in an "
    "open revision round and changes I review",
)
async def my_pending(ctx: Context, me: Me) -> list[PendingDecision]:
    return my_pending_decisions(me, await ctx.plans.states(), ctx.settings.revision_date())


def my_pending_decisions(
    me: Principal, states: list[PlanState], revision_date: RevisionDate
) -> list[PendingDecision]:
    """The plans' steps that wait for the person, then what their revisions wait for."""
    pending: list[PendingDecision] = []
    if not me.may_change:
        return pending
    for state in states:
        roles = set(roles_of(me, state))
        if not roles or roles <= {Role.AUDITOR}:
            continue
        if state.status == "active":
            pending += pending_for(me.person_id, state, revision_date)
        elif state.status == "adopted":
            pending += revision_pending_for(me.person_id, state)
    return pending


@router.get("/plans/{plan_id}", tags=["everyone"], summary="one plan's status")
async def plan_detail(plan_id: PlanId, ctx: Context, me: Me) -> PlanDetail:
    state = await readable(ctx, me, plan_id)
    return PlanDetail(
        summary=summary(state, roles_of(me, state)),
        status=status_view(state),
        timeline=timeline(state),
        pending_for_me=(
            pending_for(me.person_id, state, ctx.settings.revision_date()) if me.may_change else []
        ),
    )


@router.get(
    "/plans/{plan_id}/content",
    tags=["stakeholders"],
    summary="the content under review (or a given version) as a goal → strategy → measure tree",
)
async def plan_content(
    plan_id: PlanId,
    ctx: Context,
    me: Me,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> ContentView:
    state = await readable(ctx, me, plan_id)
    found = state.shown_content(version)
    if found is None:
        what = f"version {version}" if version is not None else "content"
        raise ApiError(404, "NoContent", f"plan '{plan_id}' has no {what} yet")
    return content_view(state, found)


async def _act(
    ctx: ApiContext, me: Principal, plan_id: str, update: str, command: Any
) -> cmd.Receipt:
    state = await ctx.plans.state(plan_id)
    bind_context(plan_id=plan_id)
    require_actor(me, state)
    return await ctx.update(plan_id, update, command)


Sent = TypeVar("Sent", bound=BaseModel)
# A route of a person's action on the plan, as the web page's forms call it too.
ActionRoute = Callable[[str, Sent, ApiContext, Principal], Awaitable[cmd.Receipt]]


def _action(
    path: str, update: str, *, summary: str, tags: str = "stakeholders", caller: Any = Actor
) -> Callable[[Callable[[Principal, Sent], BaseModel]], ActionRoute[Sent]]:
    """The decorated function makes the workflow's command from the request it takes,
    always as the signed-in person; the route, POST ``path`` named after the function,
    sends that command as the Update ``update``. ``caller`` is the dependency that
    authenticates the person."""

    def register(command_for: Callable[[Principal, Sent], BaseModel]) -> ActionRoute[Sent]:
        async def route(plan_id: PlanId, body: Sent, ctx: Context, me: Actor) -> cmd.Receipt:
            return await _act(ctx, me, plan_id, update, command_for(me, body))

        # FastAPI reads the request's schema and the authentication from the annotations.
        route.__annotations__.update(body=get_type_hints(command_for)["body"], me=caller)
        router.add_api_route(
            path,
            route,
            methods=["POST"],
            name=command_for.__name__,
            summary=summary,
            tags=[tags],
        )
        return route

    return register


# The commands whose fields are their request's own.
AsSent = TypeVar(
    "AsSent",
    cmd.SubmitContent,
    cmd.CompleteDraftStep,
    cmd.AddComment,
    cmd.CloseHearing,
    cmd.HearingSummary,
    cmd.HearingDecision,
    cmd.CouncilDecision,
    cmd.WithdrawVote,
)


def _as_sent(command: type[AsSent], me: Principal, body: BaseModel) -> AsSent:
    """A request whose fields are the command's own, sent as the signed-in person."""
    return command(actor_id=me.person_id, authenticated_by=me.authenticated_by, **dict(body))


@_action(
    "/plans/{plan_id}/content",
    "submit_content",
    tags="administrators",
    summary="submit the current phase's content (as the plan's project leader)",
)
def submit_content(me: Principal, body: rq.ContentRequest) -> cmd.SubmitContent:
    return _as_sent(cmd.SubmitContent, me, body)


@_action(
    "/plans/{plan_id}/sign-offs",
    "sign_off",
    summary="approve, or request changes with a comment, at a sign-off or anchoring step",
)
def sign_off(me: Principal, body: rq.SignOffRequest) -> cmd.SignOff:
    return cmd.SignOff(
        actor_id=me.person_id,
        authenticated_by=me.authenticated_by,
        step_key=body.step_key,
        content_version=body.content_version,
        content_hash=body.content_hash,
        approve=body.decision == "approve",
        comment=body.comment,
        role=body.role,
        anchoring_form=body.anchoring_form,
    )


@_action("/plans/{plan_id}/draft-steps", "complete_draft_step", summary="complete a draft step")
def draft_step(me: Principal, body: rq.DraftStepRequest) -> cmd.CompleteDraftStep:
    return _as_sent(cmd.CompleteDraftStep, me, body)


@_action("/plans/{plan_id}/comments", "comment", summary="answer a reference-group round")
def comment(me: Principal, body: rq.CommentRequest) -> cmd.AddComment:
    return _as_sent(cmd.AddComment, me, body)


@_action(
    "/plans/{plan_id}/hearing/close",
    "close_hearing",
    summary="close the hearing early (project leader)",
)
def close_hearing(me: Principal, body: rq.CloseHearingRequest) -> cmd.CloseHearing:
    return _as_sent(cmd.CloseHearing, me, body)


@_action(
    "/plans/{plan_id}/hearing/summary",
    "submit_hearing_summary",
    summary="summarise the hearing responses (project leader)",
)
def hearing_summary(me: Principal, body: rq.HearingSummaryRequest) -> cmd.HearingSummary:
    return _as_sent(cmd.HearingSummary, me, body)


@_action(
    "/plans/{plan_id}/hearing/decision",
    "decide_after_hearing",
    summary="after the hearing: vote to revise the draft or send it to the council "
    "(steering group; decided when one outcome reaches the body's quorum)",
)
def hearing_decision(me: Principal, body: rq.HearingDecisionRequest) -> cmd.HearingDecision:
    return _as_sent(cmd.HearingDecision, me, body)


@_action(
    "/plans/{plan_id}/council-decision",
    "council_decision",
    summary="a council member's vote: adopt, adopt with changes, postpone, or return to an "
    "earlier phase (decided when one outcome reaches the council's quorum)",
)
def council_decision(me: Principal, body: rq.CouncilDecisionRequest) -> cmd.CouncilDecision:
    return _as_sent(cmd.CouncilDecision, me, body)


@_action(
    "/plans/{plan_id}/vote/withdraw",
    "withdraw_vote",
    summary="withdraw the item from a deadlocked vote, or send it back to an earlier "
    "phase (project leader)",
    caller=Me,
)
def withdraw_vote(me: Principal, body: rq.WithdrawVoteRequest) -> cmd.WithdrawVote:
    return _as_sent(cmd.WithdrawVote, me, body)
