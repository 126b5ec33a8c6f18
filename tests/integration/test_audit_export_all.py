"""The bulk JSON lines export (audit.export.export_jsonl_all, `temaplan audit export
--all`): every plan's files byte for byte what the per-plan export writes, damaged rows
included; unknown plans, unusable names and failures leave no file behind."""

from __future__ import annotations

import asyncio
import re
import tarfile
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

import asyncpg
import pytest

from audit.export import (
    ExportError,
    UnknownPlanError,
    export_jsonl,
    export_jsonl_all,
    manifest_path,
)
from audit.export_bundle import export_jsonl_bundle
from audit.export_lines import MANIFEST_SUFFIX as MANIFEST
from eventstore import EventStore, NewEvent
from temaplan.cli import main

from .test_audit_export import EXPORTED_AT, FIRST_BATCH, PLAN, SECOND_BATCH, names, tamper, verify

pytestmark = pytest.mark.servers

OTHER = "1804-annen-plan"
LONG = "1805-lang-plan"


class Failing(EventStore):
    """A store whose connection is lost once the first page of events has been read."""

    async def iter_chain_pages_of(
        self, stream_ids: Sequence[str], *, reference: bool = False
    ) -> AsyncIterator[list[asyncpg.Record]]:
        async for rows in super().iter_chain_pages_of(stream_ids, reference=reference):
            yield rows
            raise ConnectionResetError("database went away")


def sign_off(n: int) -> NewEvent:
    return NewEvent(
        uuid.uuid4(),
        "step_signed_off",
        {"content_version": n, "comment": f"Godkjent – ø {n}", "big": 2**70 + n},
        "kari.nilsen",
        "steering_group",
    )


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    store = EventStore(pool)
    await store.append(PLAN, 0, FIRST_BATCH)
    await store.append(PLAN, len(FIRST_BATCH), SECOND_BATCH)
    await store.append(OTHER, 0, [sign_off(0)])
    # Longer than a page of the export's cursor, in several appends.
    for n in range(5):
        await store.append(LONG, n * 500, [sign_off(n * 500 + i) for i in range(500)])
    return store


def fresh(directory: Path) -> Path:
    directory.mkdir()
    return directory


async def per_plan(store: EventStore, directory: Path, plans: Sequence[str]) -> None:
    """What the per-plan export writes for each of ``plans`` into a new directory."""
    directory = fresh(directory)
    for plan in plans:
        await export_jsonl(store, plan, directory / f"{plan}.jsonl", exported_at=EXPORTED_AT)


def same_files(a: Path, b: Path) -> None:
    assert names(a) == names(b)
    for name in names(a):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


async def test_every_plan_is_exported_byte_for_byte_as_the_per_plan_export(
    store: EventStore, tmp_path: Path
) -> None:
    seen: list[int] = []
    results = await export_jsonl_all(
        store, tmp_path / "all", exported_at=EXPORTED_AT, progress=seen.append
    )
    assert [r.manifest.plan_id for r in results] == sorted([PLAN, OTHER, LONG])
    plan_events = len(FIRST_BATCH) + len(SECOND_BATCH)
    assert [r.manifest.event_count for r in results] == [1, plan_events, 2500]
    assert seen == [1000, 2000, 1 + plan_events + 2500]
    await per_plan(store, tmp_path / "one", [PLAN, OTHER, LONG])
    same_files(tmp_path / "all", tmp_path / "one")
    assert names(tmp_path) == ["all", "one"]  # the new directory was renamed into place
    # Into a directory that holds files: each file renamed into place, others left.
    (tmp_path / "all" / "README").write_text("andre filer\n")
    (tmp_path / "all" / f"{OTHER}.jsonl").write_bytes(b"earlier\n")
    again = await export_jsonl_all(store, tmp_path / "all", exported_at=EXPORTED_AT)
    assert again == results
    (tmp_path / "all" / "README").unlink()
    same_files(tmp_path / "all", tmp_path / "one")
    for result in results:
        assert verify(result.path)[0] == 0
        [last] = await store.read(
            result.manifest.plan_id, from_version=result.manifest.last_version
        )
        assert result.last_event_id == last.event_id
        assert manifest_path(result.path).exists()


async def test_named_plans_only(store: EventStore, tmp_path: Path) -> None:
    results = await export_jsonl_all(
        store, tmp_path / "some", exported_at=EXPORTED_AT, plan_ids=[OTHER, PLAN]
    )
    assert [r.path.name for r in results] == [f"{OTHER}.jsonl", f"{PLAN}.jsonl"]
    await per_plan(store, tmp_path / "one", [PLAN, OTHER])
    same_files(tmp_path / "some", tmp_path / "one")


@pytest.mark.parametrize(
    "change",
    [
        "data = jsonb_set(data, '{reason}', '\"Avvist\"')",
        "canonical_data = '{not json'",
        'canonical_data = \'{"reason":"Avvist"}\'',
    ],
)
async def test_a_tampered_row_exports_as_the_per_plan_export_does(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path, change: str
) -> None:
    await tamper(pool, f"UPDATE events SET {change} WHERE stream_id = '{PLAN}' AND version = 6")
    await export_jsonl_all(store, tmp_path / "all", exported_at=EXPORTED_AT)
    await per_plan(store, tmp_path / "one", [PLAN, OTHER, LONG])
    same_files(tmp_path / "all", tmp_path / "one")


async def test_an_unknown_plan_writes_nothing(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(UnknownPlanError, match="1804-ukjent"):
        await export_jsonl_all(
            store, tmp_path / "ut", exported_at=EXPORTED_AT, plan_ids=[PLAN, "1804-ukjent"]
        )
    assert names(tmp_path) == []


@pytest.mark.parametrize("plan_id", ["../1804-x", ".skjult", "1804 plan", "1804/x", ""])
async def test_a_plan_id_that_is_no_file_name_is_refused(
    store: EventStore, tmp_path: Path, plan_id: str
) -> None:
    with pytest.raises(ExportError, match="file name"):
        await export_jsonl_all(store, tmp_path, exported_at=EXPORTED_AT, plan_ids=[plan_id])
    assert names(tmp_path) == []


async def test_a_naive_export_time_is_refused(store: EventStore, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        await export_jsonl_all(store, tmp_path, exported_at=datetime(2026, 6, 20))


async def test_a_failed_export_leaves_earlier_files_and_no_temporary_file(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    earlier = tmp_path / f"{LONG}.jsonl"
    earlier.write_bytes(b"earlier export\n")
    with pytest.raises(ConnectionResetError):
        await export_jsonl_all(Failing(pool), tmp_path, exported_at=EXPORTED_AT)
    assert names(tmp_path) == [earlier.name]
    assert earlier.read_bytes() == b"earlier export\n"
    # Into a new directory: neither it nor its temporary sibling is left.
    with pytest.raises(ConnectionResetError):
        await export_jsonl_all(Failing(pool), tmp_path / "ny", exported_at=EXPORTED_AT)
    assert names(tmp_path) == [earlier.name]


async def test_the_export_is_one_snapshot(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Events appended after the read began are in no plan's file, even in a plan the
    cursor reaches only pages later."""
    store = EventStore(pool)
    first = "1803-forste-plan"  # before OTHER in key order, and longer than a page
    await store.append(first, 0, [sign_off(i) for i in range(2100)])
    await store.append(PLAN, 0, FIRST_BATCH)
    await store.append(OTHER, 0, [sign_off(0)])

    class Busy(EventStore):
        async def iter_chain_pages_of(
            self, stream_ids: Sequence[str], *, reference: bool = False
        ) -> AsyncIterator[list[asyncpg.Record]]:
            pages = super().iter_chain_pages_of(stream_ids, reference=reference)
            first = await anext(pages)
            await store.append(OTHER, 1, [sign_off(1)])
            yield first
            async for rows in pages:
                yield rows

    results = await export_jsonl_all(Busy(pool), tmp_path, exported_at=EXPORTED_AT)
    assert {r.manifest.plan_id: r.manifest.event_count for r in results} == {
        first: 2100,
        PLAN: len(FIRST_BATCH),
        OTHER: 1,
    }
    assert (await store.head(OTHER))[0] == 2


@pytest.fixture
def database_only(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """`temaplan` pointed at the test's database, with no Temporal server to ask."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)


@pytest.mark.usefixtures("database_only")
async def test_the_command_exports_every_plan_and_refuses_a_broken_record(
    store: EventStore,
    pool: asyncpg.Pool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "alle"
    command = ["audit", "export", "--all", "--format", "jsonl", "--out", str(out)]
    capsys.readouterr()
    assert await asyncio.to_thread(main, command) == 0
    # What it says: in bokmål (its numbers too), or in English with --lang en.
    said = capsys.readouterr().out
    nb = r"Eksporterte [\d\xa0]+ hendelser fra 3 planer til (.+); ingen sjekkpunkt er signert"
    assert re.match(nb, said), said
    assert await asyncio.to_thread(main, [*command[:-1], str(tmp_path / "en"), "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert re.match(r"exported [\d,]+ events of 3 plans to (.+); no checkpoint signed", said), said
    await per_plan(store, tmp_path / "one", [PLAN, OTHER, LONG])
    assert names(out) == names(tmp_path / "one")
    for plan in (PLAN, OTHER, LONG):
        assert (out / f"{plan}.jsonl").read_bytes() == (
            tmp_path / "one" / f"{plan}.jsonl"
        ).read_bytes()
        assert verify(out / f"{plan}.jsonl")[0] == 0
    assert await asyncio.to_thread(main, [*command[:4], "csv", *command[5:]]) == 2

    await tamper(pool, f"UPDATE events SET actor_id = 'x' WHERE stream_id = '{OTHER}'")
    again = tmp_path / "igjen"
    capsys.readouterr()
    assert await asyncio.to_thread(main, [*command[:-1], str(again)]) == 1
    assert not again.exists()
    warned = capsys.readouterr().err
    assert warned.startswith("ADVARSEL: beslutningsloggen kan IKKE verifiseres; ingenting ble")
    assert f"  - {OTHER}: kjeden er BRUTT ved versjon 1\n" in warned
    assert await asyncio.to_thread(main, [*command[:-1], str(again), "--lang", "en"]) == 1
    warned = capsys.readouterr().err
    assert warned.startswith("WARNING: the record does NOT verify; nothing was written")
    assert f"  - {OTHER}: chain BROKEN at version 1\n" in warned


def unpacked(bundle: Path, into: Path) -> list[str]:
    """The archive's members extracted into a new directory, by Python's tarfile as any
    tar would; the member names in archive order."""
    with tarfile.open(bundle) as archive:
        members = archive.getnames()
        archive.extractall(fresh(into), filter="data")
    return members


@pytest.mark.parametrize(
    "change", [None, "canonical_data = '{not json'", "data = jsonb_set(data, '{n}', '1')"]
)
async def test_a_bundle_holds_the_per_plan_files_byte_for_byte(
    store: EventStore, pool: asyncpg.Pool, tmp_path: Path, change: str | None
) -> None:
    if change is not None:  # a tampered row (one that restarts the read, too)
        await tamper(pool, f"UPDATE events SET {change} WHERE stream_id = '{PLAN}' AND version = 6")
    seen: list[int] = []
    bundle = tmp_path / "alle.tar"
    results = await export_jsonl_bundle(
        store, bundle, exported_at=EXPORTED_AT, progress=seen.append
    )
    assert [r.path for r in results] == [bundle / f"{p}.jsonl" for p in sorted([PLAN, OTHER, LONG])]
    assert names(tmp_path) == ["alle.tar"]  # no temporary file left beside it
    members = unpacked(bundle, tmp_path / "ut")
    assert members == [
        name for p in sorted([PLAN, OTHER, LONG]) for name in (f"{p}.jsonl", f"{p}.jsonl{MANIFEST}")
    ]
    await per_plan(store, tmp_path / "one", [PLAN, OTHER, LONG])
    same_files(tmp_path / "ut", tmp_path / "one")
    for plan in (OTHER, LONG) if change else (PLAN, OTHER, LONG):
        assert verify(tmp_path / "ut" / f"{plan}.jsonl")[0] == 0
    # The same record at the same time gives the same archive.
    again = tmp_path / "igjen.tar"
    await export_jsonl_bundle(store, again, exported_at=EXPORTED_AT)
    assert again.read_bytes() == bundle.read_bytes()


async def test_a_failed_bundle_leaves_nothing(
    pool: asyncpg.Pool, store: EventStore, tmp_path: Path
) -> None:
    with pytest.raises(ConnectionResetError):
        await export_jsonl_bundle(Failing(pool), tmp_path / "alle.tar", exported_at=EXPORTED_AT)
    with pytest.raises(UnknownPlanError):
        await export_jsonl_bundle(
            store, tmp_path / "alle.tar", exported_at=EXPORTED_AT, plan_ids=["1804-ukjent"]
        )
    assert names(tmp_path) == []


@pytest.mark.usefixtures("database_only")
async def test_the_command_bundles_every_plan(
    store: EventStore,
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "alle.tar"
    command = ["audit", "export", "--all", "--bundle", "--format", "jsonl", "--out", str(bundle)]
    assert await asyncio.to_thread(main, command) == 0
    unpacked(bundle, tmp_path / "ut")
    await per_plan(store, tmp_path / "one", [PLAN, OTHER, LONG])
    for plan in (PLAN, OTHER, LONG):
        name = f"{plan}.jsonl"
        assert (tmp_path / "ut" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    one = ["audit", "export", PLAN, "--bundle", "--format", "jsonl", "--out", str(tmp_path / "x")]
    assert await asyncio.to_thread(main, one) == 2
    assert not (tmp_path / "x").exists()
