"""The report's timeline figure: the phases as bars over the plan's time, its decisions
as marks (laid out by documents/templates/report_timeline.svg)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.report_text import _MARKED, _PHASE_COLOURS, _RULINGS, _describe, _Text
from catalogue import formats as fmt
from domain.events import (
    Event,
    PhaseStarted,
    PlanAdopted,
)
from domain.phases import Phase
from eventstore.records import StoredEvent
from runtime.formatting import OSLO


@dataclass
class _PhaseRun:
    phase: Phase
    round: int
    start: datetime
    end: datetime | None = None
    reason: str = ""
    marks: list[tuple[int, Event]] = field(default_factory=list)


def _phase_runs(stored: Sequence[StoredEvent], events: Sequence[Event]) -> list[_PhaseRun]:
    runs: list[_PhaseRun] = []
    seen: dict[Phase, int] = {}
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, PhaseStarted):
            if runs:
                runs[-1].end = event.occurred_at
            seen[event.phase] = seen.get(event.phase, 0) + 1
            runs.append(
                _PhaseRun(event.phase, seen[event.phase], event.occurred_at, reason=event.reason)
            )
        elif runs and event.type in _MARKED:
            runs[-1].marks.append((record.version, event))
            if isinstance(event, PlanAdopted):
                runs[-1].end = event.occurred_at
    return runs


def _axis_ticks(start: datetime, end: datetime) -> tuple[list[datetime], str]:
    """Round tick moments between start and end (UTC), at most about eight of them,
    and the strftime format that labels them."""
    span = (end - start).total_seconds()
    steps = (
        (60, "%H:%M"),
        (300, "%H:%M"),
        (900, "%H:%M"),
        (3600, "%H:%M"),
        (6 * 3600, "%d.%m %H:%M"),
        (86400, "DAY"),
        (7 * 86400, "DAY"),
        (14 * 86400, "DAY"),
        (28 * 86400, "DAY"),
        (91 * 86400, "DAY"),
        (365 * 86400, "DAY"),
    )
    step, fmt = steps[-1]
    for seconds, label in steps:
        if span / seconds <= 8:
            step, fmt = seconds, label
            break
    local_start = start.astimezone(OSLO)
    if step >= 86400:
        # Ticks at Oslo midnight, weekly ones on Mondays.
        first = local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        if step % (7 * 86400) == 0:
            first -= timedelta(days=first.weekday())
        if first < local_start:
            first += timedelta(seconds=step)
    else:
        epoch = int(start.timestamp())
        first = datetime.fromtimestamp(epoch - epoch % step + step, tz=UTC).astimezone(OSLO)
    ticks: list[datetime] = []
    moment = first
    while moment <= end and len(ticks) < 16:
        ticks.append(moment)
        if step >= 86400:  # whole days on the Oslo calendar, over summer time changes
            moment = (moment.replace(tzinfo=None) + timedelta(seconds=step)).replace(tzinfo=OSLO)
        else:  # elapsed time
            moment = (moment.astimezone(UTC) + timedelta(seconds=step)).astimezone(OSLO)
    return ticks, fmt


def _timeline(text: _Text, title: str, runs: list[_PhaseRun], last: datetime) -> dict[str, Any]:
    """The timeline figure's geometry and words; templates/report_timeline.svg draws it."""
    width, label_w, right = 800, 150, 16
    row_h, bar_y, bar_h, top = 46, 6, 16, 8
    x0, x1 = label_w, width - right
    start = runs[0].start
    end = max(last, start + timedelta(minutes=1))
    total = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return x0 + (x1 - x0) * (at - start).total_seconds() / total

    axis_y = top + row_h * len(runs) + 4
    ticks, tick_format = _axis_ticks(start, end)
    tick_rows = [
        {
            "x": x(tick),
            "label": fmt.short_day(tick, text.language)
            if tick_format == "DAY"
            else fmt.clock(tick, text.language)
            if tick_format == "%H:%M"
            else f"{fmt.short_day(tick, text.language)[:5]} {fmt.clock(tick, text.language)}",
        }
        for tick in ticks
    ]
    rows: list[dict[str, Any]] = []
    described: list[str] = []
    for index, run in enumerate(runs):
        y = top + index * row_h
        run_end = run.end or last
        bx = x(run.start)
        bw = max(x(run_end) - bx, 3.0)
        name = text.phase(run.phase)
        if run.round > 1:
            name += f" ({text.raw('round', n=run.round)})"
        span = text.span(run.start, run_end)
        duration = text.duration(run_end - run.start)
        if run.end is None:
            duration += f", {text.raw('ongoing')}"
        described.append(
            text.raw(
                "timeline_desc_phase",
                phase=name,
                start=text.moment(run.start),
                end=text.moment(run_end),
                duration=duration,
                count=len(run.marks),
            )
        )
        # The dates under the bar: from its start when they fit, else ending at the axis end.
        dates = f"{span} · {duration}"
        anchor, dates_x = ("start", bx) if bx + len(dates) * 6.2 <= x1 else ("end", float(x1))
        marks = [
            {
                "x": x(event.occurred_at),
                "ruling": event.type in _RULINGS,
                "tip": f"v{version} · {text.moment(event.occurred_at)} · {_describe(text, event)}",
            }
            for version, event in run.marks
        ]
        rows.append(
            {
                "phase": run.phase.value,
                "name": name,
                "y": y + bar_y,
                "bx": bx,
                "bw": bw,
                "colour": _PHASE_COLOURS[run.phase],
                "tip": f"{name}: {span} ({duration})",
                "dates": dates,
                "dates_x": dates_x,
                "anchor": anchor,
                "marks": marks,
            }
        )
    return {
        "width": width,
        "height": axis_y + 26 + 30,
        "x0": x0,
        "x1": x1,
        "top": top,
        "axis_y": axis_y,
        "bar_h": bar_h,
        "ticks": tick_rows,
        "rows": rows,
        "legend_y": axis_y + 44,
        "title": text.raw("timeline_title", title=title),
        "desc": text.raw("timeline_desc", phases="; ".join(described)),
    }
