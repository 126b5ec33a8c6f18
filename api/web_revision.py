"""The yearly revision (rullering) on the web page: the round's page, a unit's measure
report, and the steering group's review of proposed changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import BaseModel, ValidationError

import catalogue
from activities.scorecard_rendering import progress_svg
from api import routes_revisions
from api.errors import ApiError
from api.requests import ReportRequest, ReviewRequest
from api.revision_views import revision_view
from api.routes_revisions import ActionRoute, find_revision
from api.service import (
    require_actor,
    require_reader,
    roles_of,
)
from api.tokens import Principal
from api.web import (
    _ctx,
    _form,
    _invalid,
    _receipt_page,
    _signed_in,
    _typed_number,
    _year,
    language,
    refused_form,
    render_plan,
    shown_beside_the_form,
)
from domain.plan_state import PlanState
from domain.roles import Role

router = APIRouter(include_in_schema=False)
Form = TypeVar("Form", bound=BaseModel)


@router.get("/plans/{plan_id}/revisions/{year}")
async def revision_page(plan_id: str, year: str, request: Request) -> Response:
    me = await _signed_in(request)
    state = await _ctx(request).plans.state(plan_id)
    return show_revision(request, me, state, _year(year))


def show_revision(
    request: Request,
    me: Principal,
    state: PlanState,
    year: int,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The round's page; after a refused form, that form filled in as it was sent
    (``values["form"]`` names it) with the refusal beside it, as the plan page does."""
    require_reader(me, state)
    revision = revision_view(state, find_revision(state, year), me.person_id)
    lang = language(request)
    figure = (
        Markup(
            progress_svg(
                revision.scorecard.goals,
                catalogue.t("scorecard.figure_title", lang),
            )
        )
        if revision.scorecard
        else None
    )
    in_force = state.content(revision.content_version) if revision.content_version else None
    return render_plan(
        request,
        "revision.html",
        me,
        state,
        with_my_roles=True,
        revision=revision,
        may_act=me.may_change,
        leads=me.may_change and Role.PROJECT_LEADER in roles_of(me, state),
        goals=in_force.content.goals if in_force else (),
        strategies=in_force.content.strategies if in_force else (),
        measures=in_force.content.measures if in_force else (),
        figure=figure,
        **refused_form(request, error, values),
    )


def _validated(model: type[Form], fields: dict[str, object]) -> Form:
    """The API's request model from a form's fields; what it refuses, refused as a form."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


async def _revision_form(
    plan_id: str,
    year: str,
    request: Request,
    form: str,
    *,
    make: Callable[[dict[str, str]], Form],
    route: ActionRoute[Form],
) -> Response:
    """A form of the round's page, made into the API's request by ``make`` and handed to
    the API's own ``route``: the receipt, or after a refusal the round's page with the
    form as it was sent (``form`` names it) and the refusal beside it."""
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    wanted = _year(year)
    state = await ctx.plans.state(plan_id)
    require_actor(me, state)
    try:
        # The API's own route: the request-to-command mapping exists once.
        receipt = await route(plan_id, wanted, ctx, me, make(fields))
    except ApiError as refusal:
        if not shown_beside_the_form(refusal):
            raise
        values = {**fields, "form": form}
        return show_revision(request, me, state, wanted, error=refusal, values=values)
    return _receipt_page(
        request, me, receipt=receipt, state=state, back=f"/plans/{plan_id}/revisions/{wanted}"
    )


def _report(fields: dict[str, str]) -> ReportRequest:
    return _validated(
        ReportRequest,
        {
            "measure_id": fields.get("measure_id", ""),
            "status": fields.get("status", ""),
            "comment": fields.get("comment", ""),
            "indicator_value": _typed_number(fields.get("indicator_value", "")),
        },
    )


def _review(fields: dict[str, str]) -> ReviewRequest:
    return _validated(
        ReviewRequest,
        {
            "content_version": fields.get("content_version", ""),
            "content_hash": fields.get("content_hash", ""),
            "approve": fields.get("decision", "") == "approve",
            "comment": fields.get("comment", ""),
        },
    )


@router.post("/plans/{plan_id}/revisions/{year}/report")
async def revision_report(plan_id: str, year: str, request: Request) -> Response:
    return await _revision_form(
        plan_id, year, request, "report", make=_report, route=routes_revisions.report_measure
    )


@router.post("/plans/{plan_id}/revisions/{year}/review")
async def revision_review(plan_id: str, year: str, request: Request) -> Response:
    return await _revision_form(
        plan_id, year, request, "review", make=_review, route=routes_revisions.review_changes
    )
