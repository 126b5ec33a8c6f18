"""Jinja2 for every document: the draft, the adopted plan, the scorecard and the audit
report are templates under ``documents/templates``, their words from the catalogue.

Templates get ``_`` (the catalogue's ``t`` in the document's language), ``fmt`` (Babel's
formats in that language) and ``lang``. HTML and SVG are escaped automatically; Markdown
is not HTML and is not escaped.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

import catalogue
from catalogue import Language
from catalogue import formats as _formats

TEMPLATES = Path(__file__).parent / "templates"


def _escaped(value: object) -> object:
    """Text from the record escaped as the standard library does it (``&quot;`` for a
    quote), the form the documents have always had, so an escaped value can be found in
    them by ``html.escape``; markup made by a template passes as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(html.escape(value))
    return value


_OPTIONS: dict[str, Any] = {
    "loader": FileSystemLoader(TEMPLATES),
    "undefined": StrictUndefined,  # a misspelt name fails the render, not the reader
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
}
_markup = Environment(autoescape=True, finalize=_escaped, **_OPTIONS)
_text = Environment(autoescape=False, **_OPTIONS)  # Markdown is not HTML


class Formats:
    """Babel's formats bound to one language, for templates."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def number(self, value: int | Decimal | float) -> str:
        return _formats.number(value, self.language)

    def money(self, amount: int | None) -> str:
        unknown = catalogue.t("draft.unknown", self.language)
        return _formats.money(amount, self.language, unknown=unknown)

    def percent(self, done: int, total: int) -> str:
        """The share done of a total, rounded to whole per cent; '–' of nothing."""
        return _formats.percent(round(done / total, 2), self.language) if total else "–"

    def moment(self, at: datetime) -> str:
        return _formats.moment(at, self.language)

    def day(self, value: date | datetime) -> str:
        return _formats.day(value, self.language)


def render(template: str, language: Language = catalogue.DEFAULT_LANGUAGE, **context: Any) -> str:
    """The template filled with ``context``, its labels in ``language``."""
    language = catalogue.check_language(language)

    def label(key: str, **values: object) -> str:
        return catalogue.t(key, language, **values)

    env = _markup if template.endswith((".html", ".svg")) else _text
    return env.get_template(template).render(
        _=label, fmt=Formats(language), lang=language, **context
    )
