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
Number = Callable[[float], str]


def _plain(value: float) -> str:
    return f"{value:,.0f}"


class _Counted(ProgressColumn):
    """A column that shows a number of ``unit``, written as ``number`` writes it."""

    def __init__(self, unit: str, number: Number) -> None:
        super().__init__()
        self._unit = unit
        self._number = number


class _Rate(_Counted):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{self._number(speed)} {self._unit}/s" if speed else f"- {self._unit}/s")


class _Count(_Counted):
    """The count so far, for work whose total is not known."""

    def render(self, task: Task) -> Text:
        return Text(f"{self._number(task.completed)} {self._unit}")


@contextmanager
def progress(
    description: str,
    total: int | None,
    unit: str = "events",
    *,
    stream: TextIO | None = None,
    transient: bool = False,
    number: Number = _plain,
) -> Iterator[Report | None]:
    """Yield report(done) to call with the count so far, or None when not on a terminal
    (callers skip the work of counting then). ``description`` and ``unit`` are in the
    reader's language, and ``number`` writes the counts and the rate as it does."""
    target = stream or sys.stderr
    if not target.isatty():
        yield None
        return
    columns: list[ProgressColumn | str] = [
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn() if total else _Count(unit, number),
        _Rate(unit, number),
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
