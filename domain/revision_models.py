"""Value types of the yearly revision (rullering): reports, changes and the scorecard.

They live apart from the events that carry them so that commands, events and the state
share one definition of each.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.hierarchy import ItemId, Measure, ShortText


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReportStatus(StrEnum):
    """A measure is formulated so that one can answer yes or no (seed 002)."""

    DONE = "done"
    NOT_DONE = "not_done"


class ScheduleMade(_Frozen):
    """A plan's revision schedule as the scheduler made it (or found it made)."""

    schedule_id: str
    month: int
    day: int
    hour: int
    time_zone: str
    end_at: AwareDatetime
    already_existed: bool


class ScheduleAction(StrEnum):
    PAUSE = "pause"
    UNPAUSE = "unpause"
    TRIGGER = "trigger"
    BACKFILL = "backfill"


class ChangeKind(StrEnum):
    ADD = "add"
    CHANGE = "change"
    RETIRE = "retire"


class MeasureChange(_Frozen):
    """One proposed change for next year's action part. ``add`` and ``change`` carry
    the whole measure as it should read; ``retire`` names the measure to drop."""

    kind: ChangeKind
    measure: Measure | None = None
    measure_id: ItemId | None = None
    reason: ShortText

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if self.kind is ChangeKind.RETIRE:
            if self.measure_id is None or self.measure is not None:
                raise ValueError("'retire' names the measure with measure_id and nothing else")
        elif self.measure is None or self.measure_id is not None:
            raise ValueError(f"'{self.kind.value}' carries the whole measure in 'measure'")
        return self

    @property
    def target_id(self) -> str:
        if self.measure is not None:
            return self.measure.id
        assert self.measure_id is not None
        return self.measure_id


class ProgressLine(_Frozen):
    """Done / total for one goal or strategy."""

    id: str
    title: str
    done: int
    total: int

    @property
    def share(self) -> float:
        return self.done / self.total if self.total else 0.0


class GoalProgress(ProgressLine):
    target_area: str
    strategies: tuple[ProgressLine, ...] = ()


class IndicatorLine(_Frozen):
    level: str = Field(description="'goal' or 'measure'")
    item_id: str
    name: str
    unit: str | None
    baseline: Decimal
    target: Decimal
    current: Decimal | None


class Scorecard(_Frozen):
    """Målekort: how far the municipality has come toward each goal in one year."""

    year: int
    content_version: int
    content_hash: str
    done: int
    total: int
    goals: tuple[GoalProgress, ...]
    indicators: tuple[IndicatorLine, ...]
    unreported: tuple[str, ...] = ()
