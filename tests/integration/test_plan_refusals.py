"""Every kind of refusal: clear message, nothing in the event stream, nothing in history."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from client.simulation import PlanDriver, content_for
from client.typed import PlanClient
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from tests.integration.conftest import Engine, refused, started, unique

pytestmark = pytest.mark.servers


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """The history's length once the workflow is idle at its gate: its last workflow task
    completed and nothing changed for a moment (it may still be finishing the step)."""
    task_events = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    previous = -1
    while True:
        events = (await handle.fetch_history()).events
        last_task = next(e for e in reversed(events) if e.event_type in task_events)
        idle = last_task.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        if idle and len(events) == previous:
            return previous
        previous = len(events) if idle else -1
        await asyncio.sleep(0.1)


async def stored(pool: asyncpg.Pool, plan_id: str) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1", plan_id))


async def assert_refused(
    driver: PlanDriver, pool: asyncpg.Pool, name: str, command: object, code: str, text: str
) -> None:
    """The update is refused with ``code`` and ``text``; history and stream are unchanged."""
    handle = driver.handle
    before = (await history_length(handle), await stored(pool, driver.definition.plan_id))
    cause = await refused(handle, name, command)
    assert cause.type == code
    assert text in cause.message
    after = (await history_length(handle), await stored(pool, driver.definition.plan_id))
    assert after == before, f"{name} left a trace: history/stream {before} -> {after}"


async def start_at_goals_gate(
    env: WorkflowEnvironment, queue: str, definition: PlanDefinition
) -> tuple[PlanDriver, PlanStatus]:
    driver = await started(env, queue, definition)
    await driver.wait_for(lambda s: s.step_key == "goals.submit")
    await driver.update(
        "submit_content",
        cmd.SubmitContent(
            actor_id=driver.person(Role.PROJECT_LEADER),
            phase=Phase.GOALS,
            content=content_for(Phase.GOALS, driver.proposals),
        ),
    )
    status = await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    return driver, status


def sign(status: PlanStatus, actor: str, **changes: Any) -> cmd.SignOff:
    fields: dict[str, Any] = {
        "actor_id": actor,
        "step_key": status.step_key,
        "content_version": status.content_version,
        "content_hash": status.content_hash,
    }
    fields.update(changes)
    return cmd.SignOff(**fields)


async def test_sign_off_refusals_leave_no_trace(engine: Engine) -> None:
    driver, status = await start_at_goals_gate(engine.env, engine.task_queue, engine.plan())
    steering = driver.person(Role.STEERING_GROUP)
    group_member = driver.person(Role.PROJECT_GROUP)
    refusals: list[tuple[str, object, str, str]] = [
        (
            "sign_off",
            sign(status, "ukjent.person"),
            "UnknownParticipant",
            "'ukjent.person' is not a participant",
        ),
        ("sign_off", sign(status, group_member), "WrongRole", "it needs steering_group"),
        (
            "sign_off",
            sign(status, steering, step_key="strategies.quality_assurance"),
            "GateNotOpen",
            "'strategies.quality_assurance' is not open; the plan waits at "
            "'goals.quality_assurance'",
        ),
        (
            "sign_off",
            sign(status, steering, content_version=99),
            "StaleContent",
            "content version 99 is not the one under review",
        ),
        (
            "sign_off",
            sign(status, steering, content_hash="0" * 64),
            "StaleContent",
            f"hash {status.content_hash} is",
        ),
        (
            "sign_off",
            sign(status, steering, approve=False),
            "InvalidDecision",
            "requesting changes needs a reason",
        ),
        (
            "submit_content",
            cmd.SubmitContent(
                actor_id=driver.person(Role.PROJECT_LEADER),
                phase=Phase.STRATEGIES,
                content=content_for(Phase.STRATEGIES, driver.proposals),
            ),
            "GateNotOpen",
            "the plan is in 'goals'",
        ),
    ]
    for name, command, code, text in refusals:
        await assert_refused(driver, engine.pool, name, command, code, text)
    # After all the refusals the gate still waits for the same people.
    assert (await driver.status()).awaited == status.awaited


async def test_invalid_content_is_refused_with_the_rule_it_breaks(engine: Engine) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    await driver.wait_for(lambda s: s.step_key == "goals.submit")
    proposals = driver.proposals
    orphan = proposals.measures[0].model_copy(update={"strategy_id": "S-finnes-ikke"})
    broken = PlanContent(goals=proposals.goals, measures=(orphan,))
    leader = driver.person(Role.PROJECT_LEADER)
    refusals: list[tuple[cmd.SubmitContent, str, str]] = [
        (
            cmd.SubmitContent(actor_id=leader, phase=Phase.GOALS, content=broken),
            "InvalidContent",
            "strategy 'S-finnes-ikke' does not exist",
        ),
        (
            cmd.SubmitContent(actor_id=leader, phase=Phase.GOALS, content=PlanContent()),
            "InvalidContent",
            "at least one goal is needed",
        ),
        (
            cmd.SubmitContent(
                actor_id=driver.person(Role.STEERING_GROUP),
                phase=Phase.GOALS,
                content=content_for(Phase.GOALS, proposals),
            ),
            "WrongRole",
            "it needs project_leader",
        ),
    ]
    for command, code, text in refusals:
        await assert_refused(driver, engine.pool, "submit_content", command, code, text)


async def test_late_hearing_response_is_refused_with_the_deadline(
    engine: Engine, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)
    driver = await engine.started(definition)
    handle = driver.handle
    status = await driver.wait_for(lambda s: s.step_key is not None)
    while not status.hearing_open:
        marker = (status.step_key, status.events_recorded)
        await driver.act_once(status, hearing=lambda _s: _noop())

        def moved_on(s: PlanStatus, marker: tuple[str | None, int] = marker) -> bool:
            return (s.step_key, s.events_recorded) != marker

        status = await driver.wait_for(moved_on)
    on_time = await driver.update(
        "respond_to_hearing", cmd.HearingResponse(name="Kari", text="Før fristen.")
    )
    assert on_time.event_type == "hearing_response_received"
    await engine.env.fast_forward(handle, timedelta(weeks=6, minutes=5))
    status = await driver.wait_for(lambda s: s.step_key == "hearing.summary")
    assert status.hearing_deadline is not None
    await assert_refused(
        driver,
        engine.pool,
        "respond_to_hearing",
        cmd.HearingResponse(name="Ola", organisation="Velforeningen", text="Etter fristen."),
        "LateResponse",
        f"its deadline was {status.hearing_deadline.isoformat()}",
    )
    # A late signal cannot be refused to its sender, but it is not recorded either.
    before = await stored(engine.pool, definition.plan_id)
    await PlanClient(handle).hearing_response(cmd.HearingResponse(name="Per", text="For sent."))
    assert (await driver.status()).hearing_responses == 1
    assert await stored(engine.pool, definition.plan_id) == before


async def _noop() -> None:
    return None


async def test_a_malformed_update_is_refused_for_good_naming_the_field_and_leaves_no_trace(
    engine: Engine,
) -> None:
    """An input that does not decode as the update's model (what a raw client such as the
    `temporal` CLI can send) is rejected by the project's payload converter before the
    validator runs: non-retryable, naming the field, no workflow task failed or retried,
    and the plan goes on as before."""
    driver, status = await start_at_goals_gate(engine.env, engine.task_queue, engine.plan())
    steering = driver.person(Role.STEERING_GROUP)
    handle = driver.handle
    whole = sign(status, steering).model_dump(mode="json")
    without_version = {k: v for k, v in whole.items() if k != "content_version"}
    before = (await history_length(handle), await stored(engine.pool, driver.definition.plan_id))
    for body, text in (
        (without_version, "malformed SignOff: content_version: is required but missing"),
        ({**whole, "content_version": "first"}, "(got 'first')"),
    ):
        cause = await refused(handle, "sign_off", body)
        assert (cause.type, cause.non_retryable) == ("InvalidInput", True)
        assert text in cause.message
        assert "content_version" in cause.message
    assert (
        await history_length(handle),
        await stored(engine.pool, driver.definition.plan_id),
    ) == before
    events = (await handle.fetch_history()).events
    assert not [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    receipt = await driver.plan.sign_off(sign(status, steering))
    assert receipt.event_type == "sign_off_given"
