"""Decide: given the state and a command, return the events that record the decision,
or refuse with a reason. Pure; time and new ids are passed in.

Update validators and handlers call the same functions, so what is refused before it
reaches history and what is decided after cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain import commands as cmd
from domain.events import (
    AnchoringRecorded,
    ChangesRequested,
    CommentRecorded,
    CommentRoundClosed,
    CommentRoundOpened,
    ContentSubmitted,
    CouncilDecided,
    DraftStepCompleted,
    EventBase,
    HearingClosed,
    HearingDecided,
    HearingOpened,
    HearingResponseReceived,
    HearingSummarySubmitted,
    PhaseCompleted,
    PhaseStarted,
    PlanAdopted,
    PlanCreated,
    SignOffGiven,
)
from domain.gates import current_step, next_phase, phase_steps, step_sign_offs, unknown_costs_at
from domain.phases import GateStep, Phase, StepKind
from domain.plan import (
    DEFAULT_REVISION_DATE,
    MIN_KOMMUNEDELPLAN_HEARING_DAYS,
    Participant,
    PlanDefinition,
    PlanType,
)
from domain.roles import Role
from domain.rules import content_problems, period_problems
from domain.state import PlanState

NewId = Callable[[], UUID]
ENGINE = "temaplan"


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


def _require_role(person: Participant, role: Role, what: str) -> None:
    if role not in person.roles:
        raise Refusal(
            RefusalCode.WRONG_ROLE,
            f"'{person.id}' ({', '.join(r.value for r in person.roles)}) cannot {what}; "
            f"it needs {role.value}",
        )


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


# --- the engine's own decisions ---------------------------------------------------------


def start_plan(
    definition: PlanDefinition, at: datetime, new_id: NewId, administrator: str
) -> list[EventBase]:
    return [
        PlanCreated(
            event_id=new_id(),
            occurred_at=at,
            actor_id=administrator,
            actor_role=Role.SYSTEM,
            plan_id=definition.plan_id,
            definition=definition,
        ),
        PhaseStarted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=Phase.GOALS,
        ),
    ]


def advance_phase(state: PlanState, at: datetime, new_id: NewId) -> list[EventBase]:
    """The current phase's steps are all done: close it and open the next."""
    assert state.phase is not None
    following = next_phase(state.phase)
    events: list[EventBase] = [
        PhaseCompleted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=state.phase,
        )
    ]
    if following is not None:
        events.append(
            PhaseStarted(
                event_id=new_id(),
                occurred_at=at,
                actor_id=ENGINE,
                actor_role=Role.SYSTEM,
                phase=following,
            )
        )
    return events


def open_comment_round(state: PlanState, at: datetime, new_id: NewId) -> list[EventBase]:
    definition = _definition(state)
    assert state.phase is not None
    assert state.under_review is not None
    return [
        CommentRoundOpened(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=state.phase,
            content_version=state.under_review,
            deadline=at + timedelta(days=definition.settings.reference_round_days),
        )
    ]


def close_comment_round(state: PlanState, at: datetime, new_id: NewId) -> list[EventBase]:
    assert state.phase is not None
    assert state.comment_round_deadline is not None
    count = sum(
        1
        for c in state.comments
        if c.phase is state.phase and c.content_version == state.under_review
    )
    return [
        CommentRoundClosed(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=state.phase,
            comment_count=count,
            early=at < state.comment_round_deadline,
        )
    ]


def open_hearing(state: PlanState, at: datetime, new_id: NewId) -> list[EventBase]:
    definition = _definition(state)
    current = state.content()
    assert current is not None
    return [
        HearingOpened(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            content_version=current.version,
            content_hash=current.content_hash,
            deadline=at + timedelta(days=definition.settings.hearing_days),
        )
    ]


def close_hearing(
    state: PlanState, at: datetime, new_id: NewId, closed_by: str = ENGINE, reason: str = ""
) -> list[EventBase]:
    assert state.hearing_deadline is not None
    role = Role.SYSTEM if closed_by == ENGINE else Role.PROJECT_LEADER
    early = at < state.hearing_deadline
    return [
        HearingClosed(
            event_id=new_id(),
            occurred_at=at,
            actor_id=closed_by,
            actor_role=role,
            response_count=len(state.current_hearing_responses()),
            early=early,
            reason=reason.strip() if early else "",
        )
    ]


# --- people's decisions -------------------------------------------------------------------


def submit_content(
    state: PlanState, command: cmd.SubmitContent, at: datetime, new_id: NewId
) -> list[EventBase]:
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
) -> list[EventBase]:
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


def existing_sign_off(state: PlanState, command: cmd.SignOff) -> bool:
    """True when this person already signed this step on this version: the original
    receipt is the answer, and nothing new is recorded."""
    step = current_step(state)
    bodies = step.roles if step is not None and step.key == command.step_key else ()
    return command.approve and any(
        s.actor_id == command.actor_id
        for body in bodies
        for s in step_sign_offs(state, command.step_key, body)
    )


def sign_off(
    state: PlanState, command: cmd.SignOff, at: datetime, new_id: NewId
) -> list[EventBase]:
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
        return [ChangesRequested(**common, reason=command.comment)]
    if step.kind is StepKind.ANCHORING:
        form = (command.anchoring_form or command.comment or "forankret").strip()
        return [AnchoringRecorded(**common, form=form[:300])]
    return [SignOffGiven(**common, comment=command.comment)]


def complete_draft_step(
    state: PlanState, command: cmd.CompleteDraftStep, at: datetime, new_id: NewId
) -> list[EventBase]:
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


def hearing_response(
    state: PlanState, command: cmd.HearingResponse, at: datetime, new_id: NewId, response_id: str
) -> list[EventBase]:
    check_hearing_open(state, at)
    return [
        HearingResponseReceived(
            event_id=new_id(),
            occurred_at=at,
            actor_id=f"public:{response_id}",
            actor_role=Role.PUBLIC,
            response_id=response_id,
            name=command.name,
            organisation=command.organisation,
            text=command.text,
        )
    ]


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
    person = _participant(state, command.actor_id)
    _require_role(person, Role.PROJECT_LEADER, "close the hearing early")
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
) -> list[EventBase]:
    person = _participant(state, command.actor_id)
    _require_role(person, Role.PROJECT_LEADER, "summarise the hearing")
    _open_step(state, (StepKind.SUMMARY,))
    assert state.under_review is not None
    return [
        HearingSummarySubmitted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=person.id,
            actor_role=Role.PROJECT_LEADER,
            content_version=state.under_review,
            summary=command.summary,
        )
    ]


def hearing_decision(
    state: PlanState, command: cmd.HearingDecision, at: datetime, new_id: NewId
) -> list[EventBase]:
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DECISION,), "hearing.decision")
    role = _acting_role(person, step, None)
    decided = HearingDecided(
        event_id=new_id(),
        occurred_at=at,
        actor_id=person.id,
        actor_role=role,
        outcome=command.outcome,
        reason=command.reason,
    )
    if command.outcome == "to_council":
        return [decided]
    # Revising sends the plan back to the draft; the responses stay in the record.
    return [
        decided,
        PhaseStarted(
            event_id=new_id(),
            occurred_at=at,
            actor_id=ENGINE,
            actor_role=Role.SYSTEM,
            phase=Phase.DRAFT,
            reason=f"revise after hearing: {command.reason}".strip(": "),
        ),
    ]


def council_decision(
    state: PlanState, command: cmd.CouncilDecision, at: datetime, new_id: NewId
) -> list[EventBase]:
    person = _participant(state, command.actor_id)
    step = _open_step(state, (StepKind.DECISION,), "adoption.council")
    role = _acting_role(person, step, None)
    _under_review(state, command.content_version, command.content_hash)
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
