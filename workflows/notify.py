"""Telling participants something through the notification outbox, from workflow code."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.models import Notification, NotifyInput
    from activities.plan_activities import PlanActivities
    from domain.plan import PlanDefinition


async def notify_people(
    definition: PlanDefinition,
    people: Collection[str] | None,
    *,
    dedupe_prefix: str,
    notice: str,
    values: dict[str, str],
    timeout: timedelta,
    retry_policy: RetryPolicy,
) -> None:
    """One message to each of ``people`` (every participant when None), in the order the
    plan lists them; nothing is scheduled when no one is to be told. The dedupe prefix
    makes a retried or replayed step send nothing twice. The words are the catalogue's
    ``notice`` with ``values``, written out by the activity (workflows hold no labels)."""
    notifications = [
        Notification(recipient_id=p.id, recipient_email=p.email)
        for p in definition.participants
        if people is None or p.id in people
    ]
    if not notifications:
        return
    await workflow.execute_activity_method(
        PlanActivities.notify,
        NotifyInput(
            plan_id=definition.plan_id,
            dedupe_prefix=dedupe_prefix,
            notifications=notifications,
            notice=notice,
            values=values,
        ),
        start_to_close_timeout=timeout,
        retry_policy=retry_policy,
    )
