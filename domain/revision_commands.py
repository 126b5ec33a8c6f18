"""What people send during the yearly revision: one pydantic model per command.

Values a person types (the status, an indicator value) arrive as text and are checked by
the decide functions, so a malformed value is refused with a clear message by the update
validator instead of failing to decode.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.attestation import Attestation
from domain.revision_models import MeasureChange, ScheduleAction
from domain.text import PersonStr


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # How the actor was authenticated where the decision came in, as that front door
    # says: "token <token id>" or "oidc <issuer>"; recorded on the actor's events.
    authenticated_by: PersonStr | None = Field(default=None, max_length=600)
    # The front door's signature on who sent it (domain/attestation.py); none: the
    # decision is recorded as unattested, or refused where the deployment requires it.
    attestation: Attestation | None = None


class ReportMeasure(_Command):
    actor_id: PersonStr
    year: int
    measure_id: PersonStr = Field(max_length=100)
    status: PersonStr = Field(max_length=40, description="'done' or 'not_done'")
    comment: PersonStr = Field(default="", max_length=2000)
    indicator_value: PersonStr | None = Field(
        default=None, max_length=40, description="the indicator's current value, a decimal"
    )


class ReportGoalIndicator(_Command):
    actor_id: PersonStr
    year: int
    goal_id: PersonStr = Field(max_length=100)
    value: PersonStr = Field(max_length=40)


class CloseReportingRound(_Command):
    actor_id: PersonStr
    year: int


class ProposeChanges(_Command):
    actor_id: PersonStr
    year: int
    changes: tuple[MeasureChange, ...] = Field(min_length=1, max_length=200)


class ReviewChanges(_Command):
    actor_id: PersonStr
    year: int
    content_version: int
    content_hash: PersonStr
    approve: bool = True
    comment: PersonStr = Field(default="", max_length=4000)


class ConcludeRevision(_Command):
    actor_id: PersonStr
    year: int


class ScheduleCommand(_Command):
    """A scheduler's action on a plan's revision schedule."""

    actor_id: PersonStr
    action: ScheduleAction
    reason: PersonStr = Field(default="", max_length=1000)
    backfill_from: AwareDatetime | None = None
    backfill_to: AwareDatetime | None = None
    request_id: PersonStr = Field(
        pattern=r"^[0-9a-f]{8,32}$",
        description="names the request (8-32 hex digits): the same id is the same action",
    )
