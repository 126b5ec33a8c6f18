"""Inputs, outputs and ids of the revision workflows (rullering)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.commands import Receipt
from domain.revision_commands import ScheduleCommand
from domain.revision_models import Scorecard

TIME_ZONE = "Europe/Oslo"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


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


class RevisionReminderInput(_Model):
    plan_id: str


class RevisionReminderResult(_Model):
    plan_id: str
    year: int
    revision_workflow_id: str
    started: bool
    outcome: str = ""


class RevisionInput(_Model):
    plan_id: str
    year: int
    scheduled_at: AwareDatetime


class RevisionResult(_Model):
    plan_id: str
    year: int
    outcome: str
    content_version: int
    scorecard: Scorecard | None


class RevisionStatus(_Model):
    plan_id: str
    year: int
    round_open: bool
    deadline: AwareDatetime | None
    reported: list[str]
    awaited: dict[str, list[str]]  # measure id -> who may report it
    scorecard: Scorecard | None
    pending_proposal_version: int | None
    pending_proposal_hash: str | None
    outcome: str | None


class ScheduleActionRequest(_Model):
    plan_id: str
    command: ScheduleCommand


class ScheduleActionResult(_Model):
    receipt: Receipt
    failed: str = ""  # the action was recorded as failed, with why
