"""What people send to a plan: one pydantic model per command, and the receipt back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.hierarchy import PlanContent, ShortText, Text
from domain.phases import Phase
from domain.roles import Role
from domain.text import PersonStr


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubmitContent(_Command):
    actor_id: PersonStr
    phase: Phase
    content: PlanContent


class AddComment(_Command):
    actor_id: PersonStr
    content_version: int
    text: Text


class SignOff(_Command):
    """Approve, or request changes, at a sign-off or anchoring step."""

    actor_id: PersonStr
    step_key: PersonStr
    content_version: int
    content_hash: PersonStr
    approve: bool = True
    comment: PersonStr = Field(default="", max_length=4000)
    # Needed only when the person belongs to more than one of the step's bodies.
    role: Role | None = None
    # For anchoring: how the strategies were anchored (e.g. "sak i formannskapet").
    anchoring_form: PersonStr | None = Field(default=None, max_length=300)


class CompleteDraftStep(_Command):
    actor_id: PersonStr
    step_key: PersonStr
    content_version: int
    note: PersonStr = Field(default="", max_length=4000)


class HearingResponse(_Command):
    """From anyone; the name is the respondent's own statement."""

    name: ShortText
    organisation: PersonStr | None = Field(default=None, max_length=300)
    text: Text
    # Lets a caller retry without the response being recorded twice.
    response_id: PersonStr | None = Field(default=None, max_length=100)


class CloseHearing(_Command):
    actor_id: PersonStr
    reason: PersonStr = Field(default="", max_length=1000)


class HearingSummary(_Command):
    actor_id: PersonStr
    summary: Text


class HearingDecision(_Command):
    actor_id: PersonStr
    outcome: Literal["revise", "to_council"]
    reason: PersonStr = Field(default="", max_length=4000)


class CouncilDecision(_Command):
    actor_id: PersonStr
    outcome: Literal["adopted", "returned"]
    content_version: int
    content_hash: PersonStr
    return_to: Phase | None = None
    reason: PersonStr = Field(default="", max_length=4000)


class Receipt(BaseModel):
    """Proof that a decision is in the record: its version in the plan's stream, the
    event's hash (which chains to everything before it) and when it was committed."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    event_id: UUID
    version: int
    hash: str
    recorded_at: datetime
    event_type: str
    duplicate: bool = False
