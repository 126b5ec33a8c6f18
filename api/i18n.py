"""The web page's words, read from the one catalogue (``catalogue/locale/*/temaplan.po``).

The page's own labels are the catalogue's ``web.*`` keys; a template reads them as
``t.key`` (``t.inbox_title``), so a new label of the page is one ``msgid "web.key"`` in
each language's .po file and nothing here. Role, event and phase names are the same
entries the documents, the CLI and the e-mails use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import catalogue
from catalogue import LANGUAGES, Language
from domain.problems import format_loc

__all__ = [
    "LANGUAGES",
    "Language",
    "event_name",
    "form_problems",
    "refusal_text",
    "role_name",
    "translator",
]

_WEB = "web."


@cache
def translator(language: Language) -> Mapping[str, str]:
    """Every label of the page in ``language``, by its key without the ``web.`` prefix;
    the phases also as ``phase_<phase>`` (templates build that key from a phase's value)."""
    labels = catalogue.labels(language)
    words = {key.removeprefix(_WEB): text for key, text in labels.items() if key.startswith(_WEB)}
    for key, text in labels.items():
        if key.startswith("phase."):
            words["phase_" + key.removeprefix("phase.")] = text
    return words


def role_name(language: Language, role: str) -> str:
    return catalogue.role_name(role, language)


def event_name(language: Language, event_type: str) -> str:
    """An event's name in words; an unknown type (a newer worker's) reads as a generic one
    rather than as the raw name."""
    if catalogue.has(f"event.{event_type}", language):
        return catalogue.event_name(event_type, language)
    return catalogue.t("web.unknown_event", language)


# The domain's message for the commonest mistake, which deserves more than its code's text.
_REFUSAL_MESSAGES = {
    "requesting changes needs a reason in 'comment'": "refusal.comment_needed",
    "pausing the schedule needs a reason": "refusal.pause_reason_needed",
    "a backfill needs a time range: --from before --to": "refusal.backfill_range_needed",
}


def _refusal_key(code: str) -> str:
    return "refusal." + re.sub(r"(?<!^)([A-Z])", r"_\1", code).lower()


def refusal_text(language: Language, code: str, message: str) -> str:
    """The refusal in the page's language. In English the API's own message, which says
    more than the code's text; in bokmål the catalogue's text for the message or the code."""
    if language == "en":
        return message
    key = _REFUSAL_MESSAGES.get(message) or _refusal_key(code)
    return catalogue.t(key if catalogue.has(key, language) else "refusal.other", language)


# What is wrong, by pydantic's error type: the form's fields are few, and each error type
# says the same thing whatever the field.
_PROBLEM_KEYS = {
    "missing": "problem.missing",
    "literal_error": "problem.choose",
    "enum": "problem.choose",
    "string_pattern_mismatch": "problem.pattern",
    "int_parsing": "problem.whole_number",
    "int_type": "problem.whole_number",
    "int_from_float": "problem.whole_number",
    "float_parsing": "problem.number",
    "float_type": "problem.number",
    "decimal_parsing": "problem.number",
    "decimal_type": "problem.number",
    "date_parsing": "problem.date",
    "date_from_datetime_parsing": "problem.date",
    "date_type": "problem.date",
    "extra_forbidden": "problem.unknown_field",
}
_LIMITS = {
    "string_too_short": ("problem.too_short", "min_length"),
    "string_too_long": ("problem.too_long", "max_length"),
    "too_short": ("problem.too_short", "min_length"),
    "too_long": ("problem.too_long", "max_length"),
    "greater_than_equal": ("problem.at_least", "ge"),
    "greater_than": ("problem.at_least", "gt"),
    "less_than_equal": ("problem.at_most", "le"),
    "less_than": ("problem.at_most", "lt"),
}
# The patterns a person types (a plan file's), by what they look like; any other pattern is
# a hidden field of a form, which only a stale page gets wrong.
_PATTERN_KEYS = {
    r"^[0-9]{4}$": "problem.pattern_municipality_number",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "problem.pattern_email",
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$": "problem.pattern_id",
}
# domain.text.unsafe_character's message: the character and where it is.
_CHARACTER = re.compile(r"contains U\+([0-9A-F]{4,6}), .*? at position (\d+)")


def _path(loc: Sequence[int | str]) -> list[int | str]:
    """The location without the tags validators and unions add to it."""
    return [p for p in loc if not (isinstance(p, str) and p.startswith("function-"))]


def _field_words(loc: Sequence[int | str], language: Language) -> str:
    """The field a problem is about, as the form names it; its path where the catalogue
    has no words for it."""
    names = [p for p in loc if isinstance(p, str) and not p.startswith("function-")]
    if names and catalogue.has(f"field.{names[-1]}", language):
        return catalogue.t(f"field.{names[-1]}", language)
    return ".".join(str(p) for p in loc) or "–"


def _what_is_wrong(item: Mapping[str, Any], language: Language) -> str:
    kind = str(item["type"])
    ctx = item.get("ctx") or {}
    if kind in _LIMITS:
        key, limit = _LIMITS[kind]
        if key == "problem.too_short" and ctx.get(limit) == 1:
            return catalogue.t("problem.empty", language)
        return catalogue.t(key, language, limit=ctx.get(limit, ""))
    if kind == "string_pattern_mismatch" and str(ctx.get("pattern")) in _PATTERN_KEYS:
        return catalogue.t(_PATTERN_KEYS[str(ctx["pattern"])], language)
    if kind == "value_error" and "kommunenummer as four digits" in str(item.get("msg", "")):
        return catalogue.t("problem.municipality_unquoted", language, value=item.get("input"))
    if kind == "value_error":
        found = _CHARACTER.search(str(item.get("msg", "")))
        if found:
            return catalogue.t("problem.character", language, point=found[1], position=found[2])
    return catalogue.t(_PROBLEM_KEYS.get(kind, "problem.invalid"), language)


def form_problems(errors: Sequence[Mapping[str, Any]], language: Language) -> list[tuple[str, str]]:
    """A form's validation errors (pydantic's ``errors()``) in the page's language: the
    field in words and what is wrong with it, including what is allowed."""
    return [(_field_words(e["loc"], language), _what_is_wrong(e, language)) for e in errors]


def file_problems(errors: Sequence[Mapping[str, Any]], language: Language) -> list[str]:
    """A plan file's validation errors in the page's language, each at its path in the
    file (``participants[0].email``): a file has no form whose fields could name them. A
    list whose element failed is not also reported as too short (as the validator does)."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        f"{format_loc(_path(e['loc'])) or '–'}: {_what_is_wrong(e, language)}"
        for e, loc in zip(errors, locs, strict=True)
        if not (
            e["type"] == "too_short"
            and any(len(other) > len(loc) and other[: len(loc)] == loc for other in locs)
        )
    ]
