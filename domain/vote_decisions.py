"""Decisions by vote: a body decides when one proposal reaches its quorum. A member's vote
is checked and counted here, the steering group's vote after the hearing decides here, and
the project leader withdraws a deadlocked item here; the council's vote is in
domain.council_decisions. Pure; time and new ids are passed in."""

from __future__ import annotations

from datetime import date, datetime

from domain import commands as cmd
from domain.engine_decisions import engine_phase_started
from domain.events import Event, HearingDecided, VoteCast, VoteWithdrawn
from domain.gates import current_step, step_votes, vote_tallies
from domain.hearing_decisions import revised_after_hearing
from domain.phases import GateStep, Phase, StepKind
from domain.plan import Participant
from domain.plan_state import PlanState, counted_vote
from domain.refusals import (
    NewId,
    Refusal,
    RefusalCode,
    _acting_role,
    _at_step,
    _by,
    _by_body,
    _decided_at,
    _definition,
    _open_step,
    _participant,
    _participant_as,
    _role_at,
    _role_if_clear,
)
from domain.roles import Role
from domain.votes import MeetingReference, Tally, Vote, tally

RETURNABLE = (Phase.GOALS, Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING)


def own_vote(state: PlanState, step_key: str, actor_id: str, role: Role | None) -> Vote | None:
    """This person's vote in this role in the current round at ``step_key``, if any."""
    for vote in step_votes(state, step_key):
        if vote.actor_id == actor_id and (role is None or vote.body is role):
            return vote
    return None


def existing_vote(state: PlanState, step_key: str, actor_id: str, role: Role | None) -> Vote | None:
    """The vote already cast by (person, step, version under review, role), when the
    role is clear; the caller answers a repeat of it with the original receipt."""
    step = current_step(state)
    person = state.definition.participant(actor_id) if state.definition else None
    if step is None or person is None or step.key != step_key:
        return None
    acting = _role_if_clear(person, step, role)
    return own_vote(state, step_key, actor_id, acting) if acting is not None else None


def vote_identity(state: PlanState, step_key: str, actor_id: str, role: Role | None) -> str | None:
    """(person, step, version, role) of a vote about to be cast in the current round,
    when the role is clear."""
    acting = _role_at(state, actor_id, step_key, role)
    if acting is None:
        return None
    return f"vote/{step_key}/{state.vote_round}/{state.under_review}/{actor_id}/{acting.value}"


def _cast(
    state: PlanState,
    person: Participant,
    step: GateStep,
    command: cmd.HearingDecision | cmd.CouncilDecision,
    *,
    at: datetime,
    new_id: NewId,
    return_to: Phase | None = None,
    postponed_to: date | None = None,
    amended_hash: str | None = None,
) -> tuple[VoteCast, Tally]:
    """Check that this vote on the version under review may be cast and count it: the
    vote, and the body's tally after it."""
    role = _acting_role(person, step, command.role)
    vote = VoteCast(
        **_by(person.id, role, at, new_id),
        **_decided_at(state, step),
        outcome=command.outcome,
        return_to=return_to,
        postponed_to=postponed_to,
        amended_hash=amended_hash,
        reason=command.reason,
        meeting=command.meeting,
    )
    prior = own_vote(state, step.key, person.id, role)
    if prior is not None:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"'{person.id}' has already voted '{prior.proposal}' as {role.value} at "
            f"'{step.key}'; a vote stands until the item is withdrawn",
        )
    before = {t.body: t for t in vote_tallies(state, step)}
    if before[role].deadlocked:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"no proposal can reach the {role.value}'s quorum any more ({_counts(before[role])}); "
            "the project leader withdraws the item for a new vote or a new version",
        )
    counted = counted_vote(vote)
    definition = _definition(state)
    after = tally(
        (*step_votes(state, step.key), counted),
        role,
        tuple(p.id for p in definition.members(role)),
        before[role].needed,
    )
    return vote, after


def _counts(result: Tally) -> str:
    given = ", ".join(f"{c.proposal}: {len(c.voters)}" for c in result.counts) or "no votes"
    return f"{given}; {result.needed} of {result.members} needed"


def _winners(result: Tally) -> tuple[str, ...]:
    """The members whose votes carried the proposal the body decided."""
    return next(c.voters for c in result.counts if c.proposal == result.decided)


def _first_reason(state: PlanState, vote: VoteCast, proposal: str) -> str:
    """The reason given by the member who made the proposal that carried."""
    for earlier in step_votes(state, vote.step_key):
        if earlier.proposal == proposal and earlier.reason.strip():
            return earlier.reason
    return vote.reason


def _meeting(state: PlanState, vote: VoteCast, proposal: str) -> MeetingReference | None:
    if vote.meeting is not None:
        return vote.meeting
    for earlier in reversed(step_votes(state, vote.step_key)):
        if earlier.proposal == proposal and earlier.meeting is not None:
            return earlier.meeting
    return None


def hearing_vote(
    state: PlanState, command: cmd.HearingDecision, at: datetime, new_id: NewId
) -> list[Event]:
    """A steering-group member votes to revise the draft or send it to the council."""
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DECISION,), "hearing.decision")
    if command.outcome == "revise" and not command.reason.strip():
        raise Refusal(RefusalCode.INVALID_DECISION, "a vote to revise the draft needs a reason")
    vote, result = _cast(state, person, step, command, at=at, new_id=new_id)
    events: list[Event] = [vote]
    if result.decided is None:
        return events
    reason = _first_reason(state, vote, result.decided)
    events.append(
        HearingDecided(
            # The body decided, by the votes named in the event.
            **_by_body(result.body, at, new_id),
            outcome=command.outcome,
            reason=reason,
            body=result.body,
            voters=_winners(result),
            needed=result.needed,
            meeting=_meeting(state, vote, result.decided),
        )
    )
    if command.outcome == "revise":
        events.append(revised_after_hearing(at, new_id, reason))
    return events


def withdraw_vote(
    state: PlanState, command: cmd.WithdrawVote, at: datetime, new_id: NewId
) -> list[Event]:
    """The project leader takes the item out of the body's vote: when no proposal can
    reach the quorum any more (a new round on the same version, or back to an earlier
    phase), or at any time to send it back to an earlier phase for a new version."""
    person = _participant_as(
        state, command.actor_id, Role.PROJECT_LEADER, "withdraw an item from the vote"
    )
    step = _open_step(state, (StepKind.DECISION,), command.step_key)
    assert state.phase is not None
    earlier = tuple(p for p in RETURNABLE if p.order < state.phase.order)
    if command.return_to is not None and command.return_to not in earlier:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"'return_to' must be a phase before {state.phase.value}: "
            + ", ".join(p.value for p in earlier),
        )
    tallies = vote_tallies(state, step)
    if command.return_to is None and not any(t.deadlocked for t in tallies):
        open_ = "; ".join(f"{t.body.value}: {_counts(t)}" for t in tallies)
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"the vote can still reach its quorum ({open_}); only a deadlocked vote is "
            "withdrawn for a new vote on the same version (name 'return_to' to send the "
            "plan back for a new version)",
        )
    events: list[Event] = [
        VoteWithdrawn(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            **_at_step(state, step),
            reason=command.reason,
            return_to=command.return_to,
        )
    ]
    if command.return_to is not None:
        events.append(
            engine_phase_started(
                at,
                new_id,
                command.return_to,
                f"withdrawn from the vote by the project leader: {command.reason}",
            )
        )
    return events
