"""`audit verify` holds every receipt in the Temporal history against the store (version,
hash, recorded time), finds plans Temporal knows that have lost their stream and
streams cut shorter than their history, and checks the Merkle log; `audit state` and
`audit export` do not present a record that fails those checks as whole."""

from __future__ import annotations

import io
import re
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import catalogue
from audit import commands
from audit.checkpointer import Checkpointer
from audit.log_check import check_log
from domain import checkpoints as cp
from domain.plan import PlanDefinition
from eventstore import EventStore
from tests.integration.conftest import Audited, started, unique
from tests.integration.test_log_attacks import rechain, superuser

pytestmark = pytest.mark.servers

LOG_KEY = cp.SigningKey.generate("bolig.kommune.example/temaplan")


async def verified(
    store: EventStore,
    client: Client,
    plans: list[str],
    *,
    all_plans: bool = False,
    task_queue: str | None = None,
    language: catalogue.Language = "en",
) -> str:
    """What verify says, in English (the checks' own words)."""
    out = io.StringIO()
    code = await commands.verify(
        store, client, plans, out, all_plans=all_plans, task_queue=task_queue, language=language
    )
    text = out.getvalue()
    return f"exit {code}\n{text}"


async def forge(pool: asyncpg.Pool, store: EventStore, plan: str, *statements: str) -> None:
    """``plan``'s rows changed by the database's owner and its chain recomputed, as a
    forger who owns the database would: the chain alone still verifies."""
    await superuser(pool, *statements)
    await rechain(pool, plan)
    assert (await store.verify(plan)).ok


async def test_each_receipt_value_is_held_against_the_store(
    pool: asyncpg.Pool, audited: Audited
) -> None:
    plan, store, client = audited
    before = {e.version: e for e in await store.read(plan)}
    last = max(before)
    report = await verified(store, client, [plan])
    assert report.startswith("exit 0"), report
    # Every append's receipts and every answer given to a person.
    matched = re.search(r"(\d+) receipts match the store's version, hash and recorded time", report)
    assert matched is not None, report
    assert int(matched.group(1)) > last

    # Who decided changed and the chain recomputed, as a forger who owns the database would:
    # the chain verifies, the receipt's hash does not match.
    await forge(
        pool,
        store,
        plan,
        f"UPDATE events SET actor_id = 'someone.else' WHERE stream_id = '{plan}' "
        f"AND version = {last}",
    )
    forged = (await store.read(plan, from_version=last))[0]
    report = await verified(store, client, [plan])
    assert report.startswith("exit 1"), report
    assert (
        f"event {forged.event_id} ({forged.type}, version {last}) differs from its append "
        f"receipt in run"
    ) in report
    assert f"hash: history {before[last].hash}, store {forged.hash}" in report
    # In bokmål, the check's own words too.
    report = await verified(store, client, [plan], language="nb")
    assert (
        f"{plan}: krysskontroll: hendelsen {forged.event_id} ({forged.type}, versjon {last}) "
        f"avviker fra kvitteringen for lagringen i kjøringen "
    ) in report
    assert f"hash: historikken {before[last].hash}, hendelseslageret {forged.hash}" in report

    # The recorded time moved by a second, chain recomputed.
    moved = last - 1
    await forge(
        pool,
        store,
        plan,
        f"UPDATE events SET recorded_at = recorded_at + interval '1 second' "
        f"WHERE stream_id = '{plan}' AND version = {moved}",
    )
    [after] = await store.read(plan, from_version=moved, up_to_version=moved)
    report = await verified(store, client, [plan])
    assert (
        f"event {after.event_id} ({after.type}, version {moved}) differs from its append receipt"
    ) in report
    assert (
        f"recorded_at: history {before[moved].recorded_at.isoformat()}, "
        f"store {after.recorded_at.isoformat()}"
    ) in report

    # Two decisions swapped in order, chain recomputed.
    await forge(
        pool,
        store,
        plan,
        f"UPDATE events SET version = 1000000 WHERE stream_id = '{plan}' AND version = 2",
        f"UPDATE events SET version = 2 WHERE stream_id = '{plan}' AND version = 3",
        f"UPDATE events SET version = 3 WHERE stream_id = '{plan}' AND version = 1000000",
    )
    report = await verified(store, client, [plan])
    assert report.startswith("exit 1"), report
    assert (
        f"event {before[2].event_id} ({before[2].type}, version 3) differs from its append receipt"
    ) in report
    assert "version: history 2, store 3" in report


async def started_copy(env: WorkflowEnvironment, queue: str, bodo: PlanDefinition) -> str:
    """A fresh copy of ``bodo`` started, its first events recorded: its plan id."""
    driver = await started(env, queue, unique(bodo))
    await driver.wait_for(lambda s: s.events_recorded >= 2)
    return driver.definition.plan_id


async def test_verify_all_finds_a_lost_stream_and_a_short_tail(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    store = EventStore(pool)
    client = temporal_env.client
    lost = await started_copy(temporal_env, task_queue, bodo)
    cut = await started_copy(temporal_env, task_queue, bodo)
    whole = await started_copy(temporal_env, task_queue, bodo)
    report = await verified(
        store, client, await store.stream_ids(), all_plans=True, task_queue=task_queue
    )
    assert report.startswith("exit 0"), report

    last, _ = await store.head(cut)
    await superuser(pool, f"DELETE FROM events WHERE stream_id = '{lost}'")
    await superuser(pool, f"DELETE FROM events WHERE stream_id = '{cut}' AND version = {last}")
    assert (await store.verify(cut)).ok  # the chain alone cannot see a cut tail
    streams = await store.stream_ids()
    assert lost not in streams
    report = await verified(store, client, streams, all_plans=True, task_queue=task_queue)
    assert report.startswith("exit 1"), report
    assert f"{lost}: STREAM MISSING: the plan workflow temaplan-{lost} exists in Temporal" in report
    assert (
        f"{cut}: cross-check: the stream is SHORTER than the Temporal history: the store ends "
        f"at version {last - 1}, the history holds a receipt for version {last}"
    ) in report
    assert f"{whole}: cross-check OK" in report


async def test_state_and_export_do_not_present_a_broken_record_as_whole(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    bodo: PlanDefinition,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = EventStore(pool)
    plan = await started_copy(temporal_env, task_queue, bodo)
    await started_copy(temporal_env, task_queue, bodo)
    await Checkpointer(pool, LOG_KEY).checkpoint_now()
    vkey = LOG_KEY.verifier.vkey()

    log = await check_log(pool, vkey)
    assert log.verdict == "ok", log.message
    assert await commands.verify(store, None, [plan], io.StringIO(), log=log) == 0
    out = io.StringIO()
    assert (
        await commands.show_state(
            store, plan, as_of=None, at_version=None, as_json=False, out=out, log=log
        )
        == 0
    )
    assert "BROKEN" not in out.getvalue()
    assert await commands.export(store, plan, "csv", tmp_path / "whole.csv", log=log) == 0

    # Without a key the log is not checked, and every command says so.
    unchecked = await check_log(pool, None)
    assert unchecked.verdict == "unchecked"
    out = io.StringIO()
    assert await commands.verify(store, None, [plan], out, log=unchecked) == 0
    assert f"\n{catalogue.t('log_check.no_key')}\nVerifisering bestått.\n" in out.getvalue()
    out = io.StringIO()
    assert await commands.verify(store, None, [plan], out, log=unchecked, language="en") == 0
    assert "log NOT CHECKED" in out.getvalue()

    # An actor rewritten and the chain recomputed: every chain verifies, the log does not.
    await forge(
        pool,
        store,
        plan,
        f"UPDATE events SET actor_id = 'someone.else' WHERE stream_id = '{plan}' AND version = 2",
    )
    log = await check_log(pool, vkey)
    assert log.verdict == "broken", log.message
    out = io.StringIO()
    assert await commands.verify(store, None, [plan], out, log=log) == 1
    assert "\nMerkle-loggen kan ikke verifiseres: " in out.getvalue()
    assert out.getvalue().endswith("\nVerifisering IKKE bestått: 1 feil.\n")
    out = io.StringIO()
    assert await commands.verify(store, None, [plan], out, log=log, language="en") == 1
    assert "log BROKEN: the log does not verify" in out.getvalue()
    capsys.readouterr()
    out = io.StringIO()
    assert (
        await commands.show_state(
            store, plan, as_of=None, at_version=None, as_json=False, out=out, log=log
        )
        == 1
    )
    # In bokmål by default, from the catalogue; in English with --lang en.
    assert out.getvalue().startswith(
        "*** BESLUTNINGSLOGGEN ER IKKE HEL: Merkle-loggen kan ikke verifiseres: "
    )
    warned = capsys.readouterr().err
    assert f"ADVARSEL: beslutningsloggen for {plan} kan IKKE verifiseres" in warned
    assert "tilstanden nedenfor er bygd opp fra en beslutningslogg som IKKE er hel" in warned
    assert "BROKEN" not in out.getvalue() + warned
    out = io.StringIO()
    assert (
        await commands.show_state(
            store, plan, as_of=None, at_version=None, as_json=False, out=out, log=log, language="en"
        )
        == 1
    )
    assert out.getvalue().startswith("*** BROKEN RECORD: the log does not verify: ")
    assert f"WARNING: the record of {plan} does NOT verify" in capsys.readouterr().err
    for fmt in ("jsonl", "csv", "html"):
        target = tmp_path / f"broken.{fmt}"
        assert await commands.export(store, plan, fmt, target, log=log) == 1
        assert not target.exists()
        assert "ingenting ble skrevet (`temaplan audit verify` viser skaden)" in (
            capsys.readouterr().err
        )
    assert await commands.export(store, plan, "csv", tmp_path / "x.csv", "en", log=log) == 1
    assert "nothing was written (`temaplan audit verify` names the damage)" in (
        capsys.readouterr().err
    )

    # A chain broken outright is refused even when nobody checks the log.
    await superuser(
        pool, f"UPDATE events SET actor_id = 'mallory' WHERE stream_id = '{plan}' AND version = 1"
    )
    assert await commands.export(store, plan, "csv", tmp_path / "chain.csv") == 1
    assert "kjeden er BRUTT ved versjon 1" in capsys.readouterr().err
    assert not (tmp_path / "chain.csv").exists()
    out = io.StringIO()
    assert (
        await commands.show_state(store, plan, as_of=None, at_version=None, as_json=True, out=out)
        == 1
    )
    out = io.StringIO()
    assert (
        await commands.show_state(store, plan, as_of=None, at_version=None, as_json=False, out=out)
        == 1
    )
    assert out.getvalue().startswith(
        "*** BESLUTNINGSLOGGEN ER IKKE HEL: kjeden er BRUTT ved versjon 1"
    )
