"""The engine's own decisions: the plan starts, a phase closes and the next opens, the
reference group's round and the public hearing open and close. Pure; time and new ids are
passed in."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.events import (
    CommentRoundClosed,
    CommentRoundOpened,
    Event,
    HearingClosed,
    HearingOpened,
    PhaseCompleted,
    PhaseStarted,
    PlanCreated,
)
from domain.gates import next_phase
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from domain.refusals import ENGINE, NewId, _by, _by_engine, _definition
from domain.roles import Role


def engine_phase_started(
    at: datetime, new_id: NewId, phase: Phase, reason: str = ""
) -> PhaseStarted:
    """The engine opens ``phase``: the next one, or an earlier one for ``reason``."""
    return PhaseStarted(
        **_by_engine(at, new_id),
        phase=phase,
        reason=reason,
    )


def start_plan(
    definition: PlanDefinition, at: datetime, new_id: NewId, administrator: str
) -> list[Event]:
    return [
        PlanCreated(
            **_by(administrator, Role.SYSTEM, at, new_id),
            plan_id=definition.plan_id,
            definition=definition,
        ),
        engine_phase_started(at, new_id, Phase.GOALS),
    ]


def advance_phase(state: PlanState, at: datetime, new_id: NewId) -> list[Event]:
    """The current phase's steps are all done: close it and open the next."""
    assert state.phase is not None
    following = next_phase(state.phase)
    events: list[Event] = [
        PhaseCompleted(
            **_by_engine(at, new_id),
            phase=state.phase,
        )
    ]
    if following is not None:
        events.append(engine_phase_started(at, new_id, following))
    return events


def open_comment_round(state: PlanState, at: datetime, new_id: NewId) -> list[Event]:
    definition = _definition(state)
    assert state.phase is not None
    assert state.under_review is not None
    return [
        CommentRoundOpened(
            **_by_engine(at, new_id),
            phase=state.phase,
            content_version=state.under_review,
            deadline=at + timedelta(days=definition.settings.reference_round_days),
        )
    ]


def close_comment_round(state: PlanState, at: datetime, new_id: NewId) -> list[Event]:
    assert state.phase is not None
    assert state.comment_round_deadline is not None
    count = sum(
        1
        for c in state.comments
        if c.phase is state.phase and c.content_version == state.under_review
    )
    return [
        CommentRoundClosed(
            **_by_engine(at, new_id),
            phase=state.phase,
            comment_count=count,
            early=at < state.comment_round_deadline,
        )
    ]


def open_hearing(state: PlanState, at: datetime, new_id: NewId) -> list[Event]:
    definition = _definition(state)
    current = state.content()
    assert current is not None
    return [
        HearingOpened(
            **_by_engine(at, new_id),
            content_version=current.version,
            content_hash=current.content_hash,
            deadline=at + timedelta(days=definition.settings.hearing_days),
        )
    ]


def close_hearing(
    state: PlanState, at: datetime, new_id: NewId, closed_by: str = ENGINE, reason: str = ""
) -> list[Event]:
    assert state.hearing_deadline is not None
    role = Role.SYSTEM if closed_by == ENGINE else Role.PROJECT_LEADER
    early = at < state.hearing_deadline
    return [
        HearingClosed(
            **_by(closed_by, role, at, new_id),
            response_count=len(state.current_hearing_responses()),
            early=early,
            reason=reason.strip() if early else "",
        )
    ]
