"""The web page's words come from the one catalogue: every label a template reads exists
in both languages, and the page names events, roles and phases as the documents do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import catalogue
from api import i18n
from catalogue import LANGUAGES, Language
from domain.decisions import RefusalCode
from domain.events import EVENT_TYPES
from domain.phases import Phase
from domain.roles import Role

TEMPLATES = Path(i18n.__file__).parent / "templates"
# `t.key`, and the prefix of a key a template builds (`t['phase_' ~ phase.value]`).
_PLAIN = re.compile(r"\bt\.([a-z_][a-z0-9_]*)")
_BUILT = re.compile(r"\bt\[\s*'([a-z_]+)'\s*~")
_MAPPING_METHODS = {"get", "items", "keys", "values"}


def _template_keys() -> tuple[set[str], set[str]]:
    plain: set[str] = set()
    built: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        plain |= set(_PLAIN.findall(text)) - _MAPPING_METHODS
        built |= set(_BUILT.findall(text))
    return plain, built


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_label_a_template_reads_is_in_the_catalogue(language: Language) -> None:
    words = i18n.translator(language)
    plain, built = _template_keys()
    assert len(plain) > 150
    assert sorted(plain - set(words)) == []
    for prefix in built:
        assert any(key.startswith(prefix) for key in words), prefix
    for phase in Phase:
        assert words[f"phase_{phase.value}"] == catalogue.phase_name(phase.value, language)


def test_the_page_names_events_roles_and_phases_as_the_documents_do() -> None:
    for language in LANGUAGES:
        for event_type in EVENT_TYPES:
            assert i18n.event_name(language, event_type) == catalogue.event_name(
                event_type, language
            )
        for role in Role:
            assert i18n.role_name(language, role.value) == catalogue.role_name(role.value, language)
    assert i18n.role_name("nb", "finance_office") == "økonomiavdelingen"
    assert i18n.event_name("nb", "from_a_newer_worker") == "Hendelse"
    assert i18n.event_name("en", "from_a_newer_worker") == "Event"


def test_a_refusal_reads_in_bokmal_by_its_code_and_in_english_as_the_api_says_it() -> None:
    for code in RefusalCode:
        said = i18n.refusal_text("nb", code.value, "english detail")
        assert said != catalogue.t("refusal.other", "nb"), code
        assert "english detail" not in said
    assert i18n.refusal_text("nb", "NoSuchCode", "x") == catalogue.t("refusal.other")
    assert i18n.refusal_text(
        "nb", "InvalidDecision", "requesting changes needs a reason in 'comment'"
    ).startswith("Skriv en kommentar")
    assert i18n.refusal_text("en", "WrongRole", "not in the steering group") == (
        "not in the steering group"
    )
    # The English text of each code exists too, for a page that has no message to show.
    nb = {k for k in catalogue.labels("nb") if k.startswith("refusal.")}
    assert nb == {k for k in catalogue.labels("en") if k.startswith("refusal.")}
