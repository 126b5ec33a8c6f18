"""The draft plan and the adopted plan as Markdown and HTML: Jinja2 templates
(documents/templates/draft.*) filled from the content and the target areas, their words
from the catalogue.

No I/O, so it can be tested without servers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import partial

import catalogue
from catalogue import Language, formats
from documents.render import render
from domain.hierarchy import Goal, PlanContent
from domain.plan import PlanDefinition


def economy_lines(content: PlanContent, language: Language = "nb") -> list[str]:
    """The draft's economic summary (step 6, the finance office's check): totals of the
    known costs, and which measures' costs are unknown, which the totals leave out."""
    totals = content.cost_totals()
    unknown_cost = catalogue.t("draft.unknown", language)
    lines = [
        catalogue.t(
            "draft.totals",
            language,
            investment=formats.money(totals.investment_nok, language, unknown=unknown_cost),
            running=formats.money(totals.running_nok_per_year, language, unknown=unknown_cost),
            count=len(content.measures),
        )
    ]
    unknown = content.measures_with_unknown_costs()
    if unknown:
        left_out = []
        if totals.unknown_investment:
            left_out.append(
                catalogue.t(
                    "draft.left_out_investment",
                    language,
                    measures=", ".join(totals.unknown_investment),
                )
            )
        if totals.unknown_running:
            left_out.append(
                catalogue.t(
                    "draft.left_out_running", language, measures=", ".join(totals.unknown_running)
                )
            )
        lines.append(
            catalogue.t(
                "draft.totals_exclude",
                language,
                left_out="; ".join(left_out),
                measures=", ".join(unknown),
            )
        )
    return lines


def heading_lines(definition: PlanDefinition, language: Language = "nb") -> list[str]:
    """What the plan revises and its vision: the first things a reader meets."""
    lines = []
    if definition.revises is not None:
        lines.append(catalogue.t("draft.revises", language, plan=definition.revises.describe()))
    if definition.vision:
        lines.append(catalogue.t("draft.vision", language, vision=definition.vision))
    return lines


def _areas(definition: PlanDefinition, content: PlanContent) -> list[tuple[str, list[Goal]]]:
    """The target areas that have goals, in the plan's order, with their goals."""
    found = [
        (area, [g for g in content.goals if g.target_area == area])
        for area in definition.target_areas
    ]
    return [(area, goals) for area, goals in found if goals]


def _render_draft(
    template: str,
    definition: PlanDefinition,
    content: PlanContent,
    version: int,
    content_hash: str,
    *,
    language: Language = "nb",
    adopted_at: datetime | None = None,
) -> str:
    period = definition.period
    where = {
        "municipality": definition.municipality.name,
        "number": definition.municipality.number,
        "start": period.from_year,
        "end": period.to_year,
        "version": version,
    }
    if adopted_at is None:
        page_title = catalogue.t(
            "draft.page_title", language, title=definition.title, version=version
        )
        byline = catalogue.t("draft.byline", language, **where)
        page_label = catalogue.t("draft.page_label", language)
    else:
        page_title = catalogue.t("draft.adopted_page_title", language, title=definition.title)
        byline = catalogue.t(
            "draft.adopted_byline", language, at=formats.day(adopted_at, language), **where
        )
        page_label = catalogue.t("draft.adopted_page_label", language)

    def indicator_value(value: Decimal, unit: str | None) -> str:
        shown = formats.number(value, language)
        return f"{shown} {unit}" if unit else shown

    return render(
        template,
        language,
        definition=definition,
        content=content,
        content_hash=content_hash,
        page_title=page_title,
        page_label=page_label,
        byline=byline,
        heading=heading_lines(definition, language),
        areas=_areas(definition, content),
        economy=economy_lines(content, language),
        indicator_value=indicator_value,
    )


# The draft of ``version``, or with ``adopted_at`` the adopted plan, in each format; the
# HTML is a self-contained page: no scripts, no web fonts, nothing fetched.
render_markdown = partial(_render_draft, "draft.md")
render_html = partial(_render_draft, "draft.html")
