"""The bulk JSON lines export (`temaplan audit export --all`): every plan's files from
one read of the database, synced once."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import functools
import itertools
import operator
import os
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from audit.export_lines import (
    MANIFEST_SUFFIX,
    PROGRESS_EVERY,
    ExportError,
    ExportManifest,
    UnknownPlanError,
    export_lines_of_rows,
    manifest_path,
)
from eventstore.store import EventStore
from eventstore.verification import CanonicalDataUnreadable

# A plan id that is a file name as it is, on any system: the bulk export names each
# plan's files after it.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


@dataclass(frozen=True, slots=True)
class PlanExport:
    """One plan's files in a bulk export."""

    path: Path
    manifest: ExportManifest
    last_event_id: uuid.UUID


def export_name(plan_id: str) -> str:
    """The file a bulk export writes a plan's events to; its manifest goes beside it."""
    return f"{plan_id}.jsonl"


async def export_jsonl_all(
    store: EventStore,
    out_dir: Path,
    *,
    exported_at: datetime,
    plan_ids: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[PlanExport]:
    """Every plan (or ``plan_ids``) exported into ``out_dir`` as ``<plan>.jsonl`` and its
    manifest, each file byte for byte what ``export_jsonl`` writes for that plan with the
    same ``exported_at``.

    One read for all of them: a server-side cursor over the plans in key order (one
    snapshot: each plan up to its head when the read began). No file is synced on its
    own: when every plan is written, the file system is synced once (syncfs, or an fsync
    of every file where that is missing). Into a new or empty ``out_dir`` the files are
    written into a temporary directory beside it, which is then renamed onto it, and the
    parent directory fsynced: the export appears whole or not at all. Into a directory
    that holds files already, each file is written under a temporary name beside its
    target, each plan's lines and then its manifest renamed into place, and the directory
    fsynced. A failed export leaves no temporary file, and no file renamed unless it
    failed while renaming. Results are in plan id order."""
    if exported_at.tzinfo is None:
        raise ValueError("exported_at must carry a time zone")
    out_dir = Path(out_dir)
    plans = await plans_to_export(store, plan_ids)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return await export_plans(store, plans, lambda: _Target(out_dir), exported_at, progress)


async def plans_to_export(store: EventStore, plan_ids: Sequence[str] | None) -> list[str]:
    """The plans in code point order; refused when one cannot name a file."""
    plans = sorted(set(plan_ids if plan_ids is not None else await store.stream_ids()))
    unnamed = [p for p in plans if not _FILE_NAME.fullmatch(p)]
    if unnamed:
        raise ExportError(
            f"plan id {unnamed[0]!r} cannot be used as a file name; nothing was exported"
        )
    return plans


class Target(Protocol):
    """Where a bulk export's files go (a directory, or one archive): each method as
    _Target's."""

    def open(self, plan_id: str, first: Any) -> _PlanFile: ...
    def write(self, plan: _PlanFile, rows: list[Any]) -> None: ...
    def finish(self, plan: _PlanFile, exported_at: datetime) -> PlanExport: ...
    async def hand_over(self) -> None: ...
    async def written(self) -> None: ...
    def commit(self) -> None: ...
    async def clean_up(self) -> None: ...


async def export_plans(
    store: EventStore,
    plans: list[str],
    target: Callable[[], Target],
    exported_at: datetime,
    progress: Callable[[int], None] | None,
) -> list[PlanExport]:
    """The plans' lines and manifests, from one read, into a new ``target()``."""
    try:
        return await _export_all(store, plans, target(), exported_at, progress, reference=False)
    except CanonicalDataUnreadable:
        # A stored canonical text that no longer parses (it was changed): everything
        # again from the jsonb, as export_jsonl does for that plan, so the verifier names
        # the break.
        return await _export_all(store, plans, target(), exported_at, progress, reference=True)


class _PlanFile:
    """The plan being written: its temporary files and what its manifest will say. The
    lines are built on the event loop; the files are created and written by the
    export's writer thread (_Target), in the order they were handed to it."""

    __slots__ = ("count", "file", "first", "last", "lines", "manifest", "plan_id", "target")

    def __init__(self, out_dir: Path, staging: Path | None, plan_id: str, first: Any) -> None:
        self.plan_id = plan_id
        self.target = out_dir / export_name(plan_id)
        if staging is not None:  # a directory of its own, renamed as a whole
            self.lines = staging / self.target.name
            self.manifest = staging / manifest_path(self.target).name
        else:  # temporary names beside the targets, each renamed
            tag = uuid.uuid4().hex
            self.lines = out_dir / f".{self.target.name}.{tag}.partial"
            self.manifest = out_dir / f".{self.target.name}{MANIFEST_SUFFIX}.{tag}.partial"
        self.file: IO[bytes] | None = None
        self.count = 0
        self.first = first
        self.last = first

    def lines_of(self, rows: list[Any]) -> bytes:
        self.count += len(rows)
        self.last = rows[-1]
        return export_lines_of_rows(rows)

    def manifest_of(self, exported_at: datetime) -> PlanExport:
        manifest = ExportManifest(
            plan_id=self.plan_id,
            event_count=self.count,
            first_version=self.first[1],
            last_version=self.last[1],
            first_hash=self.first[11],
            last_hash=self.last[11],
            exported_at=exported_at,
        )
        return PlanExport(self.target, manifest, uuid.UUID(self.last[2]))

    # On the writer thread:

    def append(self, data: bytes) -> None:
        if self.file is None:
            self.file = self.lines.open("xb")
        self.file.write(data)

    def close(self, manifest: bytes) -> None:
        """Close the lines (not synced yet) and write the manifest beside them."""
        if self.file is not None:
            self.file.close()
        self.manifest.write_bytes(manifest)


# Pages of writes handed to the writer thread and not yet done: beyond this many, the
# export waits for the oldest (memory stays flat when the disk is slower than the
# database; a page of 2,000 events is about 1.6 MB of lines).
_PAGES_IN_FLIGHT = 4


class PagedWriter:
    """Writes handed to a thread of their own a page at a time, in the order they were
    made, with at most a few pages in flight: the file system's work overlaps reading
    the database and building the lines."""

    def __init__(self, thread_name: str) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self.in_flight: collections.deque[asyncio.Future[None]] = collections.deque()
        self.page: list[Callable[[], None]] = []

    async def hand_over(self) -> None:
        """The page's writes to the writer thread, in the order they were made."""
        if not self.page:
            return
        page, self.page = self.page, []
        loop = asyncio.get_running_loop()
        self.in_flight.append(loop.run_in_executor(self.thread, _run_all, page))
        while len(self.in_flight) > _PAGES_IN_FLIGHT or (
            self.in_flight and self.in_flight[0].done()
        ):
            await self.in_flight.popleft()

    async def written(self) -> None:
        """Wait for every write handed over; the first failure is raised."""
        while self.in_flight:
            await self.in_flight.popleft()


class _Target(PagedWriter):
    """Where a bulk export writes. Into a new (or empty) directory, everything goes into
    a directory beside it, renamed onto it in one go: one rename instead of two per
    plan, and the export appears whole or not at all.

    Files are created and written on one thread of their own, so that the file system's
    work (creating a file costs more than writing it) overlaps reading the database and
    building the lines. The writes of a page of rows are handed over together: one
    hand-over per page rather than two per plan."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.staging: Path | None = None
        self.opened: list[_PlanFile] = []
        super().__init__("export-writer")
        if not out_dir.exists() or not any(out_dir.iterdir()):
            self.staging = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex}.partial")
            self.staging.mkdir()
        else:
            out_dir.mkdir(exist_ok=True)

    def open(self, plan_id: str, first: Any) -> _PlanFile:
        plan = _PlanFile(self.out_dir, self.staging, plan_id, first)
        self.opened.append(plan)
        return plan

    def write(self, plan: _PlanFile, rows: list[Any]) -> None:
        self.page.append(functools.partial(plan.append, plan.lines_of(rows)))

    def finish(self, plan: _PlanFile, exported_at: datetime) -> PlanExport:
        result = plan.manifest_of(exported_at)
        self.page.append(functools.partial(plan.close, result.manifest.to_json()))
        return result

    def commit(self) -> None:
        """Everything written is synced, then renamed into place, the renames synced."""
        paths = [path for plan in self.opened for path in (plan.lines, plan.manifest)]
        _sync_all(self.staging or self.out_dir, paths)
        if self.staging is not None:
            os.replace(self.staging, self.out_dir)
            _sync_directory(self.out_dir.parent)
            return
        for plan in self.opened:
            os.replace(plan.lines, plan.target)
            os.replace(plan.manifest, manifest_path(plan.target))
        _sync_directory(self.out_dir)

    async def clean_up(self) -> None:
        """Whatever was not renamed into place is removed."""
        for pending in self.in_flight:  # after a failure: let the writer finish first
            with contextlib.suppress(Exception):
                await pending
        self.thread.shutdown(wait=True)
        for plan in self.opened:
            if plan.file is not None:
                plan.file.close()
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            return
        for plan in self.opened:
            plan.lines.unlink(missing_ok=True)
            plan.manifest.unlink(missing_ok=True)


async def _export_all(
    store: EventStore,
    plans: list[str],
    target: Target,
    exported_at: datetime,
    progress: Callable[[int], None] | None,
    *,
    reference: bool,
) -> list[PlanExport]:
    results: list[PlanExport] = []
    current: _PlanFile | None = None
    written = 0
    try:
        async for rows in store.iter_chain_pages_of(plans, reference=reference):
            # Rows come grouped by plan: each plan's run of rows is written in one go.
            for plan_id, group in itertools.groupby(rows, key=operator.itemgetter(0)):
                run = list(group)
                if current is None or current.plan_id != plan_id:
                    if current is not None:
                        results.append(target.finish(current, exported_at))
                    current = target.open(plan_id, run[0])
                target.write(current, run)
            await target.hand_over()
            before, written = written, written + len(rows)
            if progress is not None:
                for count in range(
                    before + PROGRESS_EVERY - before % PROGRESS_EVERY, written + 1, PROGRESS_EVERY
                ):
                    progress(count)
        if current is not None:
            results.append(target.finish(current, exported_at))
            await target.hand_over()
        missing = sorted(set(plans) - {result.manifest.plan_id for result in results})
        if missing:
            raise UnknownPlanError(missing[0])
        await target.written()
        target.commit()
    finally:
        await target.clean_up()
    if progress is not None and written % PROGRESS_EVERY:
        progress(written)
    return results


def _run_all(page: list[Callable[[], None]]) -> None:
    for write in page:
        write()


def _sync_all(directory: Path, paths: list[Path]) -> None:
    """Everything written to ``paths`` on disk: one syncfs of the file system that holds
    ``directory`` (Linux), else an fsync of each file."""
    syncfs = getattr(_libc(), "syncfs", None)
    if syncfs is not None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
