"""PlanState and the pure fold that rebuilds it from events.

This is what auditors replay: the state at any version or point in time is the fold of
the events up to it, so it must depend on nothing but the events themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from domain import events as ev
from domain.alike import alike
from domain.phases import Phase, StepKind, phase_spec, step_by_key
from domain.plan_state import (
    Comment,
    Decision,
    HearingClose,
    HearingResponse,
    PlanState,
    ReturnInstructions,
    SignOff,
    _after,
    _content_version,
    _decision,
    counted_vote,
)
from domain.quorum import quorum_reached
from domain.revision_fold import _evolve_revision


def evolve(state: PlanState, event: ev.Event) -> PlanState:  # noqa: PLR0911, PLR0912
    """Apply one event. Pure: the same state and event always give the same result."""
    match event:
        case ev.PlanCreated():
            return _after(
                state, event, plan_id=event.plan_id, definition=event.definition, status="active"
            )
        case ev.PhaseStarted():
            # Phases that begin with a submission review new content; the hearing and
            # the council's decision look at the draft version already under review.
            first_step = phase_spec(event.phase).steps[0]
            under_review = None if first_step.kind is StepKind.SUBMIT else state.under_review
            return _after(
                state,
                event,
                _decision(event, event.phase, reason=event.reason),
                phase=event.phase,
                under_review=under_review,
                completed_steps=(),
                comment_round_deadline=None,
                **_new_vote_round(state),
                postponed_to=None,
                return_instructions=(
                    None if event.phase is Phase.ADOPTION else state.return_instructions
                ),
            )
        case ev.PhaseCompleted():
            return _after(state, event, _decision(event, event.phase))
        case ev.ContentSubmitted():
            return _after(
                state,
                event,
                _on_version(event),
                content_versions=(*state.content_versions, _content_version(event, event.phase)),
                under_review=event.content_version,
                completed_steps=(f"{event.phase.value}.submit",),
            )
        case ev.CommentRoundOpened():
            return _after(state, event, comment_round_deadline=event.deadline)
        case ev.CommentRecorded():
            comment = alike(Comment, event, at=event.occurred_at)
            return _after(state, event, comments=(*state.comments, comment))
        case ev.CommentRoundClosed():
            return _step_done(
                state,
                event,
                None,
                f"{event.phase.value}.reference_round",
                comment_round_deadline=None,
            )
        case ev.SignOffGiven() | ev.AnchoringRecorded():
            sign_off = alike(
                SignOff,
                event,
                body=event.actor_role,
                at=event.occurred_at,
                kind="sign_off" if isinstance(event, ev.SignOffGiven) else "anchoring",
            )
            decision = _at_step(event)
            signed = _after(state, event, decision, sign_offs=(*state.sign_offs, sign_off))
            return _complete_if_quorum(signed, event.step_key)
        case ev.ChangesRequested():
            decision = _at_step(event, reason=event.reason)
            return _after(
                state,
                event,
                decision,
                # The reviewed version is rejected: nothing done on it counts any more.
                under_review=None,
                completed_steps=(),
                changes_requested=(*state.changes_requested, decision),
            )
        case ev.DraftStepCompleted():
            decision = _decision(event, Phase.DRAFT, content_version=event.content_version)
            return _step_done(state, event, decision, event.step_key)
        case ev.HearingOpened():
            return _after(
                state,
                event,
                _decision(event, Phase.HEARING, content_version=event.content_version),
                hearing_open=True,
                hearing_deadline=event.deadline,
                hearing_summary=None,
                hearing_opened_at=event.occurred_at,
                hearing_opened_version=state.events_folded + 1,
                hearing_close=None,
            )
        case ev.HearingResponseReceived():
            response = alike(
                HearingResponse,
                event,
                text_sha256=hashlib.sha256(event.text.encode()).hexdigest(),
                version=state.events_folded + 1,
                at=event.occurred_at,
            )
            return _after(state, event, hearing_responses=(*state.hearing_responses, response))
        case ev.HearingClosed():
            close = alike(HearingClose, event, at=event.occurred_at, by=event.actor_id)
            decision = _decision(event, Phase.HEARING, reason=event.reason)
            return _step_done(
                state, event, decision, "hearing.public", hearing_open=False, hearing_close=close
            )
        case ev.HearingSummarySubmitted():
            decision = _decision(event, Phase.HEARING)
            return _step_done(
                state, event, decision, "hearing.summary", hearing_summary=event.summary
            )
        case ev.VoteCast():
            vote = counted_vote(event, state.events_folded + 1)
            decision = _at_step(
                event, outcome=vote.proposal, reason=event.reason, meeting=event.meeting
            )
            return _after(state, event, decision, votes=(*state.votes, vote))
        case ev.VoteWithdrawn():
            decision = _at_step(event, outcome="withdrawn", reason=event.reason)
            return _after(state, event, decision, **_new_vote_round(state))
        case ev.ContentAmended():
            decision = _on_version(event, reason=event.reason)
            return _after(
                state,
                event,
                decision,
                content_versions=(*state.content_versions, _content_version(event, event.phase)),
                under_review=event.content_version,
            )
        case ev.HearingDecided():
            decision = _vote_decision(event, Phase.HEARING, "hearing.decision")
            return _step_done(state, event, decision, "hearing.decision", **_new_vote_round(state))
        case ev.CouncilDecided():
            decision = _vote_decision(
                event, Phase.ADOPTION, "adoption.council", content_version=event.content_version
            )
            if event.outcome == "postponed":
                # The item goes to a later meeting: the plan waits at the council.
                return _after(
                    state,
                    event,
                    decision,
                    **_new_vote_round(state),
                    postponed_to=event.postponed_to,
                )
            instructions = state.return_instructions
            if event.outcome == "returned" and event.return_to is not None:
                instructions = alike(
                    ReturnInstructions, event, instructions=event.reason, at=event.occurred_at
                )
            return _step_done(
                state,
                event,
                decision,
                "adoption.council",
                **_new_vote_round(state),
                postponed_to=None,
                return_instructions=instructions,
            )
        case ev.PlanAdopted():
            return _after(
                state,
                event,
                status="adopted",
                adopted_version=event.content_version,
                adopted_hash=event.content_hash,
                in_force_version=event.content_version,
                in_force_hash=event.content_hash,
            )
        case _:
            return _evolve_revision(state, event)


def _on_version(event: ev.StepEvent | ev.NewContentVersion, **extra: object) -> Decision:
    """The decision of an event in its phase on one content version."""
    return _decision(event, event.phase, content_version=event.content_version, **extra)


def _at_step(event: ev.StepEvent, **extra: object) -> Decision:
    """The decision of an event at one step of its phase."""
    return _on_version(event, step_key=event.step_key, **extra)


def _vote_decision(
    event: ev.HearingDecided | ev.CouncilDecided, phase: Phase, step_key: str, **extra: object
) -> Decision:
    """The decision a body's vote at ``step_key`` came to."""
    return _decision(
        event,
        phase,
        outcome=event.outcome,
        reason=event.reason,
        step_key=step_key,
        meeting=event.meeting,
        **extra,
    )


def _step_done(
    state: PlanState,
    event: ev.Event,
    decision: Decision | None,
    step_key: str,
    **changes: object,
) -> PlanState:
    """``state`` after an event that completes the step ``step_key`` of the current phase."""
    return _after(
        state, event, decision, completed_steps=(*state.completed_steps, step_key), **changes
    )


def _new_vote_round(state: PlanState) -> dict[str, object]:
    """The votes cast so far no longer count: the body votes again from none."""
    return {"votes": (), "vote_round": state.vote_round + 1}


def _complete_if_quorum(state: PlanState, step_key: str) -> PlanState:
    step = step_by_key(step_key)
    if step.key in state.completed_steps:
        return state
    assert state.definition is not None
    if not quorum_reached(state.definition, state.sign_offs, state.under_review, step):
        return state
    return state.model_copy(update={"completed_steps": (*state.completed_steps, step.key)})


def fold(events: Iterable[ev.Event], state: PlanState | None = None) -> PlanState:
    current = state if state is not None else PlanState()
    for event in events:
        current = evolve(current, event)
    return current
