"""Parse a plan definition from YAML or JSON text, reporting every problem with its path.

Pure: the caller reads the file and passes its text and name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import TypeAdapter, ValidationError

from domain.hierarchy import PlanContent, ShortText
from domain.plan import DEFER_CROSS_FIELD_RULES, Participant, Period, PlanDefinition, Settings
from domain.plan_type import PlanType
from domain.problems import DomainValidationError, Problem, problems_from_pydantic
from domain.rules import cross_field_problems, definition_problems

Format = Literal["yaml", "json"]

# A plan file is at most a handful of levels deep (plan, proposals, goals, a goal, its
# indicator); far deeper nesting is a mistake or an attack on the parsers' recursion.
MAX_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(r"[\[\]{}]")


def _too_deep(source: str, where: str) -> DomainValidationError:
    return DomainValidationError(
        [
            Problem(
                path=where,
                message=f"nested more than {MAX_DEPTH} levels deep; a plan file needs far fewer",
            )
        ],
        source,
    )


def _check_json_depth(text: str, source: str) -> None:
    depth = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise _too_deep(source, "")


def _check_yaml_depth(text: str, source: str) -> None:
    """PyYAML's event parser keeps a stack of states; its composer, which builds the
    values, recurses once per level: count the levels on the events first."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                mark = event.start_mark
                where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
                raise _too_deep(source, where)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def guess_format(source: str) -> Format:
    return "json" if source.lower().endswith(".json") else "yaml"


def _load_text(text: str, source: str, fmt: Format) -> Any:
    if fmt == "json":
        try:
            _check_json_depth(text, source)
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DomainValidationError(
                [
                    Problem(
                        path=f"line {exc.lineno}, column {exc.colno}",
                        message=f"invalid JSON: {exc.msg}",
                    )
                ],
                source,
            ) from exc
        except ValueError as exc:  # an integer of thousands of digits
            raise DomainValidationError(
                [Problem(path="", message=f"invalid JSON: {exc}")], source
            ) from exc
    try:
        _check_yaml_depth(text, source)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DomainValidationError(
            [Problem(path=where, message=f"invalid YAML: {problem}")], source
        ) from exc
    except ValueError as exc:  # a value YAML reads but Python cannot hold, e.g. 5000 digits
        raise DomainValidationError(
            [Problem(path="", message=f"invalid YAML: {exc}")], source
        ) from exc


_FIELD_TYPES: dict[str, Any] = {
    "participants": tuple[Participant, ...],
    "target_areas": tuple[ShortText, ...],
    "plan_type": PlanType,
    "settings": Settings,
    "period": Period,
    "proposals": PlanContent | None,
}
_DEFAULTS: dict[str, Any] = {"plan_type": "temaplan", "settings": {}, "proposals": None}


@dataclass(frozen=True)
class _ValidFields:
    """The fields of ``_FIELD_TYPES`` that are valid, and None for those that are not."""

    participants: tuple[Participant, ...] | None
    target_areas: tuple[str, ...] | None
    plan_type: PlanType | None
    settings: Settings | None
    period: Period | None
    proposals: PlanContent | None


def _partial_cross_field_problems(data: dict[str, Any], failed: set[str]) -> list[Problem]:
    """The rules that compare fields, for a file with problems elsewhere: each rule runs
    where the fields it compares are valid, so one run reports every problem."""
    valid: dict[str, Any] = {}
    for name, annotation in _FIELD_TYPES.items():
        if name in failed or (name not in data and name not in _DEFAULTS):
            valid[name] = None
            continue
        try:
            valid[name] = TypeAdapter(annotation).validate_python(
                data.get(name, _DEFAULTS.get(name))
            )
        except ValidationError:
            valid[name] = None
    return cross_field_problems(_ValidFields(**valid))


def parse_plan_data(data: Any, source: str = "<input>") -> PlanDefinition:
    """Validate already-decoded data (e.g. from an HTTP request body)."""
    if not isinstance(data, dict):
        raise DomainValidationError(
            [
                Problem(
                    path="", message=f"expected a mapping of plan fields, got {type(data).__name__}"
                )
            ],
            source,
        )
    try:
        definition = PlanDefinition.model_validate(data, context={DEFER_CROSS_FIELD_RULES: True})
    except ValidationError as exc:
        problems = problems_from_pydantic(exc, model=PlanDefinition)
        failed = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        problems += _partial_cross_field_problems(data, failed)
        raise DomainValidationError(problems, source) from exc
    problems = definition_problems(definition)
    if problems:
        raise DomainValidationError(problems, source)
    return definition


def parse_plan_text(text: str, source: str, fmt: Format | None = None) -> PlanDefinition:
    data = _load_text(text, source, fmt or guess_format(source))
    return parse_plan_data(data, source)
