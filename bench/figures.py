"""Figures shared by the benchmarks that run their systems slice by slice, in turn
(bench/eventstore_bench.py, bench/audit_bench.py): a system's events and seconds summed
over its slices with each slice's rate, a ratio of two systems' events/s overall and per
slice (two rates seconds apart, the paired estimate a target is judged on), and how it
is printed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

Ratio = tuple[float, list[float]]


@dataclass
class SliceRates:
    """A system's events and seconds summed over all its slices, and each slice's
    events/s. A benchmark's measurement adds what it names the system by."""

    events: int = field(default=0, kw_only=True)
    seconds: float = field(default=0.0, kw_only=True)
    slice_rates: list[float] = field(default_factory=list, kw_only=True, repr=False)

    def add_slice(self, events: int, seconds: float) -> None:
        self.events += events
        self.seconds += seconds
        self.slice_rates.append(events / seconds)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds


def paired_ratio(system: SliceRates | None, reference: SliceRates | None) -> Ratio | None:
    """system / reference events/s: overall, and per slice; None when either did not run."""
    if system is None or reference is None:
        return None
    per_slice = [a / b for a, b in zip(system.slice_rates, reference.slice_rates, strict=True)]
    return system.events_per_s / reference.events_per_s, per_slice


def describe_ratio(found: Ratio | None) -> str:
    if found is None:
        return "n/a"
    overall, per_slice = found
    return (
        f"{overall:.2f}x  (per slice: median {statistics.median(per_slice):.2f}x,"
        f" {min(per_slice):.2f}-{max(per_slice):.2f}x)"
    )
