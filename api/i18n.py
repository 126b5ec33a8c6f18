"""The web page's words, read from the one catalogue (``catalogue/locale/*/temaplan.po``).

The page's own labels are the catalogue's ``web.*`` keys; a template reads them as
``t.key`` (``t.inbox_title``), so a new label of the page is one ``msgid "web.key"`` in
each language's .po file and nothing here. Role, event and phase names are the same
entries the documents, the CLI and the e-mails use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

import catalogue
from catalogue import LANGUAGES, Language

__all__ = ["LANGUAGES", "Language", "event_name", "refusal_text", "role_name", "translator"]

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
_REFUSAL_MESSAGES = {"requesting changes needs a reason in 'comment'": "refusal.comment_needed"}


def _refusal_key(code: str) -> str:
    return "refusal." + re.sub(r"(?<!^)([A-Z])", r"_\1", code).lower()


def refusal_text(language: Language, code: str, message: str) -> str:
    """The refusal in the page's language. In English the API's own message, which says
    more than the code's text; in bokmål the catalogue's text for the message or the code."""
    if language == "en":
        return message
    key = _REFUSAL_MESSAGES.get(message) or _refusal_key(code)
    return catalogue.t(key if catalogue.has(key, language) else "refusal.other", language)
