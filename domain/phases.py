"""The six phases and the steps of their gates, as data (DOMAIN.md, "The phases").

Semantics of ``GateStep.roles`` by kind:
- SUBMIT, DRAFT_STEP, SUMMARY: any one participant holding one of the roles acts.
- COMMENT_ROUND: members of the role comment until the round's deadline.
- SIGN_OFF, ANCHORING, DECISION: every listed role is a body that must reach its own
  quorum (plan setting); a step with two bodies needs both ("and").
- HEARING: anyone may respond until the deadline.

Phases and steps are named here by key only; what people read is the catalogue's
(``phase.<phase>``, ``step.<phase>_<step>``), in each language.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.roles import Role


class Phase(StrEnum):
    GOALS = "goals"
    STRATEGIES = "strategies"
    MEASURES = "measures"
    DRAFT = "draft"
    HEARING = "hearing"
    ADOPTION = "adoption"

    @property
    def order(self) -> int:
        """0 for goals through 5 for adoption."""
        return PHASE_ORDER.index(self)


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class StepKind(StrEnum):
    SUBMIT = "submit"
    COMMENT_ROUND = "comment_round"
    SIGN_OFF = "sign_off"
    ANCHORING = "anchoring"
    DRAFT_STEP = "draft_step"
    HEARING = "hearing"
    SUMMARY = "summary"
    DECISION = "decision"


class GateStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: StepKind
    roles: tuple[Role, ...]
    # Name of the boolean in domain.plan.Settings that switches this step on; None
    # means the step always runs.
    enabled_by: str | None = None
    draft_step_number: int | None = None


class PhaseSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    phase: Phase
    steps: tuple[GateStep, ...]


def _step(
    phase: Phase,
    name: str,
    kind: StepKind,
    *roles: Role,
    enabled_by: str | None = None,
    draft_step_number: int | None = None,
) -> GateStep:
    """A step of ``phase``, keyed ``<phase>.<name>``."""
    return GateStep(
        key=f"{phase.value}.{name}",
        kind=kind,
        roles=roles,
        enabled_by=enabled_by,
        draft_step_number=draft_step_number,
    )


def _submit(phase: Phase) -> GateStep:
    return _step(phase, "submit", StepKind.SUBMIT, Role.PROJECT_LEADER)


def _reference_round(phase: Phase, setting: str) -> GateStep:
    return _step(
        phase, "reference_round", StepKind.COMMENT_ROUND, Role.REFERENCE_GROUP, enabled_by=setting
    )


def _quality_assurance(phase: Phase) -> GateStep:
    return _step(phase, "quality_assurance", StepKind.SIGN_OFF, Role.STEERING_GROUP)


def _anchoring(phase: Phase, setting: str | None) -> GateStep:
    return _step(
        phase,
        "anchoring",
        StepKind.ANCHORING,
        Role.POLITICAL_LEADERSHIP,
        Role.ADMINISTRATIVE_LEADERSHIP,
        enabled_by=setting,
    )


def _anchored_phase(phase: Phase, round_setting: str, anchoring_setting: str | None) -> PhaseSpec:
    """A phase whose content the reference group comments on, the steering group assures
    and the political and administrative leadership anchor."""
    return PhaseSpec(
        phase=phase,
        steps=(
            _submit(phase),
            _reference_round(phase, round_setting),
            _quality_assurance(phase),
            _anchoring(phase, anchoring_setting),
        ),
    )


# Who is responsible for each of the draft's steps 1 to 7, in order.
_DRAFT_STEPS: tuple[Role, ...] = (
    Role.PROJECT_GROUP,
    Role.STEERING_GROUP,
    Role.PROJECT_GROUP,
    Role.PROJECT_LEADER,
    Role.PROJECT_LEADER,
    Role.FINANCE_OFFICE,
    Role.STEERING_GROUP,
)

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        phase=Phase.GOALS,
        steps=(_submit(Phase.GOALS), _quality_assurance(Phase.GOALS)),
    ),
    # Must be anchored before work on measures starts (seed 001): always on.
    _anchored_phase(Phase.STRATEGIES, "reference_round_strategies", None),
    _anchored_phase(Phase.MEASURES, "reference_round_measures", "anchor_measures"),
    PhaseSpec(
        phase=Phase.DRAFT,
        steps=(
            _submit(Phase.DRAFT),
            *(
                _step(
                    Phase.DRAFT,
                    f"step{number}",
                    StepKind.DRAFT_STEP,
                    role,
                    draft_step_number=number,
                )
                for number, role in enumerate(_DRAFT_STEPS, start=1)
            ),
            _step(
                Phase.DRAFT,
                "final_review",
                StepKind.SIGN_OFF,
                Role.STEERING_GROUP,
                Role.POLITICAL_LEADERSHIP,
                draft_step_number=8,
            ),
        ),
    ),
    PhaseSpec(
        phase=Phase.HEARING,
        steps=(
            _step(Phase.HEARING, "public", StepKind.HEARING, Role.PUBLIC),
            _step(Phase.HEARING, "summary", StepKind.SUMMARY, Role.PROJECT_LEADER),
            _step(Phase.HEARING, "decision", StepKind.DECISION, Role.STEERING_GROUP),
        ),
    ),
    PhaseSpec(
        phase=Phase.ADOPTION,
        steps=(_step(Phase.ADOPTION, "council", StepKind.DECISION, Role.MUNICIPAL_COUNCIL),),
    ),
)


def phase_spec(phase: Phase) -> PhaseSpec:
    return PHASES[phase.order]


def step_by_key(key: str) -> GateStep:
    for spec in PHASES:
        for step in spec.steps:
            if step.key == key:
                return step
    raise KeyError(key)
