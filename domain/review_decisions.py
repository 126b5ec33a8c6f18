"""People's decisions on the content under review: the project leader submits it, the
reference group comments on it, the bodies sign it off (or anchor it) or ask for changes,
and the draft steps are completed. Pure; time and new ids are passed in."""

from __future__ import annotations

from datetime import datetime

from domain import commands as cmd
from domain.events import (
    AnchoringRecorded,
    ChangesRequested,
    CommentRecorded,
    ContentSubmitted,
    DraftStepCompleted,
    Event,
    SignOffGiven,
)
from domain.gates import current_step, phase_steps, step_sign_offs, unknown_costs_at
from domain.phases import StepKind
from domain.plan_state import PlanState
from domain.refusals import (
    NewId,
    Refusal,
    RefusalCode,
    _acting_at_step,
    _between_steps,
    _by,
    _decided_at,
    _definition,
    _open_step,
    _participant_as,
    _role_at,
    _role_if_clear,
    _under_review,
)
from domain.roles import Role
from domain.rules import content_problems


def submit_content(
    state: PlanState, command: cmd.SubmitContent, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant_as(state, command.actor_id, Role.PROJECT_LEADER, "submit content")
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
            **_by(person.id, Role.PROJECT_LEADER, at, new_id),
            phase=command.phase,
            content_version=(latest.version if latest else 0) + 1,
            content_hash=command.content.content_hash(),
            content=command.content,
        )
    ]


def add_comment(
    state: PlanState, command: cmd.AddComment, at: datetime, new_id: NewId
) -> list[Event]:
    person = _participant_as(
        state, command.actor_id, Role.REFERENCE_GROUP, "comment in the reference-group round"
    )
    _comment_round_open(state, at)
    _under_review(state, command.content_version, None)
    assert state.phase is not None
    return [
        CommentRecorded(
            **_by(person.id, Role.REFERENCE_GROUP, at, new_id),
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
    if command.approve:
        return False
    role = _role_at(state, command.actor_id, command.step_key, command.role)
    return role is not None and any(
        d.actor_id == command.actor_id
        and d.actor_role is role
        and d.step_key == command.step_key
        and d.content_version == command.content_version
        for d in state.changes_requested
    )


def signing_role(state: PlanState, command: cmd.SignOff) -> str:
    """The role part of a sign-off's identity, for the receipt kept by the workflow."""
    role = _role_at(state, command.actor_id, command.step_key, command.role)
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
    person, step, role = _acting_at_step(
        state,
        command.actor_id,
        (StepKind.SIGN_OFF, StepKind.ANCHORING),
        command.step_key,
        command.role,
    )
    _under_review(state, command.content_version, command.content_hash)
    common = {**_by(person.id, role, at, new_id), **_decided_at(state, step)}
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
    person, step, role = _acting_at_step(
        state, command.actor_id, (StepKind.DRAFT_STEP,), command.step_key
    )
    _under_review(state, command.content_version, None)
    assert step.draft_step_number is not None
    return [
        DraftStepCompleted(
            **_by(person.id, role, at, new_id),
            step_key=step.key,
            step_number=step.draft_step_number,
            content_version=command.content_version,
            note=command.note,
            unknown_costs=unknown_costs_at(state, step),
        )
    ]
