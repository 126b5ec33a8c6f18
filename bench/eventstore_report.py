"""The event store benchmark's figures (bench/eventstore_bench.py): each (workload,
system) summed over its slices, the ratios overall and per slice, the printed table and
targets, and the median over several runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from bench.eventstore_workload import (
    BACKGROUND,
    CHAIN_ONLY,
    CHECKPOINT_INTERVAL,
    LIBRARY,
    OURS,
    OURS_PER_STREAM,
    OURS_RECEIPTS,
    RAW,
    SYSTEM_ORDER,
    TARGETS,
    WORKLOADS,
    Latencies,
)
from bench.figures import Ratio, SliceRates, describe_ratio, paired_ratio


@dataclass
class Measurement(SliceRates):
    """One (workload, system), summed over all slices of all passes."""

    workload: str
    system: str
    latencies_ms: Latencies = field(default_factory=list, repr=False)

    def add(self, events: int, seconds: float, latencies_ms: Latencies) -> None:
        self.add_slice(events, seconds)
        self.latencies_ms += latencies_ms

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[p - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "description": WORKLOADS[self.workload],
            "system": self.system,
            "events": self.events,
            "calls": len(self.latencies_ms),
            "seconds": round(self.seconds, 4),
            "events_per_s": round(self.events_per_s, 1),
            "p50_ms": round(self.percentile(50), 3),
            "p99_ms": round(self.percentile(99), 3),
            "slice_events_per_s": [round(r, 1) for r in self.slice_rates],
        }


# --------------------------------------------------------------------------- report


def ratio(
    results: dict[tuple[str, str], Measurement],
    workload: str,
    reference: str,
    system: str = OURS,
) -> Ratio | None:
    """system/reference events/s overall, and per slice."""
    return paired_ratio(results.get((workload, system)), results.get((workload, reference)))


def report(results: dict[tuple[str, str], Measurement], context: dict[str, Any]) -> dict[str, Any]:
    server = context["server"]
    print()
    print(
        f"PostgreSQL {server['version']} via {context['mode']} (fsync={server['fsync']},"
        f" synchronous_commit={server['synchronous_commit']}), Python {context['python']},"
        f" {context['cpus']} CPUs; {context['passes']} passes, systems interleaved by slice,"
        f" {context['wall_seconds']:.0f} s"
    )
    header = (
        f"{'workload':<34} {'system':<25} {'events/s':>9} {'slices min-max':>16}"
        f" {'p50 ms':>7} {'p99 ms':>7}"
    )
    print(header)
    print("-" * len(header))
    rows = []
    for key, title in WORKLOADS.items():
        if not any(workload == key for workload, _ in results):
            continue  # not run (--workloads)
        for system in SYSTEM_ORDER:
            m = results.get((key, system))
            if m is None:
                continue
            rows.append(m.as_json())
            spread = f"{min(m.slice_rates):,.0f}-{max(m.slice_rates):,.0f}"
            print(
                f"{title:<34} {m.system:<25} {m.events_per_s:>9,.0f} {spread:>16}"
                f" {m.percentile(50):>7.2f} {m.percentile(99):>7.2f}"
            )
        print(
            f"{'':<34} {'ours / eventsourcing':<25} {describe_ratio(ratio(results, key, LIBRARY))}"
        )
        print(f"{'':<34} {'ours / raw floor':<25} {describe_ratio(ratio(results, key, RAW))}")
        if key != "c":
            print(
                f"{'':<34} {'chain only / raw floor':<25} "
                f"{describe_ratio(ratio(results, key, RAW, CHAIN_ONLY))}"
            )
            print(
                f"{'':<34} {'ours / chain only':<25} "
                f"{describe_ratio(ratio(results, key, CHAIN_ONLY))}"
            )
            # What a person's receipt adds to an append: the look-up of its leaves,
            # which runs the sequencer (no target; the append's are above).
            print(
                f"{'':<34} {'+ receipt / eventsourcing':<25} "
                f"{describe_ratio(ratio(results, key, LIBRARY, OURS_RECEIPTS))}"
            )
            # The most any append into this table could reach against the library: the
            # floor's own ratio to it, in the same slices.
            print(
                f"{'':<34} {'raw floor / eventsourcing':<25} "
                f"{describe_ratio(ratio(results, key, LIBRARY, RAW))}"
            )
    print(f"* {OURS_PER_STREAM}: diagnosis only (one stream per call); no target.")
    leaves = max(BACKGROUND["leaves"], 1)
    print(
        f"Checkpointer beside the appends: {int(BACKGROUND['rounds'])} rounds, "
        f"{BACKGROUND['seconds']:.2f} s building the tree and signing, "
        f"{BACKGROUND['seconds'] / leaves * 1e6:.1f} us per leaf of {int(leaves):,}"
    )
    print()
    targets = []
    for workload, system, reference, minimum in TARGETS:
        found = ratio(results, workload, reference, system)
        if found is None:
            continue  # the workload was not run
        overall = found[0]
        achieved = statistics.median(found[1])
        passed = achieved >= minimum
        targets.append(
            {
                "workload": workload,
                "system": system,
                "reference": reference,
                "minimum": minimum,
                "achieved_per_slice_median": round(achieved, 3),
                "overall": round(overall, 3),
                "pass": passed,
            }
        )
        print(
            f"{'PASS' if passed else 'MISS'}  {WORKLOADS[workload]}: {system} / {reference}"
            f" = {achieved:.3f}x per-slice median, {overall:.3f}x overall"
            f" (target >= {minimum}x)"
        )
    return {
        **context,
        "results": rows,
        "ratios": {
            key: {
                "ours_over_eventsourcing": (ratio(results, key, LIBRARY) or (None,))[0],
                "ours_over_raw_floor": (ratio(results, key, RAW) or (None,))[0],
            }
            for key in WORKLOADS
            if any(workload == key for workload, _ in results)
        },
        "targets": targets,
        "checkpointer": {**BACKGROUND, "interval_s": CHECKPOINT_INTERVAL},
    }


def summary(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target over all runs: every run's per-slice median and the median of those,
    which is what a target is judged on when the bench runs more than once."""
    print(f"\nMedian of {len(documents)} runs (each run: the median of its per-slice ratios)")
    for number, document in enumerate(documents, start=1):
        print(
            f"  run {number}: load average {document['load_average_before'][0]:.2f} before,"
            f" {document['load_average_after'][0]:.2f} after, {document['wall_seconds']:.0f} s"
        )
    combined = []
    for index, first in enumerate(documents[0]["targets"]):
        per_run = [d["targets"][index]["achieved_per_slice_median"] for d in documents]
        median = statistics.median(per_run)
        passed = median >= first["minimum"]
        combined.append({**first, "per_run": per_run, "median_of_runs": median, "pass": passed})
        runs = ", ".join(f"{x:.2f}x" for x in per_run)
        print(
            f"{'PASS' if passed else 'MISS'}  {WORKLOADS[first['workload']]}: {first['system']}"
            f" / {first['reference']} = {median:.2f}x ({runs}; target >= {first['minimum']}x)"
        )
    return combined
