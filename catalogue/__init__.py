"""Every label people read, in one place: bokmål (the default) and English.

The sources are gettext .po files under ``locale/``, read by Babel and compiled in memory
the first time a language is used, so there is no compiled file that could go stale
beside its source. The web page (its ``web.*`` and ``refusal.*`` keys, through
``api/i18n.py``), the documents, the audit report, the CLI's human output and the e-mails
take their words from here: one name for each event, role, phase and step.

Keys are dotted names (``event.plan_created``, ``role.finance_office``, ``report.facts``);
values may hold ``{placeholders}`` filled by :func:`t`. A key missing from a language is
an error, never a silent fallback to the key or to the other language.
"""

from __future__ import annotations

import gettext
from functools import cache, partial
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

Language = Literal["nb", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "nb"
DOMAIN = "temaplan"
LOCALE_DIR = Path(__file__).parent / "locale"


class MissingLabelError(KeyError):
    """A key that the catalogue of a language does not hold."""


def po_path(language: Language) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def check_language(language: str) -> Language:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    return language


@cache
def translations(language: Language) -> gettext.GNUTranslations:
    """The language's gettext translations, compiled from its .po source."""
    with po_path(check_language(language)).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def labels(language: Language) -> dict[str, str]:
    """Every key of the language with its text, in the order of the source."""
    with po_path(check_language(language)).open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in catalog if m.id}


def t(key: str, language: Language = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The label ``key`` in ``language``, its placeholders filled with ``values``."""
    text = translations(language).gettext(key)
    if text == key and key not in labels(language):
        raise MissingLabelError(f"no label {key!r} in the {language} catalogue")
    return text.format(**values) if values else text


def has(key: str, language: Language = DEFAULT_LANGUAGE) -> bool:
    return key in labels(language)


def _named(group: str, value: str, language: Language = DEFAULT_LANGUAGE) -> str:
    """A value's name in its group, or the value itself for one the catalogue does not
    know (a new role or type must not break a page; the language test catches it)."""
    key = f"{group}.{value}"
    return t(key, language) if has(key, language) else value


# One translation of each role and body, event type, plan status, scheduler's action,
# revision outcome and kind of actor, for the page, the documents and the CLI.
role_name = partial(_named, "role")
event_name = partial(_named, "event")
status_name = partial(_named, "status")
schedule_action_name = partial(_named, "schedule_action")
revision_outcome_name = partial(_named, "revision_outcome")
actor_kind_name = partial(_named, "actor_kind")


def phase_name(phase: str | None, language: Language = DEFAULT_LANGUAGE) -> str:
    return _named("phase", phase, language) if phase else ""


def step_title(step_key: str | None, language: Language = DEFAULT_LANGUAGE) -> str:
    """A phase step's title by its key (``draft.step6`` reads ``step.draft_step6``); a
    submission's title names what the phase submits (``submission.<phase>``). A key the
    catalogue does not know (a newer worker's step) reads as itself, as for the names
    above."""
    if not step_key:
        return ""
    phase, _, step = step_key.partition(".")
    if step == "submit" and has(f"submission.{phase}", language):
        return t("step.submit", language, what=t(f"submission.{phase}", language))
    key = f"step.{phase}_{step}"
    return t(key, language) if has(key, language) else step_key
