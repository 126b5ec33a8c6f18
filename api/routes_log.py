"""The Merkle log, for anyone and for the witnesses: the signed checkpoints and their
co-signatures, the log's public key, inclusion and consistency proofs. Checkpoints and
proofs hold hashes only, so they are public, as a transparency log's are; handing in a
cosignature takes an auditor's token and a witness key the deployment lists."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from api.auth import Context, Me
from api.errors import ERROR_RESPONSES, ApiError
from audit.proofs import ProofError, consistency_document, inclusion_document
from domain.checkpoints import (
    NoteError,
    VerifierKey,
    parse_checkpoint,
    verify_cosignature,
    with_lines,
)
from eventstore.log import MerkleLog

router = APIRouter(prefix="/api/log", tags=["transparency log"], responses=ERROR_RESPONSES)
_NOTE = "text/plain; charset=utf-8"


def _not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", what)


@router.get("/key", summary="the log's public key (C2SP vkey)", response_class=PlainTextResponse)
async def public_key(ctx: Context) -> PlainTextResponse:
    if not ctx.settings.log_vkey:
        raise _not_found("this deployment publishes no log key (set TEMAPLAN_LOG_VKEY)")
    return PlainTextResponse(ctx.settings.log_vkey.strip() + "\n", media_type=_NOTE)


@router.get(
    "/checkpoint",
    summary="the latest signed checkpoint with its co-signatures (C2SP signed note)",
    response_class=PlainTextResponse,
)
async def latest_checkpoint(
    ctx: Context, size: Annotated[int | None, Query(ge=0)] = None
) -> PlainTextResponse:
    log = MerkleLog(ctx.audit_pool)
    found = await (log.latest_checkpoint() if size is None else log.checkpoint(size))
    if found is None:
        raise _not_found(
            "no checkpoint has been signed yet" if size is None else f"no checkpoint of size {size}"
        )
    return PlainTextResponse(found.with_cosignatures(), media_type=_NOTE)


@router.get("/inclusion/{event_id}", summary="inclusion proof of an event against a checkpoint")
async def inclusion(
    ctx: Context, event_id: UUID, size: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    try:
        return await inclusion_document(MerkleLog(ctx.audit_pool), event_id, size)
    except ProofError as exc:
        raise _not_found(str(exc)) from exc


@router.get("/consistency", summary="consistency proof between two checkpoints")
async def consistency(
    ctx: Context, old: Annotated[int, Query(ge=0)], new: Annotated[int, Query(ge=0)]
) -> dict[str, Any]:
    try:
        return await consistency_document(MerkleLog(ctx.audit_pool), old, new)
    except ProofError as exc:
        raise _not_found(str(exc)) from exc


class CosignatureIn(BaseModel):
    tree_size: int = Field(ge=0)
    line: str = Field(min_length=10, max_length=1000)


class CosignatureOut(BaseModel):
    tree_size: int
    witness: str
    time: int


def _witness_keys(text: str) -> dict[str, VerifierKey]:
    keys = [VerifierKey.parse(part) for part in re.split(r"[\s,]+", text.strip()) if part]
    return {key.name: key for key in keys}


@router.post("/cosignature", summary="witnesses: hand in a cosignature of a checkpoint")
async def add_cosignature(ctx: Context, me: Me, body: CosignatureIn) -> CosignatureOut:
    if not me.reads_everything:
        raise ApiError(403, "NotAllowed", "cosignatures are handed in with an auditor's token")
    log = MerkleLog(ctx.pool)
    stored = await log.checkpoint(body.tree_size)
    if stored is None:
        raise _not_found(f"no checkpoint of size {body.tree_size}")
    try:
        checkpoint = with_lines(parse_checkpoint(stored.note), [body.line])
        name = checkpoint.signatures[-1][0]
        witness = _witness_keys(ctx.settings.witness_keys).get(name)
        if witness is None:
            raise NoteError(
                f"witness {name!r} is not one this deployment lists (TEMAPLAN_WITNESS_KEYS)"
            )
        time = verify_cosignature(checkpoint, witness)
    except NoteError as exc:
        raise ApiError(422, "InvalidCosignature", str(exc)) from exc
    await log.add_cosignature(body.tree_size, name, body.line)
    return CosignatureOut(tree_size=body.tree_size, witness=name, time=time)
