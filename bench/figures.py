"""Figures shared by the benchmarks that run their systems slice by slice, in turn
(bench/eventstore_bench.py, bench/audit_bench.py): a ratio of two systems' events/s
overall and per slice (two rates seconds apart, the paired estimate a target is judged
on), and how it is printed."""

from __future__ import annotations

import statistics
from typing import Protocol

Ratio = tuple[float, list[float]]


class Rates(Protocol):
    """A system's events/s over all its slices, and each slice's."""

    @property
    def events_per_s(self) -> float: ...

    @property
    def slice_rates(self) -> list[float]: ...


def paired_ratio(system: Rates | None, reference: Rates | None) -> Ratio | None:
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
