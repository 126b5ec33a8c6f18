"""The public hearing's decisions: a member of the public's response and whether it is still
accepted, the project leader's early close and summary, and the steering group's decision
after the hearing as runs recorded before votes decided it. Pure; time and new ids are
passed in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain import commands as cmd
from domain.engine_decisions import engine_phase_started
from domain.events import (
    Event,
    HearingDecided,
    HearingResponseReceived,
    HearingSummarySubmitted,
    PhaseStarted,
    PublicRequest,
)
from domain.phases import Phase, StepKind
from domain.plan_state import PlanState
from domain.plan_type import MIN_KOMMUNEDELPLAN_HEARING_DAYS, PlanType
from domain.refusals import (
    NewId,
    Refusal,
    RefusalCode,
    _acting_at_step,
    _by,
    _definition,
    _open_step,
    _participant_as,
)
from domain.roles import Role


def hearing_response(
    state: PlanState, command: cmd.HearingResponse, at: datetime, new_id: NewId, response_id: str
) -> list[Event]:
    check_hearing_open(state, at)
    return [response_received(new_id(), at, response_id, command)]


class Said(Protocol):
    """What a member of the public said: the command the workflow decides, or the
    request the API appends directly."""

    @property
    def name(self) -> str: ...
    @property
    def organisation(self) -> str | None: ...
    @property
    def text(self) -> str: ...


def response_received(
    event_id: UUID,
    at: datetime,
    response_id: str,
    said: Said,
    received: PublicRequest | None = None,
) -> HearingResponseReceived:
    """A member of the public's response, as ``said``, whether the workflow decided it or
    the API appended it directly (``received`` then names the request and the hearing)."""
    return HearingResponseReceived(
        event_id=event_id,
        occurred_at=at,
        actor_id=f"public:{response_id}",
        actor_role=Role.PUBLIC,
        response_id=response_id,
        name=said.name,
        organisation=said.organisation,
        text=said.text,
        received=received,
    )


def check_hearing_open(state: PlanState, at: datetime) -> None:
    """Whether a response received at ``at`` is accepted: the whole of the rule, cheap
    enough to apply to thousands of signals in one workflow activation."""
    if state.hearing_deadline is None:
        raise Refusal(RefusalCode.NOT_OPEN_YET, "the plan has not been on public hearing yet")
    closed = state.hearing_close
    if not state.hearing_open and closed is not None and closed.early:
        # The truth, not a deadline that may still lie in the future.
        raise Refusal(
            RefusalCode.LATE_RESPONSE,
            f"the hearing was closed early on {closed.at:%Y-%m-%d %H:%M} UTC by "
            f"{closed.by}: {closed.reason or 'no reason given'}; responses after the "
            "close are not accepted",
        )
    if not state.hearing_open or at > state.hearing_deadline:
        raise Refusal(
            RefusalCode.LATE_RESPONSE,
            f"the hearing is closed (its deadline was {state.hearing_deadline.isoformat()}); "
            "responses after the close are not accepted",
        )


def request_hearing_close(state: PlanState, command: cmd.CloseHearing, at: datetime) -> None:
    """Closing before the deadline needs a reason (it is recorded); a kommunedelplan's
    hearing runs at least its legal six weeks whatever the project leader asks."""
    _participant_as(state, command.actor_id, Role.PROJECT_LEADER, "close the hearing early")
    _open_step(state, (StepKind.HEARING,))
    if not state.hearing_open:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, "the hearing is not open")
    deadline = state.hearing_deadline
    if deadline is None or at >= deadline:
        return
    definition = _definition(state)
    # A state carried over from a run before hearing_opened_at: the deadline is the
    # opening plus the plan's hearing days.
    opened = state.hearing_opened_at or deadline - timedelta(days=definition.settings.hearing_days)
    if definition.plan_type is PlanType.KOMMUNEDELPLAN:
        earliest = opened + timedelta(days=MIN_KOMMUNEDELPLAN_HEARING_DAYS)
        if at < earliest:
            raise Refusal(
                RefusalCode.GATE_NOT_OPEN,
                f"a kommunedelplan must be on hearing for at least "
                f"{MIN_KOMMUNEDELPLAN_HEARING_DAYS} days (six weeks, planning law); this "
                f"hearing opened {opened:%Y-%m-%d %H:%M} UTC and may close from "
                f"{earliest:%Y-%m-%d %H:%M} UTC",
            )
    if not command.reason.strip():
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            f"closing the hearing before its deadline ({deadline:%Y-%m-%d %H:%M} UTC) needs "
            "a reason in 'reason'; it is recorded",
        )


def hearing_summary(
    state: PlanState, command: cmd.HearingSummary, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant_as(state, command.actor_id, Role.PROJECT_LEADER, "summarise the hearing")
    _open_step(state, (StepKind.SUMMARY,))
    assert state.under_review is not None
    return [
        HearingSummarySubmitted(
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            content_version=state.under_review,
            summary=command.summary,
        )
    ]


def hearing_decision_alone(
    state: PlanState, command: cmd.HearingDecision, at: datetime, new_id: NewId
) -> list[Event]:
    """As runs recorded before votes decided: one member decides for the body."""
    person, _, role = _acting_at_step(
        state, command.actor_id, (StepKind.DECISION,), "hearing.decision"
    )
    decided = HearingDecided(
        **_by(person.id, role, at, new_id),
        outcome=command.outcome,
        reason=command.reason,
    )
    if command.outcome == "to_council":
        return [decided]
    # Revising sends the plan back to the draft; the responses stay in the record.
    return [decided, revised_after_hearing(at, new_id, command.reason)]


def revised_after_hearing(at: datetime, new_id: NewId, reason: str) -> PhaseStarted:
    """The steering group decided to revise: the plan goes back to the draft."""
    return engine_phase_started(
        at, new_id, Phase.DRAFT, f"revise after hearing: {reason}".strip(": ")
    )
