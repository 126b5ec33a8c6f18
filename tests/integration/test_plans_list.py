"""`temaplan plans list --phase`: plans found by the search attributes the workflow sets."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from client.simulation import content_for
from domain import commands as cmd
from domain.phases import Phase
from domain.roles import Role
from temaplan.cli import main
from tests.integration.conftest import Engine, sign_off_by

pytestmark = pytest.mark.servers


async def test_plans_are_listed_by_phase_with_awaited_roles(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    in_goals = engine.plan()
    at_strategies = engine.plan().model_copy(
        update={"municipality": engine.bodo.municipality.model_copy(update={"number": "1805"})}
    )
    drivers = []
    for definition in (in_goals, at_strategies):
        drivers.append(await engine.started(definition))
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

    monkeypatch.setenv("TEMPORAL_ADDRESS", engine.env.client.service_client.config.target_host)
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
    # Other tests' plans on the same server may be in the phase too.
    assert re.fullmatch(r"Antall planer: [1-9]\d*", count), count
    line = next(x for x in listed.splitlines() if at_strategies.plan_id in x)
    assert line.split()[1:4] == ["Strategier", "pågår", "prosjektleder"]
    # In English the record's own names, as scripts have read them.
    args = ["--lang", "en", "plans", "list", "--phase", "strategies"]
    assert await asyncio.to_thread(main, args) == 0
    listed = capsys.readouterr().out
    header, *_, count = listed.splitlines()
    assert header.split()[:3] == ["workflow", "id", "phase"]
    assert re.fullmatch(r"[1-9]\d* plan\(s\)", count), count
    line = next(x for x in listed.splitlines() if at_strategies.plan_id in x)
    assert "strategies" in line
    assert "running" in line
    assert "project_leader" in line  # the role the plan waits for
    assert await asyncio.to_thread(main, ["plans", "list", "--municipality", "1805"]) == 0
    by_municipality = capsys.readouterr().out
    assert at_strategies.plan_id in by_municipality
    assert in_goals.plan_id not in by_municipality


async def test_start_says_what_it_started_or_that_it_runs_already(
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    temporal_env = engine.env
    definition = engine.plan()
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(definition.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", engine.task_queue)
    plan_id = definition.plan_id

    assert await asyncio.to_thread(main, ["start", str(plan_file)]) == 0
    assert f"startet planen {plan_id} som arbeidsflyten temaplan-{plan_id}\n" in (
        capsys.readouterr().out
    )
    assert await asyncio.to_thread(main, ["--lang", "en", "start", str(plan_file)]) == 1
    # (the shared worker's log lines share stderr)
    assert (
        f"plan {plan_id} is already running as workflow temaplan-{plan_id}; nothing was started\n"
        in capsys.readouterr().err
    )
    assert await asyncio.to_thread(main, ["start", str(plan_file)]) == 1
    assert "kjører allerede som arbeidsflyten" in capsys.readouterr().err
    await temporal_env.client.get_workflow_handle(f"temaplan-{plan_id}").terminate("test")
