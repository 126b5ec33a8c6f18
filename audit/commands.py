"""`temaplan audit ...`: what auditors run. Read-only; each returns the exit status.

The commands live by job in state_command, verify_command and export_command; this module
keeps `audit history` and names them all for the command line and the API.
"""

from __future__ import annotations

import sys
from typing import TextIO

from audit import history as hist
from audit.export_command import export, export_all
from audit.state_command import awaited_line, record_problems, show_state, state_at
from audit.verify_command import plan_histories, replay, verify, writer_workflow_ids
from catalogue import Language
from eventstore import EventStore

__all__ = [
    "awaited_line",
    "export",
    "export_all",
    "plan_histories",
    "record_problems",
    "replay",
    "show_history",
    "show_state",
    "state_at",
    "verify",
    "writer_workflow_ids",
]


async def show_history(
    store: EventStore,
    plan_id: str,
    where: hist.HistoryFilter,
    as_json: bool,
    out: TextIO | None = None,
    *,
    language: Language = "nb",
) -> int:
    out = out or sys.stdout
    printed = 0
    async for row, event in hist.filtered_events(store.iter_stream(plan_id), where):
        if not printed and not as_json:
            print(hist.header(language), file=out)
        line = hist.as_json_line(row) if as_json else hist.table_line(row, event, language)
        print(line, file=out)
        printed += 1
    if not printed:
        if not (await store.head(plan_id))[0]:
            print(f"no events for plan '{plan_id}'", file=sys.stderr)
            return 1
        print("no events match the filters", file=sys.stderr)
    return 0
