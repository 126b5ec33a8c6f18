"""The six phases and the steps of their gates, as data (DOMAIN.md, "The phases").

Semantics of ``GateStep.roles`` by kind:
- SUBMIT, DRAFT_STEP, SUMMARY: any one participant holding one of the roles acts.
- COMMENT_ROUND: members of the role comment until the round's deadline.
- SIGN_OFF, ANCHORING, DECISION: every listed role is a body that must reach its own
  quorum (plan setting); a step with two bodies needs both ("and").
- HEARING: anyone may respond until the deadline.
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
    title_nb: str
    title_en: str
    # Name of the boolean in domain.plan.Settings that switches this step on; None
    # means the step always runs.
    enabled_by: str | None = None
    draft_step_number: int | None = None


class PhaseSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    phase: Phase
    title_nb: str
    title_en: str
    steps: tuple[GateStep, ...]


def _submit(phase: Phase, what_nb: str, what_en: str) -> GateStep:
    return GateStep(
        key=f"{phase.value}.submit",
        kind=StepKind.SUBMIT,
        roles=(Role.PROJECT_LEADER,),
        title_nb=f"Prosjektleder legger fram {what_nb}",
        title_en=f"Project leader submits the {what_en}",
    )


def _reference_round(phase: Phase, setting: str) -> GateStep:
    return GateStep(
        key=f"{phase.value}.reference_round",
        kind=StepKind.COMMENT_ROUND,
        roles=(Role.REFERENCE_GROUP,),
        title_nb="Referansegruppen gir innspill",
        title_en="Reference group comments",
        enabled_by=setting,
    )


def _quality_assurance(phase: Phase) -> GateStep:
    return GateStep(
        key=f"{phase.value}.quality_assurance",
        kind=StepKind.SIGN_OFF,
        roles=(Role.STEERING_GROUP,),
        title_nb="Styringsgruppen kvalitetssikrer",
        title_en="Steering group quality-assures",
    )


def _anchoring(phase: Phase, setting: str | None) -> GateStep:
    return GateStep(
        key=f"{phase.value}.anchoring",
        kind=StepKind.ANCHORING,
        roles=(Role.POLITICAL_LEADERSHIP, Role.ADMINISTRATIVE_LEADERSHIP),
        title_nb="Forankring i politisk og administrativ ledelse",
        title_en="Anchoring in political and administrative leadership",
        enabled_by=setting,
    )


_DRAFT_STEPS: tuple[tuple[Role, str, str], ...] = (
    (Role.PROJECT_GROUP, "Framdriftsplan for skrivearbeidet", "Progress plan for the writing"),
    (Role.STEERING_GROUP, "Hvem skriver og hvem kommenterer", "Who writes and who comments"),
    (
        Role.PROJECT_GROUP,
        "Skriv for leserne og ivareta personvernet",
        "Write for the readers and protect privacy",
    ),
    (
        Role.PROJECT_LEADER,
        "Dokumentstruktur: analysedel og handlingsdel",
        "Document structure: analysis part and action part",
    ),
    (
        Role.PROJECT_LEADER,
        "System for å måle og rapportere resultater (målekort)",
        "A system to measure and report results (scorecards)",
    ),
    (
        Role.FINANCE_OFFICE,
        "Økonomisk kvalitetssikring av investerings- og driftskostnader",
        "Economic quality check of investment and running costs",
    ),
    (
        Role.STEERING_GROUP,
        "Endringer i mål, strategier og tiltak som følge av gjennomgangen",
        "Changes in goals, strategies and measures that the review reveals",
    ),
)

PHASES: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        phase=Phase.GOALS,
        title_nb="Mål",
        title_en="Goals",
        steps=(_submit(Phase.GOALS, "mål", "goals"), _quality_assurance(Phase.GOALS)),
    ),
    PhaseSpec(
        phase=Phase.STRATEGIES,
        title_nb="Strategier",
        title_en="Strategies",
        steps=(
            _submit(Phase.STRATEGIES, "strategier", "strategies"),
            _reference_round(Phase.STRATEGIES, "reference_round_strategies"),
            _quality_assurance(Phase.STRATEGIES),
            # Must be anchored before work on measures starts (seed 001): always on.
            _anchoring(Phase.STRATEGIES, None),
        ),
    ),
    PhaseSpec(
        phase=Phase.MEASURES,
        title_nb="Tiltak",
        title_en="Measures",
        steps=(
            _submit(Phase.MEASURES, "tiltak", "measures"),
            _reference_round(Phase.MEASURES, "reference_round_measures"),
            _quality_assurance(Phase.MEASURES),
            _anchoring(Phase.MEASURES, "anchor_measures"),
        ),
    ),
    PhaseSpec(
        phase=Phase.DRAFT,
        title_nb="Utkast",
        title_en="Draft",
        steps=(
            _submit(Phase.DRAFT, "utkast til temaplan", "draft plan"),
            *(
                GateStep(
                    key=f"draft.step{number}",
                    kind=StepKind.DRAFT_STEP,
                    roles=(role,),
                    title_nb=f"{number}. {nb}",
                    title_en=f"{number}. {en}",
                    draft_step_number=number,
                )
                for number, (role, nb, en) in enumerate(_DRAFT_STEPS, start=1)
            ),
            GateStep(
                key="draft.final_review",
                kind=StepKind.SIGN_OFF,
                roles=(Role.STEERING_GROUP, Role.POLITICAL_LEADERSHIP),
                title_nb="8. Sluttgjennomgang: styringsgruppen og politisk ledelse godkjenner",
                title_en="8. Final review: steering group and political leadership approve",
                draft_step_number=8,
            ),
        ),
    ),
    PhaseSpec(
        phase=Phase.HEARING,
        title_nb="Høring",
        title_en="Hearing",
        steps=(
            GateStep(
                key="hearing.public",
                kind=StepKind.HEARING,
                roles=(Role.PUBLIC,),
                title_nb="Offentlig høring",
                title_en="Public hearing",
            ),
            GateStep(
                key="hearing.summary",
                kind=StepKind.SUMMARY,
                roles=(Role.PROJECT_LEADER,),
                title_nb="Prosjektleder oppsummerer høringsuttalelsene",
                title_en="Project leader summarises the hearing responses",
            ),
            GateStep(
                key="hearing.decision",
                kind=StepKind.DECISION,
                roles=(Role.STEERING_GROUP,),
                title_nb="Styringsgruppen: revidere utkastet eller sende til vedtak",
                title_en="Steering group: revise the draft or send it to the council",
            ),
        ),
    ),
    PhaseSpec(
        phase=Phase.ADOPTION,
        title_nb="Vedtak",
        title_en="Adoption",
        steps=(
            GateStep(
                key="adoption.council",
                kind=StepKind.DECISION,
                roles=(Role.MUNICIPAL_COUNCIL,),
                title_nb="Kommunestyret vedtar eller sender tilbake",
                title_en="The municipal council adopts or returns the plan",
            ),
        ),
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
