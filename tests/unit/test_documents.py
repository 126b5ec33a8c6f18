"""The draft and the adopted plan from their Jinja2 templates: labels from the catalogue
in the language asked for, values escaped, numbers and money in the language's format."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.rendering import render_html, render_markdown
from domain.hierarchy import PlanContent
from domain.plan import PlanDefinition

NBSP = "\u00a0"


def _content(plan: PlanDefinition) -> PlanContent:
    assert plan.proposals is not None
    return plan.proposals


def test_the_draft_in_bokmal_and_english(bodo: PlanDefinition) -> None:
    content = _content(bodo)
    args = (bodo, content, 3, content.content_hash())
    markdown, html = render_markdown(*args), render_html(*args)
    for text in (markdown, html):
        assert "utkast versjon 3" in text
        assert "Handlingsdel" in text
        assert "Innsatsområde: Generell boligutvikling" in text
        assert f"60{NBSP}000{NBSP}000{NBSP}kr" in text
        assert "fra 12,5 dekar til 50 dekar" in text
        assert content.content_hash() in text
    assert '<html lang="nb">' in html
    assert html.count('class="measure"') == len(content.measures)
    for forbidden in ("<script", "<link", "src=", "url(", "@import"):
        assert forbidden not in html.lower()

    english = render_html(*args, language="en")
    assert '<html lang="en">' in english
    assert "draft version 3" in english
    assert "Action plan" in english
    assert "Handlingsdel" not in english
    assert f"NOK{NBSP}60,000,000" in english
    assert "from 12.5 dekar to 50 dekar" in english


def test_the_adopted_plan_says_when_it_was_adopted(bodo: PlanDefinition) -> None:
    content = _content(bodo)
    at = datetime(2026, 12, 4, 14, 55, tzinfo=UTC)
    html = render_html(bodo, content, 2, content.content_hash(), adopted_at=at)
    assert "vedtatt 4. desember 2026, innholdsversjon 2" in html
    assert "– vedtatt plan</title>" in html
    assert "utkast" not in html


def test_text_from_the_plan_is_escaped(bodo: PlanDefinition) -> None:
    plan = bodo.model_copy(update={"title": "Bolig <b>& trygghet</b>"})
    content = _content(bodo)
    html = render_html(plan, content, 1, content.content_hash())
    assert "<b>&" not in html
    assert "Bolig &lt;b&gt;&amp; trygghet&lt;/b&gt;" in html
    markdown = render_markdown(plan, content, 1, content.content_hash())
    assert "# Bolig <b>& trygghet</b>" in markdown  # Markdown is not HTML: not escaped
