"""Deterministic ids: the same decision always gets the same id, so retries are harmless."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

# Fixed for the life of the project: changing it would change every future event id.
TEMAPLAN_NAMESPACE = UUID("6f1c1d2e-7a55-4c1e-9b0e-2f6a3c9d8e71")


def event_id(plan_id: str, *parts: str | int) -> UUID:
    """An event id derived from the plan and what makes the decision unique, e.g.
    ``event_id(plan, "sign_off", "goals.quality_assurance", 3, "kari")``."""
    key = "/".join([plan_id, *(str(p) for p in parts)])
    return uuid5(TEMAPLAN_NAMESPACE, key)


TIME_ZONE = "Europe/Oslo"


def schedule_id_for(plan_id: str) -> str:
    return f"revision-{plan_id}"


def reminder_workflow_id(plan_id: str) -> str:
    """The schedule's action; the server appends the scheduled time to it."""
    return f"revision-reminder-{plan_id}"


def revision_workflow_id(plan_id: str, year: int) -> str:
    """One revision per plan and year: the id itself makes a second one impossible."""
    return f"revision-{plan_id}-{year}"


def schedule_action_workflow_id(plan_id: str, request_id: str) -> str:
    return f"revision-schedule-action-{plan_id}-{request_id}"


def revision_year(scheduled_at: datetime) -> int:
    """The year in Europe/Oslo of a scheduled time. Norway keeps winter time (UTC+1)
    over New Year, so adding one hour to UTC gives Oslo's year exactly; no time zone
    database is read inside workflow code."""
    return (scheduled_at.astimezone(UTC) + timedelta(hours=1)).year
