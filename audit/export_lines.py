"""The JSON lines export's parts shared by the one-plan and the bulk export: the
manifest, each event's line (docs/audit-format.md, "Export files (JSON lines)"), and the
files written under a temporary name and synced before they are renamed into place."""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer, field_validator

from domain.canonical import CanonicalFormError, canonical_json, format_timestamp
from eventstore.records import StoredEvent
from eventstore.store import EventStore

FORMAT_VERSION = 1
MANIFEST_SUFFIX = ".manifest.json"
# progress() is called with the number of events written after every this many events,
# and with the total at the end (unless that was just reported).
PROGRESS_EVERY = 1000


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
    line = event.chain_record()
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


def export_lines_of_rows(rows: Sequence[Any]) -> bytes:
    """export_line_of_row for each of a page of rows, joined, byte for byte the same: the
    parts of a line that repeat (an actor and role; a plan, type and schema version) are
    written once a page, the event id (a uuid's text, nothing to escape) as it is, and
    the page is encoded once. A page with a row whose data the server did not confirm
    goes row by row."""
    if any(row[6] is not None or row[5] is None for row in rows):
        return b"".join([export_line_of_row(row) for row in rows])
    lines = []
    actors: dict[tuple[str, str], str] = {}
    tails: dict[tuple[str, str, int], str] = {}
    for row in rows:
        stream_id, version, event_id, event_type, schema_version, canonical_data = row[:6]
        actor_id, actor_role, recorded_at, prev_hash, event_hash = row[7:12]
        actor = actors.get((actor_id, actor_role))
        if actor is None:
            actor = actors[actor_id, actor_role] = (
                f'{{"actor_id":{_name(actor_id)},"actor_role":{_name(actor_role)},"data":'
            )
        tail = tails.get((stream_id, event_type, schema_version))
        if tail is None:
            tail = tails[stream_id, event_type, schema_version] = (
                f',"schema_version":{int(schema_version)},"stream_id":{_name(stream_id)},'
                f'"type":{_name(event_type)},"version":'
            )
        lines.append(
            f'{actor}{canonical_data},"event_id":"{event_id}","hash":{_text(event_hash)},'
            f'"prev_hash":{_text(prev_hash)},"recorded_at":"{_timestamp(recorded_at)}"'
            f"{tail}{int(version)}}}\n"
        )
    return "".join(lines).encode()


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


async def _head_version(store: EventStore, plan_id: str) -> int:
    version, _ = await store.head(plan_id)
    if version == 0:
        raise UnknownPlanError(plan_id)
    return version
