"""Read a plan file from disk; the parsing and its messages live in domain.planfile."""

from __future__ import annotations

from pathlib import Path

from domain.plan import PlanDefinition
from domain.planfile import parse_plan_text
from domain.problems import DomainValidationError, Problem


def load_plan_file(path: Path) -> PlanDefinition:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DomainValidationError([Problem(path="", message="file not found")], source) from exc
    except UnicodeDecodeError as exc:
        raise DomainValidationError(
            [Problem(path="", message=f"not UTF-8 text (byte {exc.start})")], source
        ) from exc
    except OSError as exc:
        raise DomainValidationError(
            [Problem(path="", message=f"cannot read: {exc.strerror}")], source
        ) from exc
    return parse_plan_text(text, source)
