"""Who is asking: a personal access token (API) or a web session opened with one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError, not_authenticated
from api.service import PLAN_ID_PATTERN, ApiContext, require_actor
from api.tokens import Principal
from runtime.logging import bind_context

_bearer = HTTPBearer(
    auto_error=False,
    description="your personal access token (`temaplan tokens issue PERSON`)",
)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Context = Annotated[ApiContext, Depends(context)]


async def authenticated(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise not_authenticated()
    principal = await ctx.tokens.authenticate(credentials.credentials)
    if principal is None:
        raise ApiError(401, "NotAuthenticated", "the token is unknown, malformed or revoked")
    bind_context(actor=principal.person_id)
    return principal


Me = Annotated[Principal, Depends(authenticated)]
PlanId = Annotated[
    str,
    Path(
        pattern=PLAN_ID_PATTERN,
        max_length=64,
        description="kommunenummer and slug, e.g. 1804-boligplan-2026",
    ),
]


async def plan_actor(plan_id: PlanId, ctx: Context, me: Me) -> Principal:
    """For the routes that change a plan: someone who may act in it, checked before the
    body is validated, so that an outsider gets 403 whatever the body holds."""
    require_actor(me, await ctx.plans.state(plan_id))
    return me


Actor = Annotated[Principal, Depends(plan_actor)]
