"""The goal -> strategy -> measure hierarchy (målhierarki) and its rules."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
)

from domain.canonical import sha256_hex
from domain.text import RECORDED, PersonStr, check_text

ItemId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"),
    Field(description="stable id: letters, digits, '.', '_' or '-', at most 40 characters"),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(check_text),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(check_text),
]

# An indicator's figures are counts, shares and sums: written out without an exponent
# they need far fewer digits than this. More (1e-50 has fifty) is a typing mistake or an
# attack on what reads the number, and is refused where a person sends it.
MAX_INDICATOR_DIGITS = 18


def plain_digits(value: Decimal) -> int:
    """How many digits ``value`` has written out without an exponent (12.5: 3, 0.001: 3,
    1E+3: 4), zeros before the point not counted."""
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    return max(len(digits) + exponent, 0) + max(-exponent, 0)


def _indicator_figure(value: Decimal, info: ValidationInfo) -> Decimal:
    if isinstance(info.context, dict) and info.context.get(RECORDED):
        return value
    if plain_digits(value) > MAX_INDICATOR_DIGITS:
        raise ValueError(
            f"{value} has more than {MAX_INDICATOR_DIGITS} digits written out; "
            "write a decimal number such as 12.5"
        )
    return value


IndicatorFigure = Annotated[Decimal, Field(allow_inf_nan=False), AfterValidator(_indicator_figure)]


class Basis(StrEnum):
    """Why the municipality takes on a measure (seed 002: må, bør, vil, kan)."""

    MUST = "must"
    SHOULD = "should"
    WANT = "want"
    CAN = "can"


class Actor(StrEnum):
    """Who carries the measure out (seed 002: selv, sammen med andre, overlate til andre)."""

    SELF = "self"
    WITH_OTHERS = "with_others"
    OTHERS = "others"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Costs(_Frozen):
    """Rough costs in whole NOK, for the finance office's check in the draft phase."""

    investment_nok: int = Field(ge=0, le=100_000_000_000)
    running_nok_per_year: int = Field(ge=0, le=100_000_000_000)


class Indicator(_Frozen):
    """A measurement of goal achievement. Values are decimals, never binary floats,
    so that they hash the same on every machine."""

    name: ShortText
    unit: ShortText | None = None
    baseline: IndicatorFigure
    target: IndicatorFigure


class Goal(_Frozen):
    id: ItemId
    title: Text
    target_area: ShortText
    target_groups: tuple[ShortText, ...] = ()
    indicator: Indicator | None = None


class Strategy(_Frozen):
    id: ItemId
    goal_id: ItemId
    title: Text


class Measure(_Frozen):
    id: ItemId
    strategy_id: ItemId
    title: Text
    completion_criterion: Text = Field(
        description="a yes/no question: was the measure carried out?"
    )
    responsible_unit: ShortText
    due_year: int
    basis: Basis
    actor: Actor
    costs: Costs
    target_groups: tuple[ShortText, ...] = ()
    indicator: Indicator | None = None


class PlanContent(_Frozen):
    """A full snapshot of the plan's content as submitted for review.

    Every submission carries the whole hierarchy, so each content version can be
    reviewed, hashed and later shown to an auditor on its own.
    """

    goals: tuple[Goal, ...] = ()
    strategies: tuple[Strategy, ...] = ()
    measures: tuple[Measure, ...] = ()
    analysis: PersonStr = Field(default="", max_length=100_000)

    def content_hash(self) -> str:
        return sha256_hex(self.model_dump(mode="json"))
