"""Rules that span several fields: a definition's roles and hearing, a content snapshot's
references and completeness. Each returns every problem, never just the first."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from domain.hierarchy import Goal, PlanContent, Strategy
from domain.phases import PHASES, Phase, StepKind
from domain.plan_type import MIN_KOMMUNEDELPLAN_HEARING_DAYS, PlanType
from domain.problems import Problem
from domain.roles import DECIDING_BODIES, Role

if TYPE_CHECKING:
    from domain.plan import Participant, Period, PlanDefinition, RevisionDate, Settings


def hearing_problems(plan_type: PlanType, hearing_days: int) -> list[Problem]:
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


def first_revision(revision_date: RevisionDate, after: date) -> date:
    """The first yearly revision reminder after ``after`` (the day itself excluded)."""
    this_year = date(after.year, revision_date.month, revision_date.day)
    if this_year > after:
        return this_year
    return date(after.year + 1, revision_date.month, revision_date.day)


def period_problems(
    period: Period, revision_date: RevisionDate, at: date | datetime
) -> list[Problem]:
    """A plan adopted at ``at`` must still be in force, and in force long enough for its
    first yearly revision; otherwise its revision schedule would point into the past."""
    today = at.date() if isinstance(at, datetime) else at
    end = date(period.to_year, 12, 31)
    span = f"{period.from_year}-{period.to_year}"
    if today > end:
        return [
            Problem(
                path="period.to_year",
                message=f"the planning period {span} ended on {end.isoformat()}: adopted on "
                f"{today.isoformat()}, the plan would never be revised; extend the period",
            )
        ]
    first = first_revision(revision_date, today)
    if first > end:
        return [
            Problem(
                path="period.to_year",
                message=f"the planning period {span} ends on {end.isoformat()}, before its first "
                f"yearly revision could run ({first.isoformat()}, settings.revision_date or the "
                "default); extend the period or set an earlier settings.revision_date",
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


class ComparedFields(Protocol):
    """The fields the cross-field rules compare: a definition's, or a plan file's with
    None for each field that is itself invalid (reported on its own)."""

    @property
    def participants(self) -> tuple[Participant, ...] | None: ...
    @property
    def target_areas(self) -> tuple[str, ...] | None: ...
    @property
    def plan_type(self) -> PlanType | None: ...
    @property
    def settings(self) -> Settings | None: ...
    @property
    def period(self) -> Period | None: ...
    @property
    def proposals(self) -> PlanContent | None: ...


def definition_problems(definition: PlanDefinition) -> list[Problem]:
    problems = cross_field_problems(definition)
    problems.extend(doubled_body_problems(definition))
    return problems


def cross_field_problems(fields: ComparedFields) -> list[Problem]:
    """Every rule that compares fields, each run where the fields it compares are valid."""
    problems: list[Problem] = []
    if fields.participants is not None:
        for dup in _duplicates(p.id for p in fields.participants):
            problems.append(
                Problem(path="participants", message=f"participant id '{dup}' is used twice")
            )
    if fields.target_areas is not None:
        for dup in _duplicates(fields.target_areas):
            problems.append(
                Problem(path="target_areas", message=f"target area '{dup}' is listed twice")
            )
    if fields.plan_type is not None and fields.settings is not None:
        problems.extend(hearing_problems(fields.plan_type, fields.settings.hearing_days))
    if fields.participants is not None and fields.settings is not None:
        present = {role for person in fields.participants for role in person.roles}
        for role in sorted(roles_needed(fields.settings) - present):
            problems.append(
                Problem(
                    path="participants",
                    message=f"nobody has the role '{role.value}', which the process needs "
                    "(add a participant with it, or switch the step off in settings)",
                )
            )
    if fields.proposals is not None:
        found = _reference_problems(fields.proposals, fields.target_areas, fields.period)
        problems.extend(
            Problem(path=f"proposals.{path}" if path else "proposals", message=m)
            for path, m in found
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
    found = _reference_problems(content, definition.target_areas, definition.period)
    if phase is not None:
        found += _completeness_problems(content, _COMPLETENESS_FROM[phase])
    return [Problem(path=f"{prefix}.{path}" if path else prefix, message=m) for path, m in found]


def _reference_problems(
    content: PlanContent, target_areas: tuple[str, ...] | None, period: Period | None
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    all_ids = [g.id for g in content.goals]
    all_ids += [s.id for s in content.strategies]
    all_ids += [m.id for m in content.measures]
    for dup in _duplicates(all_ids):
        found.append(("", f"id '{dup}' is used by more than one goal, strategy or measure"))

    goal_ids = {g.id for g in content.goals}
    strategy_ids = {s.id for s in content.strategies}
    areas = ", ".join(f"'{a}'" for a in target_areas or ())
    for i, goal in enumerate(content.goals):
        if target_areas is not None and goal.target_area not in target_areas:
            found.append(
                (
                    f"goals[{i}].target_area",
                    f"'{goal.target_area}' is not one of the plan's target areas: {areas}",
                )
            )
    for i, strategy in enumerate(content.strategies):
        found += _unknown_parent(
            f"strategies[{i}].goal_id", "strategy", "goal", strategy.goal_id, goal_ids
        )
    for i, measure in enumerate(content.measures):
        found += _unknown_parent(
            f"measures[{i}].strategy_id", "measure", "strategy", measure.strategy_id, strategy_ids
        )
        if period is not None and not period.contains(measure.due_year):
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
        found += _childless("goals", "goal", "strategy", content.goals, with_strategy)
    if level >= 3:
        with_measure = {m.strategy_id for m in content.measures}
        found += _childless("strategies", "strategy", "measure", content.strategies, with_measure)
    return found


def _unknown_parent(
    path: str, child: str, parent: str, parent_id: str, known: set[str]
) -> list[tuple[str, str]]:
    """A ``child`` belongs to a ``parent`` that must exist: the problem if it does not."""
    if parent_id in known:
        return []
    message = (
        f"{parent} '{parent_id}' does not exist; every {child} belongs to exactly one "
        f"existing {parent} (known: {_known(known)})"
    )
    return [(path, message)]


def _childless(
    list_name: str, parent: str, child: str, items: Sequence[Goal | Strategy], with_child: set[str]
) -> list[tuple[str, str]]:
    """The ``items`` (at ``list_name``) that no ``child`` belongs to, as problems."""
    return [
        (f"{list_name}[{i}]", f"{parent} '{item.id}' has no {child}; each {parent} needs one")
        for i, item in enumerate(items)
        if item.id not in with_child
    ]


def _known(ids: set[str]) -> str:
    return ", ".join(sorted(ids)) or "none yet"
