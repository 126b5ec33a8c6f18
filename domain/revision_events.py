"""The yearly revision's events (rullering), after adoption: the schedule and its changes, the
reminder that opens a year's reporting round, the reports, the scorecard, the changes for
next year and the conclusion. Callers import them from domain.events."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, Field

from domain.event_base import EventBase, left_out_when_empty
from domain.hierarchy import PlanContent, Text
from domain.revision_models import (
    MeasureChange,
    ReportStatus,
    ScheduleAction,
    ScheduleMade,
    Scorecard,
)


# The event records the schedule the scheduler made, whole. ScheduleMade is the first
# base so that its fields follow the envelope's, in the order the event's schema has.
class RevisionScheduleCreated(ScheduleMade, EventBase):
    type: Literal["revision_schedule_created"] = "revision_schedule_created"
    already_existed: bool = False


class RevisionScheduleChanged(EventBase):
    """A scheduler acted on the schedule: who, what, and why."""

    type: Literal["revision_schedule_changed"] = "revision_schedule_changed"
    schedule_id: str
    action: ScheduleAction
    reason: str = ""
    backfill_from: AwareDatetime | None = None
    backfill_to: AwareDatetime | None = None
    # A trigger whose revision cannot run is recorded as failed, with why, and not sent.
    failed: str = ""

    _without_empty_failure = left_out_when_empty("failed")


class YearEvent(EventBase):
    """An event of one year's revision."""

    year: int


class YearContentEvent(YearEvent):
    """An event of one year's revision about one version of the plan's content."""

    content_version: int
    content_hash: str


class RevisionReminderSent(YearEvent):
    type: Literal["revision_reminder_sent"] = "revision_reminder_sent"
    workflow_id: str
    scheduled_at: AwareDatetime
    recipients: tuple[str, ...]


class ReportingRoundOpened(YearContentEvent):
    type: Literal["reporting_round_opened"] = "reporting_round_opened"
    deadline: AwareDatetime
    measure_ids: tuple[str, ...]


class MeasureReported(YearEvent):
    type: Literal["measure_reported"] = "measure_reported"
    measure_id: str
    status: ReportStatus
    comment: str = ""
    indicator_value: Decimal | None = None


class GoalIndicatorReported(YearEvent):
    type: Literal["goal_indicator_reported"] = "goal_indicator_reported"
    goal_id: str
    value: Decimal


class ReportingRoundClosed(YearEvent):
    type: Literal["reporting_round_closed"] = "reporting_round_closed"
    early: bool
    unreported: tuple[str, ...]


class ReportReminderRecorded(YearEvent):
    """The round closed with measures unreported: their units are reminded, and the
    scorecard shows them as not reported."""

    type: Literal["report_reminder_recorded"] = "report_reminder_recorded"
    measure_ids: tuple[str, ...]
    recipients: tuple[str, ...]


class ScorecardRecorded(YearEvent):
    type: Literal["scorecard_recorded"] = "scorecard_recorded"
    scorecard: Scorecard


class MeasureChangesProposed(YearContentEvent):
    type: Literal["measure_changes_proposed"] = "measure_changes_proposed"
    # A proposal makes a new version: numbered from 1, as every submitted one.
    content_version: int = Field(ge=1)
    changes: tuple[MeasureChange, ...]
    content: PlanContent


class MeasureChangesSignedOff(YearContentEvent):
    type: Literal["measure_changes_signed_off"] = "measure_changes_signed_off"
    comment: str = ""


class MeasureChangesRejected(YearContentEvent):
    type: Literal["measure_changes_rejected"] = "measure_changes_rejected"
    reason: Text


class ContentRevised(YearContentEvent):
    """The steering group approved the changes: this version is now the plan in force."""

    type: Literal["content_revised"] = "content_revised"


class RevisionConcluded(YearEvent):
    type: Literal["revision_concluded"] = "revision_concluded"
    outcome: Literal["revised", "unchanged"]
    content_version: int
