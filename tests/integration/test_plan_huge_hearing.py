"""A hearing far beyond the flood benchmark's 10,000 responses still hands over.

Packed, 20,000 responses in the state would pass Temporal's 2 MB limit on the
continue-as-new input, and the plan could never hand over to its next run. Beyond
CARRY_ALL_RESPONSES_UP_TO, a closed hearing's responses that the API recorded itself are
not carried (the record has them; the close counted them from it).
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.testing import WorkflowEnvironment

from domain import commands as cmd
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import HearingResponse, PlanState
from domain.roles import Role
from eventstore import EventStore
from eventstore.hearing_inbox import HearingInbox, PublicResponse
from tests.integration.conftest import EARLY_CLOSE, closable_early, started_in_short_runs, unique
from tests.integration.replay import drive_until
from workflows.plan_models import (
    CARRY_ALL_RESPONSES_UP_TO,
    Carried,
    carried_responses,
    pack_responses,
)

pytestmark = pytest.mark.servers

RESPONSES = 24_000


async def test_a_plan_hands_over_after_a_hearing_of_twenty_four_thousand_responses(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    definition = closable_early(unique(bodo))
    plan = definition.plan_id
    driver = await started_in_short_runs(temporal_env, task_queue, definition)
    handle = driver.handle
    try:
        await drive_until(driver, lambda s: s.step_key == "hearing.public" and s.hearing_open)
        inbox = HearingInbox(pool)
        for start in range(0, RESPONSES, 2000):
            await asyncio.gather(
                *(
                    inbox.respond(plan, PublicResponse(f"Innbygger {n}", None, f"Svar {n}."))
                    for n in range(start, start + 2000)
                )
            )
        leader = driver.person(Role.PROJECT_LEADER)
        first_run = (await handle.describe()).run_id

        async def no_hearing(_status: object) -> None:
            raise AssertionError("the hearing is closed")

        async def close_and_go_on() -> cmd.Receipt:
            # Reading them back makes the history long: the plan hands over to a new run,
            # and is driven on past the hearing.
            closed = await driver.update(
                "close_hearing", cmd.CloseHearing(actor_id=leader, reason=EARLY_CLOSE)
            )
            await driver.run_until(lambda s: s.phase is Phase.ADOPTION, no_hearing)
            return closed

        try:
            closed = await asyncio.wait_for(close_and_go_on(), timeout=180)
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            failures = [
                e.workflow_task_failed_event_attributes.failure.message
                async for e in handle.fetch_history_events()
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            raise AssertionError(f"stuck; workflow task failures: {failures[-1:]}") from None
        [closing] = [e for e in await EventStore(pool).read(plan) if e.version == closed.version]
        assert closing.data["response_count"] == RESPONSES
        assert (await handle.describe()).run_id != first_run
        events = [e async for e in handle.fetch_history_events()]
        failed = [e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
        assert failed == []
        carried = events[0].workflow_execution_started_event_attributes.input.payloads[0]
        assert len(carried.data) < 500_000, len(carried.data)
        status = await driver.status()
        assert status.phase is Phase.ADOPTION
    finally:
        await handle.terminate("test done")


def _response(n: int, version: int, api: bool) -> HearingResponse:
    return HearingResponse(
        response_id=f"api-{n:032x}" if api else f"resp-{n}",
        name=f"Innbygger {n}",
        organisation=None,
        text_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
        version=version,
        at=datetime(2026, 12, 6, tzinfo=UTC),
    )


def test_only_a_closed_hearings_api_responses_are_left_out_and_only_beyond_the_bound() -> None:
    at_bound = PlanState(
        hearing_responses=tuple(
            _response(n, n + 10, True) for n in range(CARRY_ALL_RESPONSES_UP_TO)
        )
    )
    assert carried_responses(at_bound) == at_bound

    # A first hearing (closed) of 30,000 from the API and 50 sent through the workflow;
    # a second one open since version 40,000 with 100 of each so far.
    first = [_response(n, n + 10, api=n >= 50) for n in range(30_050)]
    second = [_response(n, 40_000 + n, api=n % 2 == 0) for n in range(1, 201)]
    reopened = PlanState(
        hearing_responses=(*first, *second), hearing_open=True, hearing_opened_version=39_999
    )
    kept = carried_responses(reopened).hearing_responses
    assert kept == (*first[:50], *second)
    state, packed = pack_responses(carried_responses(reopened))
    size = len(
        Carried(state=state, stream_version=40_300, packed_responses=packed).model_dump_json()
    )
    assert size < 100_000, size

    closed = reopened.model_copy(update={"hearing_open": False})
    assert carried_responses(closed).hearing_responses == (
        *first[:50],
        *(r for r in second if not r.response_id.startswith("api-")),
    )
