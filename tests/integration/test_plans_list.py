"""`temaplan plans list --phase`: plans found by the search attributes the workflow sets."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from client.plans import start_plan
from client.simulation import PlanDriver, content_for
from domain import commands as cmd
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from temaplan.cli import main
from tests.integration.conftest import sign_off_by, unique

pytestmark = pytest.mark.servers


async def test_plans_are_listed_by_phase_with_awaited_roles(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    bodo: PlanDefinition,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    in_goals = unique(bodo)
    at_strategies = unique(bodo).model_copy(
        update={"municipality": bodo.municipality.model_copy(update={"number": "1805"})}
    )
    drivers = []
    for definition in (in_goals, at_strategies):
        with temporal_env.with_time_skipping_disabled():  # type: ignore[attr-defined]
            handle = await start_plan(temporal_env.client, definition, task_queue)
        drivers.append(PlanDriver(handle, definition))
    leader = drivers[0].person(Role.PROJECT_LEADER)
    await drivers[0].wait_for(lambda s: s.step_key == "goals.submit")
    second = drivers[1]
    await second.wait_for(lambda s: s.step_key == "goals.submit")
    await second.update(
        "submit_content",
        cmd.SubmitContent(
            actor_id=leader, phase=Phase.GOALS, content=content_for(Phase.GOALS, second.proposals)
        ),
    )
    status = await second.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    for person in status.awaited[0].people[: status.awaited[0].needed]:
        await second.update("sign_off", sign_off_by(status, person, "goals.quality_assurance"))
    await second.wait_for(lambda s: s.step_key == "strategies.submit")

    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    for _ in range(50):  # visibility is eventually consistent
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["plans", "list", "--phase", "strategies"]) == 0
        listed = capsys.readouterr().out
        if f"temaplan-{at_strategies.plan_id}" in listed:
            break
        await asyncio.sleep(0.2)
    assert f"temaplan-{at_strategies.plan_id}" in listed
    assert f"temaplan-{in_goals.plan_id}" not in listed
    # In bokmål by default: the header, the phase, the status and the role in words.
    header, *_, count = listed.splitlines()
    assert header.split()[:4] == ["arbeidsflyt-id", "fase", "status", "venter"]
    assert count == "Antall planer: 1"
    line = next(x for x in listed.splitlines() if at_strategies.plan_id in x)
    assert line.split()[1:4] == ["Strategier", "pågår", "prosjektleder"]
    # In English the record's own names, as scripts have read them.
    args = ["--lang", "en", "plans", "list", "--phase", "strategies"]
    assert await asyncio.to_thread(main, args) == 0
    listed = capsys.readouterr().out
    header, *_, count = listed.splitlines()
    assert header.split()[:3] == ["workflow", "id", "phase"]
    assert count == "1 plan(s)"
    line = next(x for x in listed.splitlines() if at_strategies.plan_id in x)
    assert "strategies" in line
    assert "running" in line
    assert "project_leader" in line  # the role the plan waits for
    assert await asyncio.to_thread(main, ["plans", "list", "--municipality", "1805"]) == 0
    by_municipality = capsys.readouterr().out
    assert at_strategies.plan_id in by_municipality
    assert in_goals.plan_id not in by_municipality
