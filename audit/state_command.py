"""`temaplan audit state`: the plan as it stood, rebuilt from its record, and the check
that the record it is rebuilt from (or exported from) is whole."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from audit.log_check import LogCheck
from domain.gates import Awaited, PlanStatus, plan_status
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import fold
from eventstore import EventStore
from runtime.formatting import oslo


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
