"""The yearly revision (rullering) on the real servers: the schedule made on adoption,
a triggered and a backfilled revision, the 30-day reporting round passed by time skipping,
refusals that leave no trace, the scheduler's pause, and the auditor's view afterwards."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    ScheduleOverlapPolicy,
    WorkflowHandle,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.models import EnsureScheduleInput
from activities.schedule_activities import ScheduleActivities
from audit import verify_export
from audit.commands import export, replay, show_state, verify
from catalogue import t
from client.revision_simulation import revision_status_when, wait_for_revision
from client.schedules import ScheduleRefused, act_on_schedule, describe_schedule
from client.simulation import send_hearing_responses
from client.typed import RevisionClient
from domain import revision_commands as rc
from domain.commands import Receipt
from domain.gates import PlanStatus
from domain.hierarchy import Measure
from domain.ids import revision_workflow_id, revision_year, schedule_id_for
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from domain.revision_models import ChangeKind, MeasureChange, ScheduleAction
from domain.state import fold
from temaplan.cli import main
from tests.integration.conftest import Engine, refused
from workflows.registry import DEFAULT_REVISION_DATE

pytestmark = pytest.mark.servers

SCHEDULER = "espen.moe"
PROJECT_LEADER = "kari.nilsen"


@pytest.fixture
async def adopted(engine: Engine) -> PlanDefinition:
    """Bodø's plan, with a slug of its own, driven to adoption with two hearing responses."""
    definition = engine.plan()
    driver = await engine.started(definition)
    handle = driver.handle

    async def hearing(_status: PlanStatus) -> None:
        await send_hearing_responses(driver, 2, with_receipt=1)
        await driver.wait_for(lambda s: s.hearing_responses == 2)
        await engine.env.fast_forward(
            handle, timedelta(days=definition.settings.hearing_days, minutes=5)
        )

    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    await handle.result()
    return definition


async def update(handle: WorkflowHandle[Any, Any], name: str, command: Any) -> Receipt:
    receipt: Receipt = await handle.execute_update(name, command, result_type=Receipt)
    return receipt


def report(actor: str, year: int, measure: str, status: str, value: str | None = None) -> Any:
    return rc.ReportMeasure(
        actor_id=actor,
        year=year,
        measure_id=measure,
        status=status,
        comment=f"{measure}: {status}",
        indicator_value=value,
    )


def schedule_command(action: ScheduleAction, **extra: Any) -> rc.ScheduleCommand:
    return rc.ScheduleCommand(
        actor_id=SCHEDULER, action=action, request_id=uuid.uuid4().hex[:12], **extra
    )


async def accepted_updates(handle: WorkflowHandle[Any, Any]) -> int:
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def test_adoption_creates_exactly_one_yearly_schedule_in_oslo_time(
    engine: Engine, adopted: PlanDefinition
) -> None:
    plan_id = adopted.plan_id
    client = engine.env.client

    described = await client.get_schedule_handle(schedule_id_for(plan_id)).describe()
    spec = described.schedule.spec
    assert spec.time_zone_name == "Europe/Oslo"
    [calendar] = spec.calendars
    assert (calendar.month[0].start, calendar.day_of_month[0].start, calendar.hour[0].start) == (
        9,
        1,
        8,
    )
    # Reminders stop with the planning period: the last moment of 2029 in Oslo.
    assert spec.end_at == datetime(2029, 12, 31, 22, 59, 59, tzinfo=UTC)
    assert described.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
    assert described.info.next_action_times[0].astimezone(UTC).hour == 6  # 08:00 CEST
    assert not described.schedule.state.paused

    # The record says so, once.
    state = fold(await engine.store.read_domain(plan_id))
    assert state.schedule is not None
    assert state.schedule.schedule_id == schedule_id_for(plan_id)
    assert [d.event_type for d in state.decisions].count("revision_schedule_created") == 1

    # Creating it again (a retry, a second adoption) keeps the one schedule.
    again = await ScheduleActivities(
        client, engine.task_queue, DEFAULT_REVISION_DATE
    ).ensure_revision_schedule(EnsureScheduleInput(plan_id=plan_id, definition=adopted))
    assert again.already_existed
    ours = [s.id async for s in await client.list_schedules() if s.id == schedule_id_for(plan_id)]
    assert ours == [schedule_id_for(plan_id)]


async def test_two_yearly_revisions_report_revise_and_score(
    engine: Engine, adopted: PlanDefinition, tmp_path: Path
) -> None:
    plan_id = adopted.plan_id
    store = engine.store
    client = engine.env.client

    # Year one: a scheduler triggers the reminder now.
    trigger = await act_on_schedule(
        client, store, plan_id, schedule_command(ScheduleAction.TRIGGER), engine.task_queue
    )
    assert trigger.event_type == "revision_schedule_changed"
    year = revision_year(datetime.now(UTC))
    handle = await wait_for_revision(client, plan_id, year)
    status = await RevisionClient(handle).status()
    assert status.round_open
    assert status.awaited["tiltak-1.1.1"] == ["tor.berg"]
    assert status.awaited["tiltak-3.1.1"] == [PROJECT_LEADER]  # no one named in that unit

    receipts = [
        await update(handle, "report_measure", report("tor.berg", year, "tiltak-1.1.1", "done")),
        await update(
            handle, "report_measure", report("tor.berg", year, "tiltak-1.1.2", "done", "20")
        ),
        await update(
            handle, "report_measure", report("tor.berg", year, "tiltak-3.2.1", "not_done", "65")
        ),
        await update(
            handle, "report_measure", report("ola.hansen", year, "tiltak-2.1.1", "done", "90")
        ),
        await update(
            handle, "report_measure", report("ola.hansen", year, "tiltak-2.1.2", "not_done")
        ),
        await update(handle, "report_measure", report("anne.larsen", year, "tiltak-2.2.1", "done")),
        await update(
            handle,
            "report_goal_indicator",
            rc.ReportGoalIndicator(
                actor_id=PROJECT_LEADER, year=year, goal_id="mal-1", value="352"
            ),
        ),
    ]
    versions = [r.version for r in receipts]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)

    # The project leader cannot close early while measures are unreported.
    early = await refused(
        handle, "close_round", rc.CloseReportingRound(actor_id=PROJECT_LEADER, year=year)
    )
    assert "tiltak-1.2.1" in early.message

    # The 30-day round runs out on the workflow's clock.
    await engine.env.fast_forward(handle, timedelta(days=31))
    status = await revision_status_when(handle, lambda s: s.scorecard is not None)
    card = status.scorecard
    assert card is not None
    assert not status.round_open
    assert (card.done, card.total) == (4, 10)
    by_goal = {g.id: (g.done, g.total) for g in card.goals}
    assert by_goal == {"mal-1": (2, 3), "mal-2": (2, 4), "mal-3": (0, 3)}
    strategies = {s.id: (s.done, s.total) for g in card.goals for s in g.strategies}
    assert strategies["str-1.1"] == (2, 2)
    assert strategies["str-3.2"] == (0, 2)
    assert set(card.unreported) == {"tiltak-1.2.1", "tiltak-2.2.2", "tiltak-3.1.1", "tiltak-3.2.2"}
    indicators = {i.item_id: i for i in card.indicators}
    assert indicators["mal-1"].current == Decimal("352")
    assert indicators["mal-1"].baseline == Decimal("310")
    assert indicators["mal-2"].current is None
    assert indicators["tiltak-1.1.2"].current == Decimal("20")
    assert indicators["tiltak-3.2.1"].current == Decimal("65")
    state = fold(await store.read_domain(plan_id))
    revision = state.revision(year)
    assert revision is not None
    assert set(revision.reminded) == set(card.unreported)
    rendered = await engine.pool.fetchval(
        "SELECT body FROM scorecards WHERE plan_id = $1 AND year = $2 AND format = 'html'",
        plan_id,
        year,
    )
    assert "<svg" in rendered
    assert "4 av 10" in rendered

    # Next year's changes: retire a measure that is done, add a new one.
    assert adopted.proposals is not None
    done_measure = next(m for m in adopted.proposals.measures if m.id == "tiltak-1.1.1")
    new_measure = Measure.model_validate(
        {
            **done_measure.model_dump(),
            "id": "tiltak-1.1.3",
            "title": "Tomtereserve for 200 boliger i Hunstad sør",
            "due_year": 2028,
        }
    )
    proposal = await update(
        handle,
        "propose_changes",
        rc.ProposeChanges(
            actor_id=PROJECT_LEADER,
            year=year,
            changes=(
                MeasureChange(
                    kind=ChangeKind.RETIRE, measure_id="tiltak-1.1.1", reason="Utført i 2026."
                ),
                MeasureChange(kind=ChangeKind.ADD, measure=new_measure, reason="Ny tomtereserve."),
            ),
        ),
    )
    status = await RevisionClient(handle).status()
    assert status.pending_proposal_version is not None
    review = {
        "year": year,
        "content_version": status.pending_proposal_version,
        "content_hash": status.pending_proposal_hash,
    }
    await update(handle, "review_changes", rc.ReviewChanges(actor_id="per.olsen", **review))
    # Majority of three: the second sign-off revises the plan.
    await update(handle, "review_changes", rc.ReviewChanges(actor_id="anne.larsen", **review))
    result = await handle.result()
    assert result.outcome == "revised"
    assert result.content_version == status.pending_proposal_version
    assert proposal.version < (await store.head(plan_id))[0]

    # Year two: a backfill for the next reminder date.
    next_year = year + 1
    await act_on_schedule(
        client,
        store,
        plan_id,
        schedule_command(
            ScheduleAction.BACKFILL,
            backfill_from=datetime(next_year, 8, 31, tzinfo=UTC),
            backfill_to=datetime(next_year, 9, 2, tzinfo=UTC),
        ),
        engine.task_queue,
    )
    second = await wait_for_revision(client, plan_id, next_year)
    status = await RevisionClient(second).status()
    assert "tiltak-1.1.3" in status.awaited
    assert "tiltak-1.1.1" not in status.awaited
    values = {"tiltak-1.1.2": "35", "tiltak-2.1.1": "101", "tiltak-3.2.1": "72.5"}
    for measure, people in sorted(status.awaited.items()):
        outcome = "not_done" if measure == "tiltak-2.1.2" else "done"
        await update(
            second,
            "report_measure",
            report(people[0], next_year, measure, outcome, values.get(measure)),
        )
    await update(
        second, "close_round", rc.CloseReportingRound(actor_id=PROJECT_LEADER, year=next_year)
    )
    status = await revision_status_when(second, lambda s: s.scorecard is not None)
    second_card = status.scorecard
    assert second_card is not None
    assert (second_card.done, second_card.total) == (9, 10)
    assert second_card.unreported == ()
    assert second_card.content_version == result.content_version
    await update(second, "conclude", rc.ConcludeRevision(actor_id=PROJECT_LEADER, year=next_year))
    second_result = await second.result()
    assert second_result.outcome == "unchanged"

    # The auditor's view: the revised content and the reports, from the store alone.
    out = io.StringIO()
    assert (
        await show_state(
            store, plan_id, as_of=None, at_version=None, as_json=False, out=out, language="en"
        )
        == 0
    )
    text = out.getvalue()
    assert "tiltak-1.1.3" in text
    assert "Measure tiltak-1.1.1" not in text
    assert f"Revision {year}" in text
    assert f"Revision {next_year}" in text
    assert "tiltak-3.2.1: not_done by tor.berg" in text
    assert "4 of 10 done" in text
    assert "9 of 10 done" in text

    # Every event in the store traces back to a workflow history, and the chain holds.
    out = io.StringIO()
    assert await verify(store, client, [plan_id], out, language="en") == 0, out.getvalue()
    assert "cross-check OK" in out.getvalue()
    # The revisions' and the scheduler actions' histories replay on the current code.
    out = io.StringIO()
    assert await replay(client, plan_id, out) == 0, out.getvalue()
    # The plan, two reminders, two revisions, two scheduler actions.
    assert "Avspillingen er i orden – antall kjøringer: 7," in out.getvalue()

    # The evidence carries the revisions: the report describes them, the export verifies.
    report_path = tmp_path / "report.html"
    assert await export(store, plan_id, "html", report_path, "nb") == 0
    report_text = report_path.read_text(encoding="utf-8")
    assert f"Målekort {year}: 4 av 10 tiltak utført" in report_text
    assert "Revidert plan gjelder" in report_text
    exported = tmp_path / "plan.jsonl"
    assert await export(store, plan_id, "jsonl", exported) == 0
    assert verify_export.main([str(exported)]) == 0


async def test_refused_reports_leave_no_trace(engine: Engine, adopted: PlanDefinition) -> None:
    plan_id = adopted.plan_id
    store = engine.store
    await act_on_schedule(
        engine.env.client,
        store,
        plan_id,
        schedule_command(ScheduleAction.TRIGGER),
        engine.task_queue,
    )
    year = revision_year(datetime.now(UTC))
    handle = await wait_for_revision(engine.env.client, plan_id, year)
    head = await store.head(plan_id)
    accepted = await accepted_updates(handle)

    wrong_person = await refused(
        handle, "report_measure", report("ola.hansen", year, "tiltak-1.1.1", "done")
    )
    assert wrong_person.type == "WrongRole"
    assert "not responsible for measure 'tiltak-1.1.1'" in wrong_person.message
    assert "tor.berg" in wrong_person.message
    unknown = await refused(
        handle, "report_measure", report("tor.berg", year, "tiltak-9.9.9", "done")
    )
    assert unknown.type == "UnknownItem"
    assert "tiltak-9.9.9" in unknown.message
    malformed = await refused(
        handle, "report_measure", report("tor.berg", year, "tiltak-1.1.2", "done", "tjue")
    )
    assert malformed.type == "InvalidValue"
    assert "'tjue' is not a number" in malformed.message
    missing = await refused(
        handle, "report_measure", report("tor.berg", year, "tiltak-1.1.2", "done")
    )
    assert "indicator_value" in missing.message
    bad_status = await refused(
        handle, "report_measure", report("tor.berg", year, "tiltak-1.1.1", "halfway")
    )
    assert "allowed: done, not_done" in bad_status.message
    outsider = await refused(
        handle, "report_measure", report("nobody", year, "tiltak-1.1.1", "done")
    )
    assert outsider.type == "UnknownParticipant"

    assert await store.head(plan_id) == head
    assert await accepted_updates(handle) == accepted

    # After the round has closed, even the right person is refused.
    await engine.env.fast_forward(handle, timedelta(days=31))
    await revision_status_when(handle, lambda s: not s.round_open)
    head = await store.head(plan_id)
    accepted = await accepted_updates(handle)
    late = await refused(handle, "report_measure", report("tor.berg", year, "tiltak-1.1.1", "done"))
    assert late.type == "GateNotOpen"
    assert "is closed" in late.message
    assert await store.head(plan_id) == head
    assert await accepted_updates(handle) == accepted


async def test_pause_and_unpause_are_recorded_and_a_paused_schedule_starts_nothing(
    engine: Engine, adopted: PlanDefinition
) -> None:
    plan_id = adopted.plan_id
    store = engine.store
    client = engine.env.client

    # Only a scheduler may act on the schedule; a refused action starts nothing.
    with pytest.raises(ScheduleRefused) as not_scheduler:
        await act_on_schedule(
            client,
            store,
            plan_id,
            schedule_command(ScheduleAction.PAUSE, reason="x").model_copy(
                update={"actor_id": PROJECT_LEADER}
            ),
            engine.task_queue,
        )
    assert not_scheduler.value.code == "WrongRole"
    with pytest.raises(ScheduleRefused) as no_reason:
        await act_on_schedule(
            client, store, plan_id, schedule_command(ScheduleAction.PAUSE), engine.task_queue
        )
    assert "needs a reason" in no_reason.value.message

    reason = "Budsjettprosessen flyttes til våren; rulleringen venter."
    pause_command = schedule_command(ScheduleAction.PAUSE, reason=reason)
    paused_request = pause_command.request_id
    paused = await act_on_schedule(client, store, plan_id, pause_command, engine.task_queue)
    view = await describe_schedule(client, plan_id)
    assert view.paused
    assert reason in view.note
    # The same request again (an answer lost on the way): its original receipt, nothing new.
    again = await act_on_schedule(
        client,
        store,
        plan_id,
        schedule_command(ScheduleAction.PAUSE, reason=reason).model_copy(
            update={"request_id": paused_request}
        ),
        engine.task_queue,
    )
    assert again == paused.model_copy(update={"duplicate": True})
    state = fold(await store.read_domain(plan_id))
    assert state.schedule is not None
    assert state.schedule.paused
    assert state.schedule.pause_reason == reason
    assert state.schedule.changed_by == SCHEDULER
    last = state.decisions[-1]
    assert (last.event_type, last.actor_id, last.outcome, last.reason) == (
        "revision_schedule_changed",
        SCHEDULER,
        "pause",
        reason,
    )
    assert paused.version == (await store.head(plan_id))[0]

    # Paused: a trigger is refused and no reminder runs.
    before = (await describe_schedule(client, plan_id)).actions_taken
    with pytest.raises(ScheduleRefused) as while_paused:
        await act_on_schedule(
            client, store, plan_id, schedule_command(ScheduleAction.TRIGGER), engine.task_queue
        )
    assert while_paused.value.code == "GateNotOpen"
    assert "paused" in while_paused.value.message
    await asyncio.sleep(1)
    assert (await describe_schedule(client, plan_id)).actions_taken == before
    year = revision_year(datetime.now(UTC))
    with pytest.raises(RPCError):
        await client.get_workflow_handle(revision_workflow_id(plan_id, year)).describe()

    unpaused = await act_on_schedule(
        client, store, plan_id, schedule_command(ScheduleAction.UNPAUSE), engine.task_queue
    )
    assert unpaused.version == paused.version + 1
    assert not (await describe_schedule(client, plan_id)).paused
    state = fold(await store.read_domain(plan_id))
    assert state.schedule is not None
    assert not state.schedule.paused
    assert [d.outcome for d in state.decisions if d.event_type == "revision_schedule_changed"] == [
        "pause",
        "unpause",
    ]
    live = PlanState.model_validate(state.model_dump())
    assert live == state


@pytest.fixture
def cli_servers(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    temporal_env: WorkflowEnvironment,
    task_queue: str,
) -> None:
    """`temaplan` pointed at this test's database, Temporal server and task queue."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", task_queue)


@pytest.mark.usefixtures("cli_servers")
async def test_scheduler_commands_through_the_cli(
    engine: Engine, adopted: PlanDefinition, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_id = adopted.plan_id

    async def cli(*args: str) -> tuple[int, str]:
        code = await asyncio.to_thread(main, ["--lang", "en", "schedule", *args])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, out = await cli("list")
    assert code == 0
    assert schedule_id_for(plan_id) in out
    code, out = await cli("describe", plan_id)
    assert code == 0
    assert "yearly at 09-01 08:00 Europe/Oslo" in out
    assert "next: " in out

    code, out = await cli("pause", plan_id, "--actor", PROJECT_LEADER, "--reason", "x")
    assert code == 1
    assert "refused (WrongRole)" in out
    code, out = await cli("pause", plan_id, "--actor", SCHEDULER, "--reason", "Ny budsjettplan")
    assert code == 0, out
    assert f"pause recorded: plan {plan_id} version" in out
    code, out = await cli("describe", plan_id)
    assert "PAUSED: espen.moe: Ny budsjettplan" in out
    # In bokmål by default, a refusal in the web page's words for it.
    assert await asyncio.to_thread(main, ["schedule", "describe", plan_id]) == 0
    assert "SATT PÅ PAUSE: espen.moe: Ny budsjettplan" in capsys.readouterr().out
    wrong = ["schedule", "unpause", plan_id, "--actor", PROJECT_LEADER]
    assert await asyncio.to_thread(main, wrong) == 1
    said = capsys.readouterr().err
    assert f"schedule unpause ble avvist (WrongRole): {t('refusal.wrong_role')}" in said
    code, out = await cli(
        "backfill", plan_id, "--actor", SCHEDULER, "--from", "2027-09-02", "--to", "2027-09-01"
    )
    assert code == 1
    assert "paused" in out
    code, out = await cli("unpause", plan_id, "--actor", SCHEDULER)
    assert code == 0, out
    code, out = await cli(
        "backfill", plan_id, "--actor", SCHEDULER, "--from", "2027-09-02", "--to", "2027-09-01"
    )
    assert code == 1
    assert "--from before --to" in out
    code, out = await cli("describe", "no-such-plan")
    assert code == 1
    assert "has no revision schedule" in out
    state = fold(await engine.store.read_domain(plan_id))
    assert [d.outcome for d in state.decisions if d.event_type == "revision_schedule_changed"] == [
        "pause",
        "unpause",
    ]


@pytest.mark.usefixtures("cli_servers")
async def test_a_trigger_whose_revision_cannot_run_fails_for_the_scheduler_and_in_the_record(
    engine: Engine, adopted: PlanDefinition, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_id = adopted.plan_id
    store = engine.store
    client = engine.env.client
    await act_on_schedule(
        client, store, plan_id, schedule_command(ScheduleAction.TRIGGER), engine.task_queue
    )
    year = revision_year(datetime.now(UTC))
    await wait_for_revision(client, plan_id, year)

    # This year's revision exists: a second trigger cannot start one.
    with pytest.raises(ScheduleRefused) as caught:
        await act_on_schedule(
            client, store, plan_id, schedule_command(ScheduleAction.TRIGGER), engine.task_queue
        )
    assert caught.value.code == "RevisionCannotRun"
    assert f"the revision for {year} already exists" in caught.value.message
    code = await asyncio.to_thread(
        main, ["--lang", "en", "schedule", "trigger", plan_id, "--actor", SCHEDULER]
    )
    out = capsys.readouterr()
    assert code == 1
    assert "schedule trigger refused (RevisionCannotRun)" in out.err
    assert "recorded as failed" in out.err

    state = fold(await store.read_domain(plan_id))
    outcomes = [
        (d.outcome, d.reason)
        for d in state.decisions
        if d.event_type == "revision_schedule_changed"
    ]
    assert [o for o, _ in outcomes] == ["trigger", "trigger failed", "trigger failed"]
    assert all("already exists" in reason for _, reason in outcomes[1:])
    assert (await store.verify(plan_id)).ok
    # Only the one revision of the year was started.
    assert len(state.revisions) == 1
