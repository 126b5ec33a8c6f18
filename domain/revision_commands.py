"""What people send during the yearly revision: one pydantic model per command.

Values a person types (the status, an indicator value) arrive as text and are checked by
the decide functions, so a malformed value is refused with a clear message by the update
validator instead of failing to decode.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from domain.commands import PersonCommand
from domain.revision_models import MeasureChange, ScheduleAction
from domain.text import PersonStr


class YearCommand(PersonCommand):
    """A participant's decision in one year's revision."""

    year: int


class ReportMeasure(YearCommand):
    measure_id: PersonStr = Field(max_length=100)
    status: PersonStr = Field(max_length=40, description="'done' or 'not_done'")
    comment: PersonStr = Field(default="", max_length=2000)
    indicator_value: PersonStr | None = Field(
        default=None, max_length=40, description="the indicator's current value, a decimal"
    )


class ReportGoalIndicator(YearCommand):
    goal_id: PersonStr = Field(max_length=100)
    value: PersonStr = Field(max_length=40)


class CloseReportingRound(YearCommand):
    pass


class ProposeChanges(YearCommand):
    changes: tuple[MeasureChange, ...] = Field(min_length=1, max_length=200)


class ReviewChanges(YearCommand):
    content_version: int
    content_hash: PersonStr
    approve: bool = True
    comment: PersonStr = Field(default="", max_length=4000)


class ConcludeRevision(YearCommand):
    pass


class ScheduleCommand(PersonCommand):
    """A scheduler's action on a plan's revision schedule."""

    action: ScheduleAction
    reason: PersonStr = Field(default="", max_length=1000)
    backfill_from: AwareDatetime | None = None
    backfill_to: AwareDatetime | None = None
    request_id: PersonStr = Field(
        pattern=r"^[0-9a-f]{8,32}$",
        description="names the request (8-32 hex digits): the same id is the same action",
    )
