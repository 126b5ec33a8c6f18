"""The one catalogue of labels: both languages hold the same keys with the same
placeholders, every domain value has a name, and the nb-NO formats are Babel's."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from babel.messages.pofile import read_po

import catalogue
from catalogue import LANGUAGES, Language, MissingLabelError, formats, t
from domain.events import EVENT_TYPES
from domain.phases import PHASES, Phase
from domain.revision_models import ReportStatus, ScheduleAction
from domain.roles import Role

NBSP = "\u00a0"
# The phases' names, as the domain once held them beside the catalogue.
PHASE_TITLES: dict[str, list[str]] = {
    "nb": ["Mål", "Strategier", "Tiltak", "Utkast", "Høring", "Vedtak"],
    "en": ["Goals", "Strategies", "Measures", "Draft", "Hearing", "Adoption"],
}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_hold_the_same_keys_with_the_same_placeholders() -> None:
    nb, en = catalogue.labels("nb"), catalogue.labels("en")
    assert len(nb) > 200
    assert list(nb) == list(en)
    for key in nb:
        assert nb[key].strip(), f"empty bokmål label {key}"
        assert en[key].strip(), f"empty English label {key}"
        assert _fields(nb[key]) == _fields(en[key]), key
        assert re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", key), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_po_source_parses_cleanly_and_compiles_to_what_it_says(language: Language) -> None:
    with catalogue.po_path(language).open("rb") as source:
        parsed = read_po(source, locale=language, abort_invalid=True)
    assert not parsed.fuzzy
    assert not [m.id for m in parsed if m.id and m.fuzzy]
    compiled = catalogue.translations(language)
    for key, text in catalogue.labels(language).items():
        assert compiled.gettext(key) == text


def test_every_domain_value_has_one_name_in_each_language() -> None:
    for language in LANGUAGES:
        for event_type in EVENT_TYPES:
            assert catalogue.event_name(event_type, language) != event_type, event_type
        for role in Role:
            assert catalogue.has(f"role.{role.value}", language), role
        for phase in Phase:
            assert (
                catalogue.phase_name(phase.value, language) == PHASE_TITLES[language][phase.order]
            )
        for status in ReportStatus:
            assert catalogue.has(f"status.{status.value}", language)
        for action in ScheduleAction:
            assert catalogue.has(f"schedule_action.{action.value}", language)
    # One translation of the bodies, where the page and the report once disagreed.
    assert catalogue.role_name("finance_office") == "økonomiavdelingen"
    assert catalogue.role_name("auditor") == "revisor"
    assert catalogue.role_name("finance_office", "en") == "finance office"


def test_every_phase_and_step_has_a_title_in_each_language() -> None:
    """The domain names its phases and steps by key only; the words are the catalogue's,
    one title per step and language, never the key read back."""
    for language in LANGUAGES:
        titles = set()
        for spec in PHASES:
            assert catalogue.has(f"phase.{spec.phase.value}", language), spec.phase
            for step in spec.steps:
                title = catalogue.step_title(step.key, language)
                assert title != step.key, (language, step.key)
                assert "{" not in title, (language, step.key)
                titles.add(title)
        # Reference rounds, quality assurance and anchoring read alike in each phase.
        assert len(titles) == 19
    assert catalogue.step_title("goals.submit") == "Prosjektleder legger fram mål"
    assert catalogue.step_title("draft.submit", "en") == "Project leader submits the draft plan"
    assert catalogue.step_title("measures.quality_assurance") == "Styringsgruppen kvalitetssikrer"
    assert catalogue.step_title("draft.step6", "en").startswith("6. Economic quality check")
    assert catalogue.step_title("revision.2027.report") == "revision.2027.report"
    assert catalogue.step_title(None) == ""


def test_a_missing_key_is_an_error_not_the_key() -> None:
    with pytest.raises(MissingLabelError, match=r"no label 'report\.nowhere' in the nb catalogue"):
        t("report.nowhere")
    assert t("report.totals", "nb", count=2, investment="a", running="b").startswith(
        "Sum for 2 tiltak"
    )
    with pytest.raises(ValueError, match="language must be one of nb, en"):
        catalogue.labels("sv")


def test_numbers_dates_times_and_money_in_nb_no() -> None:
    at = datetime(2026, 12, 4, 14, 55, tzinfo=UTC)  # 15.55 in Oslo (winter time)
    summer = datetime(2026, 7, 4, 14, 55, 7, tzinfo=UTC)  # 16.55 in Oslo (summer time)
    assert formats.number(Decimal("16.4")) == "16,4"
    assert formats.number(1250000) == f"1{NBSP}250{NBSP}000"
    assert formats.money(1_250_000) == f"1{NBSP}250{NBSP}000{NBSP}kr"
    assert formats.money(None, unknown="ukjent") == "ukjent"
    assert formats.moment(at) == "4. desember 2026 kl. 15.55"
    assert formats.moment(summer, seconds=True) == "4. juli 2026 kl. 16.55.07"
    assert formats.day(date(2026, 12, 4)) == "4. desember 2026"
    assert formats.short_day(at) == "04.12.2026"
    assert formats.clock(at) == "15.55"
    assert formats.stamp(at) == "04.12.2026 15.55.00 +01:00"
    assert formats.stamp(summer) == "04.07.2026 16.55.07 +02:00"
    assert formats.percent(0.5) == f"50{NBSP}%"
    # A progress bar's count or rate: whole, grouped as the language groups.
    assert formats.counter()(12345.6) == f"12{NBSP}346"
    assert formats.counter("en")(12345.6) == "12,346"
    # English beside it.
    assert formats.number(Decimal("16.4"), "en") == "16.4"
    assert formats.money(1_250_000, "en") == f"NOK{NBSP}1,250,000"
    assert formats.moment(at, "en") == "4 December 2026 at 15:55"
    with pytest.raises(ValueError, match="without a time zone"):
        formats.moment(datetime(2026, 12, 4, 15, 55))
