"""Where a plan stands at its gate, derived from PlanState alone.

The workflow's status query and an auditor's fold of the stored events both go through
these functions, so what a person sees and what the record says cannot drift apart.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from domain.alike import alike
from domain.phases import PHASE_ORDER, GateStep, Phase, StepKind, phase_spec
from domain.plan import Settings
from domain.plan_state import PlanState, ReturnInstructions, SignOff
from domain.quorum import body_needs, counted_sign_offs
from domain.roles import Role
from domain.votes import Tally, Vote, tally


def phase_steps(phase: Phase, settings: Settings) -> tuple[GateStep, ...]:
    """The steps of a phase that this plan's settings switch on, in order."""
    return tuple(
        step
        for step in phase_spec(phase).steps
        if step.enabled_by is None or getattr(settings, step.enabled_by)
    )


def current_step(state: PlanState) -> GateStep | None:
    """The first step of the current phase not yet completed; None when all are done."""
    if state.definition is None or state.phase is None or state.status != "active":
        return None
    for step in phase_steps(state.phase, state.definition.settings):
        if step.key not in state.completed_steps:
            return step
    return None


def next_phase(phase: Phase) -> Phase | None:
    position = phase.order + 1
    return PHASE_ORDER[position] if position < len(PHASE_ORDER) else None


def step_sign_offs(state: PlanState, step_key: str, body: Role) -> tuple[SignOff, ...]:
    """Sign-offs that count toward ``body``'s quorum at ``step_key`` on the version now
    under review; one per person."""
    return counted_sign_offs(state.sign_offs, state.under_review, step_key, body)


def step_votes(state: PlanState, step_key: str) -> tuple[Vote, ...]:
    """The current round's votes at ``step_key`` on the version now under review."""
    return tuple(
        v
        for v in state.votes
        if v.step_key == step_key
        and state.under_review is not None
        and v.content_version == state.under_review
    )


def vote_tallies(state: PlanState, step: GateStep) -> tuple[Tally, ...]:
    """Per body deciding at ``step``: who voted what, how many are needed, who is awaited."""
    if state.definition is None or step.kind is not StepKind.DECISION:
        return ()
    votes = step_votes(state, step.key)
    return tuple(
        tally(
            votes,
            body,
            tuple(p.id for p in state.definition.members(body)),
            body_needs(state.definition, body),
        )
        for body in step.roles
    )


class Awaited(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    needed: int
    given: int
    people: tuple[str, ...]  # participant ids who may still act


class SignedView(BaseModel):
    model_config = ConfigDict(frozen=True)

    actor_id: str
    role: Role
    at: datetime


class VoteView(BaseModel):
    model_config = ConfigDict(frozen=True)

    actor_id: str
    role: Role
    proposal: str
    outcome: str
    reason: str
    at: datetime


class PlanStatus(BaseModel):
    """What a person (or the Temporal CLI) sees when asking where a plan stands."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    title: str
    status: str
    phase: Phase | None
    # The step by key; its title in words is the catalogue's (catalogue.step_title).
    step_key: str | None
    step_kind: StepKind | None
    content_version: int | None
    content_hash: str | None
    signed: tuple[SignedView, ...]
    awaited: tuple[Awaited, ...]
    comment_round_deadline: datetime | None
    hearing_deadline: datetime | None
    hearing_open: bool
    hearing_responses: int
    events_recorded: int
    adopted_hash: str | None
    # At the finance office's economic check (draft step 6): measures whose costs are
    # unknown, so the sign-off is given knowing what the totals leave out.
    unknown_costs: tuple[str, ...] = ()
    # At a decision step: each body's count, and each vote of the current round.
    tallies: tuple[Tally, ...] = ()
    votes: tuple[VoteView, ...] = ()
    # No proposal can reach a body's quorum any more: the project leader must withdraw.
    deadlocked: bool = False
    postponed_to: date | None = None
    return_instructions: ReturnInstructions | None = None

    @property
    def awaited_roles(self) -> list[str]:
        return sorted({a.role.value for a in self.awaited})


def _awaited_votes(state: PlanState, step: GateStep) -> tuple[Awaited, ...]:
    """Who the vote waits for; when it is deadlocked, the project leader."""
    assert state.definition is not None
    tallies = vote_tallies(state, step)
    if any(t.deadlocked for t in tallies):
        # No vote can change it any more: the project leader withdraws the item.
        leaders = tuple(p.id for p in state.definition.members(Role.PROJECT_LEADER))
        return (Awaited(role=Role.PROJECT_LEADER, needed=1, given=0, people=leaders),)
    return tuple(
        Awaited(
            role=t.body,
            needed=t.needed,
            given=max((len(c.voters) for c in t.counts), default=0),
            people=t.awaited,
        )
        for t in tallies
        if t.decided is None
    )


def awaited(state: PlanState, step: GateStep | None) -> tuple[Awaited, ...]:
    if step is None or state.definition is None:
        return ()
    definition = state.definition
    if step.kind in (StepKind.SIGN_OFF, StepKind.ANCHORING):
        result = []
        for body in step.roles:
            given = step_sign_offs(state, step.key, body)
            needed = body_needs(definition, body)
            if len(given) >= needed:
                continue
            signed = {s.actor_id for s in given}
            people = tuple(p.id for p in definition.members(body) if p.id not in signed)
            result.append(Awaited(role=body, needed=needed, given=len(given), people=people))
        return tuple(result)
    if step.kind is StepKind.HEARING:
        responses = len(state.current_hearing_responses())
        return (Awaited(role=Role.PUBLIC, needed=0, given=responses, people=()),)
    if step.kind is StepKind.COMMENT_ROUND:
        commented = {
            c.actor_id
            for c in state.comments
            if c.content_version == state.under_review and c.phase is state.phase
        }
        members = definition.members(Role.REFERENCE_GROUP)
        people = tuple(p.id for p in members if p.id not in commented)
        return (
            Awaited(
                role=Role.REFERENCE_GROUP,
                needed=0,
                given=len(members) - len(people),
                people=people,
            ),
        )
    if step.kind is StepKind.DECISION:
        return _awaited_votes(state, step)
    return tuple(
        Awaited(role=role, needed=1, given=0, people=tuple(p.id for p in definition.members(role)))
        for role in step.roles
    )


def plan_status(state: PlanState) -> PlanStatus:
    definition = state.definition
    step = current_step(state)
    version = state.content()
    signed = tuple(
        alike(SignedView, s, role=s.body)
        for body in (step.roles if step else ())
        for s in step_sign_offs(state, step.key if step else "", body)
    )
    tallies = vote_tallies(state, step) if step is not None else ()
    return PlanStatus(
        tallies=tallies,
        votes=tuple(
            alike(VoteView, v, role=v.body, proposal=v.proposal)
            for v in (step_votes(state, step.key) if step is not None else ())
        ),
        deadlocked=any(t.deadlocked for t in tallies),
        postponed_to=state.postponed_to,
        return_instructions=state.return_instructions,
        plan_id=state.plan_id or "",
        title=definition.title if definition else "",
        status=state.status,
        phase=state.phase,
        step_key=step.key if step else None,
        step_kind=step.kind if step else None,
        content_version=version.version if version else None,
        content_hash=version.content_hash if version else None,
        signed=signed,
        awaited=awaited(state, step),
        comment_round_deadline=state.comment_round_deadline,
        hearing_deadline=state.hearing_deadline,
        hearing_open=state.hearing_open,
        hearing_responses=len(state.current_hearing_responses()),
        events_recorded=state.events_folded,
        adopted_hash=state.adopted_hash,
        unknown_costs=unknown_costs_at(state, step),
    )


ECONOMIC_CHECK = "draft.step6"


def unknown_costs_at(state: PlanState, step: GateStep | None) -> tuple[str, ...]:
    """The measures with unknown costs, when the step is the economic check."""
    version = state.content()
    if step is None or step.key != ECONOMIC_CHECK or version is None:
        return ()
    return version.content.measures_with_unknown_costs()
