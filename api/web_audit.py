"""The auditor's page: the history in words, the plan as it stood at a chosen time, the
verification with the Merkle log's checkpoint, and the exports to download.

Everything is read through the API's own audit functions on the read-only pool, with the
same refusals: only the plan's auditors and administrators get here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import routes_audit
from api.errors import ApiError
from api.i18n import translator
from api.service import require_auditor
from api.web import _ctx, _signed_in, event_detail, language, render_plan
from audit.commands import state_at
from domain.gates import plan_status
from eventstore import EventStore, StoredEvent
from eventstore.log import MerkleLog
from runtime.formatting import zoned

router = APIRouter(include_in_schema=False)
EXPORTS = ("html", "pdf", "csv", "jsonl")


def _as_of(text: str) -> datetime | None:
    """The time from the page's date-and-time field: Oslo time, as an auditor means it."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(
            422,
            "ValidationError",
            f"as_of: {text[:40]!r} is not a date and time (YYYY-MM-DDTHH:MM, Oslo time)",
        ) from None
    return zoned(moment)


async def _checkpoint(pool: asyncpg.Pool, last: StoredEvent | None) -> dict[str, Any] | None:
    """The latest signed checkpoint of the log, and whether it covers the plan's last
    event; none when the log has no checkpoint yet."""
    log = MerkleLog(pool)
    latest = await log.latest_checkpoint()
    if latest is None:
        return None
    leaf = await log.leaf_of_event(last.event_id) if last else None
    return {
        "tree_size": latest.tree_size,
        "created_at": latest.created_at,
        "covers_last": leaf is not None and leaf.leaf_index < latest.tree_size,
    }


@router.get("/plans/{plan_id}/audit")
async def audit_page(plan_id: str, request: Request) -> Response:
    me = await _signed_in(request)
    ctx = _ctx(request)
    state = await ctx.plans.state(plan_id)
    require_auditor(me, state)
    store = EventStore(ctx.audit_pool)
    events = await store.read(plan_id)
    t = translator(language(request))
    as_of_text = request.query_params.get("as_of", "")[:40]
    as_of = _as_of(as_of_text)
    then = None
    if as_of is not None:
        folded, total = await state_at(store, plan_id, as_of=as_of)
        then = {
            "status": plan_status(folded) if folded.definition else None,
            "events_folded": folded.events_folded,
            "events_total": total,
        }
    verification = None
    checkpoint = None
    if request.query_params.get("verify") == "1":
        verification = await routes_audit.verify(plan_id, ctx, me)
        checkpoint = {"status": "none"}
        try:
            found = await _checkpoint(ctx.audit_pool, events[-1] if events else None)
        except asyncpg.PostgresError:
            found = None
            checkpoint = {"status": "unavailable"}
        if found is not None:
            checkpoint = {"status": "covered" if found["covers_last"] else "pending", **found}
    return render_plan(
        request,
        "audit.html",
        me,
        state,
        rows=[(e, event_detail(t, e)) for e in events],
        as_of=as_of_text,
        then=then,
        verification=verification,
        checkpoint=checkpoint,
        exports=EXPORTS,
    )


@router.get("/plans/{plan_id}/audit/export/{fmt}")
async def audit_export(plan_id: str, fmt: str, request: Request) -> Response:
    """The API's own export, for the signed-in auditor."""
    me = await _signed_in(request)
    if fmt not in EXPORTS:
        raise ApiError(404, "NotFound", f"no export in the format {fmt[:20]!r}")
    return await routes_audit.export(
        plan_id,
        _ctx(request),
        me,
        format=fmt,  # type: ignore[arg-type]
        lang=language(request),
    )
