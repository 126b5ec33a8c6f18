"""The audit benchmark's ground (bench/audit_bench.py): its sizes, targets and system
names, the plain read's statement, and the record it fills: 10,000 plans of 100
sign-offs each, appended through the store."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from eventstore.records import NewEvent
from eventstore.store import EventStore

STREAMS = 10_000
EVENTS_PER_STREAM = 100  # 1,000,000 events
FILL_BATCH = 100  # events per append: one append per stream
FILL_CONCURRENCY = 6  # appends in flight, over a pool of as many connections
SLICES = 10  # of 1,000 streams, 100,000 events each
VERIFY_CHUNK = 200  # streams per verify_streams call
PAGE = 2_000  # rows per page of the plain read (verify's own page size)
EXPORT_EVERY = 5  # export every k-th plan of each slice (2,000 plans); 1 = every plan
MEMORY_SMALL_STREAMS = 1_000  # 100,000 events, against all 1,000,000
WARMUP_STREAMS = 20

VERIFY_TARGET = 0.5  # verify / plain read, events/s
EXPORT_TARGET = 0.3  # export (JSON lines) / plain read, events/s
# What an export does to the disk: each plan's lines and manifest are written under
# temporary names, each file fsynced, then renamed into place (the directory itself is
# not fsynced): an export that returned is on disk, one that failed left nothing.
FSYNC_POLICY = "two files per plan, each fsynced before its rename; the directory is not fsynced"
# The bulk export (`temaplan audit export --all`) the same files for many plans: written
# under temporary names, one syncfs of their file system when all are written, the
# renames, then one fsync of the directory.
BULK_FSYNC_POLICY = (
    "all files written, one syncfs of the file system, then renamed; the directory fsynced"
)
# The bulk export as one tar file (`audit export --all --bundle`): written under a
# temporary name, fsynced, renamed, then the directory fsynced.
BUNDLE_FSYNC_POLICY = "one tar file: fsynced, then renamed; the directory fsynced"
MEMORY_TARGET = 1.5  # tracemalloc peak at 1M / at 100k

PLAIN = "plain read (keyset, decode)"
VERIFY = "verify_streams"
EXPORT = "export_jsonl per plan"
BULK_EXPORT = "export_jsonl_all"
BUNDLE_EXPORT = "export_jsonl_bundle (one tar)"
READS_ONLY = "verify's reads, no hashing*"
PLAIN_PARSED = "plain read + json.loads*"
FILES_ONLY = "export's files alone*"
SYSTEM_ORDER = [
    PLAIN,
    VERIFY,
    BULK_EXPORT,
    BUNDLE_EXPORT,
    EXPORT,
    FILES_ONLY,
    READS_ONLY,
    PLAIN_PARSED,
]

# The record as readers read it, stream_id first: every field the hash covers, data as
# the text of its jsonb. Verify read exactly these until migration 0003; it now reads
# the stored canonical text of data instead, and the jsonb's text only when the server
# finds that the two differ, so the reference stays the plain read of the record.
RECORD_COLUMNS = (
    "version, event_id::text AS event_id, type, schema_version, data::text AS data, "
    "actor_id, actor_role, recorded_at, prev_hash, hash"
)
PLAIN_SELECT = (
    f"SELECT stream_id, {RECORD_COLUMNS} FROM events"
    " WHERE (stream_id, version) > ($1, $2) AND stream_id <= $3"
    f" ORDER BY stream_id, version LIMIT {PAGE}"
)

EXPORTED_AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- the record

KOMMUNER = ("0301", "1804", "3805", "4601", "5001", "1103", "3403", "1508")
STEPS = (
    ("knowledge_base", "kunnskapsgrunnlag.befolkning", "Befolkningsutvikling fram mot 2040"),
    ("knowledge_base", "kunnskapsgrunnlag.boligmasse", "Boligmassen og leiemarkedet"),
    ("goals", "mål.overordnet", "Alle skal kunne bo godt og trygt"),
    ("strategies", "strategier.boligsosiale-tiltak", "Strategier for boligsosialt arbeid"),
    ("strategies", "strategier.arealbruk", "Fortetting rundt kollektivknutepunkt"),
    ("measures", "tiltak.startlån", "Startlån og tilskudd til etablering"),
    ("measures", "tiltak.utleieboliger", "Kommunale utleieboliger for vanskeligstilte"),
)
COMMENTS = (
    "Godkjent av styringsgruppen. Tiltakene for førstegangskjøpere og bostøtte må "
    "følges opp før høringen – særlig i Ørsta og på Ås.",
    "Vi slutter oss til forslaget, men ber om at behovet for tilrettelagte boliger for "
    "eldre blir tallfestet før neste møte.",
    "Godkjent med merknad: kapittelet om leiemarkedet bør få med studentboliger og "
    "sesongarbeidere på Sørlandet.",
    "Enstemmig godkjent. Økonomiavdelingen må beregne kostnadene ved å øke startlånsrammen.",
)
ACTORS = (
    ("kari.nilsen", "steering_group"),
    ("ola.hansen", "steering_group"),
    ("ingrid.bø", "steering_group"),
    ("per.ås", "administrative_leadership"),
)
EVENT_TYPE = "sign_off_given"


def plan_id(index: int) -> str:
    """<kommunenummer>-<slug>, as docs/audit-format.md names streams."""
    return f"{KOMMUNER[index % len(KOMMUNER)]}-temaplan-bolig-{index:05d}"


def sign_off(stream: int, n: int) -> dict[str, Any]:
    """A sign-off as the workflow records it, with some extras: eight fields."""
    phase, step_key, title = STEPS[n % len(STEPS)]
    actor_id, _ = ACTORS[(stream + n) % len(ACTORS)]
    return {
        "phase": phase,
        "step_key": step_key,
        "content_version": n // len(STEPS),
        "content_hash": hashlib.sha256(f"{title} {stream} {n}".encode()).hexdigest(),
        "comment": COMMENTS[(stream + n) % len(COMMENTS)],
        "quorum": "all",
        "signed_by": actor_id,
        "meeting": f"Styringsgruppemøte nr. {n // 4 + 1} – {title}",
    }


def new_events(stream: int, first: int, count: int) -> list[NewEvent]:
    events = []
    for n in range(first, first + count):
        actor_id, role = ACTORS[(stream + n) % len(ACTORS)]
        events.append(NewEvent(uuid.uuid4(), EVENT_TYPE, sign_off(stream, n), actor_id, role))
    return events


async def fill(store: EventStore, streams: int) -> None:
    """streams x EVENTS_PER_STREAM events, FILL_CONCURRENCY appends in flight."""
    todo = iter(
        (s, first) for s in range(streams) for first in range(0, EVENTS_PER_STREAM, FILL_BATCH)
    )

    async def lane() -> None:
        for s, first in todo:
            count = min(FILL_BATCH, EVENTS_PER_STREAM - first)
            await store.append(plan_id(s), first, new_events(s, first, count))

    await asyncio.gather(*(lane() for _ in range(FILL_CONCURRENCY)))
