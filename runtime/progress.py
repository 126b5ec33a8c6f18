"""Progress for long command-line work (rich): a bar with the count, the total when known,
the rate and the time taken, on stderr and only when stderr is a terminal. Piped or
redirected, nothing extra is written, so the output stays what scripts read."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

Report = Callable[[int], None]


class _Rate(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self._unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self._unit}/s" if speed else f"- {self._unit}/s")


@contextmanager
def progress(
    description: str,
    total: int | None,
    unit: str = "events",
    *,
    stream: TextIO | None = None,
    transient: bool = False,
) -> Iterator[Report | None]:
    """Yield report(done) to call with the count so far, or None when not on a terminal
    (callers skip the work of counting then)."""
    target = stream or sys.stderr
    if not target.isatty():
        yield None
        return
    columns: list[ProgressColumn | str] = [
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn() if total else TextColumn(f"{{task.completed:,}} {unit}"),
        _Rate(unit),
        TimeElapsedColumn(),
    ]
    # Output printed meanwhile goes above the bar when both are on the screen; redirected
    # to a file, stdout is left alone.
    with Progress(
        *columns,
        console=Console(file=target),
        transient=transient,
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    ) as bar:
        task = bar.add_task(description, total=total)

        def report(done: int) -> None:
            bar.update(task, completed=done)

        yield report
