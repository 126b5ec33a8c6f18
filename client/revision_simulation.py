"""Simulated units who report on their measures in a revision round: the demo uses it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from client.typed import RevisionClient
from domain import revision_commands as rc
from domain.commands import Receipt
from domain.hierarchy import PlanContent
from domain.ids import revision_workflow_id
from domain.plan import PlanDefinition
from domain.roles import Role
from workflows.revision_models import RevisionResult, RevisionStatus


async def wait_for_revision(
    client: Client, plan_id: str, year: int, attempts: int = 300
) -> WorkflowHandle[Any, RevisionResult]:
    """The year's revision, once the schedule's reminder has started it and it has
    opened its reporting round."""
    handle = client.get_workflow_handle(
        revision_workflow_id(plan_id, year), result_type=RevisionResult
    )
    for _ in range(attempts):
        try:
            status = await RevisionClient(handle).status()
            if status.deadline is not None:
                return handle
        except RPCError:
            pass  # not started yet
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the {year} revision of {plan_id} did not start")


async def revision_status_when(
    handle: WorkflowHandle[Any, Any],
    done: Callable[[RevisionStatus], bool],
    attempts: int = 300,
) -> RevisionStatus:
    """The revision's status once ``done`` holds for it (it moves on in its own time)."""
    for _ in range(attempts):
        status = await RevisionClient(handle).status()
        if done(status):
            return status
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{handle.id} did not reach the awaited status")


def _current_value(baseline: Decimal, target: Decimal) -> str:
    """Two fifths of the way from baseline to target: a plausible first year."""
    return str((baseline + (target - baseline) * Decimal("0.4")).quantize(Decimal("0.1")))


async def report_everything(
    handle: WorkflowHandle[Any, Any], definition: PlanDefinition, content: PlanContent, year: int
) -> list[Receipt]:
    """Every measure reported by a person responsible for it (every third not done),
    and the goals' indicators by the project leader."""
    revision = RevisionClient(handle)
    status = await revision.status()
    measures = {m.id: m for m in content.measures}
    receipts: list[Receipt] = []
    for number, (measure_id, people) in enumerate(sorted(status.awaited.items())):
        measure = measures[measure_id]
        indicator = measure.indicator
        command = rc.ReportMeasure(
            actor_id=people[0],
            year=year,
            measure_id=measure_id,
            status="not_done" if number % 3 == 2 else "done",
            comment="Rapportert av enheten.",
            indicator_value=_current_value(indicator.baseline, indicator.target)
            if indicator
            else None,
        )
        receipts.append(await revision.report_measure(command))
    leader = definition.members(Role.PROJECT_LEADER)[0].id
    for goal in content.goals:
        if goal.indicator is not None:
            command_goal = rc.ReportGoalIndicator(
                actor_id=leader,
                year=year,
                goal_id=goal.id,
                value=_current_value(goal.indicator.baseline, goal.indicator.target),
            )
            receipts.append(await revision.report_goal_indicator(command_goal))
    return receipts
