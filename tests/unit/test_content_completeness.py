"""domain.rules.content_problems: which levels a phase requires to be complete."""

from __future__ import annotations

import pytest

from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.problems import Problem
from domain.rules import content_problems


def goals_only(plan: PlanDefinition) -> PlanContent:
    assert plan.proposals is not None
    return PlanContent(goals=plan.proposals.goals)


def goals_and_strategies(plan: PlanDefinition) -> PlanContent:
    assert plan.proposals is not None
    return PlanContent(goals=plan.proposals.goals, strategies=plan.proposals.strategies)


def paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def test_goals_without_strategies_are_allowed_in_the_goals_phase(
    bodo: PlanDefinition,
) -> None:
    assert content_problems(goals_only(bodo), bodo, Phase.GOALS) == []


def test_goal_without_strategy_is_refused_in_the_strategies_phase(
    bodo: PlanDefinition,
) -> None:
    assert bodo.proposals is not None
    # Drop the strategies of the second goal only.
    content = goals_and_strategies(bodo).model_copy(
        update={"strategies": tuple(s for s in bodo.proposals.strategies if s.goal_id != "mal-2")}
    )
    problems = content_problems(content, bodo, Phase.STRATEGIES)
    assert paths(problems) == ["content.goals[1]"]
    assert problems[0].message == "goal 'mal-2' has no strategy; each goal needs one"


def test_strategies_without_measures_are_allowed_in_the_strategies_phase(
    bodo: PlanDefinition,
) -> None:
    assert content_problems(goals_and_strategies(bodo), bodo, Phase.STRATEGIES) == []


def test_strategies_without_measures_are_allowed_in_the_goals_phase(
    bodo: PlanDefinition,
) -> None:
    assert content_problems(goals_and_strategies(bodo), bodo, Phase.GOALS) == []


def test_strategy_without_measure_is_refused_in_the_measures_phase(
    bodo: PlanDefinition,
) -> None:
    problems = content_problems(goals_and_strategies(bodo), bodo, Phase.MEASURES)
    assert len(problems) == 6  # Bodø proposes six strategies, none has a measure here
    assert problems[0].path == "content.strategies[0]"
    assert problems[0].message == ("strategy 'str-1.1' has no measure; each strategy needs one")


@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.HEARING, Phase.ADOPTION])
def test_later_phases_also_need_a_measure_per_strategy(bodo: PlanDefinition, phase: Phase) -> None:
    problems = content_problems(goals_and_strategies(bodo), bodo, phase)
    assert "content.strategies[0]" in paths(problems)


def test_empty_content_is_refused_in_the_goals_phase(bodo: PlanDefinition) -> None:
    problems = content_problems(PlanContent(), bodo, Phase.GOALS)
    assert paths(problems) == ["content.goals"]
    assert problems[0].message == "at least one goal is needed"


def test_without_a_phase_only_references_are_checked(bodo: PlanDefinition) -> None:
    assert content_problems(PlanContent(), bodo, phase=None) == []
    assert content_problems(goals_and_strategies(bodo), bodo, phase=None) == []


def test_prefix_is_used_in_problem_paths(bodo: PlanDefinition) -> None:
    problems = content_problems(PlanContent(), bodo, Phase.GOALS, prefix="submission")
    assert paths(problems) == ["submission.goals"]
