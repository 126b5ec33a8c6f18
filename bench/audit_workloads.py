"""What the audit benchmark (bench/audit_bench.py) times, one slice of plans per call: the
plain read, verify_streams and its reads alone, and the exports (per plan, bulk, as one
tar file, and their files alone)."""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bench.audit_record import (
    EVENTS_PER_STREAM,
    EXPORTED_AT,
    PAGE,
    PLAIN_SELECT,
    VERIFY_CHUNK,
)
from eventstore.store import EventStore

Run = Callable[[Sequence[str]], Awaitable[int]]


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def plain_read(pool: asyncpg.Pool, streams: Sequence[str], *, parse: bool = False) -> int:
    """Every row of these streams (contiguous in the database's order), page by page;
    with ``parse``, each row's data is also parsed with json.loads."""
    rows_seen = 0
    after: tuple[str, int] = (streams[0], 0)
    async with pool.acquire() as conn:
        while True:
            rows = await conn.fetch(PLAIN_SELECT, *after, streams[-1])
            rows_seen += len(rows)
            if parse:
                for row in rows:
                    json.loads(row["data"])
            if len(rows) < PAGE:
                return rows_seen
            last = rows[-1]
            after = (last["stream_id"], last["version"])


async def verify_reads_only(store: EventStore, streams: Sequence[str]) -> int:
    """Diagnosis: verify_streams' reading alone, through the store's own page reader
    (EventStore._pages_of), over one call's worth of the slice (its first VERIFY_CHUNK
    streams), rows decoded, nothing hashed."""
    rows_seen = 0
    async for rows in store._pages_of(sorted(streams[:VERIFY_CHUNK])):
        rows_seen += len(rows)
    return rows_seen


async def verify(store: EventStore, streams: Sequence[str]) -> int:
    checked = 0
    for chunk in chunks(streams, VERIFY_CHUNK):
        for result in await store.verify_streams(chunk):
            if not result.ok or result.events_checked != EVENTS_PER_STREAM:
                raise RuntimeError(f"{result.stream_id}: not intact: {result}")
            checked += result.events_checked
    return checked


def file_sizes(lines: Path, manifest_suffix: str) -> tuple[int, int]:
    return lines.stat().st_size, lines.with_name(lines.name + manifest_suffix).stat().st_size


class Exporter:
    """export_jsonl per plan, each slice into a directory of its own, removed (untimed)
    after the lines are counted."""

    def __init__(self, store: EventStore, export_jsonl: Any, root: Path, every: int) -> None:
        self.store = store
        self.export_jsonl = export_jsonl
        self.root = root
        self.every = every
        self.manifest_example: str | None = None
        # The sizes of a plan's lines and manifest, from the first bulk export.
        self.sizes = (EVENTS_PER_STREAM * 800, 400)

    async def bulk(self, streams: Sequence[str]) -> int:
        """The same plans through export_jsonl_all: one read, one sync."""
        from audit.export import MANIFEST_SUFFIX, export_jsonl_all

        out = Path(tempfile.mkdtemp(dir=self.root))
        plans = streams[:: self.every]
        exported = await export_jsonl_all(self.store, out, exported_at=EXPORTED_AT, plan_ids=plans)
        for result in exported:
            if result.manifest.event_count != EVENTS_PER_STREAM:
                raise RuntimeError(f"{result.path}: manifest says {result.manifest.event_count}")
        if len(exported) != len(plans):
            raise RuntimeError(f"{len(exported)} plans exported, {len(plans)} asked for")
        self.sizes = file_sizes(exported[0].path, MANIFEST_SUFFIX)
        return len(plans) * EVENTS_PER_STREAM

    async def bundle(self, streams: Sequence[str]) -> int:
        """The same plans through export_jsonl_bundle: one read, one file, one fsync."""
        from audit.export_bundle import export_jsonl_bundle

        out = Path(tempfile.mkdtemp(dir=self.root)) / "export.tar"
        plans = streams[:: self.every]
        exported = await export_jsonl_bundle(
            self.store, out, exported_at=EXPORTED_AT, plan_ids=plans
        )
        for result in exported:
            if result.manifest.event_count != EVENTS_PER_STREAM:
                raise RuntimeError(f"{result.path}: manifest says {result.manifest.event_count}")
        if len(exported) != len(plans):
            raise RuntimeError(f"{len(exported)} plans exported, {len(plans)} asked for")
        return len(plans) * EVENTS_PER_STREAM

    async def files_only(self, streams: Sequence[str]) -> int:
        """Diagnosis: the files a bulk export of these plans writes, with bytes of the
        same sizes, created, written, synced and renamed as it does, nothing read from the
        database: what the file system alone costs the export."""
        from audit.export_all import _sync_all, _sync_directory

        out = Path(tempfile.mkdtemp(dir=self.root))
        staging = out.with_name(out.name + ".partial")
        staging.mkdir()
        line_size, manifest_size = self.sizes
        line = b"x" * (line_size // EVENTS_PER_STREAM - 1) + b"\n"
        lines = line * EVENTS_PER_STREAM  # check_and_clear counts them as an export's
        manifest = b"x" * manifest_size
        paths = []
        for plan in streams[:: self.every]:
            for path, data in ((staging / f"{plan}.jsonl", lines), (staging / plan, manifest)):
                with path.open("xb") as file:
                    file.write(data)
                paths.append(path)
        _sync_all(staging, paths)
        staging.replace(out)
        _sync_directory(out.parent)
        return len(paths) // 2 * EVENTS_PER_STREAM

    async def run(self, streams: Sequence[str]) -> int:
        out = Path(tempfile.mkdtemp(dir=self.root))
        plans = streams[:: self.every]
        for plan in plans:
            manifest = await self.export_jsonl(
                self.store, plan, out / f"{plan}.jsonl", exported_at=EXPORTED_AT
            )
            count = getattr(manifest, "event_count", EVENTS_PER_STREAM)
            if count != EVENTS_PER_STREAM:
                raise RuntimeError(f"{plan}: export manifest says {count} events")
            if self.manifest_example is None:
                self.manifest_example = repr(manifest)[:400]
        return len(plans) * EVENTS_PER_STREAM

    def check_and_clear(self) -> None:
        for directory in self.root.iterdir():
            for path in directory.glob("*.jsonl"):
                with path.open("rb") as lines:
                    count = sum(1 for _ in lines)
                if count != EVENTS_PER_STREAM:
                    raise RuntimeError(f"{path.name}: {count} lines, {EVENTS_PER_STREAM} expected")
            for path in directory.glob("*.tar"):
                with tarfile.open(path) as archive:
                    for member in archive:
                        if not member.name.endswith(".jsonl"):
                            continue
                        member_lines = archive.extractfile(member)
                        count = sum(1 for _ in member_lines) if member_lines else 0
                        if count != EVENTS_PER_STREAM:
                            raise RuntimeError(
                                f"{path.name}/{member.name}: {count} lines,"
                                f" {EVENTS_PER_STREAM} expected"
                            )
            shutil.rmtree(directory)


def load_export() -> tuple[Any, str | None]:
    """audit.export.export_jsonl, or None and why not."""
    try:
        from audit.export import export_jsonl
    except ImportError as exc:
        return None, f"audit.export not importable ({exc})"
    return export_jsonl, None
