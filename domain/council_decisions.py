"""The municipal council's decision on the plan: by its members' votes and its quorum (adopt,
adopt with changes, return to an earlier phase, postpone), or by one member as runs
recorded before votes decided it. Pure; time and new ids are passed in."""

from __future__ import annotations

from datetime import datetime

from domain import commands as cmd
from domain.engine_decisions import engine_phase_started
from domain.events import ContentAmended, CouncilDecided, Event, PlanAdopted, VoteCast
from domain.phases import Phase, StepKind
from domain.plan_state import PlanState
from domain.refusals import (
    NewId,
    Refusal,
    RefusalCode,
    _acting_at_step,
    _by,
    _by_body,
    _by_engine,
    _check_period,
    _definition,
    _open_step,
    _participant,
    _under_review,
)
from domain.rules import content_problems
from domain.vote_decisions import RETURNABLE, _cast, _first_reason, _meeting, _winners
from domain.votes import Tally


def council_decision_alone(
    state: PlanState, command: cmd.CouncilDecision, at: datetime, new_id: NewId
) -> list[Event]:
    """As runs recorded before votes decided: one member decides for the council."""
    person, _, role = _acting_at_step(
        state, command.actor_id, (StepKind.DECISION,), "adoption.council"
    )
    _under_review(state, command.content_version, command.content_hash)
    if command.outcome not in ("adopted", "returned"):
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"'{command.outcome}' needs the council's vote, which this run of the plan "
            "predates; it can be decided once the plan moves to a new run",
        )
    if command.outcome == "adopted":
        _check_period(_definition(state), at)
    if command.outcome == "returned":
        allowed = (Phase.GOALS, Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING)
        if command.return_to not in allowed:
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                "a returned plan needs 'return_to', one of: " + ", ".join(p.value for p in allowed),
            )
        if not command.reason.strip():
            raise Refusal(RefusalCode.INVALID_DECISION, "a returned plan needs a reason")
    decided = CouncilDecided(
        **_by(person.id, role, at, new_id),
        outcome=command.outcome,
        content_version=command.content_version,
        content_hash=command.content_hash,
        return_to=command.return_to if command.outcome == "returned" else None,
        reason=command.reason,
    )
    return [decided, *_council_follows(decided, at, new_id)]


def _council_follows(decided: CouncilDecided, at: datetime, new_id: NewId) -> list[Event]:
    """What the engine does on the council's decision: the plan adopted, or back to the
    phase it was returned to; nothing when postponed."""
    if decided.outcome in ("adopted", "adopted_with_changes"):
        return [
            PlanAdopted(
                **_by_engine(at, new_id),
                content_version=decided.content_version,
                content_hash=decided.content_hash,
            )
        ]
    if decided.outcome == "returned":
        assert decided.return_to is not None
        reason = f"returned by the council: {decided.reason}"
        return [engine_phase_started(at, new_id, decided.return_to, reason)]
    return []


def _council_particulars(
    state: PlanState, command: cmd.CouncilDecision, at: datetime
) -> str | None:
    """Check what each outcome needs and nothing else; the amended text's hash."""
    outcome = command.outcome
    if command.return_to is not None and outcome != "returned":
        raise Refusal(RefusalCode.INVALID_DECISION, "'return_to' belongs to 'returned' only")
    if command.postponed_to is not None and outcome != "postponed":
        raise Refusal(RefusalCode.INVALID_DECISION, "'postponed_to' belongs to 'postponed' only")
    if command.amended_content is not None and outcome != "adopted_with_changes":
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            "'amended_content' belongs to 'adopted_with_changes' only",
        )
    if outcome != "adopted" and not command.reason.strip():
        raise Refusal(RefusalCode.INVALID_DECISION, f"a vote for '{outcome}' needs a reason")
    if outcome == "returned" and command.return_to not in RETURNABLE:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            "a returned plan needs 'return_to', one of: " + ", ".join(p.value for p in RETURNABLE),
        )
    if outcome == "postponed":
        if command.postponed_to is None:
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                "a postponed item needs 'postponed_to', the date of the meeting it goes to",
            )
        if command.postponed_to <= at.date():
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                f"'postponed_to' {command.postponed_to.isoformat()} is not a later date "
                f"than today ({at.date().isoformat()})",
            )
    if outcome != "adopted_with_changes":
        return None
    if command.amended_content is None:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            "adopting with changes needs 'amended_content', the plan as the council adopts it",
        )
    current = state.content()
    assert current is not None
    amended_hash = command.amended_content.content_hash()
    if amended_hash == current.content_hash:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            "'amended_content' is the version under review unchanged; vote 'adopted'",
        )
    problems = content_problems(command.amended_content, _definition(state), current.phase)
    if problems:
        raise Refusal(
            RefusalCode.INVALID_CONTENT,
            f"{len(problems)} problem(s) in the amended content: "
            + "; ".join(p.render() for p in problems),
        )
    return amended_hash


def council_vote(
    state: PlanState, command: cmd.CouncilDecision, at: datetime, new_id: NewId
) -> list[Event]:
    """A council member votes; the council has decided when one proposal reaches its
    quorum, and then the outcome follows in the same append."""
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DECISION,), "adoption.council")
    _under_review(state, command.content_version, command.content_hash)
    amended_hash = _council_particulars(state, command, at)
    if command.outcome in ("adopted", "adopted_with_changes"):
        _check_period(_definition(state), at)
    vote, result = _cast(
        state,
        person,
        step,
        command,
        at=at,
        new_id=new_id,
        return_to=command.return_to,
        postponed_to=command.postponed_to,
        amended_hash=amended_hash,
    )
    events: list[Event] = [vote]
    if result.decided is None:
        return events
    return events + _council_outcome(
        state, command=command, vote=vote, result=result, at=at, new_id=new_id
    )


def _council_outcome(
    state: PlanState,
    *,
    command: cmd.CouncilDecision,
    vote: VoteCast,
    result: Tally,
    at: datetime,
    new_id: NewId,
) -> list[Event]:
    assert result.decided is not None
    reason = _first_reason(state, vote, result.decided)
    # The body decided (its changes and its decision), by the votes named in the event.
    events: list[Event] = []
    version, content_hash = command.content_version, command.content_hash
    if command.outcome == "adopted_with_changes":
        assert command.amended_content is not None
        latest = state.latest_content()
        assert latest is not None
        version, content_hash = latest.version + 1, command.amended_content.content_hash()
        events.append(
            ContentAmended(
                **_by_body(result.body, at, new_id),
                phase=Phase.ADOPTION,
                content_version=version,
                content_hash=content_hash,
                content=command.amended_content,
                amends_version=command.content_version,
                reason=reason,
            )
        )
    decided = CouncilDecided(
        **_by_body(result.body, at, new_id),
        outcome=command.outcome,
        content_version=version,
        content_hash=content_hash,
        return_to=command.return_to,
        reason=reason,
        postponed_to=command.postponed_to,
        amends_version=(
            command.content_version if command.outcome == "adopted_with_changes" else None
        ),
        body=result.body,
        voters=_winners(result),
        needed=result.needed,
        meeting=_meeting(state, vote, result.decided),
    )
    return [*events, decided, *_council_follows(decided, at, new_id)]
