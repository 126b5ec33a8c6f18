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

The phases and the run are here; the sizes, names and the record in bench/audit_record.py,
what is timed in bench/audit_workloads.py, the table and targets in bench/audit_report.py.
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
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import structlog

from bench.audit_record import (
    BULK_EXPORT,
    BUNDLE_EXPORT,
    EVENTS_PER_STREAM,
    EXPORT,
    EXPORT_EVERY,
    FILES_ONLY,
    FILL_CONCURRENCY,
    MEMORY_SMALL_STREAMS,
    PAGE,
    PLAIN,
    PLAIN_PARSED,
    READS_ONLY,
    SLICES,
    STREAMS,
    SYSTEM_ORDER,
    VERIFY,
    VERIFY_CHUNK,
    WARMUP_STREAMS,
    fill,
)
from bench.audit_report import Measurement, report
from bench.audit_workloads import (
    Exporter,
    Run,
    chunks,
    load_export,
    plain_read,
    verify,
    verify_reads_only,
)
from bench.databases import describe_server, postgres_server, scratch_database
from eventstore.pool import create_pool
from eventstore.store import EventStore

RESULTS = Path(__file__).parent / "results" / "audit.json"


# --------------------------------------------------------------------------- memory


def rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def max_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


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
            results.setdefault(name, Measurement(name)).add_slice(events, seconds)
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


# --------------------------------------------------------------------------- running


async def run(admin_url: str, mode: str, options: argparse.Namespace) -> dict[str, Any]:
    streams = options.streams
    context: dict[str, Any] = {
        "mode": mode,
        "server": await describe_server(admin_url),
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
