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
from audit.state_command import log_text
from audit.temporal_history import replay_histories, run_histories
from catalogue import DEFAULT_LANGUAGE, Language, formats, t
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
    language: Language = DEFAULT_LANGUAGE,
) -> int:
    """The chain and numbering of each stream; where Temporal still has the history, the
    cross-check between history and store (every receipt's version, hash and recorded
    time); with ``all_plans``, the plans Temporal knows (on the deployment's task queue,
    when given) that have no stream; and the
    Merkle log's check, when given; then the verdict. Each line in ``language``. 0 only
    when all is well."""
    bar = t("progress.verifying", language)
    unit = t("progress.plans", language)
    with progress(bar, len(plan_ids), unit, number=formats.counter(language)) as report:
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
            language=language,
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
    language: Language,
) -> int:
    failures = 0
    for start in range(0, len(plan_ids), VERIFY_BATCH):
        batch = await store.verify_streams(plan_ids[start : start + VERIFY_BATCH])
        for done, result in enumerate(batch, start):
            failures += not await _verify_one(store, client, result, out, language)
            if report is not None:
                report(done + 1)
    if all_plans and client is not None:
        failures += await _plans_without_stream(
            store, client, set(plan_ids), task_queue, out, lang=language
        )
    if log is not None:
        failures += log.verdict == "broken"
        message = log_text(log, language)
        print(t(f"verify.log_{log.verdict}", language, message=message), file=out)
    if failures:
        print(t("verify.failed", language, failures=formats.number(failures, language)), file=out)
    else:
        print(t("verify.passed", language), file=out)
    return 1 if failures else 0


async def _verify_one(
    store: EventStore, client: Client | None, result: VerifyResult, out: TextIO, lang: Language
) -> bool:
    """One plan's chain, and its cross-check with Temporal when there is a client."""
    ok = True
    plan = result.stream_id
    if result.events_checked == 0:
        print(t("verify.no_events", lang, plan=plan), file=out)
        ok = False
    elif result.ok:
        count = formats.number(result.events_checked, lang)
        print(t("verify.chain_ok", lang, plan=plan, count=count, hash=result.last_hash), file=out)
    else:
        ok = False
        broken = t(
            "verify.chain_broken",
            lang,
            plan=plan,
            version=result.broken_version,
            problem=result.problem,
        )
        print(broken, file=out)
    if client is None:
        print(t("verify.no_temporal", lang, plan=plan), file=out)
        return ok
    ok = await _cross_check(store, client, plan, result.last_version, out, lang=lang) and ok
    return await _schedule_check(store, client, plan, out, lang) and ok


async def _schedule_check(
    store: EventStore, client: Client, plan: str, out: TextIO, lang: Language
) -> bool:
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
            unread = t(
                "verify.schedule_unread",
                lang,
                plan=plan,
                version=stored.version,
                type=stored.type,
                error=type(exc).__name__,
            )
            print(unread, file=out)
            return False
    problems = schedule_check.unattested_actions(plan, events, schedule, lang)
    for problem in problems:
        print(t("verify.schedule_unattested", lang, plan=plan, problem=problem), file=out)
    if not problems:
        line = t(
            "verify.schedule_ok",
            lang,
            plan=plan,
            schedule=schedule.schedule_id,
            state=t(
                "verify.schedule_paused" if schedule.paused else "verify.schedule_active", lang
            ),
            recent=formats.number(len(schedule.recent), lang),
        )
        print(line, file=out)
    return not problems


async def _cross_check(
    store: EventStore, client: Client, plan: str, last_version: int, out: TextIO, *, lang: Language
) -> bool:
    found = await plan_histories(client, plan)
    if found is None:
        print(t("verify.no_history", lang, plan=plan), file=out)
        return True
    histories, complete = found
    if not complete:
        print(t("verify.history_partial", lang, plan=plan), file=out)
    stored = await stored_facts(store.iter_stream(plan), lang)
    check = cross_check(plan, stored, histories, complete=complete, language=lang)
    if check.last_receipted_version > last_version:
        shorter = t(
            "verify.stream_shorter",
            lang,
            last=last_version,
            receipted=check.last_receipted_version,
        )
        check.problems.insert(0, shorter)
    if check.ok:

        def counted(key: str, count: int) -> str:
            return t(key, lang, count=formats.number(count, lang)) if count else ""

        line = t(
            "verify.cross_check_ok",
            lang,
            plan=plan,
            decisions=formats.number(check.history_decisions, lang),
            runs=formats.number(check.runs, lang),
            receipts=formats.number(check.receipts_compared, lang),
            caught=counted("verify.caught_up", check.caught_up),
            public=counted("verify.public_traced", check.public_responses),
        )
        print(line, file=out)
        return True
    for problem in check.problems:
        print(t("verify.cross_check_problem", lang, plan=plan, problem=problem), file=out)
    return False


async def _plans_without_stream(
    store: EventStore,
    client: Client,
    streams: set[str],
    task_queue: str | None,
    out: TextIO,
    *,
    lang: Language,
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
            print(t("verify.stream_not_yet", lang, plan=plan, workflow=execution.id), file=out)
            continue
        failures += 1
        missing = t(
            "verify.stream_missing",
            lang,
            plan=plan,
            workflow=execution.id,
            decisions=formats.number(len(decisions), lang),
        )
        print(missing, file=out)
    return failures


async def replay(
    client: Client,
    plan_id: str,
    out: TextIO | None = None,
    workflows: Sequence[type] = WORKFLOWS,
    *,
    language: Language = DEFAULT_LANGUAGE,
) -> int:
    """Replay the plan's recorded history against the current workflow code; what it
    found in ``language``."""
    out = out or sys.stdout
    found = await plan_histories(client, plan_id, with_reminders=True)
    if found is None:
        print(t("replay.no_history", language, plan=plan_id), file=out)
        return 1
    histories, _complete = found
    try:
        await replay_histories(histories, workflows)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        print(t("replay.failed", language, plan=plan_id, error=error), file=out)
        print(t("replay.failed_advice", language), file=out)
        return 1
    ok = t(
        "replay.ok",
        language,
        plan=plan_id,
        runs=formats.number(len(histories), language),
        events=formats.number(sum(len(h.events) for h in histories), language),
    )
    print(ok, file=out)
    return 0
