"""A whole plan through all six phases on the real servers, with a six-week hearing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from client.simulation import send_hearing_responses
from client.typed import PlanClient
from domain.gates import PlanStatus
from domain.phases import Phase
from domain.state import fold
from tests.integration.conftest import Engine, watched
from workflows.plan_models import PlanResult

pytestmark = pytest.mark.servers


async def test_plan_runs_from_goals_to_adoption_with_a_six_week_hearing(engine: Engine) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    handle = driver.handle
    store = engine.store
    checked_at: list[str] = []

    async def hearing(status: PlanStatus) -> None:
        assert status.hearing_open
        await send_hearing_responses(driver, 6, with_receipt=2)
        await driver.wait_for(lambda s: s.hearing_responses == 6)
        await engine.env.fast_forward(handle, timedelta(weeks=6, minutes=5))

    async def compare(status: PlanStatus) -> None:
        # At every gate: the fold of the stored events is the workflow's own state. The
        # live state first: the engine may append (e.g. open a round) between the reads,
        # and the workflow folds an event only once the store has it.
        live = await PlanClient(handle).state()
        stored = fold((await store.read_domain(definition.plan_id))[: live.events_folded])
        assert stored == live, status.step_key
        checked_at.append(status.step_key or "")

    final = await watched(driver, compare).run_to_adoption(hearing)

    assert final.status == "adopted"
    result = await handle.result()
    assert isinstance(result, PlanResult)
    assert result.status == "adopted"
    assert definition.proposals is not None
    assert result.adopted_hash == definition.proposals.content_hash()
    assert {
        "goals.quality_assurance",
        "strategies.anchoring",
        "draft.step6",
        "adoption.council",
    } <= set(checked_at)

    events = await store.read_domain(definition.plan_id)
    state = fold(events)
    assert state == await PlanClient(handle).state()
    assert state.status == "adopted"
    assert len(state.hearing_responses) == 6
    opened = next(e for e in events if e.type == "hearing_opened")
    closed = next(e for e in events if e.type == "hearing_closed")
    # The hearing really lasted six weeks of (virtual) time, and closed at the deadline.
    assert closed.occurred_at - opened.occurred_at >= timedelta(weeks=6)
    assert closed.early is False
    phases = [e.phase for e in events if e.type == "phase_started"]
    assert phases == list(Phase)
    verification = await store.verify(definition.plan_id)
    assert verification.ok
    assert verification.events_checked == len(events) == result.events_recorded
    receipts_by_version = {r.version: r.hash for r in driver.receipts}
    stored_by_version = {e.version: e.hash for e in await store.read(definition.plan_id)}
    for version, receipt_hash in receipts_by_version.items():
        assert stored_by_version[version] == receipt_hash
    documents = await engine.pool.fetch(
        "SELECT format, content_hash FROM documents WHERE plan_id = $1", definition.plan_id
    )
    assert {d["format"] for d in documents} == {"markdown", "html"}
    outbox = await engine.pool.fetchval(
        "SELECT count(*) FROM notification_outbox WHERE plan_id = $1", definition.plan_id
    )
    assert outbox > 0
