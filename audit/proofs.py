"""Inclusion and consistency proofs as documents a person keeps and checks later
(docs/audit-format.md, "Proofs"): the proof, the checkpoint it is against, and enough
about the event to find it again. Hashes are lowercase hex; the checkpoint is the signed
note text itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.checkpoints import VerifierKey, parse_checkpoint, verify_checkpoint
from eventstore import merkle
from eventstore.log import LogError, MerkleLog, StoredCheckpoint

INCLUSION_FORMAT = "temaplan-inclusion-proof/v1"
CONSISTENCY_FORMAT = "temaplan-consistency-proof/v1"


class ProofError(Exception):
    """A proof that cannot be made or does not hold; the message says which and why."""


async def _checkpoint_at_or_after(
    log: MerkleLog, leaf_index: int, size: int | None
) -> StoredCheckpoint:
    if size is not None:
        found = await log.checkpoint(size)
        if found is None:
            raise ProofError(f"no checkpoint of tree size {size}")
        if size <= leaf_index:
            raise ProofError(
                f"the checkpoint of tree size {size} does not cover leaf {leaf_index} yet"
            )
        return found
    latest = await log.latest_checkpoint()
    if latest is None or latest.tree_size <= leaf_index:
        raise ProofError(
            f"leaf {leaf_index} is not covered by a checkpoint yet; the worker signs one "
            "within minutes (at once after a phase change)"
        )
    return latest


async def inclusion_document(
    log: MerkleLog, event_id: UUID, size: int | None = None
) -> dict[str, Any]:
    """The proof that the event is in the log, against the checkpoint of ``size`` leaves
    (the latest when None)."""
    leaf = await log.leaf_of_event(event_id)
    if leaf is None:
        raise ProofError(f"no event {event_id} in the log")
    checkpoint = await _checkpoint_at_or_after(log, leaf.leaf_index, size)
    try:
        path = await log.inclusion_proof(leaf.leaf_index, checkpoint.tree_size)
    except LogError as exc:
        raise ProofError(str(exc)) from exc
    return {
        "format": INCLUSION_FORMAT,
        "event_id": str(leaf.event_id),
        "stream_id": leaf.stream_id,
        "version": leaf.version,
        "event_hash": leaf.event_hash,
        "leaf_index": leaf.leaf_index,
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash.hex(),
        "inclusion_path": [p.hex() for p in path],
        "checkpoint": checkpoint.with_cosignatures(),
    }


async def consistency_document(log: MerkleLog, old: int, new: int) -> dict[str, Any]:
    """The proof that the tree of ``new`` leaves extends the one of ``old``, with the
    checkpoints of those sizes where there are any (a witness may hold a size the log
    has no checkpoint of any more)."""
    if old > new:
        raise ProofError(f"the old tree size {old} is larger than the new one {new}")
    try:
        path = await log.consistency_proof(old, new)
        old_root, new_root = await log.root(old), await log.root(new)
    except LogError as exc:
        raise ProofError(str(exc)) from exc
    old_cp, new_cp = await log.checkpoint(old), await log.checkpoint(new)
    return {
        "format": CONSISTENCY_FORMAT,
        "old_size": old,
        "new_size": new,
        "old_root": old_root.hex(),
        "new_root": new_root.hex(),
        "consistency_path": [p.hex() for p in path],
        "old_checkpoint": old_cp.with_cosignatures() if old_cp is not None else None,
        "new_checkpoint": new_cp.with_cosignatures() if new_cp is not None else None,
    }


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise ProofError(f"{what} is not a list of hashes")
    try:
        hashes = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise ProofError(f"{what} holds something that is not a hex hash") from None
    if any(len(h) != merkle.HASH_SIZE for h in hashes):
        raise ProofError(f"{what} holds a hash that is not 32 bytes")
    return hashes


def check_inclusion(document: dict[str, Any], log_key: VerifierKey) -> str:
    """Check an inclusion proof document with nothing but the log's public key; returns
    a sentence saying what holds, raises ProofError saying what does not."""
    if document.get("format") != INCLUSION_FORMAT:
        raise ProofError(f"not an inclusion proof of format {INCLUSION_FORMAT}")
    checkpoint = parse_checkpoint(str(document.get("checkpoint", "")))
    verify_checkpoint(checkpoint, log_key)
    index, size = document.get("leaf_index"), document.get("tree_size")
    if not isinstance(index, int) or size != checkpoint.tree_size:
        raise ProofError("leaf_index is missing or tree_size is not the checkpoint's")
    try:
        leaf = merkle.event_leaf_hash(str(document.get("event_hash")))
    except ValueError:
        raise ProofError("event_hash is not a hex hash") from None
    path = _hashes(document.get("inclusion_path"), "inclusion_path")
    if not merkle.verify_inclusion(index, size, leaf, path, checkpoint.root_hash):
        raise ProofError(
            f"event {document.get('event_id')} (hash {document.get('event_hash')}) is not "
            f"leaf {index} of the signed tree of size {size}: the proof does not hold"
        )
    return (
        f"event {document.get('event_id')} ({document.get('stream_id')} version "
        f"{document.get('version')}) is leaf {index} of the log's signed tree of size {size}"
    )
