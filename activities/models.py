"""Activity inputs and outputs: one pydantic model in, one out."""

from __future__ import annotations

from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.commands import Receipt
from domain.events import Event
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleMade, Scorecard


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class AppendEventsInput(_Model):
    stream_id: str
    expected_version: int = Field(ge=0)
    events: list[Event] = Field(min_length=1)
    # After adoption a plan's stream has several writers (revisions, scheduler actions),
    # whose event ids do not depend on the version: they append after the current head.
    at_end: bool = False


class AppendEventsOutput(_Model):
    receipts: list[Receipt]
    # Set when the events were stored by an earlier attempt whose result the workflow
    # never saw (a worker killed mid-append): each event's occurred_at as recorded,
    # which the workflow adopts so that its fold is the record's.
    occurred_at: list[AwareDatetime] | None = None


class EventsAfterInput(_Model):
    stream_id: str
    after_version: int = Field(ge=0)
    # A page: at most this many events, and fewer when their data would exceed about
    # 1 MB (Temporal refuses payloads over 2 MB). None: all (histories recorded so).
    limit: int | None = Field(default=None, ge=1)


class SealHearingInput(_Model):
    stream_id: str
    hearing_version: int = Field(ge=1)  # the hearing_opened event's version


class SealHearingOutput(_Model):
    sealed: bool  # False: already sealed or closed


class EventsAfterOutput(_Model):
    events: list[Event]


class ReceiptAtInput(_Model):
    stream_id: str
    version: int = Field(ge=1)


class CompileContentInput(_Model):
    definition: PlanDefinition
    phase: Phase
    content: PlanContent


class CompileContentOutput(_Model):
    content_hash: str
    goals: int
    strategies: int
    measures: int
    investment_nok: int  # the known costs only; unknown_costs names what they exclude
    running_nok_per_year: int
    unknown_costs: list[str] = []


class RenderDraftInput(_Model):
    definition: PlanDefinition
    content: PlanContent
    content_version: int
    content_hash: str


class _Rendered(_Model):
    """How long a document came out in each of its formats."""

    markdown_chars: int
    html_chars: int

    @classmethod
    def of(cls, markdown: str, html: str) -> Self:
        return cls(markdown_chars=len(markdown), html_chars=len(html))


class RenderDraftOutput(_Rendered):
    pass


class Notification(_Model):
    recipient_id: str
    recipient_email: str
    # Given as text only by a workflow scheduled before notices came from the catalogue.
    subject: str = ""
    body: str = ""


class NotifyInput(_Model):
    plan_id: str
    # Same key, same notification: a retried activity or a replayed step sends nothing twice.
    dedupe_prefix: str
    notifications: list[Notification]
    # The catalogue's notice (`notice.<name>_subject` and `_body`) and its values; a value
    # whose name ends in `deadline` is an ISO time, written out in Oslo time.
    notice: str = ""
    values: dict[str, str] = {}


class NotifyOutput(_Model):
    queued: int


class LoadPlanInput(_Model):
    plan_id: str


class LoadPlanOutput(_Model):
    """The plan as its stream tells it now: the fold of every event."""

    state: PlanState
    version: int


class RenderScorecardInput(_Model):
    definition: PlanDefinition
    scorecard: Scorecard


class RenderScorecardOutput(_Rendered):
    pass


class EnsureScheduleInput(_Model):
    plan_id: str
    definition: PlanDefinition


class EnsureScheduleOutput(ScheduleMade):
    pass


class ApplyScheduleActionInput(_Model):
    plan_id: str
    schedule_id: str
    command: ScheduleCommand


class ApplyScheduleActionOutput(_Model):
    applied: str


class RevisionReminderInput(_Model):
    plan_id: str
