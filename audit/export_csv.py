"""The CSV of a plan's decisions for spreadsheet users: a reading aid beside the JSON
lines export, which is the evidence."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from audit.export_lines import PROGRESS_EVERY, _head_version, _staged, _synced
from domain.attestation import actor_kind
from domain.canonical import format_timestamp
from eventstore.records import StoredEvent
from eventstore.store import EventStore
from runtime.formatting import OSLO

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
