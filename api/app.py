"""The FastAPI application: JSON API under /api, the web page at /, OpenAPI at /docs.

FastAPI because its request and response models are the pydantic v2 models the domain
already uses (one validation, one set of messages), it serves an OpenAPI document from
them, and it runs on asyncio beside the Temporal client and asyncpg.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import (
    routes_audit,
    routes_documents,
    routes_log,
    routes_plans,
    routes_public,
    routes_revisions,
    routes_schedules,
    web,
    web_actions,
    web_audit,
    web_decisions,
    web_hearing,
    web_login,
    web_plans,
    web_revision,
)
from api.errors import ApiError
from api.service import ApiContext
from domain.problems import Problem, format_loc
from runtime.database import database_url
from runtime.logging import clear_context
from runtime.settings import Settings

log = structlog.get_logger(__name__)

# Whole plan definitions with their content can be large; a hearing response cannot.
BODY_LIMIT = 2_000_000
PUBLIC_BODY_LIMIT = 32_000
PUBLIC_PREFIXES = ("/api/public", "/hearing")
# The web page uses no script at all, and nothing from another origin.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class BodyLimit:
    """Refuses a body over the limit with 413 before any route reads it (a small limit
    for the public hearing, where anyone may post)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = PUBLIC_BODY_LIMIT if path.startswith(PUBLIC_PREFIXES) else BODY_LIMIT
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = ApiError(413, "TooLarge", f"the request body is larger than {limit:,} bytes")
    await JSONResponse(error.body(), status_code=413)(scope, receive, send)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/openapi")) or request.url.path == "/api"


def _validation_problems(exc: RequestValidationError) -> list[Problem]:
    problems = []
    for item in exc.errors():
        loc = list(item.get("loc", ()))
        where = loc[0] if loc else ""
        path = format_loc([p for p in loc[1:] if not str(p).startswith("function-")])
        message = str(item.get("msg", "is not valid"))
        if item.get("type") == "missing":
            message = "is required but missing"
        elif item.get("type") == "extra_forbidden":
            message = "is not a known field (the actor is always you, from your token)"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        label = f"{where}: {path}" if where != "body" and path else path or str(where)
        problems.append(Problem(path=label, message=message))
    return problems


def _install_handlers(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        if _wants_json(request):
            return JSONResponse(exc.body(), status_code=exc.status)
        return web.error_page(request, exc)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = _validation_problems(exc)
        error = ApiError(
            422,
            "ValidationError",
            "; ".join(p.render() for p in problems) or "the request is not valid",
            problems,
        )
        return await api_error(request, error)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NotFound", 405: "MethodNotAllowed"}
        error = ApiError(exc.status_code, codes.get(exc.status_code, "HttpError"), str(exc.detail))
        return await api_error(request, error)

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", path=request.url.path)
        error = ApiError(500, "InternalError", "something went wrong on our side; it is logged")
        if _wants_json(request):
            return JSONResponse(error.body(), status_code=500)
        return web.error_page(request, error)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def create_app(
    ctx: ApiContext | None = None,
    lifespan: Callable[[FastAPI], Any] | None = None,
) -> FastAPI:
    """``ctx``: a ready context (tests); otherwise ``lifespan`` makes one at startup."""
    app = FastAPI(
        title="temaplan",
        summary="Thematic housing plans from goals to adoption, with a receipt for every decision.",
        description=(
            "Every request acts as exactly one person: the one whose personal access token "
            "it carries (`Authorization: Bearer <token>`). Errors are JSON: "
            '`{"error": {"code", "message", "problems"}}`.'
        ),
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    if ctx is not None:
        app.state.ctx = ctx
    app.add_middleware(BodyLimit)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        clear_context()
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.url.path.startswith("/docs"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    _install_handlers(app)
    app.include_router(routes_plans.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_public.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_log.router)
    app.include_router(routes_schedules.router)
    app.include_router(routes_revisions.router)
    # Before the page's routes: /plans/new is not a plan's page.
    app.include_router(web_plans.router)
    app.include_router(web_audit.router)
    app.include_router(web_actions.router)
    app.include_router(web_decisions.router)
    app.include_router(web_revision.router)
    app.include_router(web_hearing.router)
    app.include_router(web_login.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(packages=[("api", "static")]), name="static")
    try:
        from swagger_ui_bundle import swagger_ui_path

        app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="swagger")
    except ImportError:  # pragma: no cover - it is a dependency
        pass

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        # Swagger UI from the swagger-ui-bundle package: nothing is fetched from a CDN.
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="temaplan API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@asynccontextmanager
async def running_context(settings: Settings) -> AsyncIterator[ApiContext]:
    """The context of a serving process: Temporal client, migrated pool, read-only pool."""
    from eventstore.migrate import migrate
    from eventstore.pool import create_pool
    from runtime.temporal_client import connect

    client = await connect(settings)
    async with database_url(settings) as dsn:
        pool = await create_pool(dsn)
        audit_pool = await create_pool(dsn, read_only=True, max_size=4)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            yield ApiContext(client=client, pool=pool, audit_pool=audit_pool, settings=settings)
        finally:
            await audit_pool.close()
            await pool.close()


def production_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_context(settings) as ctx:
            app.state.ctx = ctx
            log.info("api started", host=settings.api_host, port=settings.api_port)
            yield

    return create_app(lifespan=lifespan)
