"""Rules that span several fields: a definition's roles and hearing, a content snapshot's
references and completeness. Each returns every problem, never just the first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from domain.hierarchy import PlanContent
from domain.phases import PHASES, Phase, StepKind
from domain.problems import Problem
from domain.roles import DECIDING_BODIES, Role

if TYPE_CHECKING:
    from domain.plan import PlanDefinition, PlanType, Settings


def hearing_problems(plan_type: PlanType, hearing_days: int) -> list[Problem]:
    from domain.plan import MIN_KOMMUNEDELPLAN_HEARING_DAYS, PlanType

    if plan_type is PlanType.KOMMUNEDELPLAN and hearing_days < MIN_KOMMUNEDELPLAN_HEARING_DAYS:
        return [
            Problem(
                path="settings.hearing_days",
                message=(
                    f"is {hearing_days} days, but a kommunedelplan must be on hearing for at "
                    f"least {MIN_KOMMUNEDELPLAN_HEARING_DAYS} days (six weeks, planning law)"
                ),
            )
        ]
    return []


def roles_needed(settings: Settings) -> set[Role]:
    """Every role that some enabled step of the process waits for."""
    needed: set[Role] = set()
    for spec in PHASES:
        for step in spec.steps:
            if step.kind is StepKind.HEARING:
                continue  # anyone may respond; nobody has to be listed
            if step.enabled_by is not None and not getattr(settings, step.enabled_by):
                continue
            needed.update(step.roles)
    return needed


def _duplicates(values: Iterable[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


def definition_problems(definition: PlanDefinition) -> list[Problem]:
    problems: list[Problem] = []
    for dup in _duplicates(p.id for p in definition.participants):
        problems.append(
            Problem(path="participants", message=f"participant id '{dup}' is used twice")
        )
    for dup in _duplicates(definition.target_areas):
        problems.append(
            Problem(path="target_areas", message=f"target area '{dup}' is listed twice")
        )
    problems.extend(hearing_problems(definition.plan_type, definition.settings.hearing_days))
    problems.extend(doubled_body_problems(definition))

    present = {role for person in definition.participants for role in person.roles}
    for role in sorted(roles_needed(definition.settings) - present):
        problems.append(
            Problem(
                path="participants",
                message=f"nobody has the role '{role.value}', which the process needs "
                "(add a participant with it, or switch the step off in settings)",
            )
        )
    if definition.proposals is not None:
        problems.extend(
            content_problems(definition.proposals, definition, phase=None, prefix="proposals")
        )
    return problems


def doubled_body_problems(definition: PlanDefinition) -> list[Problem]:
    """A body that doubles as another has exactly the other's members, and the other is
    not itself a double (one step, so the file reads plainly)."""
    problems: list[Problem] = []
    for body in definition.bodies:
        path = f"bodies.{body.value}"
        same = definition.doubles_as(body)
        if same is None:
            continue
        if body not in DECIDING_BODIES:
            allowed = ", ".join(b.value for b in DECIDING_BODIES)
            problems.append(
                Problem(path=path, message=f"only a deciding body can double; allowed: {allowed}")
            )
            continue
        if same is body:
            problems.append(Problem(path=path, message="a body cannot be the same as itself"))
            continue
        chained = definition.doubles_as(same)
        if chained is not None:
            problems.append(
                Problem(
                    path=path,
                    message=f"{same.value} is itself the same as {chained.value}; "
                    "name that body directly",
                )
            )
            continue
        if not definition.members(same):
            problems.append(Problem(path=path, message=f"nobody has the role '{same.value}'"))
        for person in definition.members(body):
            if same not in person.roles:
                problems.append(
                    Problem(
                        path="participants",
                        message=f"'{person.id}' is in {body.value} but not in {same.value}; "
                        f"{body.value} is the same as {same.value} (bodies), so list the "
                        f"person under {same.value} only",
                    )
                )
    return problems


_COMPLETENESS_FROM: dict[Phase, int] = {
    Phase.GOALS: 1,
    Phase.STRATEGIES: 2,
    Phase.MEASURES: 3,
    Phase.DRAFT: 3,
    Phase.HEARING: 3,
    Phase.ADOPTION: 3,
}


def content_problems(
    content: PlanContent,
    definition: PlanDefinition,
    phase: Phase | None,
    prefix: str = "content",
) -> list[Problem]:
    """Check references and, when ``phase`` is given, that the levels the phase reviews
    are complete (every goal has a strategy, every strategy a measure)."""
    found = _reference_problems(content, definition)
    if phase is not None:
        found += _completeness_problems(content, _COMPLETENESS_FROM[phase])
    return [Problem(path=f"{prefix}.{path}" if path else prefix, message=m) for path, m in found]


def _reference_problems(content: PlanContent, definition: PlanDefinition) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    all_ids = [g.id for g in content.goals]
    all_ids += [s.id for s in content.strategies]
    all_ids += [m.id for m in content.measures]
    for dup in _duplicates(all_ids):
        found.append(("", f"id '{dup}' is used by more than one goal, strategy or measure"))

    goal_ids = {g.id for g in content.goals}
    strategy_ids = {s.id for s in content.strategies}
    areas = ", ".join(f"'{a}'" for a in definition.target_areas)
    for i, goal in enumerate(content.goals):
        if goal.target_area not in definition.target_areas:
            found.append(
                (
                    f"goals[{i}].target_area",
                    f"'{goal.target_area}' is not one of the plan's target areas: {areas}",
                )
            )
    for i, strategy in enumerate(content.strategies):
        if strategy.goal_id not in goal_ids:
            found.append(
                (
                    f"strategies[{i}].goal_id",
                    f"goal '{strategy.goal_id}' does not exist; every strategy belongs to "
                    f"exactly one existing goal (known: {_known(goal_ids)})",
                )
            )
    period = definition.period
    for i, measure in enumerate(content.measures):
        if measure.strategy_id not in strategy_ids:
            found.append(
                (
                    f"measures[{i}].strategy_id",
                    f"strategy '{measure.strategy_id}' does not exist; every measure belongs "
                    f"to exactly one existing strategy (known: {_known(strategy_ids)})",
                )
            )
        if not period.contains(measure.due_year):
            found.append(
                (
                    f"measures[{i}].due_year",
                    f"{measure.due_year} is outside the planning period "
                    f"{period.from_year}-{period.to_year}",
                )
            )
    return found


def _completeness_problems(content: PlanContent, level: int) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if level >= 1 and not content.goals:
        found.append(("goals", "at least one goal is needed"))
    if level >= 2:
        with_strategy = {s.goal_id for s in content.strategies}
        for i, goal in enumerate(content.goals):
            if goal.id not in with_strategy:
                found.append(
                    (f"goals[{i}]", f"goal '{goal.id}' has no strategy; each goal needs one")
                )
    if level >= 3:
        with_measure = {m.strategy_id for m in content.measures}
        for i, strategy in enumerate(content.strategies):
            if strategy.id not in with_measure:
                found.append(
                    (
                        f"strategies[{i}]",
                        f"strategy '{strategy.id}' has no measure; each strategy needs one",
                    )
                )
    return found


def _known(ids: set[str]) -> str:
    return ", ".join(sorted(ids)) or "none yet"
