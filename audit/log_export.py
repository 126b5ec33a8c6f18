"""The whole log as one export: every event in leaf order, the checkpoint it ends at and
the latest co-signed one, and a manifest (docs/audit-format.md, "Log export"). With the
log's public key, ``audit/verify_export.py`` recomputes every chain and the Merkle root
from it alone and checks them against the signed checkpoints."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from audit.export_lines import ExportError, _staged, _synced, export_line
from audit.proofs import ProofError, inclusion_document
from audit.schemas import schemas_text
from catalogue import Language, t
from domain.canonical import format_timestamp
from eventstore.log import MerkleLog, StoredCheckpoint
from eventstore.log_pages import leaf_events

LOG_FORMAT = "log-jsonl"
LOG_FORMAT_VERSION = 1
CHECKPOINT_SUFFIX = ".checkpoint"
COSIGNED_SUFFIX = ".cosigned.checkpoint"
MANIFEST_SUFFIX = ".manifest.json"
SCHEMAS_SUFFIX = ".schemas.json"
INCLUSION_SUFFIX = ".inclusion.json"
_PAGE_SIZE = 2000


def sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.name + suffix)


async def export_log(
    pool: asyncpg.Pool, out: Path, exported_at: datetime | None = None
) -> dict[str, Any]:
    """Write the log up to its latest checkpoint; returns the manifest."""
    log = MerkleLog(pool)
    checkpoint = await log.latest_checkpoint()
    if checkpoint is None:
        raise ExportError(
            "no checkpoint has been signed yet: the worker signs one within minutes, or "
            "run `temaplan checkpoint`"
        )
    cosigned = await log.latest_cosigned()
    size = checkpoint.tree_size
    digest = hashlib.sha256()
    streams: dict[str, dict[str, Any]] = {}
    count = 0
    targets = [out, sibling(out, CHECKPOINT_SUFFIX)]
    if cosigned is not None and cosigned.tree_size != size:
        targets.append(sibling(out, COSIGNED_SUFFIX))
    targets.append(sibling(out, SCHEMAS_SUFFIX))
    targets.append(sibling(out, MANIFEST_SUFFIX))
    with _staged(*targets) as temps:
        with _synced(temps[0], "xb") as lines:
            while count < size:
                leaves = await leaf_events(pool, count, min(size, count + _PAGE_SIZE))
                if not leaves:
                    break
                for leaf in leaves:
                    event = leaf.event
                    if leaf.leaf_index != count or leaf.event_hash != event.hash:
                        raise ExportError(
                            f"leaf {count} of the log does not match the event it names"
                        )
                    line = export_line(event)
                    lines.write(line)
                    digest.update(line)
                    count += 1
                    streams[event.stream_id] = {
                        "event_count": event.version,
                        "last_hash": event.hash,
                    }
        if count != size:
            raise ExportError(f"the log holds {count} leaves, its checkpoint says {size}")
        with _synced(temps[1], "x", encoding="utf-8", newline="") as file:
            file.write(checkpoint.with_cosignatures())
        if cosigned is not None and len(targets) == 5:
            with _synced(temps[2], "x", encoding="utf-8", newline="") as file:
                file.write(cosigned.with_cosignatures())
        with _synced(temps[-2], "x", encoding="utf-8", newline="") as file:
            file.write(schemas_text())
        manifest: dict[str, Any] = {
            "format": LOG_FORMAT,
            "format_version": LOG_FORMAT_VERSION,
            "generator": "temaplan",
            "exported_at": format_timestamp(exported_at or datetime.now(UTC)),
            "event_count": count,
            "stream_count": len(streams),
            "streams": dict(sorted(streams.items())),
            "tree_size": size,
            "root_hash": checkpoint.root_hash.hex(),
            "cosigned_tree_size": cosigned.tree_size if cosigned is not None else None,
            "lines_sha256": digest.hexdigest(),
        }
        text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        with _synced(temps[-1], "xb") as file:
            file.write(text.encode("utf-8"))
    return manifest


async def checkpoint_to_attach(pool: asyncpg.Pool) -> StoredCheckpoint | None:
    """What an export carries: the latest co-signed checkpoint, else the latest."""
    log = MerkleLog(pool)
    return await log.latest_cosigned() or await log.latest_checkpoint()


async def attach_checkpoint(
    pool: asyncpg.Pool,
    out: Path,
    last_event: UUID,
    checkpoint: StoredCheckpoint | None = None,
    language: Language = "en",
) -> str | None:
    """Beside a plan export ``out``: ``checkpoint`` (by default checkpoint_to_attach's)
    as ``<out>.checkpoint`` and, when it covers the export's last event, that event's
    inclusion proof as ``<out>.inclusion.json``. Returns what was written, or None when
    no checkpoint has been signed yet. An export of many plans reads the checkpoint
    once and gives it to each."""
    checkpoint = checkpoint or await checkpoint_to_attach(pool)
    if checkpoint is None:
        return None
    files = await checkpoint_files(pool, last_event, checkpoint)
    targets = [sibling(out, suffix) for suffix in files]
    with _staged(*targets) as temps:
        for temp, data in zip(temps, files.values(), strict=True):
            with _synced(temp, "xb") as file:
                file.write(data)
    return attached(checkpoint, INCLUSION_SUFFIX in files, language)


async def checkpoint_files(
    pool: asyncpg.Pool, last_event: UUID, checkpoint: StoredCheckpoint
) -> dict[str, bytes]:
    """What attach_checkpoint writes beside a plan export, by suffix: the checkpoint and,
    when it covers ``last_event``, that event's inclusion proof."""
    files = {CHECKPOINT_SUFFIX: checkpoint.with_cosignatures().encode("utf-8")}
    try:
        proof = await inclusion_document(MerkleLog(pool), last_event, checkpoint.tree_size)
    except ProofError:
        return files  # the last event came after that checkpoint
    files[INCLUSION_SUFFIX] = (json.dumps(proof, indent=2, ensure_ascii=False) + "\n").encode()
    return files


def attached(checkpoint: StoredCheckpoint, with_proof: bool, language: Language = "en") -> str:
    """What was written beside an export, in ``language``."""
    cosigned = len(checkpoint.cosignatures)
    return (
        t("export.attached_checkpoint", language, size=checkpoint.tree_size)
        + (t("export.attached_cosignatures", language, count=cosigned) if cosigned else "")
        + (t("export.attached_proof", language) if with_proof else "")
    )
