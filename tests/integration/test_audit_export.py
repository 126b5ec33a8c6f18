"""audit.export against a real PostgreSQL: the JSON lines export verifies with the
standalone verifier and agrees with the store; damage to it is found; the CSV reads back
in a spreadsheet's terms; unknown plans and failed exports leave no file."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from audit import verify_export
from audit.export import (
    CSV_COLUMNS,
    ExportManifest,
    UnknownPlanError,
    export_csv,
    export_jsonl,
    export_line,
    manifest_path,
    read_manifest,
)
from domain.canonical import GENESIS_HASH, chain_hash
from eventstore import EventStore, NewEvent
from eventstore.records import StoredEvent

pytestmark = pytest.mark.servers

PLAN = "1804-boligplan-2026"
EXPORTED_AT = datetime(2026, 6, 20, 10, 0, tzinfo=UTC)
CONTENT_HASH = "3f" * 32
WINTER = datetime(2026, 1, 15, 9, 0, 0, 123456, tzinfo=UTC)  # Oslo UTC+01:00
SUMMER = datetime(2026, 6, 15, 9, 0, 0, 654321, tzinfo=UTC)  # Oslo UTC+02:00


def event(event_type: str, actor_id: str, actor_role: str, **data: Any) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type=event_type,
        data=data,
        actor_id=actor_id,
        actor_role=actor_role,
    )


FIRST_BATCH = [
    event(
        "plan_created",
        "temaplan",
        "system",
        occurred_at="2026-01-15T09:00:00Z",
        plan_id=PLAN,
        definition={"kommune": "Bodø", "tittel": "Temaplan for bolig 2026–2030"},
    ),
    event(
        "phase_started",
        "temaplan",
        "system",
        occurred_at="2026-01-15T09:00:00Z",
        phase="goals",
        reason="Oppstart",
    ),
    event(
        "content_submitted",
        "per.ås",
        "secretariat",
        occurred_at="2026-01-15T08:55:00Z",
        phase="goals",
        content_version=1,
        content_hash=CONTENT_HASH,
        content={"mål": ["Flere utleieboliger i Ørnes", "Trygge boliger for eldre"]},
    ),
]
SECOND_BATCH = [
    event(
        "comment_recorded",
        "kari.nilsen",
        "steering_group",
        occurred_at="2026-06-15T08:59:00Z",
        phase="goals",
        content_version=1,
        text="Vi må prioritere «særlig» boliger for eldre på Ørnes;\nogså i Å.",
    ),
    event(
        "sign_off_given",
        "ola.hansen",
        "steering_group",
        occurred_at="2026-06-15T09:00:00Z",
        phase="goals",
        step_key="styringsgruppe",
        content_version=1,
        content_hash=CONTENT_HASH,
        comment='=HYPERLINK("http://example.invalid")',
    ),
    event(
        "council_decided",
        "bystyret",
        "council",
        occurred_at="2026-06-15T09:00:00Z",
        outcome="adopted",
        content_version=1,
        content_hash=CONTENT_HASH,
        reason="Vedtatt enstemmig i bystyret – sak 12/26. " + "Begrunnelse. " * 40,
    ),
]


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    moments: Iterator[datetime] = iter([WINTER, SUMMER])
    store = EventStore(pool, clock=lambda: next(moments))
    await store.append(PLAN, 0, FIRST_BATCH)
    await store.append(PLAN, len(FIRST_BATCH), SECOND_BATCH)
    await EventStore(pool).append(
        "1804-annen-plan", 0, [event("plan_created", "temaplan", "system")]
    )
    return store


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def export_as(kind: str, store: EventStore, plan_id: str, out: Path) -> None:
    if kind == "jsonl":
        await export_jsonl(store, plan_id, out, exported_at=EXPORTED_AT)
    else:
        await export_csv(store, plan_id, out)


def verify(path: Path, manifest: Path | None = None) -> tuple[int, str]:
    """The standalone verifier's exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    argv = [str(path)] + (["--manifest", str(manifest)] if manifest else [])
    with redirect_stdout(out), redirect_stderr(err):
        code = verify_export.main(argv)
    return code, (out.getvalue() + err.getvalue()).strip()


async def test_jsonl_export_verifies_and_agrees_with_the_store(
    store: EventStore, tmp_path: Path
) -> None:
    out = tmp_path / "export.jsonl"
    seen: list[int] = []
    manifest = await export_jsonl(store, PLAN, out, exported_at=EXPORTED_AT, progress=seen.append)

    assert names(tmp_path) == [
        "export.jsonl",
        "export.jsonl.manifest.json",
    ]
    stored = await store.verify(PLAN)
    assert stored.ok
    events = await store.read(PLAN)
    assert manifest == ExportManifest(
        plan_id=PLAN,
        event_count=6,
        first_version=1,
        last_version=6,
        first_hash=events[0].hash,
        last_hash=stored.last_hash,
        exported_at=EXPORTED_AT,
    )
    assert manifest.last_hash == stored.last_hash
    assert read_manifest(manifest_path(out)) == manifest
    written = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert written["exported_at"] == "2026-06-20T10:00:00.000000Z"
    assert written["format"] == "jsonl"
    assert written["format_version"] == 1
    assert written["generator"] == "temaplan"
    assert seen == [6]

    assert verify(out) == (0, f"OK: {PLAN} 6 events, last hash {stored.last_hash}")

    raw = out.read_bytes()
    assert "Ørnes".encode() in raw  # UTF-8 as itself, not \u00d8
    lines = raw.splitlines(keepends=True)
    assert lines == [export_line(e) for e in events]
    prev_hash = GENESIS_HASH
    for line, stored_event in zip(lines, events, strict=True):
        fields = json.loads(line)
        assert "position" not in fields
        assert fields["recorded_at"] == stored_event.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        record = {k: v for k, v in fields.items() if k not in {"prev_hash", "hash"}}
        assert fields["prev_hash"] == prev_hash
        assert chain_hash(prev_hash, record) == fields["hash"] == stored_event.hash
        prev_hash = fields["hash"]


async def test_exporting_twice_gives_the_same_bytes(store: EventStore, tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    await export_jsonl(store, PLAN, first, exported_at=EXPORTED_AT)
    await export_jsonl(store, PLAN, second, exported_at=EXPORTED_AT)
    assert first.read_bytes() == second.read_bytes()
    assert manifest_path(first).read_bytes() == manifest_path(second).read_bytes()


def flip(content: bytes, position: int) -> bytes:
    damaged = bytearray(content)
    damaged[position] ^= 0x01
    return bytes(damaged)


async def test_damage_to_a_real_export_is_found_on_its_line(
    store: EventStore, tmp_path: Path
) -> None:
    out = tmp_path / "export.jsonl"
    await export_jsonl(store, PLAN, out, exported_at=EXPORTED_AT)
    content = out.read_bytes()
    lines = content.splitlines(keepends=True)

    # One byte changed in each field of each line: the line is named.
    for number, line in enumerate(lines, start=1):
        start = content.index(line)
        for field in ("data", "hash", "prev_hash", "recorded_at", "actor_id", "event_id"):
            position = start + line.index(f'"{field}":'.encode()) + len(field) + 5
            out.write_bytes(flip(content, position))
            code, message = verify(out)
            assert code == 1
            assert message.startswith(f"line {number} (version {number}): "), (field, message)

    # A Norwegian letter's UTF-8 bytes damaged.
    position = content.index("Ørnes".encode()) + 1
    out.write_bytes(flip(content, position))
    assert verify(out)[1].startswith("line 3 ")

    # Dropped, swapped, duplicated, truncated.
    out.write_bytes(b"".join(lines[:2] + lines[3:]))
    assert verify(out)[1].startswith("line 3 (version 4): expected version 3, found 4")
    out.write_bytes(b"".join([lines[0], lines[2], lines[1], *lines[3:]]))
    assert verify(out)[1].startswith("line 2 (version 3): expected version 2")
    out.write_bytes(b"".join([*lines[:5], lines[4], lines[5]]))
    assert verify(out)[1].startswith("line 6 (version 5): expected version 6, found 5")
    out.write_bytes(content[:-40])
    assert verify(out)[1].startswith("line 6: does not end with a line feed")
    out.write_bytes(b"".join(lines[:5]))
    code, message = verify(out)
    assert code == 1
    assert "event_count is 6, but the export's lines give 5" in message

    # The manifest edited.
    out.write_bytes(content)
    assert verify(out)[0] == 0
    manifest = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    manifest_path(out).write_text(json.dumps({**manifest, "plan_id": "1804-annen-plan"}))
    code, message = verify(out)
    assert code == 1
    assert message.startswith(f"manifest {manifest_path(out)}: plan_id is '1804-annen-plan'")


async def tamper(pool: asyncpg.Pool, sql: str) -> None:
    """What an intruder with superuser rights would do: switch the guard off, change."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await conn.execute(sql)
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")


async def test_a_tampered_store_exports_as_evidence_of_the_break(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await tamper(
        pool,
        "UPDATE events SET data = jsonb_set(data, '{reason}', '\"Avvist\"') "
        f"WHERE stream_id = '{PLAN}' AND version = 6",
    )
    broken = await store.verify(PLAN)
    assert broken.broken_version == 6
    out = tmp_path / "export.jsonl"
    await export_jsonl(store, PLAN, out, exported_at=EXPORTED_AT)
    code, message = verify(out)
    assert code == 1
    assert message.startswith("line 6 (version 6): hash does not match")


async def test_export_stops_at_the_head_it_started_from(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Events appended while an export runs are not in it: it is a snapshot."""

    class Busy(EventStore):
        async def head(self, stream_id: str) -> tuple[int, str]:
            version, head_hash = await super().head(stream_id)
            await self.append(stream_id, version, [event("comment_recorded", "x", "y", n=1)])
            return version, head_hash

    await EventStore(pool).append(PLAN, 0, FIRST_BATCH)
    out = tmp_path / "export.jsonl"
    manifest = await export_jsonl(Busy(pool), PLAN, out, exported_at=EXPORTED_AT)
    assert manifest.event_count == 3
    assert verify(out)[0] == 0
    assert (await EventStore(pool).head(PLAN))[0] == 4


async def test_progress_is_reported_while_a_long_stream_is_exported(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = EventStore(pool)
    await store.append(
        PLAN, 0, [event("comment_recorded", "kari", "steering_group", n=n) for n in range(2000)]
    )
    seen: list[int] = []
    manifest = await export_jsonl(
        store, PLAN, tmp_path / "long.jsonl", exported_at=EXPORTED_AT, progress=seen.append
    )
    assert seen == [1000, 2000]  # the total was just reported: not twice
    await store.append(PLAN, 2000, [event("comment_recorded", "kari", "steering_group", n=-1)])
    seen.clear()
    manifest = await export_jsonl(
        store, PLAN, tmp_path / "long.jsonl", exported_at=EXPORTED_AT, progress=seen.append
    )
    assert seen == [1000, 2000, 2001]
    assert manifest.event_count == 2001
    assert verify(tmp_path / "long.jsonl") == (
        0,
        f"OK: {PLAN} 2001 events, last hash {(await store.verify(PLAN)).last_hash}",
    )
    rows: list[int] = []
    assert await export_csv(store, PLAN, tmp_path / "long.csv", progress=rows.append) == 2001
    assert rows == [1000, 2000, 2001]


async def test_csv_reads_back_for_spreadsheets(store: EventStore, tmp_path: Path) -> None:
    out = tmp_path / "vedtak.csv"
    seen: list[int] = []
    assert await export_csv(store, PLAN, out, progress=seen.append) == 6
    assert seen == [6]
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel looks for
    assert raw.count(b"\r\n") >= 7  # RFC 4180 line ends
    with out.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file, delimiter=";"))  # what Norwegian Excel opens
    assert tuple(rows[0]) == CSV_COLUMNS
    table = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    events = await store.read(PLAN)
    assert [r["version"] for r in table] == ["1", "2", "3", "4", "5", "6"]
    assert [r["hash"] for r in table] == [e.hash for e in events]

    created, _, submitted, comment, sign_off, council = table
    assert created["recorded_at_utc"] == "2026-01-15T09:00:00.123456Z"
    assert created["recorded_at_oslo"] == "2026-01-15 10:00:00+01:00"
    assert comment["recorded_at_oslo"] == "2026-06-15 11:00:00+02:00"
    assert created["occurred_at"] == "2026-01-15T09:00:00Z"
    assert created["phase"] == ""
    assert submitted["actor_id"] == "per.ås"
    assert submitted["content_version"] == "1"
    assert submitted["content_hash"] == CONTENT_HASH
    assert comment["phase"] == "goals"
    assert comment["actor_role"] == "steering_group"
    # Norwegian letters intact; free text on one line.
    assert (
        comment["reason_or_comment"]
        == "Vi må prioritere «særlig» boliger for eldre på Ørnes; også i Å."
    )
    # A comment that would be a formula is shown as text.
    assert sign_off["reason_or_comment"] == '\'=HYPERLINK("http://example.invalid")'
    assert council["outcome"] == "adopted"
    assert council["type"] == "council_decided"
    assert len(council["reason_or_comment"]) == 200
    assert council["reason_or_comment"].startswith("Vedtatt enstemmig i bystyret – sak 12/26.")
    assert council["reason_or_comment"].endswith("…")

    # The comma on request: the same table, read with the comma.
    comma = tmp_path / "vedtak-komma.csv"
    assert await export_csv(store, PLAN, comma, separator="comma") == 6
    assert comma.read_bytes().startswith(b"\xef\xbb\xbfversion,")
    with comma.open(encoding="utf-8-sig", newline="") as file:
        assert list(csv.reader(file)) == rows
    assert out.read_bytes().startswith(b"\xef\xbb\xbfversion;")
    with pytest.raises(ValueError, match="separator must be one of semicolon, comma, not 'tab'"):
        await export_csv(store, PLAN, tmp_path / "tab.csv", separator="tab")


async def test_a_naive_export_time_is_refused(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await export_jsonl(store, PLAN, tmp_path / "x.jsonl", exported_at=datetime(2026, 6, 20))
    assert names(tmp_path) == []


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
async def test_an_unknown_plan_is_a_clear_error_and_writes_no_file(
    store: EventStore, tmp_path: Path, kind: str
) -> None:
    out = tmp_path / f"export.{kind}"
    with pytest.raises(UnknownPlanError, match="no events recorded for plan '1804-finnes-ikke'"):
        await export_as(kind, store, "1804-finnes-ikke", out)
    assert names(tmp_path) == []


@pytest.mark.parametrize("kind", ["jsonl", "csv"])
async def test_a_failed_export_leaves_no_half_file(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path, kind: str
) -> None:
    """The store fails after two events: nothing new appears, and an earlier export at
    the same path is left as it was."""

    class Failing(EventStore):
        async def iter_stream(
            self, stream_id: str, *, up_to_version: int | None = None, page: int = 2000
        ) -> AsyncIterator[StoredEvent]:
            count = 0
            async for stored in super().iter_stream(stream_id, up_to_version=up_to_version):
                yield stored
                count += 1
                if count == 2:
                    raise ConnectionResetError("database went away")

        async def iter_chain_pages(
            self, stream_id: str, *, up_to_version: int, page: int = 2000
        ) -> AsyncIterator[list[asyncpg.Record]]:
            async for rows in super().iter_chain_pages(stream_id, up_to_version=up_to_version):
                yield rows[:2]
                raise ConnectionResetError("database went away")

    out = tmp_path / f"export.{kind}"
    out.write_bytes(b"earlier export\n")
    failing = Failing(pool)
    with pytest.raises(ConnectionResetError):
        await export_as(kind, failing, PLAN, out)
    assert names(tmp_path) == [out.name]  # no manifest, no temporary file
    assert out.read_bytes() == b"earlier export\n"


async def reference_lines(store: EventStore, plan_id: str) -> bytes:
    return b"".join([export_line(e) async for e in store.iter_stream(plan_id)])


async def test_the_export_from_stored_canonical_text_is_the_reference_export_to_the_byte(
    store: EventStore, tmp_path: Path
) -> None:
    """The export assembles each line around canonical_data; export_line, which writes
    the jsonb out canonically, is the reference."""
    out = tmp_path / "export.jsonl"
    await export_jsonl(store, PLAN, out, exported_at=EXPORTED_AT)
    assert out.read_bytes() == await reference_lines(store, PLAN)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # The jsonb changed, canonical_data not: the line shows the jsonb, as stored.
        ("data = jsonb_set(data, '{reason}', '\"Avvist\"')", "line 6 (version 6): hash"),
        # canonical_data changed into text that is no JSON: the stream again from its jsonb.
        ("canonical_data = '{not json'", None),
        # canonical_data changed, still JSON: the jsonb, as stored, which still verifies.
        ('canonical_data = \'{"reason":"Avvist"}\'', None),
    ],
)
async def test_an_export_of_a_tampered_row_is_the_reference_export(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path, change: str, expected: str | None
) -> None:
    await tamper(pool, f"UPDATE events SET {change} WHERE stream_id = '{PLAN}' AND version = 6")
    out = tmp_path / "export.jsonl"
    await export_jsonl(store, PLAN, out, exported_at=EXPORTED_AT)
    assert out.read_bytes() == await reference_lines(store, PLAN)
    code, message = verify(out)
    if expected is None:
        assert code == 0, message
    else:
        assert (code, message[: len(expected)]) == (1, expected)
