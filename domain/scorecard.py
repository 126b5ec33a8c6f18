"""Compile a year's scorecard (målekort) from the plan in force and the reports. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from domain.hierarchy import Indicator
from domain.plan_state import PlanState, RevisionRound
from domain.revision_models import (
    GoalProgress,
    IndicatorLine,
    ProgressLine,
    ReportStatus,
    Scorecard,
)


def compile_scorecard(state: PlanState, revision: RevisionRound) -> Scorecard:
    """Per goal and strategy: measures done / total (the measures the round asked
    about), and every indicator with its baseline, target and reported current value."""
    assert revision.content_version is not None
    version = state.content(revision.content_version)
    assert version is not None
    content = version.content
    asked = set(revision.measure_ids)
    reports = revision.latest_reports()
    done_ids = {m for m, r in reports.items() if r.status is ReportStatus.DONE}
    goal_values = {g.goal_id: g.value for g in revision.goal_indicators}

    goals: list[GoalProgress] = []
    for goal in content.goals:
        strategies: list[ProgressLine] = []
        for strategy in (s for s in content.strategies if s.goal_id == goal.id):
            measures = [
                m.id for m in content.measures if m.strategy_id == strategy.id and m.id in asked
            ]
            strategies.append(
                ProgressLine(
                    id=strategy.id,
                    title=strategy.title,
                    done=sum(1 for m in measures if m in done_ids),
                    total=len(measures),
                )
            )
        goals.append(
            GoalProgress(
                id=goal.id,
                title=goal.title,
                target_area=goal.target_area,
                **_done_of(strategies),
                strategies=tuple(strategies),
            )
        )

    indicators = [
        _indicator_line("goal", goal.id, goal.indicator, goal_values.get(goal.id))
        for goal in content.goals
        if goal.indicator is not None
    ]
    for measure in content.measures:
        if measure.indicator is not None and measure.id in asked:
            report = reports.get(measure.id)
            current = report.indicator_value if report else None
            indicators.append(_indicator_line("measure", measure.id, measure.indicator, current))

    return Scorecard(
        year=revision.year,
        content_version=version.version,
        content_hash=version.content_hash,
        **_done_of(goals),
        goals=tuple(goals),
        indicators=tuple(indicators),
        unreported=tuple(m for m in revision.measure_ids if m not in reports),
    )


def _done_of(parts: Sequence[ProgressLine]) -> dict[str, int]:
    """Measures done and in all over the parts: a goal's strategies, or the year's goals."""
    return {"done": sum(p.done for p in parts), "total": sum(p.total for p in parts)}


def _indicator_line(
    level: str, item_id: str, indicator: Indicator, current: Decimal | None
) -> IndicatorLine:
    """An indicator's figures from the plan, beside the value reported for the year."""
    return IndicatorLine(level=level, item_id=item_id, current=current, **indicator.model_dump())
