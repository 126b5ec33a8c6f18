"""Recorded plan histories replay against the workflow code, and a changed workflow
that would break running plans is caught by the replay (tests/integration/replay.py)."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from client.simulation import send_hearing_responses
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from eventstore import EventStore
from runtime.payload_converter import data_converter
from tests.integration.conftest import (
    closable_early,
    close_early,
    started,
    started_in_short_runs,
    unique,
)
from tests.integration.replay import (
    PlanWorkflowWithAPause,
    drive_until,
    replay_all,
    replayer,
    settle,
)
from workflows.registry import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.servers


async def test_a_full_run_replays_and_a_changed_workflow_does_not(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    driver = await started(temporal_env, task_queue, definition)
    handle = driver.handle

    async def hearing(status: PlanStatus) -> None:
        await send_hearing_responses(driver, 5, with_receipt=2)
        await driver.wait_for(lambda s: s.hearing_responses == 5)
        await temporal_env.fast_forward(handle, timedelta(weeks=6, minutes=5))

    final = await drive_until(driver, hearing=hearing)
    assert final.status == "adopted"
    assert (await handle.result()).status == "adopted"

    [history] = await replay_all(temporal_env.client, [handle.id])
    types = {e.event_type for e in history.events}
    # The replay covered what a plan does: activities, timers, signals, updates, queries
    # are not in history, but search-attribute upserts are.
    assert {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_TIMER_FIRED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    } <= types

    with pytest.raises(workflow.NondeterminismError) as refused:
        await replay_all(temporal_env.client, [handle.id], workflows=[PlanWorkflowWithAPause])
    assert "TMPRL1100" in str(refused.value)


async def test_a_plan_that_continued_as_new_replays_run_by_run(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    """Ten updates per run: the plan hands over to a new run several times on its way to
    adoption, carrying its state; every run replays."""
    definition = closable_early(unique(bodo))
    plan_id = definition.plan_id
    driver = await started_in_short_runs(temporal_env, task_queue, definition)
    handle = driver.handle

    async def hearing(status: PlanStatus) -> None:
        await send_hearing_responses(driver, 5, with_receipt=2)
        await driver.wait_for(lambda s: s.hearing_responses == 5)
        # Closed early rather than fast-forwarded: the virtual clock does not follow a
        # continue-as-new.
        await close_early(driver)

    final = await drive_until(driver, hearing=hearing)
    assert final.status == "adopted"
    result = await handle.result()
    assert result.status == "adopted"

    histories = await replay_all(temporal_env.client, [handle.id])
    assert len(histories) >= 3
    *handed_over, last = histories
    for history in handed_over:
        assert (
            history.events[-1].event_type
            == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        )
    assert last.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED

    store = EventStore(pool)
    assert (await store.verify(plan_id)).ok
    stored = await store.read(plan_id)
    assert [e.version for e in stored] == list(range(1, len(stored) + 1))
    assert result.events_recorded == len(stored)


HISTORIES = Path(__file__).parent / "histories"


async def _no_hearing(_status: PlanStatus) -> None:
    raise AssertionError("no hearing before goals.quality_assurance")


async def test_a_plan_recorded_before_the_run_start_patch_replays() -> None:
    """Recorded by the workflow as it was before RUN_START (commit ba0f31a): a plan at
    goals.quality_assurance with one sign-off, appended by the local activity behind the
    LOCAL_APPEND patch asked at that sign-off. Plans running at a deploy replay so."""
    path = HISTORIES / "plan_signed_once_before_run_start_patch.json"
    history = WorkflowHistory.from_json("plan-before-run-start", path.read_text())
    markers = [
        e.marker_recorded_event_attributes.marker_name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    assert markers == ["core_patch", "core_local_activity"]
    await replayer().replay_workflow(history)


def _recorded(name: str, workflow_id: str) -> WorkflowHistory:
    """A history kept gzipped in tests/integration/histories."""
    return WorkflowHistory.from_json(
        workflow_id, gzip.decompress((HISTORIES / name).read_bytes()).decode()
    )


def _accepted_updates(history: WorkflowHistory) -> list[str]:
    """The names of the updates the run accepted, in order."""
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def test_a_plan_adopted_by_one_member_before_votes_replays() -> None:
    """Recorded by the workflow as it was before DECISION_VOTES (commit 7893105): the
    Bodø plan to adoption, where one steering-group member decided after the hearing and
    one council member adopted alone although both bodies have 'majority'. Plans running
    at a deploy keep that decision in their run, and replay so."""
    history = _recorded("plan_adopted_by_one_member_before_votes.json.gz", "plan-before-votes")
    updates = _accepted_updates(history)
    assert updates.count("council_decision") == 1
    assert updates.count("decide_after_hearing") == 1
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    await replayer().replay_workflow(history)


async def test_a_second_role_answered_as_a_duplicate_before_role_identity_replays() -> None:
    """Recorded by the workflow as it was before DECISION_VOTES (commit 7893105): a plan
    whose formannskap is also the steering group, at the draft's final review; the mayor
    signed as steering group, then as political leadership, and the second sign-off was
    answered as a duplicate with nothing recorded. Such a run keeps that answer on
    replay; its next run counts sign-offs by role."""
    history = _recorded(
        "plan_signed_twice_in_two_roles_before_role_identity.json.gz", "plan-before-role-identity"
    )
    updates = _accepted_updates(history)
    assert updates[-2:] == ["sign_off", "sign_off"]
    await replayer().replay_workflow(history)


async def test_a_sign_off_costs_only_its_append(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    """What the sign-off's sender waits for: the workflow task that accepts the update
    schedules the append (a regular activity, patch DECISION_ONCE), and the one after its
    completion completes the update; no marker (no patch is asked at a run's decisions)
    and, on the sign-off that completes the phase, no search-attribute upsert beside the
    receipt (the engine opens the next phase and publishes that)."""
    definition = unique(bodo)
    driver = await started(temporal_env, task_queue, definition)
    handle = driver.handle
    status = await drive_until(driver, done=lambda s: s.step_key == "goals.quality_assurance")
    assert status.step_key == "goals.quality_assurance"
    await driver.act_once(status, _no_hearing)  # the steering group signs
    await driver.wait_for(lambda s: s.step_key == "strategies.submit")
    await settle(handle)

    events = (await handle.fetch_history()).events
    kinds = [e.event_type for e in events]
    accepted = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "sign_off"
    ]
    assert len(accepted) == sum(a.needed - a.given for a in status.awaited) >= 2
    completed = [
        i
        for i in range(accepted[0], len(events))
        if kinds[i] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED
    ][: len(accepted)]
    assert len(completed) == len(accepted)
    window = kinds[accepted[0] : completed[-1] + 1]
    allowed = {
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
    assert set(window) <= allowed, [k for k in window if k not in allowed]
    for start in accepted:
        # Accepted in the workflow task that schedules the decision's append.
        assert kinds[start + 1] == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    assert window.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) == len(accepted)
    # The phase hand-over starts in the same task as the last receipt, without an upsert.
    assert kinds[completed[-1] + 1] == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    upserts = [
        e for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    assert upserts, "the search attributes are published at each waiting step"
    await replay_all(temporal_env.client, [handle.id])


async def test_a_plan_whose_update_ran_after_a_query_brought_it_up_to_date_replays() -> None:
    """From the chaos test's long form (a worker killed mid-append): a query served by the
    new worker, which did not have the plan in its cache, replayed the plan's history up
    to an activity completed since the last workflow task, so the engine had published the
    next phase (upsert, notify) before the workflow task that then brought the person's
    submission; the update was accepted after those commands (events 67-69). Replayed with
    both in one activation, the SDK runs the update first (TMPRL1100 "Update machine does
    not handle this event"). Running updates after the activation's other jobs, as runs
    with UPDATES_LAST do, replays it."""
    path = HISTORIES / "plan_update_accepted_after_a_query_brought_it_up_to_date.json"
    history = WorkflowHistory.from_json("plan-update-after-query", path.read_text())
    by_id = {e.event_id: e.event_type for e in history.events}
    assert [by_id[i] for i in (67, 68, 69, 70)] == [
        EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    ]

    def replaying(updates_last: bool) -> Replayer:
        return Replayer(
            workflows=list(WORKFLOWS),
            data_converter=data_converter,
            workflow_runner=workflow_runner(updates_last=updates_last),
        )

    with pytest.raises(workflow.NondeterminismError) as refused:
        await replaying(updates_last=False).replay_workflow(history)
    assert "Update machine does not handle this event" in str(refused.value)
    await replaying(updates_last=True).replay_workflow(history)
