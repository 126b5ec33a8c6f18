"""A refusal, its codes, and the checks every decision makes before it decides: who the
person is, which role they act in, which step is open, which version is under review.

Each family of decisions (domain/*_decisions.py) decides: given the state and a command,
return the events that record the decision, or refuse with a reason. Pure; time and new
ids are passed in. Update validators and handlers call the same functions, so what is
refused before it reaches history and what is decided after cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.gates import current_step
from domain.phases import GateStep, StepKind, step_by_key
from domain.plan import DEFAULT_REVISION_DATE, Participant, PlanDefinition
from domain.plan_state import PlanState
from domain.roles import Role
from domain.rules import period_problems

NewId = Callable[[], UUID]
ENGINE = "temaplan"


def _by(actor_id: str, role: Role, at: datetime, new_id: NewId) -> dict[str, Any]:
    """The envelope of a decision's event: a new id, the time, who decided and as what."""
    return {"event_id": new_id(), "occurred_at": at, "actor_id": actor_id, "actor_role": role}


def _by_body(body: Role, at: datetime, new_id: NewId) -> dict[str, Any]:
    """The envelope of an event a body decides as a whole, once its members' votes reach
    its quorum: the body itself is the actor."""
    return _by(body.value, body, at, new_id)


def _by_engine(at: datetime, new_id: NewId) -> dict[str, Any]:
    """The envelope of an event the process itself decides."""
    return _by(ENGINE, Role.SYSTEM, at, new_id)


def _at_step(state: PlanState, step: GateStep) -> dict[str, Any]:
    """Where an event at the open step stands: its phase, the step, and the version
    under review."""
    current = state.content()
    assert current is not None
    assert state.phase is not None
    return {"phase": state.phase, "step_key": step.key, "content_version": current.version}


def _decided_at(state: PlanState, step: GateStep) -> dict[str, Any]:
    """Where a decision at the open step stands: as ``_at_step``, with the hash of the
    version it decides on."""
    current = state.content()
    assert current is not None
    return {**_at_step(state, step), "content_hash": current.content_hash}


class RefusalCode(StrEnum):
    UNKNOWN_PARTICIPANT = "UnknownParticipant"
    WRONG_ROLE = "WrongRole"
    GATE_NOT_OPEN = "GateNotOpen"
    STALE_CONTENT = "StaleContent"
    INVALID_CONTENT = "InvalidContent"
    LATE_RESPONSE = "LateResponse"  # the round or hearing is closed
    NOT_OPEN_YET = "NotOpenYet"  # the round or hearing has not opened yet
    INVALID_DECISION = "InvalidDecision"
    UNKNOWN_ITEM = "UnknownItem"
    INVALID_VALUE = "InvalidValue"


class Refusal(Exception):
    def __init__(self, code: RefusalCode, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


def _definition(state: PlanState) -> PlanDefinition:
    if state.definition is None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, "the plan has not been started")
    return state.definition


def _participant(state: PlanState, actor_id: str) -> Participant:
    person = _definition(state).participant(actor_id)
    if person is None:
        raise Refusal(
            RefusalCode.UNKNOWN_PARTICIPANT,
            f"'{actor_id}' is not a participant in plan {state.plan_id}",
        )
    return person


def _open_step(
    state: PlanState, kinds: tuple[StepKind, ...], step_key: str | None = None
) -> GateStep:
    step = current_step(state)
    if step is None or step.kind not in kinds or (step_key is not None and step.key != step_key):
        where = f"'{step.key}'" if step else _between_steps(state)
        wanted = f"'{step_key}'" if step_key else " or ".join(k.value for k in kinds)
        raise Refusal(
            RefusalCode.GATE_NOT_OPEN,
            f"{wanted} is not open; the plan waits at {where}",
        )
    return step


def _acting_at_step(
    state: PlanState,
    actor_id: str,
    kinds: tuple[StepKind, ...],
    step_key: str | None,
    requested: Role | None = None,
) -> tuple[Participant, GateStep, Role]:
    """Who decides, at which open step, and in which of the step's roles."""
    person = _participant(state, actor_id)
    step = _open_step(state, kinds, step_key)
    return person, step, _acting_role(person, step, requested)


def _between_steps(state: PlanState) -> str:
    """Where a plan with no open step stands, in words."""
    if state.status == "active":
        phase = state.phase.value if state.phase else "its first phase"
        return f"no step: the {phase} phase is done and the next one is being opened"
    if state.status == "adopted":
        return "no step: the plan is adopted"
    return "no step: the plan has not been started"


def _acting_role(person: Participant, step: GateStep, requested: Role | None) -> Role:
    allowed = [r for r in step.roles if r in person.roles]
    roles_text = " or ".join(r.value for r in step.roles)
    if requested is not None:
        if requested not in step.roles:
            raise Refusal(
                RefusalCode.WRONG_ROLE,
                f"'{step.key}' is decided by {roles_text}, not {requested.value}",
            )
        if requested not in person.roles:
            raise Refusal(
                RefusalCode.WRONG_ROLE, f"'{person.id}' does not have the role {requested.value}"
            )
        return requested
    if not allowed:
        raise Refusal(
            RefusalCode.WRONG_ROLE,
            f"'{person.id}' ({', '.join(r.value for r in person.roles)}) cannot act at "
            f"'{step.key}'; it needs {roles_text}",
        )
    if len(allowed) > 1:
        raise Refusal(
            RefusalCode.WRONG_ROLE,
            f"'{person.id}' belongs to {' and '.join(r.value for r in allowed)}; say which "
            "role the sign-off is given in",
        )
    return allowed[0]


def _participant_as(state: PlanState, actor_id: str, role: Role, what: str) -> Participant:
    """The participant ``actor_id``, who must hold ``role`` to ``what``."""
    person = _participant(state, actor_id)
    if role not in person.roles:
        raise Refusal(
            RefusalCode.WRONG_ROLE,
            f"'{person.id}' ({', '.join(r.value for r in person.roles)}) cannot {what}; "
            f"it needs {role.value}",
        )
    return person


def _under_review(state: PlanState, version: int, content_hash: str | None) -> None:
    current = state.content()
    if current is None:
        raise Refusal(RefusalCode.GATE_NOT_OPEN, "no content is under review")
    if version != current.version or (
        content_hash is not None and content_hash != current.content_hash
    ):
        raise Refusal(
            RefusalCode.STALE_CONTENT,
            f"content version {version} is not the one under review; version "
            f"{current.version} with hash {current.content_hash} is",
        )


def _check_period(definition: PlanDefinition, at: datetime) -> None:
    """An adopted plan gets a yearly revision schedule: a period already over, or over
    before the first revision, would leave it pointing into the past."""
    date_ = definition.settings.revision_date or DEFAULT_REVISION_DATE
    problems = period_problems(definition.period, date_, at)
    if problems:
        raise Refusal(
            RefusalCode.INVALID_DECISION,
            "the plan cannot be adopted: " + "; ".join(p.message for p in problems),
        )


def _role_if_clear(person: Participant, step: GateStep, requested: Role | None) -> Role | None:
    """The role a person acts in at ``step``: the one asked for, or the only one they
    hold there; None when that is not clear (the decision itself then refuses)."""
    if requested is not None:
        return requested
    held = [r for r in step.roles if r in person.roles]
    return held[0] if len(held) == 1 else None


def _role_at(state: PlanState, actor_id: str, step_key: str, requested: Role | None) -> Role | None:
    """The role ``actor_id`` acts in at the step ``step_key``, as :func:`_role_if_clear`
    finds it; None also for a person or a step the plan does not know."""
    person = state.definition.participant(actor_id) if state.definition else None
    if person is None:
        return None
    try:
        step = step_by_key(step_key)
    except KeyError:
        return None
    return _role_if_clear(person, step, requested)
