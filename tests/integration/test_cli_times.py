"""Times on the command line: every time option says in --help which formats and which
zone it takes, and what the commands print is Oslo time with its offset."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.plan import PlanDefinition
from tests.integration.conftest import started, unique

pytestmark = pytest.mark.servers
TEMAPLAN = str(Path(sys.executable).parent / "temaplan")
OSLO_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0[12]:00")
# audit history's bokmål table: Babel's nb-NO date and clock, then the offset.
OSLO_TIME_NB = re.compile(r"\d\d\.\d\d\.\d{4} \d\d\.\d\d\.\d\d \+0[12]:00")


def temaplan(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TEMAPLAN, *args],
        env={**os.environ, "LOG_LEVEL": "WARNING", "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (("audit", "history"), ("--since", "--until")),
        (("audit", "state"), ("--as-of",)),
        (("schedule", "backfill"), ("--from", "--to")),
    ],
)
def test_each_time_option_says_its_formats_and_zone(
    command: tuple[str, ...], options: tuple[str, ...]
) -> None:
    shown = temaplan(*command, "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    for option in options:
        described = text.rsplit(f"{option} TIME", 1)[1].split(" --", 1)[0]
        assert "ISO 8601" in described, option
        assert "Europe/Oslo" in described, option
        assert "2026-11-21T14:30" in described, option


async def test_events_history_and_state_print_oslo_time_with_the_offset(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    database_url: str,
    bodo: PlanDefinition,
) -> None:
    definition = unique(bodo)
    await started(temporal_env, task_queue, definition)
    plan = definition.plan_id
    for _ in range(100):
        if await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", plan) >= 2:
            break
        await asyncio.sleep(0.1)

    events = await asyncio.to_thread(temaplan, "events", plan, DATABASE_URL=database_url)
    assert events.returncode == 0, events.stderr
    header, first = events.stdout.splitlines()[:2]
    assert "registrert (norsk tid)" in header
    assert "UTC" not in header
    assert len(OSLO_TIME_NB.findall(first)) == 2  # decided and recorded
    events = await asyncio.to_thread(
        temaplan, "--lang", "en", "events", plan, DATABASE_URL=database_url
    )
    assert events.returncode == 0, events.stderr
    header, first = events.stdout.splitlines()[:2]
    assert "recorded (Europe/Oslo)" in header
    assert len(OSLO_TIME.findall(first)) == 2

    history = await asyncio.to_thread(
        temaplan, "audit", "history", plan, "--since", "2020-01-01", DATABASE_URL=database_url
    )
    assert history.returncode == 0, history.stderr
    rows = history.stdout.splitlines()[1:]
    assert rows
    assert all(OSLO_TIME_NB.search(row) for row in rows)

    # A date alone, read as midnight in Oslo: the plan did not exist then.
    before = await asyncio.to_thread(
        temaplan, "audit", "state", plan, "--as-of", "2020-01-01", DATABASE_URL=database_url
    )
    assert "per 2020-01-01 00:00:00+01:00" in before.stdout + before.stderr
