"""The bulk JSON lines export as one archive (`temaplan audit export --all --bundle`): the
same files as the export into a directory, byte for byte, as the members of one
uncompressed tar file, so that the file system creates one file instead of two per plan
(creating a file costs more here than writing a plan's lines into it).

Any tar reads it (`tar -xf`, Python's tarfile); extracted, it is the directory export,
and ``audit/verify_export.py`` checks each plan's files as it does there. The archive is
written under a temporary name beside its target, fsynced once, renamed into place, and
the directory fsynced: it appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from audit.export_all import (
    PagedWriter,
    PlanExport,
    _PlanFile,
    _sync_directory,
    export_plans,
    plans_to_export,
)
from audit.export_lines import MANIFEST_SUFFIX
from eventstore.store import EventStore

_BLOCK = tarfile.BLOCKSIZE


async def export_jsonl_bundle(
    store: EventStore,
    out: Path,
    *,
    exported_at: datetime,
    plan_ids: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    extra: Callable[[list[PlanExport]], Awaitable[dict[str, bytes]]] | None = None,
) -> list[PlanExport]:
    """Every plan (or ``plan_ids``) into the tar file ``out``: for each plan, in plan id
    order, ``<plan>.jsonl`` and ``<plan>.jsonl.manifest.json``, each byte for byte what
    ``export_jsonl_all`` writes for that plan with the same ``exported_at``. The members
    carry ``exported_at`` as their time, mode 0644 and no owner, so the same record
    exported at the same time gives the same archive. ``extra`` (awaited with the
    results, before the archive is closed) gives more members as {name: bytes}, e.g.
    each plan's checkpoint and inclusion proof. Each result's path is ``out`` / the
    member's name."""
    if exported_at.tzinfo is None:
        raise ValueError("exported_at must carry a time zone")
    out = Path(out)
    plans = await plans_to_export(store, plan_ids)
    out.parent.mkdir(parents=True, exist_ok=True)
    bundles: list[_Bundle] = []

    def new_bundle() -> _Bundle:
        for earlier in bundles:  # the read started over: its archive is dropped
            earlier.drop()
        bundles.append(_Bundle(out, exported_at))
        return bundles[-1]

    try:
        results = await export_plans(store, plans, new_bundle, exported_at, progress)
        if extra is not None and results:
            bundles[-1].add_members(await extra(results))
        bundles[-1].close_and_rename()
    finally:
        for bundle in bundles:
            bundle.drop()
    return results


class _Bundle(PagedWriter):
    """The archive being written, on a writer thread of its own as the directory export
    writes its files. A plan's lines member gets its header before its size is known;
    the header is written again with the size once the plan's last line is written (a
    header's length depends on the name only)."""

    def __init__(self, out: Path, exported_at: datetime) -> None:
        self.out = out
        self.mtime = int(exported_at.timestamp())
        self.temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
        self.file = self.temp.open("xb")
        super().__init__("export-bundle")
        self.member_at: dict[str, tuple[int, int]] = {}  # name: header offset, size
        self.renamed = False

    # The export's target (audit.export_all.Target):

    def open(self, plan_id: str, first: Any) -> _PlanFile:
        return _PlanFile(self.out, None, plan_id, first)

    def write(self, plan: _PlanFile, rows: list[Any]) -> None:
        data = plan.lines_of(rows)
        name = plan.target.name
        self.page.append(lambda: self._append(name, data))

    def finish(self, plan: _PlanFile, exported_at: datetime) -> PlanExport:
        result = plan.manifest_of(exported_at)
        name, manifest = plan.target.name, result.manifest.to_json()
        self.page.append(lambda: self._close(name, manifest))
        return result

    def commit(self) -> None:
        """Nothing yet: the extra members come first (close_and_rename)."""

    async def clean_up(self) -> None:
        for pending in self.in_flight:  # after a failure: let the writer finish first
            with contextlib.suppress(Exception):
                await pending
        self.thread.shutdown(wait=True)

    # After the plans:

    def add_members(self, members: dict[str, bytes]) -> None:
        for name, data in members.items():
            self._member(name, data)

    def close_and_rename(self) -> None:
        """The end of the archive, one fsync of it, the rename, the directory fsynced."""
        self.file.write(b"\0" * (2 * _BLOCK))
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp, self.out)
        self.renamed = True
        _sync_directory(self.out.parent)

    def drop(self) -> None:
        self.thread.shutdown(wait=True)
        self.file.close()
        if not self.renamed:
            self.temp.unlink(missing_ok=True)

    # On the writer thread:

    def _header(self, name: str, size: int) -> bytes:
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = self.mtime
        info.mode = 0o644
        return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")

    def _append(self, name: str, data: bytes) -> None:
        if name not in self.member_at:
            self.member_at[name] = (self.file.tell(), 0)
            self.file.write(self._header(name, 0))
        at, size = self.member_at[name]
        self.file.write(data)
        self.member_at[name] = (at, size + len(data))

    def _close(self, name: str, manifest: bytes) -> None:
        """The lines member's header with its size, its padding, then the manifest."""
        at, size = self.member_at[name]
        header = self._header(name, size)
        end = self.file.tell()
        self.file.seek(at)
        if len(header) != len(self._header(name, 0)):  # never: the length is the name's
            raise RuntimeError(f"the header of {name} changed its length")
        self.file.write(header)
        self.file.seek(end)
        self.file.write(b"\0" * (-size % _BLOCK))
        self._member(name + MANIFEST_SUFFIX, manifest)

    def _member(self, name: str, data: bytes) -> None:
        self.file.write(self._header(name, len(data)))
        self.file.write(data)
        self.file.write(b"\0" * (-len(data) % _BLOCK))
