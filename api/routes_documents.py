"""Everyone's document routes: the draft, the adopted plan and the scorecard as pages and
PDFs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, Response

from api.auth import Context, Me, PlanId
from api.errors import ERROR_RESPONSES, ApiError
from api.routes_plans import readable
from api.routes_revisions import stored_scorecard

router = APIRouter(prefix="/api", tags=["everyone"], responses=ERROR_RESPONSES)

_DOCUMENT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
Lang = Annotated[Literal["nb", "en"], Query(description="bokmål (default) or English")]
_PAGE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}}}
_PDF: dict[int | str, dict[str, Any]] = {200: {"content": {"application/pdf": {}}}}
Endpoint = Callable[..., Awaitable[Response]]


async def _document(
    plan_id: PlanId,
    kind: Literal["draft", "adopted"],
    ctx: Context,
    me: Me,
    *,
    lang: Lang = "nb",
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> str:
    """The page both document routes serve, as HTML or made into a PDF; one
    dependency so that the two take the same parameters and the same checks."""
    from activities.documents import NoDocumentError, adopted_page, draft_page

    state = await readable(ctx, me, plan_id)
    language: Literal["nb", "en"] = "en" if lang == "en" else "nb"
    try:
        if kind == "adopted":
            return adopted_page(state, language)
        return draft_page(state, version, language)
    except NoDocumentError as missing:
        raise ApiError(404, "NoDocument", str(missing)) from missing


Document = Annotated[str, Depends(_document)]


async def _pdf(page: str, name: str, *, archival: bool = False) -> Response:
    """The page made into a PDF, shown inline as ``name``."""
    from documents.pdf import html_to_pdf_async

    body = await html_to_pdf_async(page, archival=archival)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _pdf_route(path: str, summary: str) -> Callable[[Endpoint], Endpoint]:
    """A route answering with a PDF (made by ``_pdf``)."""
    return router.get(path, summary=summary, response_class=Response, responses=_PDF)


@router.get(
    "/plans/{plan_id}/{kind}.html",
    summary="the draft (a version, or the content under review) or the adopted plan as a page",
    response_class=HTMLResponse,
    responses=_PAGE,
)
async def document_page(page: Document) -> HTMLResponse:
    return HTMLResponse(page, headers={"Content-Security-Policy": _DOCUMENT_CSP})


@_pdf_route(
    "/plans/{plan_id}/{kind}.pdf",
    "the draft or the adopted plan as a PDF (the adopted plan as PDF/A-3b)",
)
async def document_pdf(
    plan_id: PlanId, kind: Literal["draft", "adopted"], page: Document
) -> Response:
    return await _pdf(page, f"{plan_id}-{kind}.pdf", archival=kind == "adopted")


@_pdf_route(
    "/plans/{plan_id}/revisions/{year}/scorecard.pdf", "the year's scorecard (målekort) as a PDF"
)
async def scorecard_pdf(
    plan_id: PlanId,
    year: Annotated[int, Path(ge=2000, le=2200)],
    ctx: Context,
    me: Me,
) -> Response:
    await readable(ctx, me, plan_id)
    page = await stored_scorecard(ctx, plan_id, year, "html")
    return await _pdf(page, f"{plan_id}-scorecard-{year}.pdf")
