"""What people send to a plan: one pydantic model per command, and the receipt back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.attestation import Attestation
from domain.hierarchy import PlanContent, ShortText, Text
from domain.phases import Phase
from domain.roles import Role
from domain.text import PersonStr
from domain.votes import MeetingReference


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # How the actor was authenticated where the decision came in, as that front door
    # says: "token <token id>" or "oidc <issuer>"; recorded on the actor's events.
    authenticated_by: PersonStr | None = Field(default=None, max_length=600)


class PersonCommand(_Command):
    """A decision a participant sends, in their name."""

    # The front door's signature on who sent it (domain/attestation.py); none: the
    # decision is recorded as unattested, or refused where the deployment requires it.
    attestation: Attestation | None = None
    actor_id: PersonStr


class SubmitContent(PersonCommand):
    phase: Phase
    content: PlanContent


class AddComment(PersonCommand):
    content_version: int
    text: Text


class SignOff(PersonCommand):
    """Approve, or request changes, at a sign-off or anchoring step."""

    step_key: PersonStr
    content_version: int
    content_hash: PersonStr
    approve: bool = True
    comment: PersonStr = Field(default="", max_length=4000)
    # Needed only when the person belongs to more than one of the step's bodies.
    role: Role | None = None
    # For anchoring: how the strategies were anchored (e.g. "sak i formannskapet").
    anchoring_form: PersonStr | None = Field(default=None, max_length=300)


class CompleteDraftStep(PersonCommand):
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


class CloseHearing(PersonCommand):
    reason: PersonStr = Field(default="", max_length=1000)


class HearingSummary(PersonCommand):
    summary: Text


class HearingDecision(PersonCommand):
    """A steering-group member's vote after the hearing."""

    outcome: Literal["revise", "to_council"]
    reason: PersonStr = Field(default="", max_length=4000)
    # Needed only when the person belongs to more than one of the step's bodies.
    role: Role | None = None
    meeting: MeetingReference | None = None


class CouncilDecision(PersonCommand):
    """A council member's vote on the plan under review."""

    outcome: Literal["adopted", "returned", "postponed", "adopted_with_changes"]
    content_version: int
    content_hash: PersonStr
    return_to: Phase | None = None
    reason: PersonStr = Field(default="", max_length=4000)
    role: Role | None = None
    meeting: MeetingReference | None = None
    # postponed: the meeting the item goes to.
    postponed_to: date | None = None
    # adopted_with_changes: the plan as the council adopts it.
    amended_content: PlanContent | None = None


class WithdrawVote(PersonCommand):
    """The project leader withdraws the item from the body's vote at ``step_key``."""

    step_key: PersonStr
    reason: Text
    # An earlier phase to send the plan back to for a new version; none: vote again.
    return_to: Phase | None = None


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
    # The event's leaf in the Merkle log over all events (null from receipts made before
    # the log existed); its inclusion proof is at /api/log/inclusion/{event_id}.
    leaf_index: int | None = None
