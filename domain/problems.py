"""Validation problems reported to people: where, what is wrong, what is allowed."""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError


class Problem(BaseModel):
    """One thing wrong with an input, phrased for the person who wrote it."""

    model_config = ConfigDict(frozen=True)

    path: str
    message: str

    def render(self, source: str | None = None) -> str:
        where = f"{source}: " if source else ""
        return f"{where}{self.path or '(top level)'}: {self.message}"


class DomainValidationError(ValueError):
    """Raised when an input breaks the domain's rules; carries every problem found."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        head = f"{len(self.problems)} problem(s)"
        if self.source:
            head += f" in {self.source}"
        lines = [head + ":"]
        # Each line names the file too, so a line copied out of the list still says where.
        lines.extend("  - " + p.render(self.source) for p in self.problems)
        return "\n".join(lines)


def format_loc(loc: Iterable[int | str]) -> str:
    """Render a pydantic location as a field path such as ``content.measures[2].due_year``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


# What each constrained string looks like, in words, for pattern errors.
PATTERN_HINTS: dict[str, str] = {
    r"^[0-9]{4}$": "four digits in quotes, e.g. '1804'",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address such as name@kommune.no",
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$": (
        "an id of letters, digits, '.', '_' or '-', starting with a letter or digit, "
        "at most 40 characters"
    ),
}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, tuple, dict, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def known_fields(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The field names allowed where ``loc`` (the unknown field's location) points."""
    candidates = [model]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        found = [c.model_fields[part].annotation for c in candidates if part in c.model_fields]
        nested = [m for annotation in found for m in _models_in(annotation)]
        if nested:
            candidates = nested
    return sorted({name for c in candidates for name in c.model_fields})


def _given(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_SCALARS = (str, int, float, bool, type(None))


def problems_from_pydantic(
    error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> list[Problem]:
    problems: list[Problem] = []
    items = error.errors(include_url=False)
    failed_locs = {tuple(item["loc"]) for item in items}
    for item in items:
        loc_tuple = tuple(item["loc"])
        # A collection whose element failed is then also "too short"; that is noise.
        if item["type"] == "too_short" and any(
            other[: len(loc_tuple)] == loc_tuple and len(other) > len(loc_tuple)
            for other in failed_locs
        ):
            continue
        # Discriminated unions and validators add their own tags to the location;
        # people only want the field path.
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = format_loc(loc)
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if item["type"] == "missing":
            message = "is required but missing"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field (check the spelling)"
            name = loc[-1] if loc and isinstance(loc[-1], str) else ""
            known = known_fields(model, loc) if model is not None else []
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            if close:
                message = f"is not a known field; did you mean '{close[0]}'?"
            elif known:
                message += f"; known here: {', '.join(known)}"
        elif item["type"] == "string_pattern_mismatch":
            pattern = str(item.get("ctx", {}).get("pattern", ""))
            hint = PATTERN_HINTS.get(pattern, f"text matching {pattern}")
            message = f"{item['input']!r} is not valid here; expected {hint}"
        elif isinstance(item.get("input"), _SCALARS) and item["type"] not in ("missing",):
            # A type error says what was given, beside what is allowed.
            given = _given(item["input"])
            if given not in message:
                message = f"{message} (got {given})"
        problems.append(Problem(path=path, message=message))
    return problems
