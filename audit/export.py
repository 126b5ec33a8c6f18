"""Exports of a plan's decision record: JSON lines that verify without our code, and a
CSV of the decisions for spreadsheet users.

The JSON lines layout and its manifest are specified in docs/audit-format.md, section
"Export files (JSON lines)"; ``audit/verify_export.py`` checks them with the standard
library alone. In short: ``out`` holds one event per line, each line the event's chain
fields in canonical JSON, and ``<out>.manifest.json`` beside it names the plan, the count
and the first and last hash.

Both exports read the stream a page at a time (flat memory, whatever its length), up to
the version that was the stream's head when the export began, so events appended while
it runs do not make it a moving target. They write under a temporary name in the target
directory and rename into place only when everything is written and synced: a failed
export leaves no half file behind. The JSON lines export copies the record as it is
stored, breaks included; finding them is the verifier's job, and an exported break is the
evidence of it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import csv
import ctypes
import functools
import itertools
import json
import operator
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator

from domain.attestation import actor_kind
from domain.canonical import CanonicalFormError, canonical_json, chain_record, format_timestamp
from eventstore.records import StoredEvent
from eventstore.store import EventStore
from eventstore.verification import CanonicalDataUnreadable
from runtime.formatting import OSLO

FORMAT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
# progress() is called with the number of events written after every this many events,
# and with the total at the end (unless that was just reported).
PROGRESS_EVERY = 1000

CSV_COLUMNS = (
    "version",
    "recorded_at_utc",
    "recorded_at_oslo",
    "occurred_at",
    "type",
    "phase",
    "actor_id",
    "actor_role",
    "actor_is",
    "authenticated_by",
    "content_version",
    "content_hash",
    "outcome",
    "reason_or_comment",
    "meeting",
    "postponed_to",
    "hash",
)
# The free text of an event, for the reason_or_comment column: the first that is there.
TEXT_KEYS = ("reason", "comment", "note", "text", "summary", "form")
TEXT_LIMIT = 200
# A spreadsheet takes a cell starting with one of these for a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_HEX64 = r"^[0-9a-f]{64}$"


class ExportError(Exception):
    """An export that could not be made; nothing was written."""


class UnknownPlanError(ExportError, LookupError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(f"no events recorded for plan '{plan_id}': unknown plan, nothing exported")
        self.plan_id = plan_id


class ExportManifest(BaseModel):
    """What a JSON lines export holds; written as ``<out>.manifest.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str
    event_count: int = Field(ge=1)
    first_version: int = Field(ge=1)
    last_version: int = Field(ge=1)
    first_hash: str = Field(pattern=_HEX64)
    last_hash: str = Field(pattern=_HEX64)
    exported_at: AwareDatetime
    format_version: int = FORMAT_VERSION
    format: Literal["jsonl"] = "jsonl"
    generator: Literal["temaplan"] = "temaplan"

    @field_validator("exported_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_serializer("exported_at")
    def _rfc3339(self, value: datetime) -> str:
        return format_timestamp(value)

    def to_json(self) -> bytes:
        """The manifest file's content: one key per line, sorted, UTF-8."""
        text = json.dumps(
            self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False
        )
        return (text + "\n").encode("utf-8")


def manifest_path(out: Path) -> Path:
    """Where the manifest of the export ``out`` goes: beside it, ``<out>.manifest.json``."""
    return out.with_name(out.name + MANIFEST_SUFFIX)


def read_manifest(path: Path) -> ExportManifest:
    return ExportManifest.model_validate_json(path.read_bytes())


def export_line(event: StoredEvent) -> bytes:
    """One event as its line of the export: the chain fields in canonical JSON."""
    line = chain_record(
        stream_id=event.stream_id,
        version=event.version,
        event_id=str(event.event_id),
        event_type=event.type,
        schema_version=event.schema_version,
        data=event.data,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        recorded_at=event.recorded_at,
    )
    line["prev_hash"] = event.prev_hash
    line["hash"] = event.hash
    try:
        return canonical_json(line) + b"\n"
    except CanonicalFormError as exc:
        raise ExportError(
            f"plan '{event.stream_id}' version {event.version} has no canonical form: {exc}"
        ) from exc


# A JSON string as canonical_json writes it (json.dumps with ensure_ascii=False): the
# encoder's own function, without its Python wrapper.
_text = getattr(json.encoder, "c_encode_basestring", None) or json.encoder.py_encode_basestring
# Names and times repeat from event to event (the events of one append share their
# recorded_at): each written once.
_name = functools.lru_cache(maxsize=4096)(_text)
_timestamp = functools.lru_cache(maxsize=1024)(format_timestamp)


def export_line_of_row(row: Any) -> bytes:
    """export_line for a row of EventStore.iter_chain_pages, byte for byte: the canonical
    record assembled around the stored canonical text of the data (which the server has
    confirmed is what the jsonb holds), so the jsonb is never turned into text, parsed
    and written out again. The keys are in code point order, as canonical_json sorts
    them; a row whose data the server did not confirm goes the reference way."""
    (stream_id, version, event_id, event_type, schema_version, canonical_data, data) = row[:7]
    actor_id, actor_role, recorded_at, prev_hash, event_hash = row[7:12]
    if data is not None or canonical_data is None:
        return export_line(
            StoredEvent(
                position=0,
                stream_id=stream_id,
                version=version,
                event_id=uuid.UUID(event_id),
                type=event_type,
                schema_version=schema_version,
                data=json.loads(data),
                actor_id=actor_id,
                actor_role=actor_role,
                recorded_at=recorded_at,
                prev_hash=prev_hash,
                hash=event_hash,
            )
        )
    return (
        f'{{"actor_id":{_name(actor_id)},"actor_role":{_name(actor_role)},'
        f'"data":{canonical_data},"event_id":{_text(event_id)},"hash":{_text(event_hash)},'
        f'"prev_hash":{_text(prev_hash)},"recorded_at":"{_timestamp(recorded_at)}",'
        f'"schema_version":{int(schema_version)},"stream_id":{_name(stream_id)},'
        f'"type":{_name(event_type)},"version":{int(version)}}}\n'
    ).encode()


async def _export_lines(
    store: EventStore, plan_id: str, head: int
) -> AsyncIterator[list[bytes] | None]:
    """The export's lines, a page at a time, from one cursor with the stored canonical
    text; if a stored canonical text no longer parses (it was changed), None, then the
    whole stream again from its jsonb, as stored, so that the verifier names the break."""
    try:
        async for rows in store.iter_chain_pages(plan_id, up_to_version=head):
            yield [export_line_of_row(row) for row in rows]
        return
    except CanonicalDataUnreadable:
        pass
    yield None
    async for event in store.iter_stream(plan_id, up_to_version=head):
        yield [export_line(event)]


@contextmanager
def _staged(*targets: Path) -> Iterator[list[Path]]:
    """Temporary paths beside ``targets``, renamed onto them in order once the block has
    completed, and removed if it fails."""
    temps = [t.with_name(f".{t.name}.{uuid.uuid4().hex}.partial") for t in targets]
    try:
        yield temps
        for temp, target in zip(temps, targets, strict=True):
            os.replace(temp, target)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)


@contextmanager
def _synced(path: Path, mode: str, **options: Any) -> Iterator[IO[Any]]:
    """A new file, flushed to disk when the block completes."""
    with path.open(mode, **options) as file:
        yield file
        file.flush()
        os.fsync(file.fileno())


def _version_and_hash(line: bytes) -> tuple[int, str]:
    record = json.loads(line)
    return int(record["version"]), str(record["hash"])


async def _head_version(store: EventStore, plan_id: str) -> int:
    version, _ = await store.head(plan_id)
    if version == 0:
        raise UnknownPlanError(plan_id)
    return version


async def export_jsonl(
    store: EventStore,
    plan_id: str,
    out: Path,
    *,
    exported_at: datetime,
    progress: Callable[[int], None] | None = None,
) -> ExportManifest:
    """Write the plan's events to ``out`` (JSON lines) and its manifest beside it.

    The export is renamed into place first, the manifest last: an export without its
    manifest is incomplete, and the verifier says so."""
    if exported_at.tzinfo is None:
        raise ValueError("exported_at must carry a time zone")
    out = Path(out)
    head = await _head_version(store, plan_id)
    count, first_version, first_hash, last_version, last_hash = 0, 0, "", 0, ""
    with _staged(out, manifest_path(out)) as (lines_temp, manifest_temp):
        with _synced(lines_temp, "xb") as lines:
            async for page in _export_lines(store, plan_id, head):
                if page is None:  # start over, the reference way
                    lines.seek(0)
                    lines.truncate()
                    count = 0
                    continue
                lines.write(b"".join(page))
                if count == 0:
                    first_version, first_hash = _version_and_hash(page[0])
                last_version, last_hash = _version_and_hash(page[-1])
                before, count = count, count + len(page)
                if progress is not None:
                    for done in range(
                        before + PROGRESS_EVERY - before % PROGRESS_EVERY, count + 1, PROGRESS_EVERY
                    ):
                        progress(done)
        manifest = ExportManifest(
            plan_id=plan_id,
            event_count=count,
            first_version=first_version,
            last_version=last_version,
            first_hash=first_hash,
            last_hash=last_hash,
            exported_at=exported_at,
        )
        with _synced(manifest_temp, "xb") as file:
            file.write(manifest.to_json())
    if progress is not None and count % PROGRESS_EVERY:
        progress(count)
    return manifest


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
    plans = sorted(set(plan_ids if plan_ids is not None else await store.stream_ids()))
    unnamed = [p for p in plans if not _FILE_NAME.fullmatch(p)]
    if unnamed:
        raise ExportError(
            f"plan id {unnamed[0]!r} cannot be used as a file name; nothing was exported"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        return await _export_all(store, plans, out_dir, exported_at, progress, reference=False)
    except CanonicalDataUnreadable:
        # A stored canonical text that no longer parses (it was changed): everything
        # again from the jsonb, as export_jsonl does for that plan, so the verifier names
        # the break.
        return await _export_all(store, plans, out_dir, exported_at, progress, reference=True)


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
        return b"".join([export_line_of_row(row) for row in rows])

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


# Writes handed to the writer thread and not yet done: beyond this many, the export
# waits for the oldest (memory stays flat when the disk is slower than the database).
_WRITES_IN_FLIGHT = 64


class _Target:
    """Where a bulk export writes. Into a new (or empty) directory, everything goes into
    a directory beside it, renamed onto it in one go: one rename instead of two per
    plan, and the export appears whole or not at all.

    Files are created and written on one thread of their own, so that the file system's
    work (creating a file costs more than writing it) overlaps reading the database and
    building the lines."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.staging: Path | None = None
        self.opened: list[_PlanFile] = []
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-writer")
        self.in_flight: collections.deque[asyncio.Future[None]] = collections.deque()
        if not out_dir.exists() or not any(out_dir.iterdir()):
            self.staging = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex}.partial")
            self.staging.mkdir()
        else:
            out_dir.mkdir(exist_ok=True)

    def open(self, plan_id: str, first: Any) -> _PlanFile:
        plan = _PlanFile(self.out_dir, self.staging, plan_id, first)
        self.opened.append(plan)
        return plan

    async def write(self, plan: _PlanFile, rows: list[Any]) -> None:
        await self._hand_over(plan.append, plan.lines_of(rows))

    async def finish(self, plan: _PlanFile, exported_at: datetime) -> PlanExport:
        result = plan.manifest_of(exported_at)
        await self._hand_over(plan.close, result.manifest.to_json())
        return result

    async def _hand_over(self, write: Callable[[bytes], None], data: bytes) -> None:
        loop = asyncio.get_running_loop()
        self.in_flight.append(loop.run_in_executor(self.thread, write, data))
        while len(self.in_flight) > _WRITES_IN_FLIGHT or (
            self.in_flight and self.in_flight[0].done()
        ):
            await self.in_flight.popleft()

    async def written(self) -> None:
        """Wait for every write handed over; the first failure is raised."""
        while self.in_flight:
            await self.in_flight.popleft()

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
    out_dir: Path,
    exported_at: datetime,
    progress: Callable[[int], None] | None,
    *,
    reference: bool,
) -> list[PlanExport]:
    target = _Target(out_dir)
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
                        results.append(await target.finish(current, exported_at))
                    current = target.open(plan_id, run[0])
                await target.write(current, run)
            before, written = written, written + len(rows)
            if progress is not None:
                for count in range(
                    before + PROGRESS_EVERY - before % PROGRESS_EVERY, written + 1, PROGRESS_EVERY
                ):
                    progress(count)
        if current is not None:
            results.append(await target.finish(current, exported_at))
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


def _cell(value: Any) -> str:
    """Text for a spreadsheet cell; a value that would start a formula gets a leading
    apostrophe, which spreadsheets show as text."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_START) else text


def _short_text(data: dict[str, Any]) -> str:
    for key in TEXT_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"
    return ""


def csv_row(event: StoredEvent) -> list[str]:
    """One event as its row of the CSV, in the order of CSV_COLUMNS."""
    data = event.data
    recorded = event.recorded_at.astimezone(UTC)
    return [
        str(event.version),
        format_timestamp(recorded),
        recorded.astimezone(OSLO).isoformat(sep=" ", timespec="seconds"),
        _cell(data.get("occurred_at")),
        _cell(event.type),
        _cell(data.get("phase")),
        _cell(event.actor_id),
        _cell(event.actor_role),
        actor_kind(event.actor_role, data),
        _cell(data.get("authenticated_by")),
        _cell(data.get("content_version")),
        _cell(data.get("content_hash")),
        _cell(data.get("outcome")),
        _cell(_short_text(data)),
        _cell(_meeting(data)),
        _cell(data.get("postponed_to")),
        event.hash,
    ]


def _meeting(data: dict[str, Any]) -> str | None:
    """A council or committee decision's case number and meeting date."""
    meeting = data.get("meeting")
    if not isinstance(meeting, dict):
        return None
    return f"{meeting.get('case_number')} {meeting.get('meeting_date')}"


# What Norwegian Excel opens by a double click: its list separator is the semicolon,
# because the comma is the decimal sign. The comma on request, for other tools.
SEPARATORS: dict[str, str] = {"semicolon": ";", "comma": ","}
DEFAULT_SEPARATOR = "semicolon"


async def export_csv(
    store: EventStore,
    plan_id: str,
    out: Path,
    *,
    progress: Callable[[int], None] | None = None,
    separator: str = DEFAULT_SEPARATOR,
) -> int:
    """Write the plan's decisions as CSV for spreadsheets, one row per event under a
    header row: UTF-8 with a byte order mark (so Excel reads æ, ø, å), cells separated by
    ``separator`` (a semicolon unless "comma" is asked for), RFC 4180 quoting
    and CRLF line ends. Times are given in UTC and in Oslo time with its offset. The CSV
    is a reading aid, not evidence: free text is shortened to TEXT_LIMIT characters on
    one line, and cells that would start a formula are prefixed with an apostrophe.
    Returns the number of rows written, the header not counted."""
    if separator not in SEPARATORS:
        raise ValueError(f"separator must be one of {', '.join(SEPARATORS)}, not {separator!r}")
    out = Path(out)
    head = await _head_version(store, plan_id)
    rows = 0
    with (
        _staged(out) as (temp,),
        _synced(temp, "x", encoding="utf-8-sig", newline="") as file,
    ):
        writer = csv.writer(
            file, dialect="excel", delimiter=SEPARATORS[separator], lineterminator="\r\n"
        )
        writer.writerow(CSV_COLUMNS)
        async for event in store.iter_stream(plan_id, up_to_version=head):
            writer.writerow(csv_row(event))
            rows += 1
            if progress is not None and rows % PROGRESS_EVERY == 0:
                progress(rows)
    if progress is not None and rows % PROGRESS_EVERY:
        progress(rows)
    return rows
