"""Parse a plan definition from YAML or JSON text, reporting every problem with its path.

Pure: the caller reads the file and passes its text and name.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from domain.plan import DEFER_CROSS_FIELD_RULES, PlanDefinition
from domain.problems import DomainValidationError, Problem, problems_from_pydantic
from domain.rules import definition_problems

Format = Literal["yaml", "json"]


def guess_format(source: str) -> Format:
    return "json" if source.lower().endswith(".json") else "yaml"


def _load_text(text: str, source: str, fmt: Format) -> Any:
    if fmt == "json":
        try:
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
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DomainValidationError(
            [Problem(path=where, message=f"invalid YAML: {problem}")], source
        ) from exc


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
        problems = problems_from_pydantic(exc)
        problems.append(
            Problem(
                path="",
                message="rules that compare fields (roles present, references between goals, "
                "strategies and measures, hearing length) are checked once these are fixed",
            )
        )
        raise DomainValidationError(problems, source) from exc
    problems = definition_problems(definition)
    if problems:
        raise DomainValidationError(problems, source)
    return definition


def parse_plan_text(text: str, source: str, fmt: Format | None = None) -> PlanDefinition:
    data = _load_text(text, source, fmt or guess_format(source))
    return parse_plan_data(data, source)
