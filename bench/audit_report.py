"""The audit benchmark's figures (bench/audit_bench.py): each system summed over its
slices, the ratios to the plain read overall and per slice, and the printed table, memory
and targets."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.audit_record import (
    BULK_EXPORT,
    BULK_FSYNC_POLICY,
    BUNDLE_EXPORT,
    BUNDLE_FSYNC_POLICY,
    EVENTS_PER_STREAM,
    EXPORT,
    EXPORT_TARGET,
    FILES_ONLY,
    FILL_BATCH,
    FILL_CONCURRENCY,
    FSYNC_POLICY,
    MEMORY_TARGET,
    PLAIN,
    PLAIN_PARSED,
    READS_ONLY,
    SYSTEM_ORDER,
    VERIFY,
    VERIFY_CHUNK,
    VERIFY_TARGET,
)
from bench.figures import Ratio, SliceRates, describe_ratio, paired_ratio

# --------------------------------------------------------------------------- results


@dataclass
class Measurement(SliceRates):
    system: str

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "slice_events_per_s": [round(r, 1) for r in self.slice_rates],
        }


def ratio(results: dict[str, Measurement], system: str, reference: str = PLAIN) -> Ratio | None:
    """system / reference (the plain read): overall, and per slice."""
    return paired_ratio(results.get(system), results.get(reference))


# --------------------------------------------------------------------------- report


def report(
    results: dict[str, Measurement], memory: dict[str, Any], context: dict[str, Any]
) -> dict[str, Any]:
    server = context["server"]
    print()
    print(
        f"PostgreSQL {server['version']} via {context['mode']} (fsync={server['fsync']},"
        f" synchronous_commit={server['synchronous_commit']},"
        f" shared_buffers={server['shared_buffers']}), Python {context['python']},"
        f" {context['cpus']} CPUs; {context['wall_seconds']:.0f} s"
    )
    fill = context["fill"]
    print(
        f"fill: {fill['streams']:,} streams x {EVENTS_PER_STREAM} = {fill['events']:,} events"
        f" by EventStore.append ({FILL_BATCH} per append, {FILL_CONCURRENCY} in flight):"
        f" {fill['seconds']:.1f} s, {fill['events_per_s']:,.0f} events/s;"
        f" then VACUUM ANALYZE + CHECKPOINT {fill['settle_seconds']:.1f} s;"
        f" table + indexes {fill['size_mb']:,.0f} MB"
    )
    print()
    header = f"{'system':<30} {'events':>10} {'seconds':>8} {'events/s':>9} {'slices min-max':>17}"
    print(
        f"throughput: {len(next(iter(results.values())).slice_rates)} slices of"
        f" {context['slice_streams']:,} streams, order rotating per slice"
    )
    print(header)
    print("-" * len(header))
    for name in SYSTEM_ORDER:
        m = results.get(name)
        if m is None:
            continue
        spread = f"{min(m.slice_rates):,.0f}-{max(m.slice_rates):,.0f}"
        print(f"{name:<30} {m.events:>10,} {m.seconds:>8.1f} {m.events_per_s:>9,.0f} {spread:>17}")
    print(f"{'verify / plain read':<30} {describe_ratio(ratio(results, VERIFY))}")
    print(f"{'bulk export / plain read':<30} {describe_ratio(ratio(results, BULK_EXPORT))}")
    print(f"{'bundle export / plain read':<30} {describe_ratio(ratio(results, BUNDLE_EXPORT))}")
    print(f"{'per-plan export / plain read':<30} {describe_ratio(ratio(results, EXPORT))}")
    print(f"{'files alone* / plain read':<30} {describe_ratio(ratio(results, FILES_ONLY))}")
    print(f"{'reads* / plain read':<30} {describe_ratio(ratio(results, READS_ONLY))}")
    # Like for like: both read the same streams through verify's one cursor, 200 streams
    # a call; what verify adds is the hashing (and decoding a jsonb the server did not
    # confirm), which is what this ratio shows.
    print(f"{'verify / its own reads*':<30} {describe_ratio(ratio(results, VERIFY, READS_ONLY))}")
    against_parsed = describe_ratio(ratio(results, VERIFY, PLAIN_PARSED))
    print(f"{'verify / read + json.loads*':<30} {against_parsed}")
    if context.get("export_note"):
        print(f"export: {context['export_note']}")
    print(
        f"* diagnoses, no target: verify_streams' reading alone (its page reader), on the"
        f" first {VERIFY_CHUNK} streams of each slice, rows decoded, nothing hashed; the plain"
        " read with each row's data parsed by json.loads, as any reader of the data does;"
        " the export's files alone (as many, of the same sizes, created, written, synced and"
        " renamed as the bulk export does, nothing read): the most an export can reach."
    )
    print()

    rss, traced = memory["rss"], memory["tracemalloc"]
    after = rss["rss_after_verify_slices_mb"]
    print(
        f"memory, RSS: {rss['rss_before_mb']:.1f} MB before the timed slices,"
        f" {after[0]:.1f} MB after the first verify slice, {after[-1]:.1f} MB after the last"
        f" (max {max(after):.1f}); peak RSS (ru_maxrss) {rss['ru_maxrss_before_mb']:.1f} MB"
        f" before, {rss['ru_maxrss_after_mb']:.1f} MB after all {len(after)} slices"
    )
    small, whole = traced["small"], traced["all"]
    print(
        f"memory, tracemalloc (one verify of every stream, {VERIFY_CHUNK} per call,"
        f" {traced['seconds']:.0f} s traced): peak above start"
        f" {small['peak_above_start_mb']:.2f} MB after {small['events']:,} events,"
        f" {whole['peak_above_start_mb']:.2f} MB after {whole['events']:,};"
        f" held at the end {whole['now_above_start_mb']:.2f} MB"
    )
    print()

    targets = []
    found = ratio(results, VERIFY)
    achieved = statistics.median(found[1]) if found else 0.0
    overall = found[0] if found else 0.0
    passed = achieved >= VERIFY_TARGET
    targets.append(
        {
            "target": "verify / plain read events/s",
            "minimum": VERIFY_TARGET,
            "achieved_per_slice_median": round(achieved, 3),
            "overall": round(overall, 3),
            "pass": passed,
        }
    )
    print(
        f"{'PASS' if passed else 'MISS'}  verify / plain read = {achieved:.3f}x per-slice median,"
        f" {overall:.3f}x overall (target >= {VERIFY_TARGET}x)"
    )
    for system, policy in (
        (BULK_EXPORT, BULK_FSYNC_POLICY),
        (BUNDLE_EXPORT, BUNDLE_FSYNC_POLICY),
        (EXPORT, FSYNC_POLICY),
    ):
        exported = ratio(results, system)
        if not exported:
            continue
        achieved = statistics.median(exported[1])
        passed = achieved >= EXPORT_TARGET
        targets.append(
            {
                "target": f"{system} (JSON lines) / plain read events/s",
                "minimum": EXPORT_TARGET,
                "achieved_per_slice_median": round(achieved, 3),
                "overall": round(exported[0], 3),
                "fsync": policy,
                "pass": passed,
            }
        )
        print(
            f"{'PASS' if passed else 'MISS'}  {system} / plain read = {achieved:.3f}x per-slice"
            f" median, {exported[0]:.3f}x overall (target >= {EXPORT_TARGET}x; fsync:"
            f" {policy})"
        )
    growth = whole["peak_above_start_mb"] / max(small["peak_above_start_mb"], 1e-9)
    passed = growth <= MEMORY_TARGET
    targets.append(
        {
            "target": "tracemalloc peak, 1M events / 100k events",
            "maximum": MEMORY_TARGET,
            "achieved": round(growth, 3),
            "pass": passed,
        }
    )
    print(
        f"{'PASS' if passed else 'MISS'}  flat memory: tracemalloc peak at"
        f" {whole['events']:,} events / at {small['events']:,} = {growth:.2f}x"
        f" (target <= {MEMORY_TARGET}x)"
    )
    return {
        **context,
        "results": [results[name].as_json() for name in SYSTEM_ORDER if name in results],
        "ratios": {
            "verify_over_plain": (ratio(results, VERIFY) or (None,))[0],
            "export_over_plain": (ratio(results, EXPORT) or (None,))[0],
            "bulk_export_over_plain": (ratio(results, BULK_EXPORT) or (None,))[0],
            "bundle_export_over_plain": (ratio(results, BUNDLE_EXPORT) or (None,))[0],
            "files_alone_over_plain": (ratio(results, FILES_ONLY) or (None,))[0],
            "verify_reads_only_over_plain": (ratio(results, READS_ONLY) or (None,))[0],
            "verify_over_its_reads": (ratio(results, VERIFY, READS_ONLY) or (None,))[0],
            "verify_over_plain_parsed": (ratio(results, VERIFY, PLAIN_PARSED) or (None,))[0],
        },
        "memory": memory,
        "targets": targets,
    }
