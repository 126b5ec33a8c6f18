"""Inputs, outputs and ids of the revision workflows (rullering)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from domain.commands import Receipt
from domain.revision_commands import ScheduleCommand
from domain.revision_models import Scorecard


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


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
