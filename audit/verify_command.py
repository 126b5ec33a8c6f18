"""`temaplan audit verify` and `audit replay`: each plan's chain, its cross-check with
the Temporal history, its revision schedule against the recorded scheduler actions, and
the plans Temporal knows that have no stream."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from audit import schedule_check
from audit.crosscheck import cross_check, decisions_in_history, stored_facts
from audit.log_check import LogCheck
from audit.temporal_history import replay_histories, run_histories
from domain.events import Event as DomainEvent
from domain.ids import reminder_workflow_id, schedule_action_workflow_id
from eventstore import EventStore, VerifyResult
from runtime.progress import progress
from workflows.plan_models import workflow_id_for
from workflows.registry import WORKFLOWS


async def _histories_of(client: Client, workflow_id: str) -> list[WorkflowHistory] | None:
    try:
        return await run_histories(client, workflow_id)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def writer_workflow_ids(
    client: Client, plan_id: str, *, with_reminders: bool = False
) -> list[str]:
    """The workflows besides the plan's own that write to its stream after adoption:
    each year's revision and each scheduler action (and, for replay, the schedule's
    reminders, which write nothing). Matched exactly, so that a plan whose id begins with
    this one's is never mixed in."""
    plan = re.escape(plan_id)
    actions = schedule_action_workflow_id(plan_id, "")
    patterns = {
        f"revision-{plan_id}-": rf"revision-{plan}-\d{{4}}",
        actions: rf"revision-schedule-action-{plan}-[0-9a-f]{{8,32}}",
    }
    if with_reminders:
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
        patterns[reminder_workflow_id(plan_id) + "-"] = rf"revision-reminder-{plan}-{stamp}"
    found: set[str] = set()
    for prefix, pattern in patterns.items():
        async for execution in client.list_workflows(f'WorkflowId STARTS_WITH "{prefix}"'):
            if re.fullmatch(pattern, execution.id):
                found.add(execution.id)
    return sorted(found)


async def plan_histories(
    client: Client, plan_id: str, *, with_reminders: bool = False
) -> tuple[list[WorkflowHistory], bool] | None:
    """Every run's history of every workflow that wrote to the plan's stream, and whether
    the plan workflow's own is among them; None when Temporal has none of them any more.

    The plan workflow closes at adoption, so retention removes its history first; the
    revisions' histories may outlive it for a while."""
    own = await _histories_of(client, workflow_id_for(plan_id))
    others: list[WorkflowHistory] = []
    for workflow_id in await writer_workflow_ids(client, plan_id, with_reminders=with_reminders):
        others += await _histories_of(client, workflow_id) or []
    if own is None and not others:
        return None
    return (own or []) + others, own is not None


async def verify(
    store: EventStore,
    client: Client | None,
    plan_ids: list[str],
    out: TextIO | None = None,
    *,
    all_plans: bool = False,
    task_queue: str | None = None,
    log: LogCheck | None = None,
) -> int:
    """The chain and numbering of each stream; where Temporal still has the history, the
    cross-check between history and store (every receipt's version, hash and recorded
    time); with ``all_plans``, the plans Temporal knows (on the deployment's task queue,
    when given) that have no stream; and the
    Merkle log's check, when given. 0 only when all is well."""
    with progress("verifying", len(plan_ids), "plans") as report:
        # Resolved after the bar starts: on a terminal, lines then print above the bar.
        return await _verify(
            store,
            client,
            plan_ids,
            out or sys.stdout,
            all_plans=all_plans,
            task_queue=task_queue,
            log=log,
            report=report,
        )


# Plans verified per round trip batch: few enough that the bar moves, many enough that
# verify_streams' batching still pays.
VERIFY_BATCH = 50


async def _verify(
    store: EventStore,
    client: Client | None,
    plan_ids: list[str],
    out: TextIO,
    *,
    all_plans: bool,
    task_queue: str | None,
    log: LogCheck | None,
    report: Callable[[int], None] | None,
) -> int:
    failures = 0
    for start in range(0, len(plan_ids), VERIFY_BATCH):
        batch = await store.verify_streams(plan_ids[start : start + VERIFY_BATCH])
        for done, result in enumerate(batch, start):
            failures += not await _verify_one(store, client, result, out)
            if report is not None:
                report(done + 1)
    if all_plans and client is not None:
        failures += await _plans_without_stream(store, client, set(plan_ids), task_queue, out)
    if log is not None:
        failures += log.verdict == "broken"
        label = {"ok": "log OK", "broken": "log BROKEN", "unchecked": "log NOT CHECKED"}
        print(f"{label[log.verdict]}: {log.message}", file=out)
    return 1 if failures else 0


async def _verify_one(
    store: EventStore, client: Client | None, result: VerifyResult, out: TextIO
) -> bool:
    """One plan's chain, and its cross-check with Temporal when there is a client."""
    ok = True
    plan = result.stream_id
    if result.events_checked == 0:
        print(f"{plan}: no events in the store", file=out)
        ok = False
    elif result.ok:
        print(
            f"{plan}: chain OK, {result.events_checked} events, last hash {result.last_hash}",
            file=out,
        )
    else:
        ok = False
        print(
            f"{plan}: chain BROKEN at version {result.broken_version}: {result.problem}",
            file=out,
        )
    if client is None:
        print(f"{plan}: Temporal not configured (TEMPORAL_ADDRESS); store checked alone", file=out)
        return ok
    ok = await _cross_check(store, client, plan, result.last_version, out) and ok
    return await _schedule_check(store, client, plan, out) and ok


async def _schedule_check(store: EventStore, client: Client, plan: str, out: TextIO) -> bool:
    """The plan's revision schedule in Temporal against its recorded scheduler actions
    (audit/schedule_check.py); nothing to say when it has no schedule."""
    schedule = await schedule_check.describe(client, plan)
    if schedule is None:
        return True
    events: list[DomainEvent] = []
    # Only the scheduler's events are read as such: an event forged or edited into
    # something else is the chain's and the cross-check's to report.
    async for stored in store.iter_stream(plan):
        if stored.type not in schedule_check.SCHEDULE_EVENTS:
            continue
        try:
            events.append(stored.to_domain())
        except (ValueError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
            print(
                f"{plan}: schedule check: version {stored.version} ({stored.type}) does not "
                f"read as a scheduler's event ({type(exc).__name__})",
                file=out,
            )
            return False
    problems = schedule_check.unattested_actions(plan, events, schedule)
    for problem in problems:
        print(f"{plan}: UNATTESTED SCHEDULE ACTION: {problem}", file=out)
    if not problems:
        state = "paused" if schedule.paused else "active"
        print(
            f"{plan}: schedule {schedule.schedule_id} OK: {state}, its note and its "
            f"{len(schedule.recent)} recent run(s) match the recorded scheduler actions",
            file=out,
        )
    return not problems


async def _cross_check(
    store: EventStore, client: Client, plan: str, last_version: int, out: TextIO
) -> bool:
    found = await plan_histories(client, plan)
    if found is None:
        print(f"{plan}: no Temporal history any more (retention); store checked alone", file=out)
        return True
    histories, complete = found
    if not complete:
        print(
            f"{plan}: the plan workflow's history is gone (retention); checking the later "
            "workflows' decisions against the store only",
            file=out,
        )
    check = cross_check(
        plan, await stored_facts(store.iter_stream(plan)), histories, complete=complete
    )
    if check.last_receipted_version > last_version:
        check.problems.insert(
            0,
            f"the stream is SHORTER than the Temporal history: the store ends at version "
            f"{last_version}, the history holds a receipt for version "
            f"{check.last_receipted_version}",
        )
    if check.ok:
        caught = (
            f"; {check.caught_up} caught up after an append whose result was lost"
            if check.caught_up
            else ""
        )
        public = (
            f"; {check.public_responses} public hearing responses traced to the API's requests"
            if check.public_responses
            else ""
        )
        print(
            f"{plan}: cross-check OK, {check.history_decisions} decisions in {check.runs} "
            f"run(s) of the Temporal history, each exactly once in the store; "
            f"{check.receipts_compared} receipts match the store's version, hash and "
            f"recorded time{caught}{public}",
            file=out,
        )
        return True
    for problem in check.problems:
        print(f"{plan}: cross-check: {problem}", file=out)
    return False


async def _plans_without_stream(
    store: EventStore, client: Client, streams: set[str], task_queue: str | None, out: TextIO
) -> int:
    """Plan workflows in Temporal whose plan has no stream: a deleted stream, unless the
    workflow has not recorded its first decision yet."""
    failures = 0
    prefix = workflow_id_for("")
    query = 'WorkflowType = "PlanWorkflow"'
    if task_queue:
        query += f' AND TaskQueue = "{task_queue}"'
    async for execution in client.list_workflows(query):
        plan = execution.id.removeprefix(prefix)
        if plan in streams or (await store.head(plan))[0]:
            continue
        streams.add(plan)
        found = await plan_histories(client, plan)
        decisions = decisions_in_history(found[0]) if found else []
        if not decisions:
            print(
                f"{plan}: a plan workflow ({execution.id}) with no stream yet; its history "
                "records no decision either",
                file=out,
            )
            continue
        failures += 1
        print(
            f"{plan}: STREAM MISSING: the plan workflow {execution.id} exists in Temporal with "
            f"{len(decisions)} recorded decision(s), the store has no stream for it",
            file=out,
        )
    return failures


async def replay(
    client: Client, plan_id: str, out: TextIO | None = None, workflows: Sequence[type] = WORKFLOWS
) -> int:
    """Replay the plan's recorded history against the current workflow code."""
    out = out or sys.stdout
    found = await plan_histories(client, plan_id, with_reminders=True)
    if found is None:
        print(f"{plan_id}: Temporal has no history for this plan (retention?)", file=out)
        return 1
    histories, _complete = found
    try:
        await replay_histories(histories, workflows)
    except Exception as exc:
        print(
            f"{plan_id}: REPLAY FAILED against the current workflow code: {type(exc).__name__}: "
            f"{exc}\nThis code change would break the running plan; deploy it as a new "
            "workflow version (workflow.patched) or keep the old code for running plans.",
            file=out,
        )
        return 1
    events = sum(len(h.events) for h in histories)
    print(f"{plan_id}: replay OK, {len(histories)} run(s), {events} history events", file=out)
    return 0
