"""Attested actors beyond the plan's own decisions: a revision's updates and a scheduler's
actions carry the front door's signature on who sent them (the API, the web page, and
`temaplan schedule ... --token`), checked by the worker before anything is recorded; an
unattested one is recorded and shown as NOT attested, or refused where the deployment
requires attestation; a forged or altered attestation is refused."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHistory,
)

from activities.attestation import SCHEDULE_ACTION, AttestationPolicy, configure
from api.app import create_app
from api.attest import attest
from api.service import ApiContext
from audit import commands
from audit.export import export_csv
from audit.history import PAST_THE_FRONT_DOOR, HistoryFilter
from audit.report import export_html
from client.revision_simulation import wait_for_revision
from client.schedules import ScheduleRefused, act_on_schedule, describe_schedule
from domain import checkpoints as cp
from domain import revision_commands as rc
from domain.attestation import Attestation
from domain.commands import Receipt
from domain.ids import (
    revision_workflow_id,
    revision_year,
    schedule_action_workflow_id,
    schedule_id_for,
)
from domain.plan import PlanDefinition
from domain.revision_models import ScheduleAction
from eventstore import EventStore
from eventstore.pool import create_pool
from runtime.settings import Settings
from temaplan.cli import main
from tests.integration.conftest import (
    adopted_closing_early,
    adopted_with_open_round,
    bearer,
    refused,
    unique,
)
from tests.integration.replay import replay_all, replayer
from tests.integration.test_plan_temporal_cli import temporal_cli
from workflows.registry import build_worker

pytestmark = pytest.mark.servers

FRONT_DOOR = cp.SigningKey.generate("bolig.kommune.example/front-door")
STRANGER = cp.SigningKey.generate("bolig.kommune.example/front-door")
SCHEDULER = "espen.moe"


@asynccontextmanager
async def deployment(
    client: Client, pool: asyncpg.Pool, database_url: str
) -> AsyncIterator[tuple[str, ApiContext, httpx.AsyncClient]]:
    """A worker that accepts the front door's key (not yet requiring it), and the API
    holding that key."""
    queue = f"plans-{uuid.uuid4()}"
    settings = Settings(TEMPORAL_TASK_QUEUE=queue, TEMAPLAN_FRONT_DOOR_KEY=FRONT_DOOR.text())
    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    ctx = ApiContext(client=client, pool=pool, audit_pool=audit_pool, settings=settings)
    transport = httpx.ASGITransport(app=create_app(ctx))
    policy = AttestationPolicy((FRONT_DOOR.verifier,), require=False)
    try:
        async with (
            build_worker(client, pool, queue, attestation=policy),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
        ):
            yield queue, ctx, api
    finally:
        await audit_pool.close()


@asynccontextmanager
async def adopted_in_deployment(
    client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> AsyncIterator[tuple[str, str]]:
    """A ``deployment`` in which a fresh copy of ``bodo`` has been driven to adoption, its
    hearing closed early: the task queue and the plan's id."""
    async with deployment(client, pool, database_url) as (queue, _ctx, _api):
        definition = unique(bodo)
        await adopted_closing_early(client, queue, definition)
        yield queue, definition.plan_id


def report(actor: str, year: int, measure: str, status: str, value: str | None = None) -> Any:
    return rc.ReportMeasure(
        actor_id=actor, year=year, measure_id=measure, status=status, indicator_value=value
    )


def schedule_command(action: ScheduleAction, **extra: Any) -> rc.ScheduleCommand:
    return rc.ScheduleCommand(
        actor_id=SCHEDULER, action=action, request_id=uuid.uuid4().hex[:12], **extra
    )


async def test_revision_updates_are_attested_checked_and_refused_unattested_when_required(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    async with deployment(plain_client, pool, database_url) as (queue, ctx, api):
        definition = unique(bodo)
        plan = definition.plan_id
        year = await adopted_with_open_round(ctx, plain_client, queue, definition)
        handle = plain_client.get_workflow_handle(revision_workflow_id(plan, year))
        store = EventStore(pool)

        tor = await bearer(ctx, "tor.berg")
        through_api = await api.post(
            f"/api/plans/{plan}/revisions/{year}/reports",
            json={"measure_id": "tiltak-1.1.1", "status": "done"},
            headers=tor,
        )
        assert through_api.status_code == 200, through_api.text
        # Past the front door, where it is not required: accepted, recorded unattested.
        raw = await handle.execute_update(
            "report_measure",
            report("tor.berg", year, "tiltak-1.1.2", "done", "20"),
            result_type=Receipt,
        )

        # Someone else's attestation on this person's report.
        genuine = attest(
            report("tor.berg", year, "tiltak-3.2.1", "not_done", "65"),
            "report_measure",
            plan,
            FRONT_DOOR,
        )
        borrowed = report("ola.hansen", year, "tiltak-2.1.1", "done", "90").model_copy(
            update={"attestation": genuine.attestation}
        )
        refusal = await refused(handle, "report_measure", borrowed)
        assert refusal.type == "AttestationInvalid"
        assert "its actor_id is 'tor.berg', the decision's is 'ola.hansen'" in refusal.message
        altered = genuine.model_copy(update={"status": "done"})
        refusal = await refused(handle, "report_measure", altered)
        assert "its command_sha256 is" in refusal.message
        stranger = attest(
            report("ola.hansen", year, "tiltak-2.1.1", "done", "90"),
            "report_measure",
            plan,
            STRANGER,
        )
        refusal = await refused(handle, "report_measure", stranger)
        assert "not a front-door key of this plan" in refusal.message
        # An attestation made for another update of the same person.
        elsewhere = attest(
            rc.CloseReportingRound(actor_id="kari.nilsen", year=year), "conclude", plan, FRONT_DOOR
        )
        refusal = await refused(handle, "close_round", elsewhere)
        assert "its update is 'conclude', the decision's is 'close_round'" in refusal.message

        # The deployment now requires attestation.
        configure(queue, AttestationPolicy((FRONT_DOOR.verifier,), require=True))
        head = await store.head(plan)
        refusal = await refused(
            handle, "report_measure", report("ola.hansen", year, "tiltak-2.1.1", "done", "90")
        )
        assert refusal.type == "Unattested"
        assert "records only attested decisions" in refusal.message
        assert await store.head(plan) == head
        ola = await api.post(
            f"/api/plans/{plan}/revisions/{year}/reports",
            json={"measure_id": "tiltak-2.1.1", "status": "done", "indicator_value": 90},
            headers=await bearer(ctx, "ola.hansen"),
        )
        assert ola.status_code == 200, ola.text

    events = {e.version: e for e in await store.read(plan)}
    first = events[through_api.json()["version"]]
    attestation = Attestation.model_validate(first.data["attestation"])
    assert (attestation.update, attestation.actor_id, attestation.plan_id) == (
        "report_measure",
        "tor.berg",
        plan,
    )
    assert first.data["authenticated_by"].startswith("token ")
    assert "attestation" not in events[raw.version].data
    assert "attestation" in events[ola.json()["version"]].data

    out = io.StringIO()
    where = HistoryFilter(type="measure_reported")
    assert await commands.show_history(store, plan, where, as_json=True, out=out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["actor_id"], r["actor_kind"]) for r in rows] == [
        ("tor.berg", "attested"),
        ("tor.berg", "unattested"),
        ("ola.hansen", "attested"),
    ]
    assert rows[0]["authenticated_by"] == first.data["authenticated_by"]
    assert rows[1]["authenticated_by"] is None


async def test_schedule_actions_are_attested_through_the_api_and_the_cli(
    plain_client: Client,
    pool: asyncpg.Pool,
    database_url: str,
    bodo: PlanDefinition,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with deployment(plain_client, pool, database_url) as (queue, ctx, api):
        definition = unique(bodo)
        plan = definition.plan_id
        await adopted_with_open_round(ctx, plain_client, queue, definition)
        store = EventStore(pool)
        espen = await bearer(ctx, SCHEDULER)

        # A forged attestation: made for a pause, sent with another reason.
        genuine: rc.ScheduleCommand = attest(
            schedule_command(ScheduleAction.PAUSE, reason="Budsjett"),
            SCHEDULE_ACTION,
            plan,
            FRONT_DOOR,
        )
        head = await store.head(plan)
        with pytest.raises(ScheduleRefused) as caught:
            await act_on_schedule(
                plain_client,
                store,
                plan,
                genuine.model_copy(update={"reason": "Noe annet", "request_id": "abcdef0123"}),
                queue,
            )
        assert caught.value.code == "AttestationInvalid"
        assert "its command_sha256 is" in caught.value.message
        assert not (await describe_schedule(plain_client, plan)).paused
        assert await store.head(plan) == head

        paused = await api.post(
            f"/api/plans/{plan}/schedule/pause", json={"reason": "Budsjett"}, headers=espen
        )
        assert paused.status_code == 200, paused.text

        monkeypatch.setenv("DATABASE_URL", database_url)
        monkeypatch.setenv("TEMPORAL_ADDRESS", plain_client.service_client.config.target_host)
        monkeypatch.setenv("TEMPORAL_NAMESPACE", plain_client.namespace)
        monkeypatch.setenv("TEMPORAL_TASK_QUEUE", queue)
        monkeypatch.setenv("TEMAPLAN_FRONT_DOOR_KEY", FRONT_DOOR.text())
        monkeypatch.delenv("TEMAPLAN_TOKEN", raising=False)

        async def cli(*args: str) -> tuple[int, str]:
            code = await asyncio.to_thread(main, ["--lang", "en", "schedule", *args])
            captured = capsys.readouterr()
            return code, captured.out + captured.err

        token = (await ctx.tokens.issue(SCHEDULER)).token
        code, out = await cli("unpause", plan, "--token", token, "--actor", "per.olsen")
        assert code == 2
        assert "the token is espen.moe's, not per.olsen's" in out
        code, out = await cli("unpause", plan, "--token", token)
        assert code == 0, out
        assert "NOT attested" not in out
        unpaused_version = int(out.split(" version ")[1].split(",")[0])

        # The deployment now requires attestation: an action without a token is refused.
        configure(queue, AttestationPolicy((FRONT_DOOR.verifier,), require=True))
        head = await store.head(plan)
        code, out = await cli("pause", plan, "--actor", SCHEDULER, "--reason", "Uten token")
        assert code == 1
        assert "recorded as NOT attested" in out
        assert "refused (Unattested)" in out
        assert "records only attested decisions" in out
        with pytest.raises(ScheduleRefused) as caught:
            await act_on_schedule(
                plain_client, store, plan, schedule_command(ScheduleAction.PAUSE, reason="x"), queue
            )
        assert caught.value.code == "Unattested"
        assert not (await describe_schedule(plain_client, plan)).paused
        assert await store.head(plan) == head
        # Through the API it is attested, and carried out.
        required = await api.post(
            f"/api/plans/{plan}/schedule/pause", json={"reason": "Budsjett"}, headers=espen
        )
        assert required.status_code == 200, required.text
        assert (await describe_schedule(plain_client, plan)).paused

    # The refused actions' workflows stay in Temporal's history, failed with the refusal;
    # the cross-check and the replay take them as they are.
    action_ids = await commands.writer_workflow_ids(plain_client, plan)
    failures = []
    for workflow_id in action_ids:
        described = await plain_client.get_workflow_handle(workflow_id).describe()
        if described.status is WorkflowExecutionStatus.FAILED:
            failures.append(workflow_id)
    assert len(failures) == 3  # the forged one, the CLI's without a token, the other
    await replay_all(plain_client, action_ids)
    verified = io.StringIO()
    assert await commands.verify(store, plain_client, [plan], verified) == 0, verified.getvalue()
    assert f"{plan}: Krysskontrollen er i orden – " in verified.getvalue()

    events = {e.version: e for e in await store.read(plan)}
    for version, how in (
        (paused.json()["version"], "api"),
        (unpaused_version, "cli"),
        (required.json()["version"], "api"),
    ):
        event = events[version]
        assert event.type == "revision_schedule_changed", how
        assert event.actor_id == SCHEDULER
        assert event.data["authenticated_by"].startswith("token "), how
        attestation = Attestation.model_validate(event.data["attestation"])
        assert (attestation.update, attestation.actor_id) == (SCHEDULE_ACTION, SCHEDULER)
    # The trigger that opened the round was sent past the front door.
    [trigger] = [
        e
        for e in events.values()
        if e.type == "revision_schedule_changed" and e.data["action"] == "trigger"
    ]
    assert "attestation" not in trigger.data

    table = io.StringIO()
    where = HistoryFilter(type="revision_schedule_changed")
    # The English table keeps the record's own names (trigger, UNATTESTED).
    assert (
        await commands.show_history(store, plan, where, as_json=False, out=table, language="en")
        == 0
    )
    lines = table.getvalue().splitlines()
    assert "authenticated by" in lines[0]
    assert any("trigger" in line and "UNATTESTED" in line for line in lines)
    assert sum(1 for line in lines if "attested" in line and "token " in line) == 3

    await export_csv(store, plan, tmp_path / "plan.csv")
    csv_rows = (tmp_path / "plan.csv").read_text("utf-8-sig").splitlines()
    assert "authenticated_by" in csv_rows[0].split(";")
    assert any("revision_schedule_changed" in r and ";attested;token " in r for r in csv_rows)
    await export_html(
        store, plan, tmp_path / "plan.html", language="en", generated_at=datetime.now(UTC)
    )
    page = (tmp_path / "plan.html").read_text("utf-8")
    assert 'data-actor="attested">attested by the login' in page
    assert events[paused.json()["version"]].data["authenticated_by"] in page


async def test_a_reminder_triggered_past_the_front_door_is_shown_unattested(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    """`temporal schedule trigger` acts on the schedule itself: no scheduler's action is
    recorded, and `audit history` shows the reminder it started as unattested."""
    async with adopted_in_deployment(plain_client, pool, database_url, bodo) as (_queue, plan):
        address = plain_client.service_client.config.target_host
        code, _out, err = await temporal_cli(
            "schedule", "trigger", "--schedule-id", schedule_id_for(plan), "--address", address
        )
        assert code == 0, err
        await wait_for_revision(plain_client, plan, revision_year(datetime.now(UTC)))

    store = EventStore(pool)
    out = io.StringIO()
    where = HistoryFilter(type="revision_reminder_sent")
    for _ in range(100):
        out = io.StringIO()
        assert await commands.show_history(store, plan, where, as_json=True, out=out) == 0
        if out.getvalue():
            break
        await asyncio.sleep(0.1)
    [row] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert row["actor_kind"] == "unattested"
    assert row["decision"] == PAST_THE_FRONT_DOOR
    # Nothing in the record names who triggered it.
    assert not [e for e in await store.read(plan) if e.type == "revision_schedule_changed"]


HISTORIES = Path(__file__).parent / "histories"


@pytest.mark.parametrize(
    ("name", "workflow_type", "patches"),
    [
        # Its one patch marker: the reporting deadline's, from before.
        ("revision_before_attestation", "RevisionWorkflow", 1),
        ("schedule_action_before_attestation", "ScheduleActionWorkflow", 0),
    ],
)
async def test_histories_recorded_before_attestation_replay(
    name: str, workflow_type: str, patches: int
) -> None:
    """Recorded by the workflows as they were before these were attested (commit
    aceb7b5): a revision with two reports sent with authenticated_by and no attestation,
    and the scheduler's trigger that started it (load, apply, append: no check, no
    marker). Revisions and actions running at a deploy replay so: the revision's check is
    in its validators, the action's behind the patch schedule-action-attested."""
    text = gzip.decompress((HISTORIES / f"{name}.json.gz").read_bytes()).decode()
    history = WorkflowHistory.from_json(name, text)
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == workflow_type
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == patches
    await replayer().replay_workflow(history)


async def test_an_attested_action_and_revision_replay(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    """The newer histories replay too: the action's check behind its patch marker, the
    revision's attested updates."""
    async with deployment(plain_client, pool, database_url) as (queue, ctx, api):
        definition = unique(bodo)
        plan = definition.plan_id
        year = await adopted_with_open_round(ctx, plain_client, queue, definition)
        reported = await api.post(
            f"/api/plans/{plan}/revisions/{year}/reports",
            json={"measure_id": "tiltak-1.1.1", "status": "done"},
            headers=await bearer(ctx, "tor.berg"),
        )
        assert reported.status_code == 200, reported.text
        paused = await api.post(
            f"/api/plans/{plan}/schedule/pause",
            json={"reason": "Budsjett", "request_id": "abcdef012345"},
            headers=await bearer(ctx, SCHEDULER),
        )
        assert paused.status_code == 200, paused.text
        revision = plain_client.get_workflow_handle(revision_workflow_id(plan, year))
        action = plain_client.get_workflow_handle(schedule_action_workflow_id(plan, "abcdef012345"))
        action_history = await action.fetch_history()
        markers = [
            e.marker_recorded_event_attributes.marker_name
            for e in action_history.events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        ]
        assert markers == ["core_patch"]
        await replayer().replay_workflow(action_history)
        await replayer().replay_workflow(await revision.fetch_history())
        await revision.terminate("test done")
