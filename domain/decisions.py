"""Decide: given the state and a command, return the events that record the decision,
or refuse with a reason. Pure; time and new ids are passed in.

Update validators and handlers call the same functions, so what is refused before it
reaches history and what is decided after cannot disagree.
"""

from __future__ import annotations

from datetime import datetime

from domain import commands as cmd
from domain.events import (
    AnchoringRecorded,
    ChangesRequested,
    CommentRecorded,
    ContentAmended,
    ContentSubmitted,
    CouncilDecided,
    DraftStepCompleted,
    Event,
    HearingDecided,
    PhaseStarted,
    PlanAdopted,
    SignOffGiven,
    VoteCast,
    VoteWithdrawn,
)
from domain.gates import (
    current_step,
    phase_steps,
    step_sign_offs,
    step_votes,
    unknown_costs_at,
    vote_tallies,
)
from domain.phases import GateStep, Phase, StepKind, step_by_key
from domain.plan import Participant
from domain.plan_state import PlanState
from domain.refusals import (
    ENGINE,
    NewId,
    Refusal,
    RefusalCode,
    _acting_role,
    _between_steps,
    _check_period,
    _definition,
    _open_step,
    _participant,
    _require_role,
    _role_if_clear,
    _under_review,
)
from domain.roles import Role
from domain.rules import content_problems
from domain.votes import MeetingReference, Tally, Vote, tally

# --- people's decisions -------------------------------------------------------------------


def submit_content(
    state: PlanState, command: cmd.SubmitContent, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant(state, command.actor_id)
    _require_role(person, Role.PROJECT_LEADER, "submit content")
    if state.phase is not command.phase:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"content for '{command.phase.value}' cannot be submitted; the plan is in "
            f"'{state.phase.value if state.phase else 'no phase'}'",
        )
    _open_step(state, (StepKind.SUBMIT,))
    problems = content_problems(command.content, _definition(state), command.phase)
    if problems:
        raise Refusal(
            RefusalCode.INVALID_CONTENT,
            f"{len(problems)} problem(s) in the {command.phase.value} content: "
            + "; ".join(p.render() for p in problems),
        )
    latest = state.latest_content()
    return [
        ContentSubmitted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.PROJECT_LEADER,
            phase=command.phase,
            content_version=(latest.version if latest else 0) + 1,
            content_hash=command.content.content_hash(),
            content=command.content,
        )
    ]


def add_comment(
    state: PlanState, command: cmd.AddComment, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant(state, command.actor_id)
    _require_role(person, Role.REFERENCE_GROUP, "comment in the reference-group round")
    _comment_round_open(state, at)
    _under_review(state, command.content_version, None)
    assert state.phase is not None
    return [
        CommentRecorded(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.REFERENCE_GROUP,
            phase=state.phase,
            content_version=command.content_version,
            text=command.text,
        )
    ]


def _comment_round_open(state: PlanState, at: datetime) -> None:
    """Open, closed, or not open yet: a client must be able to tell the last two apart
    (410 LateResponse, 409 NotOpenYet)."""
    step = current_step(state)
    phase = state.phase.value if state.phase else "current"
    deadline = state.comment_round_deadline
    if step is not None and step.kind is StepKind.COMMENT_ROUND and deadline is not None:
        if at > deadline:
            raise Refusal(
                RefusalCode.LATE_RESPONSE,
                f"the reference-group round of the {phase} phase closed at "
                f"{deadline:%Y-%m-%d %H:%M} UTC",
            )
        return
    if f"{phase}.reference_round" in state.completed_steps:
        raise Refusal(
            RefusalCode.LATE_RESPONSE, f"the reference-group round of the {phase} phase is closed"
        )
    where = f"'{step.key}'" if step else _between_steps(state)
    settings = _definition(state).settings
    rounds = [
        s
        for s in (phase_steps(state.phase, settings) if state.phase else ())
        if s.kind is StepKind.COMMENT_ROUND
    ]
    if not rounds:
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"the {phase} phase has no reference-group round; the plan waits at {where}",
        )
    raise Refusal(
        RefusalCode.NOT_OPEN_YET,
        f"the reference-group round is not open yet; the plan waits at {where}",
    )


def existing_sign_off(state: PlanState, command: cmd.SignOff, *, by_role: bool = True) -> bool:
    """True when this person already approved this step on this version in this role
    (person, step, version, role): the original receipt is the answer, and nothing new
    is recorded. The same person may act again in another role at the same step.
    ``by_role=False``: in any role, as runs recorded before the role was part of it."""
    step = current_step(state)
    person = state.definition.participant(command.actor_id) if state.definition else None
    if step is None or person is None or step.key != command.step_key:
        return False
    if not by_role:
        return command.approve and any(
            s.actor_id == command.actor_id
            for body in step.roles
            for s in step_sign_offs(state, command.step_key, body)
        )
    role = _role_if_clear(person, step, command.role)
    if role is None:
        return False
    return command.approve and any(
        s.actor_id == command.actor_id for s in step_sign_offs(state, command.step_key, role)
    )


def existing_change_request(state: PlanState, command: cmd.SignOff) -> bool:
    """Changes requested by this person at this step on this version in this role: the
    request has already taken the version out of review, so it is answered with the
    original receipt rather than refused as stale."""
    if command.approve or state.definition is None:
        return False
    person = state.definition.participant(command.actor_id)
    if person is None:
        return False
    try:
        step = step_by_key(command.step_key)
    except KeyError:
        return False
    role = _role_if_clear(person, step, command.role)
    return role is not None and any(
        d.actor_id == command.actor_id
        and d.actor_role is role
        and d.step_key == command.step_key
        and d.content_version == command.content_version
        for d in state.changes_requested
    )


def signing_role(state: PlanState, command: cmd.SignOff) -> str:
    """The role part of a sign-off's identity, for the receipt kept by the workflow."""
    person = state.definition.participant(command.actor_id) if state.definition else None
    if person is None:
        return ""
    try:
        step = step_by_key(command.step_key)
    except KeyError:
        return ""
    role = _role_if_clear(person, step, command.role)
    return role.value if role is not None else ""


def sign_off(
    state: PlanState,
    command: cmd.SignOff,
    at: datetime,
    new_id: NewId,
    *,
    one_decision_per_role: bool = True,
) -> list[Event]:
    """Approve or request changes. ``one_decision_per_role``: an approval in a role
    stands, and a later request for changes in the same role is refused (runs recorded
    before this rule pass False)."""
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.SIGN_OFF, StepKind.ANCHORING), command.step_key)
    role = _acting_role(person, step, command.role)
    _under_review(state, command.content_version, command.content_hash)
    assert state.phase is not None
    common = {
        "event_id": new_id(),
        "occurred_at": at,
        "actor_id": person.id,
        "actor_role": role,
        "phase": state.phase,
        "step_key": step.key,
        "content_version": command.content_version,
        "content_hash": command.content_hash,
    }
    if not command.approve:
        if not command.comment.strip():
            raise Refusal(
                RefusalCode.INVALID_DECISION, "requesting changes needs a reason in 'comment'"
            )
        if one_decision_per_role and any(
            s.actor_id == person.id for s in step_sign_offs(state, step.key, role)
        ):
            raise Refusal(
                RefusalCode.INVALID_DECISION,
                f"'{person.id}' has already approved version {command.content_version} at "
                f"'{step.key}' as {role.value}; that decision stands",
            )
        return [ChangesRequested(**common, reason=command.comment)]
    if step.kind is StepKind.ANCHORING:
        form = (command.anchoring_form or command.comment or "forankret").strip()
        return [AnchoringRecorded(**common, form=form[:300])]
    return [SignOffGiven(**common, comment=command.comment)]


def complete_draft_step(
    state: PlanState, command: cmd.CompleteDraftStep, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DRAFT_STEP,), command.step_key)
    role = _acting_role(person, step, None)
    _under_review(state, command.content_version, None)
    assert step.draft_step_number is not None
    return [
        DraftStepCompleted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=role,
            step_key=step.key,
            step_number=step.draft_step_number,
            content_version=command.content_version,
            note=command.note,
            unknown_costs=unknown_costs_at(state, step),
        )
    ]


def council_decision_alone(
    state: PlanState, command: cmd.CouncilDecision, at: datetime, new_id: NewId
) -> list[Event]:
    """As runs recorded before votes decided: one member decides for the council."""
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DECISION,), "adoption.council")
    role = _acting_role(person, step, None)
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
        event_id=new_id(),
        occurred_at=at,
        actor_id=person.id,
        actor_role=role,
        outcome=command.outcome,
        content_version=command.content_version,
        content_hash=command.content_hash,
        return_to=command.return_to if command.outcome == "returned" else None,
        reason=command.reason,
    )
    if command.outcome == "adopted":
        return [
            decided,
            PlanAdopted(
                event_id=new_id(),
                occurred_at=at,
                actor_id=ENGINE,
                actor_role=Role.SYSTEM,
                content_version=command.content_version,
                content_hash=command.content_hash,
            ),
        ]
    assert command.return_to is not None
    return [
        decided,
        PhaseStarted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=command.return_to,
            reason=f"returned by the council: {command.reason}",
        ),
    ]


# --- decisions by vote: a body decides when one proposal reaches its quorum ---------------

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
    person = state.definition.participant(actor_id) if state.definition else None
    try:
        step = step_by_key(step_key)
    except KeyError:
        return None
    acting = _role_if_clear(person, step, role) if person is not None else None
    if acting is None:
        return None
    return f"vote/{step_key}/{state.vote_round}/{state.under_review}/{actor_id}/{acting.value}"


def _cast(
    state: PlanState,
    person: Participant,
    step: GateStep,
    requested: Role | None,
    vote: VoteCast,
) -> tuple[VoteCast, Tally]:
    """Check that this vote may be cast and count it: the body's tally after it."""
    role = _acting_role(person, step, requested)
    vote = vote.model_copy(update={"actor_role": role})
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
    counted = Vote(
        step_key=step.key,
        content_version=vote.content_version,
        actor_id=person.id,
        body=role,
        outcome=vote.outcome,
        return_to=vote.return_to,
        postponed_to=vote.postponed_to,
        amended_hash=vote.amended_hash,
        at=vote.occurred_at,
    )
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
    current = state.content()
    assert current is not None
    assert state.phase is not None
    if command.outcome == "revise" and not command.reason.strip():
        raise Refusal(RefusalCode.INVALID_DECISION, "a vote to revise the draft needs a reason")
    vote, result = _cast(
        state,
        person,
        step,
        command.role,
        VoteCast(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.STEERING_GROUP,
            phase=state.phase,
            step_key=step.key,
            content_version=current.version,
            content_hash=current.content_hash,
            outcome=command.outcome,
            reason=command.reason,
            meeting=command.meeting,
        ),
    )
    events: list[Event] = [vote]
    if result.decided is None:
        return events
    reason = _first_reason(state, vote, result.decided)
    events.append(
        HearingDecided(
            event_id=new_id(),
            occurred_at=at,
            # The body decided, by the votes named in the event.
            actor_id=result.body.value,
            actor_role=result.body,
            outcome=command.outcome,
            reason=reason,
            body=result.body,
            voters=_winners(result),
            needed=result.needed,
            meeting=_meeting(state, vote, result.decided),
        )
    )
    if command.outcome == "revise":
        events.append(
            PhaseStarted(
                event_id=new_id(),
                occurred_at=at,
                actor_id=ENGINE,
                actor_role=Role.SYSTEM,
                phase=Phase.DRAFT,
                reason=f"revise after hearing: {reason}".strip(": "),
            )
        )
    return events


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
    assert state.phase is not None
    vote, result = _cast(
        state,
        person,
        step,
        command.role,
        VoteCast(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.MUNICIPAL_COUNCIL,
            phase=state.phase,
            step_key=step.key,
            content_version=command.content_version,
            content_hash=command.content_hash,
            outcome=command.outcome,
            return_to=command.return_to,
            postponed_to=command.postponed_to,
            amended_hash=amended_hash,
            reason=command.reason,
            meeting=command.meeting,
        ),
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
    engine = {"occurred_at": at, "actor_id": ENGINE, "actor_role": Role.SYSTEM}
    # The body decided (its changes and its decision), by the votes named in the event.
    body = {"occurred_at": at, "actor_id": result.body.value, "actor_role": result.body}
    events: list[Event] = []
    version, content_hash = command.content_version, command.content_hash
    if command.outcome == "adopted_with_changes":
        assert command.amended_content is not None
        latest = state.latest_content()
        assert latest is not None
        version, content_hash = latest.version + 1, command.amended_content.content_hash()
        events.append(
            ContentAmended(
                event_id=new_id(),
                **body,
                phase=Phase.ADOPTION,
                content_version=version,
                content_hash=content_hash,
                content=command.amended_content,
                amends_version=command.content_version,
                reason=reason,
            )
        )
    events.append(
        CouncilDecided(
            event_id=new_id(),
            **body,
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
    )
    if command.outcome in ("adopted", "adopted_with_changes"):
        events.append(
            PlanAdopted(
                event_id=new_id(), **engine, content_version=version, content_hash=content_hash
            )
        )
    elif command.outcome == "returned":
        assert command.return_to is not None
        events.append(
            PhaseStarted(
                event_id=new_id(),
                **engine,
                phase=command.return_to,
                reason=f"returned by the council: {reason}",
            )
        )
    return events


def withdraw_vote(
    state: PlanState, command: cmd.WithdrawVote, at: datetime, new_id: NewId
) -> list[Event]:
    """The project leader takes the item out of the body's vote: when no proposal can
    reach the quorum any more (a new round on the same version, or back to an earlier
    phase), or at any time to send it back to an earlier phase for a new version."""
    person = _participant(state, command.actor_id)
    _require_role(person, Role.PROJECT_LEADER, "withdraw an item from the vote")
    step = _open_step(state, (StepKind.DECISION,), command.step_key)
    assert state.phase is not None
    current = state.content()
    assert current is not None
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
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.PROJECT_LEADER,
            phase=state.phase,
            step_key=step.key,
            content_version=current.version,
            reason=command.reason,
            return_to=command.return_to,
        )
    ]
    if command.return_to is not None:
        events.append(
            PhaseStarted(
                event_id=new_id(),
                occurred_at=at,
                actor_id=ENGINE,
                actor_role=Role.SYSTEM,
                phase=command.return_to,
                reason=f"withdrawn from the vote by the project leader: {command.reason}",
            )
        )
    return events
