"""`temaplan schedule describe` as a scheduler runs it: a process of its own against a
real Temporal server, which must exit cleanly every time (it used to abort with
``Fatal Python error: PyGILState_Release`` at interpreter shutdown in most runs)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.models import EnsureScheduleInput
from activities.schedule_activities import ScheduleActivities
from client.schedules import ScheduleView, has_ended
from domain.plan import Period, PlanDefinition, RevisionDate
from temaplan.schedule_cli import schedule_state

pytestmark = pytest.mark.servers
RUNS = 20
# The installed command, as schedulers run it (beside the interpreter in the venv).
TEMAPLAN = Path(sys.executable).parent / "temaplan"


async def test_schedule_describe_exits_cleanly_twenty_times(
    temporal_env: WorkflowEnvironment, bodo: PlanDefinition
) -> None:
    client = temporal_env.client
    plan_id = f"1804-describe-{uuid.uuid4().hex[:8]}"
    # The schedule as adoption makes it: yearly on 1 September, ending with the period.
    definition = bodo.model_copy(update={"period": Period(from_year=2026, to_year=2040)})
    await ScheduleActivities(
        client, "describe-queue", RevisionDate(month=9, day=1)
    ).ensure_revision_schedule(EnsureScheduleInput(plan_id=plan_id, definition=definition))
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace,
    }
    for _ in range(RUNS):
        done = await asyncio.to_thread(
            subprocess.run,
            [str(TEMAPLAN), "schedule", "describe", plan_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        # In bokmål by default.
        assert f"revision-{plan_id} (aktiv)" in done.stdout
        # The end in the zone the line names: the period's last day, Oslo time.
        assert "  hvert år 09-01 08:00 Europe/Oslo; slutter 2040-12-31 23:59" in done.stdout
        assert re.search(r"  neste: \d\d\.\d\d\.\d{4} \d\d\.\d\d\.\d\d \+0[12]:00", done.stdout)


def _view(end_at: datetime | None, next_runs: list[datetime], paused: bool = False) -> ScheduleView:
    return ScheduleView(
        schedule_id="revision-x",
        plan_id="x",
        paused=paused,
        note="budsjett",
        time_zone="Europe/Oslo",
        yearly_at=["09-01 08:00"],
        end_at=end_at,
        overlap="SKIP",
        next_runs=next_runs,
        recent_runs=[],
        actions_taken=0,
    )


def test_an_ended_schedule_is_not_shown_as_active() -> None:
    now = datetime(2031, 3, 1, tzinfo=UTC)
    ended = _view(datetime(2029, 12, 31, 22, 59, 59, tzinfo=UTC), [])
    assert schedule_state(ended, now, "en") == "ended 2029-12-31: no more reminders"
    assert schedule_state(ended, now, "nb") == "avsluttet 2029-12-31: ingen flere påminnelser"
    running = _view(datetime(2035, 12, 31, tzinfo=UTC), [datetime(2031, 9, 1, 6, tzinfo=UTC)])
    assert schedule_state(running, now, "en") == "active"
    assert schedule_state(running, now, "nb") == "aktiv"
    paused = _view(datetime(2035, 12, 31, tzinfo=UTC), [], paused=True)
    assert schedule_state(paused, now, "en") == "PAUSED: budsjett"
    assert schedule_state(paused, now, "nb") == "SATT PÅ PAUSE: budsjett"
    assert has_ended(ended.end_at, False, [], now)
    assert not has_ended(running.end_at, False, running.next_runs, now)
