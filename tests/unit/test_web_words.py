"""The web page's words come from the one catalogue: every label a template reads exists
in both languages, and the page names events, roles and phases as the documents do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

import catalogue
from api import i18n
from api import requests as rq
from api.views import PhaseMark
from catalogue import LANGUAGES, Language
from domain.events import EVENT_TYPES
from domain.phases import Phase
from domain.planfile import parse_plan_text
from domain.problems import DomainValidationError
from domain.refusals import RefusalCode
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


# Where the page's Python reads its labels: by the whole key ("web.oidc_expired"), a
# group of keys it finishes with a value (_word("web.status", ...) reads web.status_<value>),
# or a prefix it builds a key from (t.get(f"choice_{...}"), f"web.change_{...}").
_SOURCES = [Path(i18n.__file__).parents[1] / name for name in ("api", "audit", "documents")]
_PY_KEY = re.compile(r"[\"']web\.([a-z0-9_]+)[\"']")
_PY_BUILT = re.compile(r"f[\"']web\.([a-z_]+)\{|\bt(?:\.get)?[(\[]\s*f?[\"']([a-z_]+_)[\"'{]")


def _python_keys() -> tuple[set[str], set[str]]:
    keys: set[str] = set()
    prefixes: set[str] = set()
    for folder in _SOURCES:
        for source in folder.rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            found = set(_PY_KEY.findall(text))
            keys |= found
            prefixes |= {key + "_" for key in found}
            prefixes |= {a or b for a, b in _PY_BUILT.findall(text)}
    return keys, prefixes


def test_every_label_of_the_page_is_read_somewhere() -> None:
    """A label no template and no code reads is a word nobody sees: removed from both
    files, not left to drift from the page."""
    plain, built = _template_keys()
    keys, prefixes = _python_keys()
    # plan.html reads the timeline's marks as t[mark.state].
    read = plain | keys | set(get_args(PhaseMark.model_fields["state"].annotation))
    assert "oidc_expired" in keys  # what this test finds in the code, so it can find less
    assert {"choice_", "status_", "change_"} <= prefixes | built
    unused = [
        key
        for key in i18n.translator("nb")
        if key not in read and not any(key.startswith(p) for p in built | prefixes)
    ]
    assert unused == []


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


def _errors(model: type[BaseModel], data: dict[str, object]) -> list[Any]:
    with pytest.raises(ValidationError) as found:
        model.model_validate(data)
    return found.value.errors(include_url=False)


def test_a_forms_problems_read_in_bokmal_with_the_field_in_words() -> None:
    errors = _errors(
        rq.SignOffRequest,
        {
            "step_key": "Goals",
            "content_version": "to",
            "content_hash": "",
            "decision": "",
            "comment": "ok\x00",
            "actor_id": "per",
        },
    )
    said = dict(i18n.form_problems(errors, "nb"))
    assert said == {
        "Steget": "har ikke riktig form; last inn siden på nytt og prøv igjen",
        "Versjon av innholdet": "må være et helt tall",
        "Sjekksum for innholdet": "har ikke riktig form; last inn siden på nytt og prøv igjen",
        "Din beslutning": "velg ett av alternativene i skjemaet",
        "Kommentar": (
            "inneholder et tegn som ikke kan lagres (U+0000, tegn nummer 3); "
            "fjern det og send igjen"
        ),
        "actor_id": "hører ikke til dette skjemaet",
    }
    english = dict(i18n.form_problems(errors, "en"))
    assert english["Your decision"] == "choose one of the form's options"
    assert english["Content version"] == "must be a whole number"


def test_lengths_say_what_is_allowed() -> None:
    errors = _errors(rq.PublicResponseRequest, {"name": " ", "text": "x" * 4001})
    assert i18n.form_problems(errors, "nb") == [
        ("Navn", "kan ikke være tom"),
        ("Teksten din", "kan ha høyst 4000 tegn"),
    ]
    assert i18n.form_problems(errors, "en")[1] == ("Your text", "may have at most 4000 characters")
    # A field the catalogue has no words for is named by its path, never dropped.
    nested = _errors(rq.HearingDecisionRequest, {"outcome": "revise", "meeting": {"x": 1}})
    fields = [field for field, _ in i18n.form_problems(nested, "nb")]
    assert "Saksnummer" in fields
    assert "meeting.x" in fields


def test_a_plan_files_problems_read_in_bokmal_at_their_path() -> None:
    text = (
        (Path(__file__).parents[2] / "examples" / "bodo.yaml")
        .read_text(encoding="utf-8")
        .replace("number: '1804'", "number: 1804")
        .replace("email: kari.nilsen@bodo.kommune.no", "email: kari.nilsen")
    )
    with pytest.raises(DomainValidationError) as found:
        parse_plan_text(text, "feil.yaml")
    cause = found.value.__cause__
    assert isinstance(cause, ValidationError)
    assert i18n.file_problems(cause.errors(include_url=False), "nb") == [
        "municipality.number: tallet 1804 må skrives som fire sifre i anførselstegn, "
        "for eksempel '1804' (uten anførselstegn går nuller foran tapt)",
        "participants[0].email: må være en e-postadresse som navn@kommune.no",
    ]
