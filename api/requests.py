"""What people send to the API. No model has an actor field: the actor is always the
authenticated person (an `actor_id` in a body is refused as an unknown field)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from domain.hierarchy import MAX_INDICATOR_DIGITS, PlanContent, ShortText, Text, plain_digits
from domain.phases import Phase
from domain.revision_models import MeasureChange
from domain.roles import Role
from domain.text import check_text
from domain.votes import MeetingReference

StepKey = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z0-9_]+$", max_length=60)]
ContentHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Version = Annotated[int, Field(ge=1, le=1_000_000)]
Reason = Annotated[str, StringConstraints(max_length=4000), AfterValidator(check_text)]
# The meeting that decided, as a vote names it.
Meeting = Annotated[
    MeetingReference | None, Field(description="case number (e.g. 'PS 28/14') and meeting date")
]


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
    """A steering-group member's vote after the hearing."""

    outcome: Literal["revise", "to_council"]
    reason: Reason = ""
    role: Role | None = Field(
        default=None, description="only when you belong to more than one of the step's bodies"
    )
    meeting: Meeting = None


class CouncilDecisionRequest(_Request):
    """A council member's vote. ``returned`` needs ``return_to`` and a reason (the
    instructions); ``postponed`` a reason and ``postponed_to``, the later meeting's date;
    ``adopted_with_changes`` a reason and ``amended_content``, the plan as adopted."""

    outcome: Literal["adopted", "returned", "postponed", "adopted_with_changes"]
    content_version: Version
    content_hash: ContentHash
    return_to: Phase | None = None
    reason: Reason = ""
    role: Role | None = None
    meeting: Meeting = None
    postponed_to: date | None = None
    amended_content: PlanContent | None = None


class WithdrawVoteRequest(_Request):
    """The project leader withdraws the item from a body's vote."""

    step_key: StepKey
    reason: Text
    return_to: Phase | None = None


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
    email: str | None = Field(
        default=None,
        description="optional: an e-mail address to send the receipt to, as the web form "
        "offers. Not published and not stored in the plan's record: kept only in the "
        "notification outbox until the receipt is sent (or given up on), then blanked. "
        "Refused (422 InvalidEmail) when it is not one address, and (422 EmailUnavailable) "
        "where the server has no mail server; either way before anything is recorded.",
    )


# --- the yearly revision ------------------------------------------------------------

ItemRef = Annotated[
    str, StringConstraints(min_length=1, max_length=100), AfterValidator(check_text)
]
# A decimal as text ("12.5") or as a JSON number; the workflow checks it and refuses a
# malformed one with InvalidValue, before anything is recorded.


def _number_as_text(value: object) -> object:
    """A JSON number as decimal text written out (1e-5 as 0.00001): bounded here, so that
    its text fits the command, and read by the workflow like any typed value."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return value
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or plain_digits(number) > MAX_INDICATOR_DIGITS:
        raise ValueError(
            f"{value} is not a finite decimal of at most {MAX_INDICATOR_DIGITS} digits "
            "written out (such as 12.5)"
        )
    return format(number, "f")


Value = Annotated[
    str,
    BeforeValidator(_number_as_text),
    StringConstraints(max_length=40),
    AfterValidator(check_text),
]


class ReportRequest(_Request):
    measure_id: ItemRef
    status: Literal["done", "not_done"]
    comment: Annotated[str, StringConstraints(max_length=2000), AfterValidator(check_text)] = ""
    indicator_value: Value | None = Field(
        default=None, description="the indicator's current value, where the measure has one"
    )


class GoalIndicatorRequest(_Request):
    goal_id: ItemRef
    value: Value


class EmptyRequest(_Request):
    pass


class ChangesRequest(_Request):
    changes: tuple[MeasureChange, ...] = Field(min_length=1, max_length=200)


class ReviewRequest(_Request):
    content_version: Version
    content_hash: ContentHash
    approve: bool
    comment: Reason = ""
