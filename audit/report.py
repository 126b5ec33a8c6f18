"""The auditors' report: one plan's decision record as a single printable HTML page.

The export is evidence. Everything on the page comes from the plan's stored events: the
facts, a timeline figure as inline SVG, every event in the decision table, the hearing
responses with their texts, and the adopted goal -> strategy -> measure hierarchy. This
module reads the record into plain values; the Jinja2 templates
documents/templates/report.html and report_timeline.svg lay them out, with the labels from
the catalogue. The page has no scripts and no web fonts, and it fetches nothing. Every text
from the record is escaped by the template. The report recomputes the hash chain and the adopted
content hash itself and says whether they hold.

``render_report`` is pure: the same events, language and ``generated_at`` always give
the same page. ``export_html`` reads a plan from the store and writes the page to a file
atomically.

The page's words are in report_text, its timeline in report_timeline, its sections in
report_sections; this module renders and writes the page.
"""

from __future__ import annotations

import asyncio
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

from audit.report_sections import _decision_rows, _facts, _hearings, _hierarchy
from audit.report_text import EN, LABELS, NB, _Text, describe
from audit.report_timeline import _phase_runs, _timeline
from catalogue import Language
from documents.render import render
from domain.events import (
    PlanAdopted,
)
from domain.state import fold
from eventstore.records import StoredEvent
from eventstore.store import EventStore

# The report's interface, where its callers have always found it.
__all__ = [
    "EN",
    "LABELS",
    "NB",
    "UnknownPlanError",
    "describe",
    "export_html",
    "export_pdf",
    "export_report",
    "render_report",
]


class UnknownPlanError(LookupError):
    """The store holds no events for the plan id asked for."""


# --- small helpers -----------------------------------------------------------------------


def _page_label(text: _Text, plan_id: str) -> str:
    # Goes into a CSS string: keep only characters that need no escaping there.
    return re.sub(r"[^A-Za-z0-9._ -]", "", f"{text.raw('page_label')} {plan_id}")


def render_report(
    events: Sequence[StoredEvent],
    *,
    language: Language = "nb",
    generated_at: datetime,
    checkpoint: str | None = None,
) -> str:
    """The report for one plan's stored events, as a self-contained HTML page
    (documents/templates/report.html)."""
    if not events:
        raise ValueError("no events to report: a plan's stream has at least 'plan_created'")
    if generated_at.tzinfo is None:
        raise ValueError("generated_at must carry a time zone")
    text = _Text(language)
    stored = sorted(events, key=lambda e: e.version)
    streams = {e.stream_id for e in stored}
    if len(streams) != 1:
        raise ValueError(f"events of one plan expected, got streams {sorted(streams)}")
    domain_events = [e.to_domain() for e in stored]
    state = fold(domain_events)
    definition = state.definition
    if definition is None:
        raise ValueError(
            f"stream '{stored[0].stream_id}' does not start with 'plan_created'; "
            "the report needs the whole stream"
        )
    adoption = next(
        (e.occurred_at for e in reversed(domain_events) if isinstance(e, PlanAdopted)), None
    )
    runs = _phase_runs(stored, domain_events)
    last = domain_events[-1].occurred_at
    return render(
        "report.html",
        language,
        definition=definition,
        generated=text.raw(
            "generated",
            oslo=text.moment(generated_at),
            utc=generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            count=len(stored),
        ),
        revises=text.raw("revises", plan=definition.revises.describe())
        if definition.revises
        else "",
        page_label=_page_label(text, state.plan_id or ""),
        facts=_facts(
            text,
            state=state,
            definition=definition,
            stored=stored,
            events=domain_events,
            adoption=adoption,
        ),
        timeline=_timeline(text, definition.title, runs, last) if runs else None,
        decisions=_decision_rows(text, stored, domain_events),
        hearings=_hearings(text, stored, domain_events),
        hierarchy=_hierarchy(text, state, definition),
        checkpoint=checkpoint,
    )


async def export_report(
    store: EventStore,
    plan_id: str,
    out: Path,
    *,
    fmt: Literal["html", "pdf"],
    language: Language = "nb",
    generated_at: datetime,
    checkpoint: str | None = None,
) -> int:
    """Write the report of ``plan_id`` to ``out`` as a page, or that page printed to a PDF
    by WeasyPrint (atomically: a temporary file in the same directory, then a rename), and
    return the number of events it covers."""
    page, count = await _report_page(
        store, plan_id, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    if fmt == "pdf":
        from documents.pdf import html_to_pdf

        document = await asyncio.to_thread(html_to_pdf, page)
    else:
        document = page.encode("utf-8")
    await asyncio.to_thread(_write_atomically, Path(out), document)
    return count


export_html = partial(export_report, fmt="html")
export_pdf = partial(export_report, fmt="pdf")


async def _report_page(
    store: EventStore,
    plan_id: str,
    *,
    language: Language,
    generated_at: datetime,
    checkpoint: str | None,
) -> tuple[str, int]:
    """The report page of ``plan_id`` for both exports, and the number of events it covers."""
    events = [event async for event in store.iter_stream(plan_id)]
    if not events:
        raise UnknownPlanError(
            f"no plan '{plan_id}' in the event store: it has no events under that id "
            "(plan ids look like '1804-boligplan-2026')"
        )
    page = render_report(
        events, language=language, generated_at=generated_at, checkpoint=checkpoint
    )
    return page, len(events)


def _write_atomically(out: Path, page: bytes) -> None:
    """A reader of ``out`` sees the old file or the whole new one, never a part."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            # mkstemp makes the file private; a report is for others to read: keep the
            # mode of the file it replaces, or make it readable like any new document.
            mode = stat.S_IMODE(out.stat().st_mode) if out.exists() else 0o644
            os.fchmod(handle.fileno(), mode)
            handle.write(page)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, out)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
