"""What people send to the API. No model has an actor field: the actor is always the
authenticated person (an `actor_id` in a body is refused as an unknown field)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain.hierarchy import PlanContent, ShortText, Text
from domain.phases import Phase
from domain.roles import Role
from domain.text import check_text

StepKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z0-9_]+$", max_length=60)]
ContentHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Version = Annotated[int, Field(ge=1, le=1_000_000)]
Reason = Annotated[str, StringConstraints(max_length=4000), AfterValidator(check_text)]


class _Request(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ContentRequest(_Request):
    phase: Phase
    content: PlanContent


class SignOffRequest(_Request):
    step_key: StepKey
    content_version: Version
    content_hash: ContentHash
    decision: Literal["approve", "request_changes"]
    comment: Reason = ""
    role: Role | None = Field(
        default=None, description="only when you belong to more than one of the step's bodies"
    )
    anchoring_form: (
        Annotated[str, StringConstraints(max_length=300), AfterValidator(check_text)] | None
    ) = None


class DraftStepRequest(_Request):
    step_key: StepKey
    content_version: Version
    note: Reason = ""


class CommentRequest(_Request):
    content_version: Version
    text: Text


class CloseHearingRequest(_Request):
    reason: Annotated[str, StringConstraints(max_length=1000), AfterValidator(check_text)] = ""


class HearingSummaryRequest(_Request):
    summary: Text


class HearingDecisionRequest(_Request):
    outcome: Literal["revise", "to_council"]
    reason: Reason = ""


class CouncilDecisionRequest(_Request):
    outcome: Literal["adopted", "returned"]
    content_version: Version
    content_hash: ContentHash
    return_to: Phase | None = None
    reason: Reason = ""


class PublicResponseRequest(_Request):
    """A hearing response from anyone: the name is the respondent's own statement."""

    name: ShortText
    organisation: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=300),
            AfterValidator(check_text),
        ]
        | None
    ) = None
    text: Text
