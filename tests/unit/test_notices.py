"""The notifications' words come from the catalogue: each notice the workflows send has a
subject and a body in both languages, and a deadline reads in Oslo time, not as ISO."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import catalogue
from activities.plan_activities import notice_text
from catalogue import LANGUAGES, Language

WORKFLOWS = Path(__file__).parents[2] / "workflows"


def _notices_sent() -> set[str]:
    """The notice names the workflows pass (`notice="gate"`, or `_notify(key, people,
    "round_opened", ...)` in the revision)."""
    found: set[str] = set()
    for source in WORKFLOWS.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "notice" and isinstance(keyword.value, ast.Constant):
                    found.add(str(keyword.value.value))
            name = getattr(node.func, "attr", "")
            if name == "_notify" and len(node.args) > 2 and isinstance(node.args[2], ast.Constant):
                found.add(str(node.args[2].value))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_notice_a_workflow_sends_has_its_words(language: Language) -> None:
    sent = _notices_sent()
    assert sent == {"gate", "hearing", "round_opened", "unreported"}
    for notice in sent:
        assert catalogue.has(f"notice.{notice}_subject", language)
        assert catalogue.has(f"notice.{notice}_body", language)


def test_a_deadline_reads_in_oslo_time() -> None:
    values = {"title": "Boligplan", "deadline": "2026-12-04T14:55:00+00:00"}
    assert notice_text("hearing", values) == (
        "Boligplan er sendt på høring",
        "Høringsfrist 4. desember 2026 kl. 15.55.",
    )
    assert notice_text("hearing", values, "en")[1] == "The hearing closes 4 December 2026 at 15:55."
    assert notice_text("hearing", {"title": "B", "deadline": ""})[1] == "Høringsfrist –."


def test_a_step_given_by_its_key_reads_as_its_title() -> None:
    values = {"title": "Boligplan", "plan_id": "p1", "step_key": "goals.quality_assurance"}
    subject, body = notice_text("gate", {**values, "version": "2"})
    assert subject == "Boligplan: Styringsgruppen kvalitetssikrer"
    assert body == "Planen p1 venter på deg: Styringsgruppen kvalitetssikrer. Innholdsversjon 2."
    assert notice_text("gate", {**values, "version": "2"}, "en")[0] == (
        "Boligplan: Steering group quality-assures"
    )
    # A workflow scheduled before steps were named by key passed the title itself.
    old = {"title": "Boligplan", "plan_id": "p1", "step": "Mål", "version": "2"}
    assert notice_text("gate", old)[0] == "Boligplan: Mål"
