"""Auditors: history, state as of a time, verification, export. Read-only: every query
here runs on a pool whose sessions PostgreSQL itself keeps read-only."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask
from temporalio.service import RPCError

from api.auth import Context, Me, PlanId
from api.errors import ERROR_RESPONSES, ApiError
from api.service import ApiContext, require_auditor
from api.tokens import Principal
from api.views import PlanStatus, status_view
from audit import history as hist
from audit.commands import plan_histories, state_at
from audit.crosscheck import cross_check, stored_facts
from domain.alike import alike
from domain.plan_state import ContentVersion, Decision, HearingResponse, SignOff
from eventstore import EventStore
from runtime.formatting import zoned
from runtime.logging import bind_context

router = APIRouter(prefix="/api/audit", tags=["auditors"], responses=ERROR_RESPONSES)


def _oslo(moment: datetime | None) -> datetime | None:
    """A time without a zone is Oslo time, as a Norwegian auditor would mean it."""
    return zoned(moment) if moment is not None else None


async def _store(ctx: ApiContext, me: Principal, plan_id: str) -> EventStore:
    bind_context(plan_id=plan_id)
    require_auditor(me, await ctx.plans.state(plan_id))
    return EventStore(ctx.audit_pool)


@router.get("/plans/{plan_id}/history", summary="every event in order, filterable")
async def history(
    plan_id: PlanId,
    ctx: Context,
    me: Me,
    *,
    phase: Annotated[str | None, Query(max_length=40)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    type: Annotated[str | None, Query(max_length=60)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[hist.HistoryRow]:
    store = await _store(ctx, me, plan_id)
    where = hist.HistoryFilter(
        phase=phase, actor=actor, type=type, since=_oslo(since), until=_oslo(until)
    )
    return [row async for row in hist.filtered(store.iter_stream(plan_id), where)]


class StateAsOf(BaseModel):
    as_of: datetime | None
    at_version: int | None
    events_folded: int
    events_total: int
    status: PlanStatus
    content: ContentVersion | None
    sign_offs: tuple[SignOff, ...]
    decisions: tuple[Decision, ...]
    hearing_responses: tuple[HearingResponse, ...]


@router.get("/plans/{plan_id}/state", summary="the plan rebuilt as of a time or a version")
async def state(
    plan_id: PlanId,
    ctx: Context,
    me: Me,
    as_of: Annotated[
        datetime | None, Query(description="ISO 8601; without a zone it is Oslo time")
    ] = None,
    at_version: Annotated[int | None, Query(ge=1, le=100_000_000)] = None,
) -> StateAsOf:
    if as_of is not None and at_version is not None:
        raise ApiError(422, "ValidationError", "give as_of or at_version, not both")
    store = await _store(ctx, me, plan_id)
    folded, total = await state_at(store, plan_id, as_of=_oslo(as_of), at_version=at_version)
    return StateAsOf(
        as_of=_oslo(as_of),
        at_version=at_version,
        events_folded=folded.events_folded,
        events_total=total,
        status=status_view(folded),
        content=folded.content() or folded.latest_content(),
        sign_offs=folded.sign_offs,
        decisions=folded.decisions,
        hearing_responses=folded.hearing_responses,
    )


class Verification(BaseModel):
    plan_id: str
    chain_ok: bool
    events_checked: int
    last_version: int
    last_hash: str
    broken_version: int | None
    problem: str | None
    cross_check: Literal["ok", "problems", "no history (retention)", "temporal unavailable"]
    cross_check_problems: list[str]
    ok: bool


@router.get(
    "/plans/{plan_id}/verify",
    summary="hash chain and numbering; cross-check with the Temporal history",
)
async def verify(plan_id: PlanId, ctx: Context, me: Me) -> Verification:
    store = await _store(ctx, me, plan_id)
    result = await store.verify(plan_id)
    problems: list[str] = []
    verdict: Literal["ok", "problems", "no history (retention)", "temporal unavailable"]
    verdict = "no history (retention)"
    try:
        found = await plan_histories(ctx.client, plan_id)
    except RPCError as exc:
        # The store's chain is still checked; the cross-check says why it could not run.
        found, verdict, problems = None, "temporal unavailable", [str(exc)]
    if found is not None:
        histories, complete = found
        stored = await stored_facts(store.iter_stream(plan_id))
        problems = cross_check(plan_id, stored, histories, complete=complete).problems
        verdict = "problems" if problems else "ok"
    return alike(
        Verification,
        result,
        plan_id=plan_id,
        chain_ok=result.ok,
        cross_check=verdict,
        cross_check_problems=problems,
        ok=result.ok and verdict in ("ok", "no history (retention)"),
    )


_MEDIA = {
    "jsonl": "application/zip",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html",
    "pdf": "application/pdf",
}


@router.get(
    "/plans/{plan_id}/export",
    summary="download the record: jsonl (zip of events and manifest), csv, or the report as "
    "html or pdf",
    response_class=FileResponse,
)
async def export(
    plan_id: PlanId,
    ctx: Context,
    me: Me,
    *,
    format: Literal["jsonl", "csv", "html", "pdf"] = "jsonl",
    lang: Literal["nb", "en"] = "nb",
    separator: Literal["semicolon", "comma"] = "semicolon",
) -> FileResponse:
    store = await _store(ctx, me, plan_id)
    chain = await store.verify(plan_id)
    if not chain.ok:
        # A broken record is never handed out as if it were whole.
        raise ApiError(
            409,
            "RecordBroken",
            f"the record of {plan_id} does not verify (chain broken at version "
            f"{chain.broken_version}: {chain.problem}); nothing exported",
        )
    folder = Path(tempfile.mkdtemp(prefix="temaplan-export-"))
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    try:
        if format == "jsonl":
            from audit.export import export_jsonl, manifest_path

            lines = folder / f"{plan_id}.jsonl"
            await export_jsonl(store, plan_id, lines, exported_at=now)
            out = folder / f"{plan_id}-{stamp}.zip"
            await asyncio.to_thread(_zip, out, [lines, manifest_path(lines)])
        elif format == "csv":
            from audit.export import export_csv

            out = folder / f"{plan_id}-{stamp}.csv"
            await export_csv(store, plan_id, out, separator=separator)
        elif format == "pdf":
            from audit.report import export_pdf

            out = folder / f"{plan_id}-{stamp}-{lang}.pdf"
            await export_pdf(store, plan_id, out, language=lang, generated_at=now)
        else:
            from audit.report import export_html

            out = folder / f"{plan_id}-{stamp}-{lang}.html"
            await export_html(store, plan_id, out, language=lang, generated_at=now)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type=_MEDIA[format],
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def _zip(out: Path, files: list[Path]) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, arcname=path.name)
