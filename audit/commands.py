"""`temaplan audit ...`: what auditors run. Read-only; each returns the exit status."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from audit import history as hist
from audit import schedule_check
from audit.crosscheck import cross_check, decisions_in_history, stored_facts
from audit.export_all import PlanExport
from audit.log_check import LogCheck
from audit.temporal_history import replay_histories, run_histories
from catalogue import Language
from domain.events import Event as DomainEvent
from domain.gates import Awaited, PlanStatus, plan_status
from domain.ids import reminder_workflow_id, schedule_action_workflow_id
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import fold
from eventstore import EventStore, VerifyResult
from eventstore.log import StoredCheckpoint
from runtime.formatting import oslo
from runtime.progress import progress
from workflows.plan_models import workflow_id_for
from workflows.registry import WORKFLOWS


async def show_history(
    store: EventStore,
    plan_id: str,
    where: hist.HistoryFilter,
    as_json: bool,
    out: TextIO | None = None,
    *,
    language: Language = "nb",
) -> int:
    out = out or sys.stdout
    printed = 0
    async for row, event in hist.filtered_events(store.iter_stream(plan_id), where):
        if not printed and not as_json:
            print(hist.header(language), file=out)
        line = hist.as_json_line(row) if as_json else hist.table_line(row, event, language)
        print(line, file=out)
        printed += 1
    if not printed:
        if not (await store.head(plan_id))[0]:
            print(f"no events for plan '{plan_id}'", file=sys.stderr)
            return 1
        print("no events match the filters", file=sys.stderr)
    return 0


async def state_at(
    store: EventStore, plan_id: str, *, as_of: datetime | None = None, at_version: int | None = None
) -> tuple[PlanState, int]:
    """The plan as it stood: the fold of its events up to a time or a version."""
    events = await store.read_domain(plan_id, as_of=as_of, up_to_version=at_version)
    total, _ = await store.head(plan_id)
    return fold(events), total


async def record_problems(store: EventStore, plan_id: str, log: LogCheck | None) -> list[str]:
    """Why the plan's record is not whole: its chain or the log does not verify."""
    problems = []
    result = await store.verify(plan_id)
    if result.events_checked and not result.ok:
        problems.append(f"chain BROKEN at version {result.broken_version}: {result.problem}")
    if log is not None and log.verdict == "broken":
        problems.append(log.message)
    return problems


def _warn(plan_id: str, problems: list[str], what: str, log: LogCheck | None) -> None:
    if problems:
        print(
            f"WARNING: the record of {plan_id} does NOT verify; {what}:\n"
            + "".join(f"  - {p}\n" for p in problems),
            file=sys.stderr,
        )
    elif log is not None and log.verdict == "unchecked":
        print(f"note: {log.message}", file=sys.stderr)


async def show_state(
    store: EventStore,
    plan_id: str,
    *,
    as_of: datetime | None,
    at_version: int | None,
    as_json: bool,
    out: TextIO | None = None,
    log: LogCheck | None = None,
) -> int:
    """The state, with a prominent warning and exit status 1 when the record it is
    rebuilt from does not verify: shown for the forensic reader, never as whole."""
    out = out or sys.stdout
    problems = await record_problems(store, plan_id, log)
    _warn(plan_id, problems, "the state below is rebuilt from a BROKEN record", log)
    if problems and not as_json:
        out.write(f"*** BROKEN RECORD: {'; '.join(problems)} ***\n")
    shown = await _show_state(
        store, plan_id, as_of=as_of, at_version=at_version, as_json=as_json, out=out
    )
    return 1 if problems else shown


async def _show_state(
    store: EventStore,
    plan_id: str,
    *,
    as_of: datetime | None,
    at_version: int | None,
    as_json: bool,
    out: TextIO,
) -> int:
    state, total = await state_at(store, plan_id, as_of=as_of, at_version=at_version)
    if not total:
        print(f"no events for plan '{plan_id}'", file=sys.stderr)
        return 1
    status = plan_status(state)
    # After adoption the plan in force (revisions replace it); before, what is reviewed.
    current = (
        state.content(state.in_force_version)
        if state.in_force_version is not None
        else state.content() or state.latest_content()
    )
    if as_json:
        print(
            json.dumps(
                {
                    "as_of": as_of.isoformat() if as_of else None,
                    "at_version": at_version,
                    "status": status.model_dump(mode="json"),
                    "content": current.model_dump(mode="json") if current else None,
                    "sign_offs": [s.model_dump(mode="json") for s in state.sign_offs],
                    "hearing_responses": [
                        r.model_dump(mode="json") for r in state.hearing_responses
                    ],
                    "in_force_version": state.in_force_version,
                    "schedule": state.schedule.model_dump(mode="json") if state.schedule else None,
                    "revisions": [r.model_dump(mode="json") for r in state.revisions],
                },
                ensure_ascii=False,
                indent=2,
            ),
            file=out,
        )
        return 0
    when = f"as of {oslo(as_of)}" if as_of else f"at version {at_version}" if at_version else "now"
    w = out.write
    w(f"Plan {plan_id} {when}: {state.events_folded} of {total} events\n")
    w(f"Status: {status.status}; phase {status.phase.value if status.phase else '-'}; ")
    w(f"step {status.step_key or '-'} ({status.step_title_en or '-'})\n")
    if current is not None:
        label = (
            "in force, revised"
            if state.in_force_version == current.version
            and state.adopted_version != current.version
            else "adopted"
            if state.adopted_version == current.version
            else "under review"
            if state.under_review
            else "latest"
        )
        w(f"Content ({label}): version {current.version}, hash {current.content_hash}\n")
        content = current.content
        for goal in content.goals:
            w(f"  Goal {goal.id}: {goal.title}\n")
            for strategy in (s for s in content.strategies if s.goal_id == goal.id):
                w(f"    Strategy {strategy.id}: {strategy.title}\n")
                for measure in (m for m in content.measures if m.strategy_id == strategy.id):
                    w(
                        f"      Measure {measure.id}: {measure.title} ({measure.responsible_unit}, {measure.due_year})\n"
                    )
    for signed in status.signed:
        w(f"Signed: {signed.actor_id} as {signed.role.value} at {oslo(signed.at)}\n")
    for waiting in status.awaited:
        w(f"Awaited: {awaited_line(waiting)}\n")
    _write_votes(state, status, w)
    if status.hearing_deadline:
        w(f"Hearing deadline: {oslo(status.hearing_deadline)}; open: {status.hearing_open}\n")
        w(f"Responses to this hearing: {status.hearing_responses}\n")
    w(f"Hearing responses so far (every hearing): {len(state.hearing_responses)}\n")
    for response in state.hearing_responses[:20]:
        org = f" ({response.organisation})" if response.organisation else ""
        w(f"  {response.name}{org}, {oslo(response.at)}\n")
    _write_revisions(state, w)
    return 0


def awaited_line(waiting: Awaited) -> str:
    """Who a step still waits for, in words that fit the step: a quorum to reach, or an
    open round (a hearing, a reference round) that anyone or any member may answer."""
    people = ", ".join(waiting.people)
    if waiting.role is Role.PUBLIC:
        return f"public: anyone may respond ({waiting.given} response(s) so far)"
    if waiting.needed == 0:
        return (
            f"{waiting.role.value}: {waiting.given} answered; yet to answer: {people or 'nobody'}"
        )
    return (
        f"{waiting.role.value} ({waiting.given} of {waiting.needed} needed given): "
        f"{people or 'nobody left'}"
    )


def _write_votes(state: PlanState, status: PlanStatus, w: Callable[[str], object]) -> None:
    """Each body's vote at the decision step, and the bodies' decisions so far."""
    for tally in status.tallies:
        w(f"Vote of {tally.body.value}: {tally.needed} of {tally.members} needed\n")
        for count in tally.counts:
            w(f"  {count.proposal}: {len(count.voters)} ({', '.join(count.voters)})\n")
        w(f"  not yet voted: {', '.join(tally.awaited) or '-'}\n")
    if status.deadlocked:
        w("Deadlocked: no proposal can reach the quorum; the project leader withdraws the item\n")
    if status.postponed_to is not None:
        w(f"Postponed to the meeting on {oslo(status.postponed_to)}\n")
    if status.return_instructions is not None:
        back = status.return_instructions
        w(f"Returned by the council to {back.return_to.value}: {back.instructions}\n")
    for decision in state.decisions:
        if decision.event_type in ("hearing_decided", "council_decided"):
            meeting = f" [{decision.meeting.render()}]" if decision.meeting else ""
            w(
                f"Decided by {decision.actor_id} at {oslo(decision.at)}: "
                f"{decision.outcome}{meeting}{': ' + decision.reason if decision.reason else ''}\n"
            )


def _write_revisions(state: PlanState, w: Callable[[str], object]) -> None:
    schedule = state.schedule
    if schedule is not None:
        paused = (
            f"PAUSED by {schedule.changed_by}: {schedule.pause_reason}"
            if schedule.paused
            else "active"
        )
        w(
            f"Revision schedule {schedule.schedule_id}: yearly on {schedule.day:02d}.{schedule.month:02d} "
            f"at {schedule.hour:02d}:00 {schedule.time_zone}, until {schedule.end_at.date()}; {paused}\n"
        )
    for revision in state.revisions:
        round_state = "open" if revision.round_open else "closed"
        deadline = oslo(revision.deadline)
        w(
            f"Revision {revision.year}: reporting round {round_state} (deadline {deadline}), "
            f"plan version {revision.content_version}; outcome {revision.outcome or 'pending'}\n"
        )
        for report in revision.latest_reports().values():
            value = (
                f", indicator {report.indicator_value}"
                if report.indicator_value is not None
                else ""
            )
            w(
                f"  Report {report.measure_id}: {report.status.value} by {report.actor_id} "
                f"at {oslo(report.at)} (version {report.version}){value}\n"
            )
        for goal_value in revision.goal_indicators:
            w(
                f"  Goal indicator {goal_value.goal_id}: {goal_value.value} by {goal_value.actor_id}\n"
            )
        if revision.unreported:
            w(f"  Not reported by the deadline: {', '.join(revision.unreported)}\n")
        card = revision.scorecard
        if card is not None:
            w(f"  Scorecard: {card.done} of {card.total} done\n")
            for goal in card.goals:
                w(f"    {goal.id}: {goal.done} of {goal.total}\n")
        for proposal in revision.proposals:
            changes = ", ".join(f"{c.kind.value} {c.target_id}" for c in proposal.changes)
            w(
                f"  Proposal version {proposal.content_version} by {proposal.proposed_by}: "
                f"{changes}; {proposal.status}\n"
            )


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


async def export(
    store: EventStore,
    plan_id: str,
    fmt: str,
    out_path: Path,
    language: str = "nb",
    *,
    log: LogCheck | None = None,
    separator: str = "semicolon",
    bundle: bool = False,
) -> int:
    if bundle:
        print("--bundle goes with --all (every plan into one tar file)", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    total, _ = await store.head(plan_id)
    if not total:
        print(f"no events for plan '{plan_id}'; nothing was written", file=sys.stderr)
        return 1
    problems = await record_problems(store, plan_id, log)
    _warn(plan_id, problems, "nothing was written (`temaplan audit verify` names the damage)", log)
    if problems:
        return 1
    if fmt == "jsonl":
        from audit.export import export_jsonl

        with progress(f"exporting {plan_id}", total) as report:
            manifest = await export_jsonl(
                store, plan_id, out_path, exported_at=now, progress=report
            )
        print(
            f"exported {manifest.event_count} events of {plan_id} to {out_path}; "
            f"last hash {manifest.last_hash}"
        )
        from audit.log_export import attach_checkpoint

        [last] = await store.read(plan_id, from_version=manifest.last_version)
        attached = await attach_checkpoint(store.pool, out_path, last.event_id)
        print(f"beside it: {attached}" if attached else "no checkpoint signed yet to attach")
    elif fmt == "csv":
        from audit.export import export_csv

        with progress(f"exporting {plan_id}", None, "decisions") as report:
            rows = await export_csv(store, plan_id, out_path, progress=report, separator=separator)
        print(f"exported {rows} decisions of {plan_id} to {out_path}")
    else:
        from audit.report import export_html, export_pdf

        lang: Literal["nb", "en"] = "en" if language == "en" else "nb"
        from eventstore.log import MerkleLog

        merkle_log = MerkleLog(store.pool)
        checkpoint = await merkle_log.latest_cosigned() or await merkle_log.latest_checkpoint()
        write = export_pdf if fmt == "pdf" else export_html
        await write(
            store,
            plan_id,
            out_path,
            language=lang,
            generated_at=now,
            checkpoint=checkpoint.with_cosignatures() if checkpoint else None,
        )
        print(f"wrote the {language} report of {plan_id} to {out_path}")
    return 0


async def export_all(
    store: EventStore,
    fmt: str,
    out_dir: Path,
    *,
    log: LogCheck | None = None,
    bundle: bool = False,
) -> int:
    """Every plan's JSON lines export into ``out_dir`` in one read, each plan's files as
    ``export`` writes them (with the checkpoint and inclusion proof beside them); with
    ``bundle``, the same files as the members of one tar file ``out_dir``.
    Refused, nothing written, when any plan's chain or the log does not verify."""
    if fmt != "jsonl":
        print("--all exports JSON lines only (--format jsonl)", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    plans = await store.stream_ids()
    if not plans:
        print("no plans recorded; nothing was written", file=sys.stderr)
        return 1
    broken = [r for r in await store.verify_streams(plans) if not r.ok]
    problems = [f"{r.stream_id}: chain BROKEN at version {r.broken_version}" for r in broken]
    if log is not None and log.verdict == "broken":
        problems.append(log.message)
    if problems:
        print(
            "WARNING: the record does NOT verify; nothing was written "
            "(`temaplan audit verify --all` names the damage):\n"
            + "".join(f"  - {p}\n" for p in problems),
            file=sys.stderr,
        )
        return 1
    if log is not None and log.verdict == "unchecked":
        print(f"note: {log.message}", file=sys.stderr)
    from audit.log_export import checkpoint_to_attach

    # One checkpoint for the whole export, read once: every plan is proved against it.
    checkpoint = await checkpoint_to_attach(store.pool)
    with progress("exporting every plan", None) as report:
        if bundle:
            exported, attached = await _bundle(
                store, out_dir, now=now, plans=plans, report=report, checkpoint=checkpoint
            )
        else:
            exported, attached = await _directory(
                store, out_dir, now=now, plans=plans, report=report, checkpoint=checkpoint
            )
    events = sum(r.manifest.event_count for r in exported)
    print(
        f"exported {events} events of {len(exported)} plans to {out_dir}; "
        + (f"a checkpoint beside {attached}" if attached else "no checkpoint signed yet to attach")
    )
    return 0


async def _directory(
    store: EventStore,
    out_dir: Path,
    *,
    now: datetime,
    plans: list[str],
    report: Callable[[int], None] | None,
    checkpoint: StoredCheckpoint | None,
) -> tuple[list[PlanExport], int]:
    from audit.export import export_jsonl_all
    from audit.log_export import attach_checkpoint

    exported = await export_jsonl_all(
        store, out_dir, exported_at=now, plan_ids=plans, progress=report
    )
    attached = 0
    for result in exported:
        attached += (
            await attach_checkpoint(store.pool, result.path, result.last_event_id, checkpoint)
            is not None
        )
    return exported, attached


async def _bundle(
    store: EventStore,
    out: Path,
    *,
    now: datetime,
    plans: list[str],
    report: Callable[[int], None] | None,
    checkpoint: StoredCheckpoint | None,
) -> tuple[list[PlanExport], int]:
    """The plans' files as one tar file; each plan's checkpoint and proof are members
    too, named as the directory export names them."""
    from audit.export_bundle import export_jsonl_bundle
    from audit.log_export import checkpoint_files

    async def proofs(exported: list[PlanExport]) -> dict[str, bytes]:
        members: dict[str, bytes] = {}
        if checkpoint is None:
            return members
        for result in exported:
            files = await checkpoint_files(store.pool, result.last_event_id, checkpoint)
            members.update({result.path.name + suffix: data for suffix, data in files.items()})
        return members

    exported = await export_jsonl_bundle(
        store, out, exported_at=now, plan_ids=plans, progress=report, extra=proofs
    )
    return exported, len(exported) if checkpoint is not None else 0
