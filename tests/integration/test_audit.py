"""Auditors' commands on a real plan run: state as of a point, verification with the
Temporal cross-check, history filters, replay."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

import catalogue
from audit import commands, verify_export
from audit.history import HistoryFilter
from domain.gates import plan_status
from domain.plan import PlanDefinition
from eventstore import EventStore, NewEvent
from temaplan.cli import main
from tests.integration.conftest import CHECKPOINTS, Audited, adopted_plan, unique
from tests.integration.replay import PlanWorkflowWithAPause
from tests.integration.test_eventstore import tamper

pytestmark = pytest.mark.servers


async def test_state_rebuilt_as_of_each_point_equals_the_status_then(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    _driver, captured = await adopted_plan(temporal_env, task_queue, definition)
    assert set(captured) == {*CHECKPOINTS, "adopted"}
    store = EventStore(pool)
    stored = await store.read(definition.plan_id)
    for step, status in captured.items():
        version = status.events_recorded
        by_version, _ = await commands.state_at(store, definition.plan_id, at_version=version)
        assert plan_status(by_version) == status, step
        # As of the moment that event was recorded: the same state, by time.
        moment = stored[version - 1].recorded_at
        later = [e for e in stored if e.recorded_at == moment and e.version > version]
        if not later:  # events of one append share their time; pick points between appends
            by_time, _ = await commands.state_at(store, definition.plan_id, as_of=moment)
            assert plan_status(by_time) == status, step
    out = io.StringIO()
    at = captured["strategies.anchoring"].events_recorded
    assert (
        await commands.show_state(
            store, definition.plan_id, as_of=None, at_version=at, as_json=False, out=out
        )
        == 0
    )
    text = out.getvalue()
    # In bokmål by default, the record's names in English on request.
    assert "steg strategies.anchoring" in text
    assert "Venter på: politisk ledelse" in text
    assert "Mål " in text and "Strategi " in text  # noqa: PT018
    out = io.StringIO()
    await commands.show_state(
        store,
        definition.plan_id,
        as_of=None,
        at_version=at,
        as_json=False,
        out=out,
        language="en",
    )
    text = out.getvalue()
    assert "step strategies.anchoring" in text
    assert "Awaited: political_leadership" in text
    assert "Goal " in text and "Strategy " in text  # noqa: PT018


async def test_verify_cross_checks_the_store_against_the_temporal_history(
    pool: asyncpg.Pool, audited: Audited
) -> None:
    plan, store, client = audited

    # In bokmål by default, in English when asked: each check's line and the verdict.
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out) == 0
    said = out.getvalue().splitlines()
    assert said[0].startswith(f"{plan}: Kjeden er hel – ")
    assert said[1].startswith(f"{plan}: Krysskontrollen er i orden – ")
    assert said[-1] == "Verifisering bestått."
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out, language="en") == 0
    said = out.getvalue().splitlines()
    assert said[0].startswith(f"{plan}: chain OK, ")
    assert said[1].startswith(f"{plan}: cross-check OK, ")
    assert said[-1] == "Verification passed."

    # The last decision (the revision schedule made on adoption) removed from the store:
    # the chain alone cannot see it.
    last, _ = await store.head(plan)
    await tamper(pool, "DELETE FROM events WHERE stream_id = $1 AND version = $2", plan, last)
    assert (await store.verify(plan)).ok
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out) == 1
    assert "revision_schedule_created" in out.getvalue()
    assert "ligger i Temporal-historikken, men ikke i hendelseslageret" in out.getvalue()

    # An event that never came from the workflow: it does not trace back.
    forged = NewEvent(uuid.uuid4(), "plan_adopted", {"note": "forged"}, "mallory", "system")
    await store.append(plan, last - 1, [forged])
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out) == 1
    assert f"versjon {last} (plan_adopted, hendelse {forged.event_id})" in out.getvalue()
    assert "kan ikke spores tilbake til Temporal-historikken" in out.getvalue()
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out, language="en") == 1
    assert f"version {last} (plan_adopted, event {forged.event_id})" in out.getvalue()
    assert "does not trace back to the Temporal history" in out.getvalue()

    # An edited event breaks the chain at its version, and verify says which.
    await tamper(
        pool,
        "UPDATE events SET actor_id = 'someone-else' WHERE stream_id = $1 AND version = 4",
        plan,
    )
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out) == 1
    assert f"{plan}: Kjeden er BRUTT ved versjon 4: " in out.getvalue()
    assert out.getvalue().endswith("\nVerifisering IKKE bestått: 1 feil.\n")
    out = io.StringIO()
    assert await commands.verify(store, client, [plan], out, language="en") == 1
    assert "chain BROKEN at version 4" in out.getvalue()
    assert out.getvalue().endswith("\nVerification FAILED: 1 problem(s).\n")


async def test_history_filters_and_json_lines(audited: Audited) -> None:
    plan, store, _client = audited

    out = io.StringIO()
    where = HistoryFilter(phase="strategies", type="sign_off_given")
    assert await commands.show_history(store, plan, where, as_json=True, out=out) == 0
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines
    assert {(r["phase"], r["type"], r["actor_role"]) for r in lines} == {
        ("strategies", "sign_off_given", "steering_group")
    }
    assert all(r["recorded_oslo"].endswith(("+01:00", "+02:00")) for r in lines)

    out = io.StringIO()
    assert (
        await commands.show_history(store, plan, HistoryFilter(actor="geir.jakobsen"), False, out)
        == 0
    )
    table = out.getvalue().splitlines()
    # In bokmål words by default: the event, its step, the role, Oslo time with the offset.
    assert "registrert (Oslo)" in table[0]
    assert len(table) == 2
    assert "Utkaststeg utført" in table[1]
    assert "Økonomisk kvalitetssikring" in table[1]
    assert "økonomiavdelingen" in table[1]
    assert table[1].split()[3] in {"+01:00", "+02:00"}
    english = io.StringIO()
    where = HistoryFilter(actor="geir.jakobsen")
    assert await commands.show_history(store, plan, where, False, english, language="en") == 0
    table = english.getvalue().splitlines()
    assert "recorded (Oslo)" in table[0]
    assert "draft_step_completed" in table[1]
    assert "finance_office" in table[1]

    everything = io.StringIO()
    assert await commands.show_history(store, plan, HistoryFilter(), True, everything) == 0
    assert len(everything.getvalue().splitlines()) == (await store.head(plan))[0]


async def test_replay_passes_on_current_code_and_names_a_breaking_change(audited: Audited) -> None:
    plan, _store, client = audited
    out = io.StringIO()
    assert await commands.replay(client, plan, out) == 0
    assert re.fullmatch(
        rf"{plan}: Avspillingen er i orden – antall kjøringer: \d+, hendelser i historikken: \d+\n",
        out.getvalue(),
    )
    out = io.StringIO()
    assert await commands.replay(client, plan, out, language="en") == 0
    assert re.fullmatch(rf"{plan}: replay OK, \d+ run\(s\), \d+ history events\n", out.getvalue())
    failures: tuple[tuple[catalogue.Language, str], ...] = (
        ("nb", "AVSPILLINGEN FEILET"),
        ("en", "REPLAY FAILED"),
    )
    for language, failed in failures:
        out = io.StringIO()
        code = await commands.replay(
            client, plan, out, workflows=[PlanWorkflowWithAPause], language=language
        )
        assert code == 1
        assert out.getvalue().startswith(f"{plan}: {failed} ")
        assert "Nondeterminism" in out.getvalue()
        assert catalogue.t("replay.failed_advice", language) in out.getvalue()


async def test_audit_commands_through_the_cli(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    database_url: str,
    audited: Audited,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    plan = audited.plan
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["audit", "verify", plan]) == 0
    said = capsys.readouterr().out
    assert f"{plan}: Krysskontrollen er i orden – " in said
    assert said.endswith("Verifisering bestått.\n")
    assert await asyncio.to_thread(main, ["audit", "verify", plan, "--lang", "en"]) == 0
    said = capsys.readouterr().out
    assert f"{plan}: cross-check OK, " in said
    assert said.endswith("Verification passed.\n")
    assert await asyncio.to_thread(main, ["audit", "verify", "--all"]) == 0
    assert await asyncio.to_thread(main, ["audit", "replay", plan]) == 0
    assert f"{plan}: Avspillingen er i orden – " in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["audit", "replay", plan, "--lang", "en"]) == 0
    assert f"{plan}: replay OK, " in capsys.readouterr().out
    assert (
        await asyncio.to_thread(main, ["audit", "history", plan, "--type", "council_decided"]) == 0
    )
    assert "municipal_council" in capsys.readouterr().out
    assert (
        await asyncio.to_thread(main, ["audit", "state", plan, "--at-version", "3", "--json"]) == 0
    )
    state = json.loads(capsys.readouterr().out)
    assert state["status"]["step_key"] == "goals.quality_assurance"
    assert await asyncio.to_thread(main, ["audit", "history", "no-such-plan"]) == 1
    exported = tmp_path / "export.jsonl"
    assert (
        await asyncio.to_thread(
            main, ["audit", "export", plan, "--format", "jsonl", "--out", str(exported)]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        rf"Eksporterte \d+ hendelser fra {plan} til {exported}; siste hash \w+", lines[0]
    )
    assert lines[1].startswith("Ved siden av: ") or lines[1] == catalogue.t("export.no_checkpoint")
    assert verify_export.main([str(exported)]) == 0
    spreadsheet = tmp_path / "decisions.csv"
    assert (
        await asyncio.to_thread(
            main, ["audit", "export", plan, "--format", "csv", "--out", str(spreadsheet)]
        )
        == 0
    )
    assert spreadsheet.read_bytes().startswith(b"\xef\xbb\xbfversion;")  # Excel's own
    with_commas = tmp_path / "decisions-comma.csv"
    argv = ["audit", "export", plan, "--format", "csv", "--separator", "comma", "--lang", "en"]
    capsys.readouterr()
    assert await asyncio.to_thread(main, [*argv, "--out", str(with_commas)]) == 0
    said = capsys.readouterr().out
    assert re.fullmatch(rf"exported \d+ decisions of {plan} to {with_commas}\n", said)
    assert with_commas.read_bytes().startswith(b"\xef\xbb\xbfversion,")
    # The auditors' report as a PDF, and the same through the export.
    report = tmp_path / "rapport.pdf"
    argv = ["audit", "report", plan, "--pdf", "--out", str(report)]
    assert await asyncio.to_thread(main, argv) == 0
    assert report.read_bytes()[:5] == b"%PDF-"
    exported_pdf = tmp_path / "report-en.pdf"
    argv = ["audit", "export", plan, "--format", "pdf", "--lang", "en"]
    assert await asyncio.to_thread(main, [*argv, "--out", str(exported_pdf)]) == 0
    assert f"wrote the en report of {plan} to {exported_pdf}" in capsys.readouterr().out
    assert exported_pdf.read_bytes()[:5] == b"%PDF-"
    assert (
        await asyncio.to_thread(
            main,
            ["audit", "export", "no-such-plan", "--format", "jsonl", "--out", str(tmp_path / "x")],
        )
        == 1
    )
    assert not (tmp_path / "x").exists()
