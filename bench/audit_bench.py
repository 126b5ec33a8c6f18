"""Audit benchmark: ``verify`` and ``export`` over one million events in 10,000 plans,
next to a plain sequential read of the same rows in the same run, and verify's memory.

    python -m bench.audit_bench          (what `make bench` runs)

PostgreSQL is ``DATABASE_URL`` when set, otherwise an embedded pgserver in a temporary
directory. One scratch database (created and migrated here, dropped WITH (FORCE) at the
end) is filled through ``EventStore.append`` with 10,000 streams x 100 events, valid hash
chains, a sign-off payload of eight fields with Norwegian text: one append of 100 events
per stream, FILL_CONCURRENCY appends in flight over a pool of as many connections. Then
VACUUM (ANALYZE) and a CHECKPOINT, so no reader pays for hint bits or dirty buffers.
Events of one append share their recorded_at, so verify formats one timestamp per
stream here; in a real plan most events have one of their own.

Measured, one client, every call awaited before the next:

1. plain read: ``SELECT stream_id, <the record's columns> FROM events ORDER BY
   stream_id, version`` in keyset pages of 2,000 rows (verify's page size), rows decoded
   by asyncpg, no JSON parsing and no hashing: the floor for anything that reads the
   record (the columns verify read before migration 0003: every field the hash covers,
   data as text from its jsonb, as the store's readers and the export read it);
2. verify: ``EventStore.verify_streams`` over 200 streams per call (what
   ``temaplan verify --all`` does), every result checked (intact, 100 events);
3. export: ``audit.export.export_jsonl`` per plan into a temporary directory (imported
   lazily: when the module is missing this row is skipped, and said so). It writes and
   fsyncs two files per plan, so every EXPORT_EVERY-th plan of each slice is exported
   (2,000 plans, 200,000 events), to keep the run within minutes; the files are counted
   (100 lines each) and removed after each slice, untimed. Beside it the bulk export,
   ``audit.export.export_jsonl_all`` (``temaplan audit export --all``), of the same
   plans: the same files, from one cursor, synced once; and the bulk export as one tar
   file, ``audit.export_bundle.export_jsonl_bundle`` (``audit export --all --bundle``):
   the same files as its members, byte for byte, one file created and fsynced.

Two diagnoses, marked * and without a target: verify's reading alone (the store's page
reader, EventStore._pages_of, on the first 200 streams of each slice, nothing hashed), to
tell the database's part of verify from the hashing; and the plain read with each row's
data parsed by json.loads, which any reader that uses the data pays.

Method. The machine is shared and its speed drifts, so the systems are not run one
after the other: the 10,000 streams (in the database's order) are cut into SLICES slices
of 1,000 and every slice runs every system in turn, the order rotating from slice to
slice. A ratio is given overall (all events over all measured time) and per slice (two
rates seconds apart); the target is judged on the median of the per-slice ratios, the
paired estimate, which a burst of load on the machine moves least. The plain read and
verify read every row once; the table (about 850 MB with its indexes) is far beyond
shared_buffers, so all get their rows from the OS page cache alike. Each is warmed up
once, untimed, on a few streams first.

Flat memory: RSS before the timed slices and after every verify slice, and the peak RSS
(ru_maxrss) before and after them; then one verify of all 1,000,000 events (200 streams
per call) under tracemalloc, whose peak above its starting point is read after the
first 100,000 events and at the end: flat means the two are about equal (target: within
1.5x). Tracing slows verify down about threefold, which is why it runs apart.

Targets: verify at least 0.5x the plain read's events/s; the bulk export (into a directory,
and as one tar file) at least 0.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import structlog

from bench.audit_record import (
    BULK_EXPORT,
    BULK_FSYNC_POLICY,
    BUNDLE_EXPORT,
    BUNDLE_FSYNC_POLICY,
    EVENTS_PER_STREAM,
    EXPORT,
    EXPORT_EVERY,
    EXPORT_TARGET,
    FILES_ONLY,
    FILL_BATCH,
    FILL_CONCURRENCY,
    FSYNC_POLICY,
    MEMORY_SMALL_STREAMS,
    MEMORY_TARGET,
    PAGE,
    PLAIN,
    PLAIN_PARSED,
    READS_ONLY,
    SLICES,
    STREAMS,
    SYSTEM_ORDER,
    VERIFY,
    VERIFY_CHUNK,
    VERIFY_TARGET,
    WARMUP_STREAMS,
    fill,
)
from bench.audit_workloads import (
    Exporter,
    Run,
    chunks,
    load_export,
    plain_read,
    verify,
    verify_reads_only,
)
from bench.databases import postgres_server, scratch_database
from eventstore.pool import create_pool
from eventstore.store import EventStore

RESULTS = Path(__file__).parent / "results" / "audit.json"


# --------------------------------------------------------------------------- databases


async def describe(admin_url: str) -> dict[str, str]:
    admin = await asyncpg.connect(admin_url)
    try:
        row = await admin.fetchrow(
            "SELECT current_setting('server_version') AS version,"
            " current_setting('fsync') AS fsync,"
            " current_setting('synchronous_commit') AS synchronous_commit,"
            " current_setting('shared_buffers') AS shared_buffers"
        )
    finally:
        await admin.close()
    return dict(row.items()) if row else {}


# --------------------------------------------------------------------------- memory


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


# --------------------------------------------------------------------------- results


@dataclass
class Measurement:
    system: str
    events: int = 0
    seconds: float = 0.0
    slice_rates: list[float] = field(default_factory=list)

    def add(self, events: int, seconds: float) -> None:
        self.events += events
        self.seconds += seconds
        self.slice_rates.append(events / seconds)

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "slice_events_per_s": [round(r, 1) for r in self.slice_rates],
        }


def ratio(
    results: dict[str, Measurement], system: str, reference: str = PLAIN
) -> tuple[float, list[float]] | None:
    """system / reference (the plain read): overall, and per slice."""
    ours, plain = results.get(system), results.get(reference)
    if ours is None or plain is None:
        return None
    per_slice = [a / b for a, b in zip(ours.slice_rates, plain.slice_rates, strict=True)]
    return ours.events_per_s / plain.events_per_s, per_slice


def describe_ratio(found: tuple[float, list[float]] | None) -> str:
    if found is None:
        return "n/a"
    overall, per_slice = found
    return (
        f"{overall:.2f}x  (per slice: median {statistics.median(per_slice):.2f}x,"
        f" {min(per_slice):.2f}-{max(per_slice):.2f}x)"
    )


# --------------------------------------------------------------------------- phases


async def measure_memory(store: EventStore, ids: list[str], small: int) -> dict[str, Any]:
    """One verify of every stream under tracemalloc, 200 streams per call: the peak of
    traced memory above its start over the first ``small`` streams, and over all."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        events = 0
        peaks: dict[str, dict[str, Any]] = {}
        t0 = time.perf_counter()
        for done, chunk in enumerate(chunks(ids, VERIFY_CHUNK), start=1):
            events += await verify(store, chunk)
            current, peak = tracemalloc.get_traced_memory()
            reading = {
                "events": events,
                "peak_above_start_mb": round((peak - start) / 2**20, 3),
                "now_above_start_mb": round((current - start) / 2**20, 3),
            }
            if done * VERIFY_CHUNK >= small and "small" not in peaks:
                peaks["small"] = reading
        peaks["all"] = reading
        seconds = time.perf_counter() - t0
    finally:
        tracemalloc.stop()
    print(f"  traced verify of {events:,} events: {seconds:.1f} s", file=sys.stderr)
    return {**peaks, "seconds": round(seconds, 1)}


async def measure_throughput(
    systems: dict[str, Run], slices: Sequence[Sequence[str]], after_slice: Callable[[], None]
) -> tuple[dict[str, Measurement], dict[str, Any]]:
    """Every slice runs every system, the order rotating. RSS is read before the first
    slice and after every verify slice; the process's peak RSS before and after."""
    results: dict[str, Measurement] = {}
    names = list(systems)
    gc.collect()
    rss_before, max_before = rss_mb(), max_rss_mb()
    after_verify: list[float] = []
    for index, streams in enumerate(slices):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            t0 = time.perf_counter()
            events = await systems[name](streams)
            seconds = time.perf_counter() - t0
            results.setdefault(name, Measurement(name)).add(events, seconds)
            if name == VERIFY:
                after_verify.append(rss_mb())
        after_slice()
        line = "  ".join(
            f"{name} {results[name].slice_rates[-1]:,.0f}/s"
            for name in SYSTEM_ORDER
            if name in results
        )
        print(f"  slice {index + 1}/{len(slices)}: {line}", file=sys.stderr)
    rss = {
        "rss_before_mb": round(rss_before, 1),
        "rss_after_verify_slices_mb": [round(r, 1) for r in after_verify],
        "ru_maxrss_before_mb": round(max_before, 1),
        "ru_maxrss_after_mb": round(max_rss_mb(), 1),
    }
    return results, rss


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


# --------------------------------------------------------------------------- running


async def run(admin_url: str, mode: str, options: argparse.Namespace) -> dict[str, Any]:
    streams = options.streams
    context: dict[str, Any] = {
        "mode": mode,
        "server": await describe(admin_url),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "slice_streams": streams // SLICES,
        "verify_chunk_streams": VERIFY_CHUNK,
        "page_rows": PAGE,
    }
    started = time.perf_counter()
    export_jsonl, why_not = load_export()
    async with scratch_database(admin_url, "audit") as url:
        pool = await create_pool(url, min_size=FILL_CONCURRENCY, max_size=FILL_CONCURRENCY)
        try:
            store = EventStore(pool)
            t0 = time.perf_counter()
            await fill(store, streams)
            fill_seconds = time.perf_counter() - t0
            print(f"  fill: {fill_seconds:.1f} s", file=sys.stderr)
            t0 = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.execute("VACUUM (ANALYZE) events")
                await conn.execute("CHECKPOINT")
                size = await conn.fetchval("SELECT pg_total_relation_size('events')")
                count = await conn.fetchval("SELECT count(*) FROM events")
            if count != streams * EVENTS_PER_STREAM:
                raise RuntimeError(f"{count} events stored, {streams * EVENTS_PER_STREAM} expected")
            context["fill"] = {
                "streams": streams,
                "events": count,
                "seconds": round(fill_seconds, 2),
                "events_per_s": round(count / fill_seconds, 1),
                "settle_seconds": round(time.perf_counter() - t0, 2),
                "size_mb": round(size / 2**20, 1),
            }
            ids = await store.stream_ids()  # the database's order: slices are key ranges
            if len(ids) != streams:
                raise RuntimeError(f"{len(ids)} streams stored, {streams} expected")

            with tempfile.TemporaryDirectory(prefix="temaplan-audit-bench-") as tmp:
                systems: dict[str, Run] = {
                    PLAIN: lambda s: plain_read(pool, s),
                    VERIFY: lambda s: verify(store, s),
                    PLAIN_PARSED: lambda s: plain_read(pool, s, parse=True),
                }
                if hasattr(store, "_pages_of"):  # the diagnosis needs the page reader
                    systems[READS_ONLY] = lambda s: verify_reads_only(store, s)
                exporter = None
                if export_jsonl is not None:
                    exporter = Exporter(store, export_jsonl, Path(tmp), options.export_every)
                    systems[EXPORT] = exporter.run
                    systems[BULK_EXPORT] = exporter.bulk
                    systems[BUNDLE_EXPORT] = exporter.bundle
                    systems[FILES_ONLY] = exporter.files_only
                    context["export_note"] = (
                        "every plan"
                        if options.export_every == 1
                        else f"a sample: every {options.export_every}th plan of each slice,"
                        f" {streams // options.export_every:,} plans in all"
                    )
                else:
                    context["export_note"] = f"skipped: {why_not}"
                context["export_every"] = options.export_every

                warm = ids[-WARMUP_STREAMS:]
                for run_warm in systems.values():
                    await run_warm(warm)
                if exporter is not None:
                    exporter.check_and_clear()

                per = streams // SLICES
                slices = [ids[i * per : (i + 1) * per] for i in range(SLICES)]
                results, rss = await measure_throughput(
                    systems,
                    slices,
                    exporter.check_and_clear if exporter is not None else lambda: None,
                )
                traced = await measure_memory(store, ids, min(MEMORY_SMALL_STREAMS, streams))
                memory = {"rss": rss, "tracemalloc": traced}
                if exporter is not None:
                    context["export_manifest_example"] = exporter.manifest_example
        finally:
            await pool.close()
    context["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report(results, memory, context)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit_bench",
        description="verify and export over 1,000,000 events beside a plain read.",
    )
    parser.add_argument(
        "--streams", type=int, default=STREAMS, help="plans (100 events each); a multiple of 10"
    )
    parser.add_argument(
        "--export-every", type=int, default=EXPORT_EVERY, help="export every k-th plan"
    )
    options = parser.parse_args(argv)
    if options.streams % SLICES or options.streams < SLICES:
        parser.error(f"--streams must be a positive multiple of {SLICES}")
    # Migration log lines would interleave with the table.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with postgres_server() as (admin_url, mode):
        document = asyncio.run(run(admin_url, mode, options))
    if options.streams == STREAMS:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwritten to {RESULTS}")
    else:
        print(f"\n{options.streams:,} streams, not the full run: {RESULTS} left as it was")


if __name__ == "__main__":
    main()
