"""`temaplan audit state`: the plan as it stood, rebuilt from its record, and the check
that the record it is rebuilt from (or exported from) is whole."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

import catalogue
from audit.log_check import LogCheck
from catalogue import DEFAULT_LANGUAGE, Language, t
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


async def record_problems(
    store: EventStore, plan_id: str, log: LogCheck | None, language: Language = DEFAULT_LANGUAGE
) -> list[str]:
    """Why the plan's record is not whole: its chain or the log does not verify."""
    problems = []
    result = await store.verify(plan_id)
    if result.events_checked and not result.ok:
        problems.append(
            t(
                "log_check.chain_broken",
                language,
                version=result.broken_version,
                problem=result.problem,
            )
        )
    if log is not None and log.verdict == "broken":
        problems.append(log_text(log, language))
    return problems


def log_text(log: LogCheck, language: Language) -> str:
    """The log check's verdict in the reader's language (its message for one without a
    reason, from a check made before reasons were given)."""
    if not log.reason:
        return log.message
    return t(f"log_check.{log.reason}", language, detail=log.detail)


def _warn(
    plan_id: str,
    problems: list[str],
    what: str,
    log: LogCheck | None,
    language: Language = DEFAULT_LANGUAGE,
) -> None:
    """On stderr: the record does not verify (``what`` follows, already in ``language``),
    or the log was not checked."""
    if problems:
        print(
            t("log_check.warning", language, plan_id=plan_id, what=what)
            + "\n"
            + "".join(f"  - {p}\n" for p in problems),
            file=sys.stderr,
        )
    elif log is not None and log.verdict == "unchecked":
        print(t("log_check.note", language, note=log_text(log, language)), file=sys.stderr)


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
    problems = await record_problems(store, plan_id, log, language)
    _warn(plan_id, problems, t("state.rebuilt_from_broken", language), log, language)
    if problems and not as_json:
        out.write(t("state.broken_record", language, problems="; ".join(problems)) + "\n")
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
        print(t("state.no_events", language, plan_id=plan_id), file=sys.stderr)
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
    title = catalogue.step_title(status.step_key, language)
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
