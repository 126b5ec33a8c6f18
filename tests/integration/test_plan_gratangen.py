"""The Gratangen example end to end on the real servers: a plan that names the plan it
revises, has a vision, measures with unknown costs, and a formannskap that is also the
steering group. The finance office's economic
check (draft step 6) sees which measures' costs are unknown, its completion records
them, and the draft, the adopted record and the audit report show all three."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from audit.report import render_report
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from domain.state import fold
from eventstore import EventStore
from runtime.planfile import load_plan_file
from tests.conftest import EXAMPLES
from tests.integration.conftest import started, unique, watched

pytestmark = pytest.mark.servers


@pytest.fixture
def gratangen() -> PlanDefinition:
    return load_plan_file(EXAMPLES / "gratangen.yaml")


async def test_gratangen_runs_to_adoption_with_its_unknown_costs_in_view(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    task_queue: str,
    gratangen: PlanDefinition,
) -> None:
    definition = unique(gratangen)
    driver = await started(temporal_env, task_queue, definition)
    handle = driver.handle
    seen_at_step6: list[tuple[str, ...]] = []

    async def look(status: PlanStatus) -> None:
        if status.step_key == "draft.step6":
            seen_at_step6.append(status.unknown_costs)
        else:
            assert status.unknown_costs == (), status.step_key

    async def hearing(_status: PlanStatus) -> None:
        await temporal_env.fast_forward(handle, timedelta(days=42, minutes=5))

    final = await watched(driver, look).run_to_adoption(hearing)
    assert final.status == "adopted"
    assert seen_at_step6 == [("tiltak-2", "tiltak-4")]

    store = EventStore(pool)
    events = await store.read_domain(definition.plan_id)
    step6 = next(e for e in events if e.type == "draft_step_completed" and e.step_number == 6)
    assert step6.unknown_costs == ("tiltak-2", "tiltak-4")
    # The formannskap signs the draft's final review once as the steering group and once
    # as the political leadership: two events, each counted toward its own body's quorum.
    reviews = [
        (e.actor_id, e.actor_role.value)
        for e in events
        if e.type == "sign_off_given" and e.step_key == "draft.final_review"
    ]
    signers = {actor for actor, _role in reviews}
    assert signers, reviews
    for actor in signers:
        roles = sorted(role for who, role in reviews if who == actor)
        assert roles == ["political_leadership", "steering_group"], reviews
    state = fold(events)
    assert state.definition is not None
    assert state.definition.revises == definition.revises
    assert (await store.verify(definition.plan_id)).ok

    drafts = {
        row["format"]: row["body"]
        for row in await pool.fetch(
            "SELECT format, body FROM documents WHERE plan_id = $1 ORDER BY content_version",
            definition.plan_id,
        )
    }
    markdown = drafts["markdown"]
    assert "Reviderer: Boligsosial handlingsplan for Gratangen 2016–2020 (2016)" in markdown
    assert "Visjon: Alle som vil bo i Gratangen" in markdown
    assert "Summene omfatter ikke ukjente kostnader" in markdown
    assert "Tiltak med ukjent kostnad: tiltak-2, tiltak-4." in markdown

    stored = await store.read(definition.plan_id)
    report = render_report(stored, language="en", generated_at=datetime.now(UTC))
    assert "Revises Boligsosial handlingsplan for Gratangen 2016–2020 (2016)." in report
    assert "Vision:</strong> Alle som vil bo i Gratangen" in report
    assert "The totals exclude unknown costs, of measures tiltak-2, tiltak-4." in report
