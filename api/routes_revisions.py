"""The yearly revision (rullering) for people: read a plan's revisions from the store,
report measures and goal indicators, close the round, propose and review next year's
changes, conclude; and the rendered scorecard.

Writes go through the year's RevisionWorkflow Updates (workflow id
``revision-<plan id>-<year>``), whose validators decide; the actor is always the
authenticated person.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, get_type_hints

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import (
    BaseModel,
)

from api.auth import Actor, Context, Me, PlanId
from api.errors import ERROR_RESPONSES, ApiError, refused
from api.requests import (
    ChangesRequest,
    EmptyRequest,
    GoalIndicatorRequest,
    ReportRequest,
    ReviewRequest,
)
from api.revision_views import RevisionView, revision_view
from api.service import ApiContext, require_actor, require_reader
from api.tokens import Principal
from domain import revision_commands as rc
from domain.commands import Receipt
from domain.ids import revision_workflow_id
from domain.plan_state import PlanState, RevisionRound
from eventstore import documents
from runtime.logging import bind_context

router = APIRouter(
    prefix="/api/plans/{plan_id}/revisions", tags=["revision"], responses=ERROR_RESPONSES
)

Year = Annotated[int, Path(ge=2000, le=2200, description="the revision's year, e.g. 2026")]
# The scorecard page is a whole document of its own with an inline style sheet.
SCORECARD_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def as_text(value: str | Decimal | None) -> str | None:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def unknown_revision(state: PlanState, year: int) -> ApiError:
    years = ", ".join(str(r.year) for r in state.revisions) or "none yet"
    return ApiError(
        404,
        "UnknownRevision",
        f"plan '{state.plan_id}' has no revision for {year} (revisions: {years})",
    )


def find_revision(state: PlanState, year: int) -> RevisionRound:
    found = state.revision(year)
    if found is None:
        raise unknown_revision(state, year)
    return found


async def act(
    ctx: ApiContext, me: Principal, plan_id: str, year: int, *, update: str, command: Any
) -> Receipt:
    """Send one Update to the year's revision workflow, as the authenticated person."""
    bind_context(plan_id=plan_id)
    require_actor(me, await ctx.plans.state(plan_id))

    async def gone() -> ApiError:
        state = await ctx.plans.state(plan_id)
        revision = state.revision(year)
        if revision is not None and revision.outcome is not None:
            return refused(
                "GateNotOpen",
                f"the revision for {year} is concluded ({revision.outcome}); nothing waits",
            )
        if revision is None:
            return unknown_revision(state, year)
        return ApiError(
            404, "UnknownRevision", f"the revision for {year} of plan '{plan_id}' is not running"
        )

    return await ctx.update(
        plan_id, update, command, workflow_id=revision_workflow_id(plan_id, year), gone=gone
    )


@router.get("", summary="the plan's yearly revisions, from the record")
async def list_revisions(plan_id: PlanId, ctx: Context, me: Me) -> list[RevisionView]:
    bind_context(plan_id=plan_id)
    state = await ctx.plans.state(plan_id)
    require_reader(me, state)
    return [revision_view(state, r, me.person_id) for r in state.revisions]


@router.get(
    "/{year}",
    summary="one revision: the round, every measure's report, what awaits a report from you",
)
async def one_revision(plan_id: PlanId, year: Year, ctx: Context, me: Me) -> RevisionView:
    bind_context(plan_id=plan_id)
    state = await ctx.plans.state(plan_id)
    require_reader(me, state)
    return revision_view(state, find_revision(state, year), me.person_id)


Sent = TypeVar("Sent", bound=BaseModel | None)
# A route of a person's action on the year's revision, as the web page's forms call it too.
ActionRoute = Callable[[str, int, ApiContext, Principal, Sent], Awaitable[Receipt]]


def _action(
    path: str, *, summary: str
) -> Callable[[Callable[[Principal, int, Sent], BaseModel]], ActionRoute[Sent]]:
    """The decorated function makes the workflow's command from the year and the request
    it takes, always as the signed-in person; the route, POST ``path``, sends that command
    as the Update of the function's name, and is named so. A request the function need
    not have is optional in the route too."""

    def register(command_for: Callable[[Principal, int, Sent], BaseModel]) -> ActionRoute[Sent]:
        update = command_for.__name__

        async def route(
            plan_id: PlanId, year: Year, ctx: Context, me: Actor, body: Sent
        ) -> Receipt:
            command = command_for(me, year, body)
            return await act(ctx, me, plan_id, year, update=update, command=command)

        # FastAPI reads the request's schema from the annotation, and whether it may be
        # left out from the default.
        route.__annotations__["body"] = get_type_hints(command_for)["body"]
        left_out = inspect.signature(command_for).parameters["body"].default
        if left_out is not inspect.Parameter.empty:
            route.__defaults__ = (left_out,)
        router.add_api_route(path, route, methods=["POST"], name=update, summary=summary)
        return route

    return register


# The commands whose fields, besides the year, are their request's own.
AsSent = TypeVar(
    "AsSent",
    rc.CloseReportingRound,
    rc.ProposeChanges,
    rc.ReviewChanges,
    rc.ConcludeRevision,
)


def _as_sent(command: type[AsSent], me: Principal, year: int, body: BaseModel | None) -> AsSent:
    """A request whose fields are the command's own, for ``year``, sent as the signed-in
    person."""
    sent = dict(body) if body is not None else {}
    return command(actor_id=me.person_id, authenticated_by=me.authenticated_by, year=year, **sent)


@_action("/{year}/reports", summary="report a measure you are responsible for")
def report_measure(me: Principal, year: int, body: ReportRequest) -> rc.ReportMeasure:
    return rc.ReportMeasure(
        actor_id=me.person_id,
        authenticated_by=me.authenticated_by,
        year=year,
        measure_id=body.measure_id,
        status=body.status,
        comment=body.comment,
        indicator_value=as_text(body.indicator_value),
    )


@_action("/{year}/goal-indicators", summary="report a goal's indicator (project leader)")
def report_goal_indicator(
    me: Principal, year: int, body: GoalIndicatorRequest
) -> rc.ReportGoalIndicator:
    return rc.ReportGoalIndicator(
        actor_id=me.person_id,
        authenticated_by=me.authenticated_by,
        year=year,
        goal_id=body.goal_id,
        value=as_text(body.value) or "",
    )


@_action(
    "/{year}/close",
    summary="close the reporting round early, once every measure is reported (project leader)",
)
def close_round(
    me: Principal, year: int, body: EmptyRequest | None = None
) -> rc.CloseReportingRound:
    return _as_sent(rc.CloseReportingRound, me, year, body)


@_action(
    "/{year}/changes",
    summary="propose next year's changes: add, change, retire measures (project leader)",
)
def propose_changes(me: Principal, year: int, body: ChangesRequest) -> rc.ProposeChanges:
    return _as_sent(rc.ProposeChanges, me, year, body)


@_action(
    "/{year}/changes/review",
    summary="approve, or reject with a comment, the proposed changes (steering group)",
)
def review_changes(me: Principal, year: int, body: ReviewRequest) -> rc.ReviewChanges:
    return _as_sent(rc.ReviewChanges, me, year, body)


@_action("/{year}/conclude", summary="conclude the revision without changes (project leader)")
def conclude(me: Principal, year: int, body: EmptyRequest | None = None) -> rc.ConcludeRevision:
    return _as_sent(rc.ConcludeRevision, me, year, body)


async def stored_scorecard(ctx: ApiContext, plan_id: str, year: int, format: str) -> str:
    """The year's scorecard as made when its reporting round closed, in ``format``."""
    body = await documents.scorecard(ctx.pool, plan_id, year, format)
    if body is None:
        raise ApiError(
            404,
            "NoScorecard",
            f"the {year} scorecard of plan '{plan_id}' is not made yet (it is made when "
            "the reporting round closes)",
        )
    return body


@router.get(
    "/{year}/scorecard",
    summary="the year's rendered scorecard (målekort): HTML with its figure, or Markdown",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "text/markdown": {}}}},
)
async def scorecard(
    plan_id: PlanId,
    year: Year,
    ctx: Context,
    me: Me,
    format: Annotated[Literal["html", "markdown"], Query()] = "html",
) -> Response:
    bind_context(plan_id=plan_id)
    state = await ctx.plans.state(plan_id)
    require_reader(me, state)
    find_revision(state, year)
    body = await stored_scorecard(ctx, plan_id, year, format)
    if format == "markdown":
        return PlainTextResponse(body, media_type="text/markdown; charset=utf-8")
    return HTMLResponse(body, headers={"Content-Security-Policy": SCORECARD_CSP})
