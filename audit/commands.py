"""`temaplan audit ...`: what auditors run. Read-only; each returns the exit status."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from audit import history as hist
from audit.crosscheck import cross_check
from audit.temporal_history import replay_histories, run_histories
from domain.gates import plan_status
from domain.state import PlanState, fold
from eventstore import EventStore
from worker import WORKFLOWS
from workflows.plan_models import workflow_id_for


async def show_history(
    store: EventStore,
    plan_id: str,
    where: hist.HistoryFilter,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    printed = 0
    async for row in hist.filtered(store.iter_stream(plan_id), where):
        if not printed and not as_json:
            print(hist.HEADER, file=out)
        print(hist.as_json_line(row) if as_json else hist.as_table_line(row), file=out)
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


async def show_state(
    store: EventStore,
    plan_id: str,
    *,
    as_of: datetime | None,
    at_version: int | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    out = out or sys.stdout
    state, total = await state_at(store, plan_id, as_of=as_of, at_version=at_version)
    if not total:
        print(f"no events for plan '{plan_id}'", file=sys.stderr)
        return 1
    status = plan_status(state)
    current = state.content() or state.latest_content()
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
                },
                ensure_ascii=False,
                indent=2,
            ),
            file=out,
        )
        return 0
    when = (
        f"as of {as_of.isoformat()}"
        if as_of
        else f"at version {at_version}"
        if at_version
        else "now"
    )
    w = out.write
    w(f"Plan {plan_id} {when}: {state.events_folded} of {total} events\n")
    w(f"Status: {status.status}; phase {status.phase.value if status.phase else '-'}; ")
    w(f"step {status.step_key or '-'} ({status.step_title_en or '-'})\n")
    if current is not None:
        label = (
            "adopted"
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
        w(f"Signed: {signed.actor_id} as {signed.role.value} at {signed.at.isoformat()}\n")
    for waiting in status.awaited:
        people = ", ".join(waiting.people) or "-"
        w(f"Awaited: {waiting.role.value} ({waiting.given} of {waiting.needed} given): {people}\n")
    if status.hearing_deadline:
        w(f"Hearing deadline: {status.hearing_deadline.isoformat()}; open: {status.hearing_open}\n")
    w(f"Hearing responses so far: {len(state.hearing_responses)}\n")
    for response in state.hearing_responses[:20]:
        org = f" ({response.organisation})" if response.organisation else ""
        w(f"  {response.name}{org}, {response.at.isoformat()}\n")
    return 0


async def plan_histories(client: Client, plan_id: str) -> list[WorkflowHistory] | None:
    """Every run's history, or None when Temporal no longer has the workflow."""
    try:
        return await run_histories(client, workflow_id_for(plan_id))
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def verify(
    store: EventStore, client: Client | None, plan_ids: list[str], out: TextIO | None = None
) -> int:
    """The chain and numbering of each stream; then, where Temporal still has the
    history, the cross-check between history and store. 0 only when all is well."""
    out = out or sys.stdout
    failures = 0
    for result in await store.verify_streams(plan_ids):
        plan = result.stream_id
        if result.events_checked == 0:
            print(f"{plan}: no events in the store", file=out)
            failures += 1
            continue
        if result.ok:
            print(
                f"{plan}: chain OK, {result.events_checked} events, last hash {result.last_hash}",
                file=out,
            )
        else:
            failures += 1
            print(
                f"{plan}: chain BROKEN at version {result.broken_version}: {result.problem}",
                file=out,
            )
        if client is None:
            print(
                f"{plan}: Temporal not configured (TEMPORAL_ADDRESS); store checked alone", file=out
            )
            continue
        histories = await plan_histories(client, plan)
        if histories is None:
            print(
                f"{plan}: no Temporal history any more (retention); store checked alone", file=out
            )
            continue
        store_ids = {str(e.event_id): (e.version, e.type) async for e in store.iter_stream(plan)}
        check = cross_check(plan, store_ids, histories)
        if check.ok:
            print(
                f"{plan}: cross-check OK, {check.history_decisions} decisions in {check.runs} "
                f"run(s) of the Temporal history, each exactly once in the store",
                file=out,
            )
        else:
            failures += 1
            for problem in check.problems:
                print(f"{plan}: cross-check: {problem}", file=out)
    return 1 if failures else 0


async def replay(
    client: Client, plan_id: str, out: TextIO | None = None, workflows: Sequence[type] = WORKFLOWS
) -> int:
    """Replay the plan's recorded history against the current workflow code."""
    out = out or sys.stdout
    histories = await plan_histories(client, plan_id)
    if histories is None:
        print(f"{plan_id}: Temporal has no history for this plan (retention?)", file=out)
        return 1
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


def _progress(total_hint: str) -> Callable[[int], None] | None:
    """A progress line on a terminal (stderr); nothing when output goes to a file."""
    if not sys.stderr.isatty():
        return None

    def report(done: int) -> None:
        print(f"\r  {done:,} events {total_hint}", end="", file=sys.stderr, flush=True)

    return report


async def export(
    store: EventStore, plan_id: str, fmt: str, out_path: Path, language: str = "nb"
) -> int:
    now = datetime.now(UTC)
    total, _ = await store.head(plan_id)
    if not total:
        print(f"no events for plan '{plan_id}'; nothing was written", file=sys.stderr)
        return 1
    progress = _progress(f"of {total:,}")
    if fmt == "jsonl":
        from audit.export import export_jsonl

        manifest = await export_jsonl(store, plan_id, out_path, exported_at=now, progress=progress)
        print(
            f"\nexported {manifest.event_count} events of {plan_id} to {out_path}; "
            f"last hash {manifest.last_hash}"
        )
    elif fmt == "csv":
        from audit.export import export_csv

        rows = await export_csv(store, plan_id, out_path, progress=progress)
        print(f"\nexported {rows} decisions of {plan_id} to {out_path}")
    else:
        from audit.report import export_html

        lang: Literal["nb", "en"] = "en" if language == "en" else "nb"
        await export_html(store, plan_id, out_path, language=lang, generated_at=now)
        print(f"wrote the {language} report of {plan_id} to {out_path}")
    return 0
