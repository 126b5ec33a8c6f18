"""`audit verify` compares each plan's revision schedule in Temporal with the scheduler
actions in its record: the raw `temporal schedule toggle`, `trigger` and `backfill`
(past the front door, recording nothing) are reported as unattested schedule actions,
naming the schedule and what differs, with a non-zero exit; the attested actions are
not."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.client import Client

from audit import commands
from catalogue import Language
from client.schedules import act_on_schedule, describe_schedule
from domain.ids import schedule_id_for
from domain.plan import PlanDefinition
from domain.revision_models import ScheduleAction
from eventstore import EventStore
from tests.integration.test_attested_revision import adopted_in_deployment, schedule_command
from tests.integration.test_plan_temporal_cli import temporal_cli

pytestmark = pytest.mark.servers


async def verified(
    store: EventStore, client: Client, plan: str, language: Language = "en"
) -> tuple[int, str]:
    out = io.StringIO()
    code = await commands.verify(store, client, [plan], out, language=language)
    return code, out.getvalue()


async def raw(client: Client, *args: str) -> None:
    """The `temporal` CLI, straight at the schedule (the front door never sees it)."""
    address = client.service_client.config.target_host
    code, _out, err = await temporal_cli("schedule", *args, "--address", address)
    assert code == 0, err


async def test_raw_schedule_actions_are_reported_as_unattested(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    async with adopted_in_deployment(plain_client, pool, database_url, bodo) as (queue, plan):
        schedule = schedule_id_for(plan)
        store = EventStore(pool)
        code, out = await verified(store, plain_client, plan)
        assert code == 0, out
        assert f"{plan}: schedule {schedule} OK: active" in out
        code, out = await verified(store, plain_client, plan, "nb")
        assert code == 0, out
        assert f"{plan}: Rulleringsplanen {schedule} er i orden – aktiv; " in out

        # Paused past the front door: the record says active.
        await raw(plain_client, "toggle", "--schedule-id", schedule, "--pause", "--reason", "x")
        code, out = await verified(store, plain_client, plan)
        assert code == 1, out
        assert (
            f"{plan}: UNATTESTED SCHEDULE ACTION: schedule {schedule} is PAUSED in Temporal"
            " (note 'x'), the record says active (no pause or unpause is recorded)"
        ) in out
        # The same in bokmål, the check's own words too.
        code, out = await verified(store, plain_client, plan, "nb")
        assert code == 1, out
        assert (
            f"{plan}: IKKE ATTESTERT HANDLING PÅ RULLERINGSPLANEN: rulleringsplanen {schedule} er "
            "SATT PÅ PAUSE i Temporal (merknad 'x'), beslutningsloggen sier aktiv (ingen pause "
            "eller gjenopptakelse er registrert): satt på pause utenom de attesterte handlingene"
        ) in out
        # Unpaused again: the state agrees, the note still tells.
        await raw(plain_client, "toggle", "--schedule-id", schedule, "--unpause", "--reason", "y")
        code, out = await verified(store, plain_client, plan)
        assert code == 1, out
        assert f"schedule {schedule}'s note in Temporal is 'y', the recorded actions set" in out

        # An attested pause and unpause: the record explains the schedule again.
        for action in (ScheduleAction.PAUSE, ScheduleAction.UNPAUSE):
            command = schedule_command(action, reason="Budsjett")
            await act_on_schedule(plain_client, store, plan, command, queue)
        assert not (await describe_schedule(plain_client, plan)).paused
        code, out = await verified(store, plain_client, plan)
        assert code == 0, out

        # A backfill of last year's reminder, past the front door.
        now = datetime.now(UTC)
        start, end = (now - timedelta(days=364)).isoformat(), (now - timedelta(hours=1)).isoformat()
        await raw(
            plain_client, "backfill", "--schedule-id", schedule,
            "--start-time", start, "--end-time", end, "--overlap-policy", "AllowAll",
        )  # fmt: skip
        code, out = await _until_runs(store, plain_client, plan, 1)
        assert code == 1, out
        assert "no recorded backfill covers that time: a backfill outside the attested" in out

        # A trigger past the front door.
        await raw(plain_client, "trigger", "--schedule-id", schedule)
        code, out = await _until_runs(store, plain_client, plan, 2)
        assert code == 1, out
        assert "not at a time of its calendar, and no recorded trigger explains it" in out


async def test_an_attested_trigger_and_backfill_are_explained(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    async with adopted_in_deployment(plain_client, pool, database_url, bodo) as (queue, plan):
        store = EventStore(pool)
        now = datetime.now(UTC)
        for command in (
            schedule_command(ScheduleAction.TRIGGER),
            schedule_command(
                ScheduleAction.BACKFILL,
                backfill_from=now - timedelta(days=364),
                backfill_to=now - timedelta(hours=1),
            ),
        ):
            await act_on_schedule(plain_client, store, plan, command, queue)
        code, out = await _until_runs(store, plain_client, plan, 2)
        assert code == 0, out
        assert f"schedule {schedule_id_for(plan)} OK: active, its note and its 2 recent" in out


async def _until_runs(store: EventStore, client: Client, plan: str, runs: int) -> tuple[int, str]:
    """verify, once the schedule shows this many recent runs (a run is listed once
    Temporal has started its workflow)."""
    for _ in range(100):
        described = await client.get_schedule_handle(schedule_id_for(plan)).describe()
        if len(described.info.recent_actions) >= runs:
            break
        await asyncio.sleep(0.1)
    return await verified(store, client, plan)
