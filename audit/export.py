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

The one-plan JSON lines export is here; the manifest, the lines and the staged files are
in ``audit.export_lines``, the bulk export in ``audit.export_all``, the CSV in
``audit.export_csv``, and this module names them all for its callers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from audit.export_all import PlanExport, export_jsonl_all, export_name
from audit.export_csv import CSV_COLUMNS, DEFAULT_SEPARATOR, SEPARATORS, csv_row, export_csv
from audit.export_lines import (
    FORMAT_VERSION,
    MANIFEST_SUFFIX,
    PROGRESS_EVERY,
    ExportError,
    ExportManifest,
    UnknownPlanError,
    _head_version,
    _staged,
    _synced,
    export_line,
    export_line_of_row,
    manifest_path,
    read_manifest,
)
from eventstore.store import EventStore
from eventstore.verification import CanonicalDataUnreadable

# The export's whole interface, where its callers have always found it.
__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_SEPARATOR",
    "FORMAT_VERSION",
    "MANIFEST_SUFFIX",
    "PROGRESS_EVERY",
    "SEPARATORS",
    "ExportError",
    "ExportManifest",
    "PlanExport",
    "UnknownPlanError",
    "csv_row",
    "export_csv",
    "export_jsonl",
    "export_jsonl_all",
    "export_line",
    "export_line_of_row",
    "export_name",
    "manifest_path",
    "read_manifest",
]


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


def _version_and_hash(line: bytes) -> tuple[int, str]:
    record = json.loads(line)
    return int(record["version"]), str(record["hash"])


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
