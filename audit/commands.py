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

import catalogue
from audit import history as hist
from audit.crosscheck import cross_check, decisions_in_history, stored_facts
from audit.log_check import LogCheck
from audit.temporal_history import replay_histories, run_histories
from catalogue import DEFAULT_LANGUAGE, Language, t
from domain.gates import Awaited, PlanStatus, plan_status
from domain.ids import reminder_workflow_id, schedule_action_workflow_id
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import fold
from eventstore import EventStore, VerifyResult
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
    language: Language = DEFAULT_LANGUAGE,
) -> int:
    """The state, with a prominent warning and exit status 1 when the record it is
    rebuilt from does not verify: shown for the forensic reader, never as whole."""
    out = out or sys.stdout
    problems = await record_problems(store, plan_id, log)
    _warn(plan_id, problems, "the state below is rebuilt from a BROKEN record", log)
    if problems and not as_json:
        out.write(f"*** BROKEN RECORD: {'; '.join(problems)} ***\n")
    shown = await _show_state(
        store,
        plan_id,
        as_of=as_of,
        at_version=at_version,
        as_json=as_json,
        out=out,
        language=language,
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
    language: Language,
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

    def say(key: str, **values: object) -> str:
        return t(f"state.{key}", language, **values)

    when = (
        say("as_of", moment=oslo(as_of))
        if as_of
        else say("at_version", version=at_version)
        if at_version
        else say("now")
    )
    w = out.write
    w(say("heading", plan_id=plan_id, when=when, folded=state.events_folded, total=total) + "\n")
    title = status.step_title_nb if language == "nb" else status.step_title_en
    w(
        say(
            "status",
            status=_word("web.status", status.status, language),
            phase=_word("phase", status.phase.value, language) if status.phase else "-",
            step=status.step_key or "-",
            title=title or "-",
        )
        + "\n"
    )
    if current is not None:
        label = (
            "content_revised"
            if state.in_force_version == current.version
            and state.adopted_version != current.version
            else "content_adopted"
            if state.adopted_version == current.version
            else "content_under_review"
            if state.under_review
            else "content_latest"
        )
        w(
            say("content", label=say(label), version=current.version, hash=current.content_hash)
            + "\n"
        )
        content = current.content
        for goal in content.goals:
            w(f"  {say('goal', id=goal.id, title=goal.title)}\n")
            for strategy in (s for s in content.strategies if s.goal_id == goal.id):
                w(f"    {say('strategy', id=strategy.id, title=strategy.title)}\n")
                for measure in (m for m in content.measures if m.strategy_id == strategy.id):
                    line = say(
                        "measure",
                        id=measure.id,
                        title=measure.title,
                        unit=measure.responsible_unit,
                        year=measure.due_year,
                    )
                    w(f"      {line}\n")
    for signed in status.signed:
        role = _word("role", signed.role.value, language)
        w(say("signed", who=signed.actor_id, role=role, at=oslo(signed.at)) + "\n")
    for waiting in status.awaited:
        w(say("awaited", line=awaited_line(waiting, language)) + "\n")
    _write_votes(state, status, w, language)
    if status.hearing_deadline:
        is_open = say("yes") if status.hearing_open else say("no")
        w(say("hearing_deadline", deadline=oslo(status.hearing_deadline), open=is_open) + "\n")
        w(say("hearing_responses", count=status.hearing_responses) + "\n")
    w(say("all_responses", count=len(state.hearing_responses)) + "\n")
    for response in state.hearing_responses[:20]:
        org = f" ({response.organisation})" if response.organisation else ""
        w(f"  {response.name}{org}, {oslo(response.at)}\n")
    _write_revisions(state, w, language)
    return 0


def _word(group: str, value: str, language: Language) -> str:
    """A value of the record in bokmål words; in English the record's own name, as
    `audit history --lang en` shows it."""
    if language == "en":
        return value
    key = f"{group}_{value}" if group.startswith("web.") else f"{group}.{value}"
    return t(key, language) if catalogue.has(key, language) else value


def awaited_line(waiting: Awaited, language: Language = DEFAULT_LANGUAGE) -> str:
    """Who a step still waits for, in words that fit the step: a quorum to reach, or an
    open round (a hearing, a reference round) that anyone or any member may answer."""
    people = ", ".join(waiting.people)
    role = _word("role", waiting.role.value, language)
    if waiting.role is Role.PUBLIC:
        return t("state.awaited_public", language, role=role, given=waiting.given)
    if waiting.needed == 0:
        return t(
            "state.awaited_round",
            language,
            role=role,
            given=waiting.given,
            people=people or t("state.nobody", language),
        )
    return t(
        "state.awaited_quorum",
        language,
        role=role,
        given=waiting.given,
        needed=waiting.needed,
        people=people or t("state.nobody_left", language),
    )


def _write_votes(
    state: PlanState, status: PlanStatus, w: Callable[[str], object], language: Language
) -> None:
    """Each body's vote at the decision step, and the bodies' decisions so far."""

    def say(key: str, **values: object) -> str:
        return t(f"state.{key}", language, **values)

    for tally in status.tallies:
        body = _word("role", tally.body.value, language)
        w(say("vote", body=body, needed=tally.needed, members=tally.members) + "\n")
        for count in tally.counts:
            proposal = count.proposal
            if language != "en":
                proposal = _word("web.vote", count.outcome, language)
                if count.return_to is not None:
                    proposal += f" → {_word('phase', count.return_to.value, language)}"
                if count.postponed_to is not None:
                    proposal += f" → {count.postponed_to.isoformat()}"
            w(f"  {proposal}: {len(count.voters)} ({', '.join(count.voters)})\n")
        w(f"  {say('not_voted', people=', '.join(tally.awaited) or '-')}\n")
    if status.deadlocked:
        w(say("deadlocked") + "\n")
    if status.postponed_to is not None:
        w(say("postponed", day=oslo(status.postponed_to)) + "\n")
    if status.return_instructions is not None:
        back = status.return_instructions
        phase = _word("phase", back.return_to.value, language)
        w(say("returned", phase=phase, instructions=back.instructions) + "\n")
    for decision in state.decisions:
        if decision.event_type in ("hearing_decided", "council_decided"):
            meeting = f" [{decision.meeting.render()}]" if decision.meeting else ""
            w(
                say(
                    "decided",
                    who=decision.actor_id,
                    at=oslo(decision.at),
                    outcome=_word("web.vote", decision.outcome, language),
                    meeting=meeting,
                    reason=": " + decision.reason if decision.reason else "",
                )
                + "\n"
            )


def _write_revisions(state: PlanState, w: Callable[[str], object], language: Language) -> None:
    def say(key: str, **values: object) -> str:
        return t(f"state.{key}", language, **values)

    schedule = state.schedule
    if schedule is not None:
        paused = (
            say("schedule_paused", who=schedule.changed_by, reason=schedule.pause_reason)
            if schedule.paused
            else say("schedule_active")
        )
        line = say(
            "schedule",
            id=schedule.schedule_id,
            day=f"{schedule.day:02d}",
            month=f"{schedule.month:02d}",
            hour=f"{schedule.hour:02d}",
            zone=schedule.time_zone,
            end=schedule.end_at.date(),
            paused=paused,
        )
        w(line + "\n")
    for revision in state.revisions:
        outcome = (
            _word("revision_outcome", revision.outcome, language)
            if revision.outcome
            else say("outcome_pending")
        )
        line = say(
            "revision",
            year=revision.year,
            round=say("round_open") if revision.round_open else say("round_closed"),
            deadline=oslo(revision.deadline),
            version=revision.content_version,
            outcome=outcome,
        )
        w(line + "\n")
        for report in revision.latest_reports().values():
            value = (
                say("indicator", value=report.indicator_value)
                if report.indicator_value is not None
                else ""
            )
            line = say(
                "report",
                measure=report.measure_id,
                status=_word("status", report.status.value, language),
                who=report.actor_id,
                at=oslo(report.at),
                version=report.version,
                value=value,
            )
            w(f"  {line}\n")
        for goal_value in revision.goal_indicators:
            line = say(
                "goal_indicator",
                goal=goal_value.goal_id,
                value=goal_value.value,
                who=goal_value.actor_id,
            )
            w(f"  {line}\n")
        if revision.unreported:
            w(f"  {say('unreported', measures=', '.join(revision.unreported))}\n")
        card = revision.scorecard
        if card is not None:
            w(f"  {say('scorecard', done=card.done, total=card.total)}\n")
            for goal in card.goals:
                w(f"    {say('scorecard_goal', goal=goal.id, done=goal.done, total=goal.total)}\n")
        for proposal in revision.proposals:
            changes = ", ".join(
                f"{_word('web.change', c.kind.value, language)} {c.target_id}"
                for c in proposal.changes
            )
            line = say(
                "proposal",
                version=proposal.content_version,
                who=proposal.proposed_by,
                changes=changes,
                status=_word("web.proposal", proposal.status, language),
            )
            w(f"  {line}\n")


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
    return await _cross_check(store, client, plan, result.last_version, out) and ok


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
) -> int:
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
    store: EventStore, fmt: str, out_dir: Path, *, log: LogCheck | None = None
) -> int:
    """Every plan's JSON lines export into ``out_dir`` in one read, each plan's files as
    ``export`` writes them (with the checkpoint and inclusion proof beside them).
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
    from audit.export import export_jsonl_all
    from audit.log_export import attach_checkpoint, checkpoint_to_attach

    with progress("exporting every plan", None) as report:
        exported = await export_jsonl_all(
            store, out_dir, exported_at=now, plan_ids=plans, progress=report
        )
    # One checkpoint for the whole export, read once: every plan is proved against it.
    checkpoint = await checkpoint_to_attach(store.pool)
    attached = 0
    for result in exported:
        attached += (
            await attach_checkpoint(store.pool, result.path, result.last_event_id, checkpoint)
            is not None
        )
    events = sum(r.manifest.event_count for r in exported)
    print(
        f"exported {events} events of {len(exported)} plans to {out_dir}; "
        + (f"a checkpoint beside {attached}" if attached else "no checkpoint signed yet to attach")
    )
    return 0
