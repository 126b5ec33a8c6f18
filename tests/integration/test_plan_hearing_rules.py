"""Honest hearings and reference rounds on the real servers: an early close needs a
reason and is recorded with it; a kommunedelplan's hearing runs its legal six weeks; a
late response is told the truth; each hearing counts its own responses; a comment sent
before its round opens is told so (409 NotOpenYet), not that the round is closed (410)."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from api.errors import REFUSAL_STATUS
from client.simulation import PlanDriver
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.plan import PlanDefinition, Settings
from domain.roles import Role
from eventstore import EventStore
from tests.integration.conftest import refused, started, unique
from tests.integration.test_plan_refusals import assert_refused

pytestmark = pytest.mark.servers
REASON = "Alle høringsinstanser har svart; formannskapet møtes om to uker."


async def _noop(_status: PlanStatus) -> None:
    return None


async def on_hearing(
    env: WorkflowEnvironment, queue: str, definition: PlanDefinition
) -> tuple[PlanDriver, PlanStatus]:
    driver = await started(env, queue, definition)
    status = await driver.run_until(lambda s: s.hearing_open, _noop)
    return driver, status


async def test_early_close_needs_a_reason_and_a_late_response_hears_the_truth(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)  # a temaplan: no legal minimum
    driver, _ = await on_hearing(temporal_env, task_queue, definition)
    leader = driver.person(Role.PROJECT_LEADER)
    await driver.update("respond_to_hearing", cmd.HearingResponse(name="Kari", text="Tidlig."))
    await assert_refused(
        driver,
        pool,
        "close_hearing",
        cmd.CloseHearing(actor_id=leader, reason="  "),
        "InvalidDecision",
        "closing the hearing before its deadline",
    )
    closed = await driver.update("close_hearing", cmd.CloseHearing(actor_id=leader, reason=REASON))
    events = {e.version: e for e in await EventStore(pool).read(definition.plan_id)}
    record = events[closed.version]
    assert record.type == "hearing_closed"
    assert record.data["early"] is True
    assert record.data["reason"] == REASON
    assert record.data["response_count"] == 1

    when = f"{closed.recorded_at:%Y-%m-%d}"
    await assert_refused(
        driver,
        pool,
        "respond_to_hearing",
        cmd.HearingResponse(name="Ola", text="Etter at høringen ble lukket."),
        "LateResponse",
        f"the hearing was closed early on {when}",
    )
    cause = await refused(
        driver.handle, "respond_to_hearing", cmd.HearingResponse(name="Ola", text="Igjen.")
    )
    assert f"by {leader}: {REASON}" in cause.message


async def test_a_kommunedelplan_hearing_runs_six_weeks_before_it_may_close(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    assert bodo.plan_type.value == "kommunedelplan"
    settings = bodo.settings.model_copy(update={"hearing_days": 60})
    definition = unique(bodo).model_copy(update={"settings": Settings(**settings.model_dump())})
    driver, _ = await on_hearing(temporal_env, task_queue, definition)
    leader = driver.person(Role.PROJECT_LEADER)
    # Seconds after it opened, even with a good reason: refused, nothing recorded.
    await assert_refused(
        driver,
        pool,
        "close_hearing",
        cmd.CloseHearing(actor_id=leader, reason=REASON),
        "GateNotOpen",
        "a kommunedelplan must be on hearing for at least 42 days",
    )
    # After six weeks (of the plan's clock) it may close before its 60-day deadline.
    await temporal_env.fast_forward(driver.handle, timedelta(days=42, minutes=5))
    closed = await driver.update("close_hearing", cmd.CloseHearing(actor_id=leader, reason=REASON))
    record = next(
        e for e in await EventStore(pool).read(definition.plan_id) if e.version == closed.version
    )
    assert (record.data["early"], record.data["reason"]) == (True, REASON)


async def test_each_hearing_counts_its_own_responses(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)
    driver, _ = await on_hearing(temporal_env, task_queue, definition)
    leader = driver.person(Role.PROJECT_LEADER)
    for n in range(3):
        await driver.update(
            "respond_to_hearing", cmd.HearingResponse(name=f"Innbygger {n}", text="Første runde.")
        )
    await driver.update("close_hearing", cmd.CloseHearing(actor_id=leader, reason=REASON))
    status = await driver.run_until(lambda s: s.step_key == "hearing.decision", _noop)
    assert status.hearing_responses == 3
    await driver.update(
        "decide_after_hearing",
        cmd.HearingDecision(
            actor_id=driver.person(Role.STEERING_GROUP), outcome="revise", reason="Mer om leie."
        ),
    )
    # Back through the draft to a second hearing: it starts from none.
    second = await driver.run_until(
        lambda s: s.hearing_open and s.events_recorded > status.events_recorded, _noop
    )
    assert second.hearing_responses == 0
    assert second.awaited[0].given == 0
    await driver.update("respond_to_hearing", cmd.HearingResponse(name="Ola", text="Andre runde."))
    assert (await driver.status()).hearing_responses == 1
    closed = await driver.update("close_hearing", cmd.CloseHearing(actor_id=leader, reason=REASON))
    record = next(
        e for e in await EventStore(pool).read(definition.plan_id) if e.version == closed.version
    )
    assert record.data["response_count"] == 1
    state = await driver.plan.state()
    assert len(state.hearing_responses) == 4  # the record keeps both hearings' responses


async def test_a_comment_before_its_round_is_not_open_yet_and_after_it_is_closed(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)
    assert definition.settings.reference_round_strategies
    driver = await started(temporal_env, task_queue, definition)
    member = driver.person(Role.REFERENCE_GROUP)
    status = await driver.run_until(lambda s: s.step_key == "strategies.submit", _noop)
    comment = cmd.AddComment(actor_id=member, content_version=1, text="For tidlig?")
    await assert_refused(
        driver, pool, "comment", comment, "NotOpenYet", "the reference-group round is not open yet"
    )
    status = await driver.run_until(
        lambda s: (
            s.phase is not None
            and s.phase.value == "strategies"
            and s.step_kind is not None
            and s.step_kind.value not in ("submit", "comment_round")
        ),
        _noop,
    )
    late = cmd.AddComment(
        actor_id=member, content_version=status.content_version or 0, text="For sent?"
    )
    await assert_refused(
        driver,
        pool,
        "comment",
        late,
        "LateResponse",
        "the reference-group round of the strategies phase is closed",
    )
    # What the API answers for each: clients tell them apart by code and status.
    assert (REFUSAL_STATUS["NotOpenYet"], REFUSAL_STATUS["LateResponse"]) == (409, 410)
