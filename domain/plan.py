"""The plan definition: who, what, when, and the process settings chosen for it."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from domain.hierarchy import ItemId, PlanContent, ShortText, Text
from domain.plan_type import PlanType
from domain.roles import DECIDING_BODIES, PARTICIPANT_ROLES, Role
from domain.rules import definition_problems
from domain.text import check_text

DEFAULT_HEARING_DAYS = 42
MAX_HEARING_DAYS = 366
MAX_PERIOD_YEARS = 20
DEFER_CROSS_FIELD_RULES = "defer_cross_field_rules"

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    AfterValidator(check_text),
]


class QuorumRule(StrEnum):
    ANY = "any"  # one member's sign-off decides for the body
    ALL = "all"  # every member with the role must sign
    MAJORITY = "majority"  # more than half of the members

    def required(self, members: int) -> int:
        """How many sign-offs a body of ``members`` people needs."""
        if self is QuorumRule.ANY:
            return 1
        if self is QuorumRule.ALL:
            return members
        return members // 2 + 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Municipality(_Frozen):
    name: ShortText
    number: str = Field(
        pattern=r"^[0-9]{4}$", description="kommunenummer: exactly four digits, e.g. '1804'"
    )

    @field_validator("number", mode="before")
    @classmethod
    def _number_is_text(cls, value: object) -> object:
        # YAML reads 0301 (Oslo) as the octal integer 193: coercing would silently
        # give the wrong municipality, so an unquoted number is refused outright.
        if isinstance(value, int):
            raise ValueError(
                f"got the number {value}; write the kommunenummer as four digits in "
                "quotes, e.g. '1804' (unquoted, leading zeros are lost)"
            )
        return value


class Period(_Frozen):
    from_year: int = Field(ge=2000, le=2100)
    to_year: int = Field(ge=2000, le=2100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.to_year < self.from_year:
            raise ValueError(
                f"to_year {self.to_year} is before from_year {self.from_year}; "
                "the period must run forwards"
            )
        if self.to_year - self.from_year + 1 > MAX_PERIOD_YEARS:
            raise ValueError(f"a planning period spans at most {MAX_PERIOD_YEARS} years")
        return self

    def contains(self, year: int) -> bool:
        return self.from_year <= year <= self.to_year


def _participant_role(value: object) -> Role:
    allowed = ", ".join(r.value for r in PARTICIPANT_ROLES)
    if value == Role.SYSTEM.value:
        raise ValueError(f"'system' is the engine's own role; allowed roles: {allowed}")
    try:
        return Role(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a role; allowed roles: {allowed}") from None


ParticipantRole = Annotated[Role, BeforeValidator(_participant_role)]


class Participant(_Frozen):
    id: ItemId
    name: ShortText
    email: Email
    roles: tuple[ParticipantRole, ...] = Field(min_length=1)
    unit: ShortText | None = Field(
        default=None,
        description="the municipal unit the person reports for in the yearly revision; "
        "matched against each measure's responsible_unit",
    )

    @model_validator(mode="after")
    def _roles_once(self) -> Self:
        if len(set(self.roles)) != len(self.roles):
            raise ValueError("a role is listed twice")
        return self


def _default_quorum() -> dict[Role, QuorumRule]:
    return dict.fromkeys(DECIDING_BODIES, QuorumRule.ANY)


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class RevisionDate(_Frozen):
    """When the yearly revision reminder goes out, in Europe/Oslo time. 29 February is
    refused: a yearly reminder must come every year."""

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    hour: int = Field(default=8, ge=0, le=23)

    @model_validator(mode="after")
    def _real_date(self) -> Self:
        last = _DAYS_IN_MONTH[self.month - 1]
        if self.day > last:
            raise ValueError(
                f"day {self.day} does not exist every year in month {self.month}; allowed: 1-{last}"
            )
        return self


# The deployment's default (TEMAPLAN_REVISION_MONTH/_DAY) unless it says otherwise.
DEFAULT_REVISION_DATE = RevisionDate(month=9, day=1)


class RevisedPlan(_Frozen):
    """The earlier plan this one revises (rullering of a whole plan): its plan id in this
    engine, or its title and the year it was adopted."""

    plan_id: str | None = Field(
        default=None,
        pattern=r"^[0-9]{4}-[A-Za-z0-9][A-Za-z0-9._-]{0,39}$",
        description="the earlier plan's id here, e.g. '1804-boligplan-2018'",
    )
    title: ShortText | None = None
    year: int | None = Field(default=None, ge=1950, le=2100, description="the year it was adopted")

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.plan_id is None and (self.title is None or self.year is None):
            raise ValueError(
                "name the earlier plan by plan_id, or by title and year (both), "
                "e.g. {title: 'Boligsosial handlingsplan 2017-2020', year: 2017}"
            )
        return self

    def describe(self) -> str:
        named = f"{self.title} ({self.year})" if self.title and self.year else ""
        if self.plan_id:
            return f"{named}, plan {self.plan_id}" if named else f"plan {self.plan_id}"
        return named


class Settings(_Frozen):
    hearing_days: int = Field(default=DEFAULT_HEARING_DAYS, ge=1, le=MAX_HEARING_DAYS)
    reference_round_strategies: bool = True
    reference_round_measures: bool = True
    reference_round_days: int = Field(default=14, ge=1, le=90)
    anchor_measures: bool = False
    quorum: dict[Role, QuorumRule] = Field(default_factory=_default_quorum)
    # The yearly revision (rullering): None takes the deployment's default date.
    revision_date: RevisionDate | None = None
    reporting_round_days: int = Field(default=30, ge=1, le=180)
    proposal_days: int = Field(
        default=60, ge=1, le=365, description="how long after the scorecard changes may be proposed"
    )

    @model_validator(mode="after")
    def _quorum_bodies(self) -> Self:
        unknown = [r.value for r in self.quorum if r not in DECIDING_BODIES]
        if unknown:
            allowed = ", ".join(b.value for b in DECIDING_BODIES)
            raise ValueError(
                f"quorum is set for {', '.join(unknown)}, which do not decide at a gate; "
                f"allowed: {allowed}"
            )
        return self

    def quorum_for(self, body: Role) -> QuorumRule:
        return self.quorum.get(body, QuorumRule.ANY)


SAME_AS = "same_as "


def _doubled_body(value: object) -> str:
    """'same_as political_leadership': the body is the other body, member for member."""
    bodies = ", ".join(b.value for b in DECIDING_BODIES)
    text = value if isinstance(value, str) else None
    if text is None or not text.startswith(SAME_AS):
        raise ValueError(
            f"got {value!r}; write 'same_as <body>', e.g. 'same_as political_leadership' "
            f"(bodies: {bodies})"
        )
    other = text[len(SAME_AS) :].strip()
    if other not in {b.value for b in DECIDING_BODIES}:
        raise ValueError(f"'{other}' is not a deciding body; allowed: {bodies}")
    return f"{SAME_AS}{other}"


DoubledBody = Annotated[str, BeforeValidator(_doubled_body)]


def _with_doubled_roles(data: Any) -> Any:
    """Give each member of a body the role of the body that doubles as it, so a plan
    where the formannskap is also the steering group lists its members once."""
    if not isinstance(data, dict) or not isinstance(data.get("bodies"), dict):
        return data
    doubles: list[tuple[str, str]] = []
    for body, value in data["bodies"].items():
        if isinstance(value, str) and value.startswith(SAME_AS):
            doubles.append((str(body), value[len(SAME_AS) :].strip()))
    people = data.get("participants")
    if not doubles or not isinstance(people, (list, tuple)):
        return data
    expanded = []
    for person in people:
        raw = person.model_dump() if isinstance(person, BaseModel) else person
        roles = raw.get("roles") if isinstance(raw, dict) else None
        if isinstance(roles, (list, tuple)):
            held = [str(r) for r in roles]
            added = [body for body, source in doubles if source in held and body not in held]
            if added:
                raw = {**raw, "roles": [*roles, *added]}
        expanded.append(raw)
    return {**data, "participants": expanded}


class PlanDefinition(_Frozen):
    """What an administrator provides to start a plan: validated before anything starts."""

    slug: ItemId | None = Field(
        default=None, description="short readable name; derived from the title when left out"
    )
    municipality: Municipality
    title: ShortText
    plan_type: PlanType = PlanType.TEMAPLAN
    period: Period
    target_areas: tuple[ShortText, ...] = Field(min_length=1)
    participants: tuple[Participant, ...] = Field(min_length=1)
    settings: Settings = Settings()
    bodies: dict[Role, DoubledBody] = Field(
        default_factory=dict,
        description="a body that is another body member for member, e.g. "
        "steering_group: same_as political_leadership (its members get both roles)",
    )
    proposals: PlanContent | None = Field(
        default=None,
        description="goals, strategies and measures from the knowledge base, for the "
        "project leader to submit phase by phase",
    )
    revises: RevisedPlan | None = Field(
        default=None, description="the earlier plan this one replaces (its id, or title and year)"
    )
    vision: Text | None = Field(
        default=None, description="the vision (visjon) the goals serve, shown above them"
    )

    @model_serializer(mode="wrap")
    def _without_unset_additions(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        # Fields added after plans were recorded are left out while unset, so a plan
        # recorded before them dumps (and hashes) exactly as it did.
        data: dict[str, object] = handler(self)
        for name in ("revises", "vision"):
            if data.get(name) is None:
                data.pop(name, None)
        return data

    @model_validator(mode="before")
    @classmethod
    def _doubled_bodies(cls, data: Any) -> Any:
        return _with_doubled_roles(data)

    def doubles_as(self, body: Role) -> Role | None:
        """The body ``body`` is the same as, when the plan says so."""
        value = self.bodies.get(body)
        return Role(value[len(SAME_AS) :]) if value else None

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Self:
        # The edge parser (domain.planfile) asks to defer these so it can report each
        # problem under its own field path; everyone else gets them enforced here.
        if info.context and info.context.get(DEFER_CROSS_FIELD_RULES):
            return self
        problems = definition_problems(self)
        if problems:
            raise ValueError("; ".join(p.render() for p in problems))
        return self

    @property
    def plan_id(self) -> str:
        """Stable and readable: municipality number plus slug, e.g. '1804-boligplan-2026'."""
        return f"{self.municipality.number}-{self.slug or slugify(self.title)}"

    def participant(self, participant_id: str) -> Participant | None:
        for person in self.participants:
            if person.id == participant_id:
                return person
        return None

    def members(self, role: Role) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if role in p.roles)


_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"})


def slugify(text: str, max_length: int = 40) -> str:
    """'Temaplan for bolig – Bodø 2026' -> 'temaplan-for-bolig-bodo-2026'."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        .encode("ascii", "ignore")
        .decode()
    )
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "plan"
