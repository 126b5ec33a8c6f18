"""The scorecard (målekort) as Markdown and as an HTML page with a progress figure:
Jinja2 templates (documents/templates/scorecard.*, progress.svg), words from the catalogue.

No I/O. The figure is an SVG drawn by a template (no fonts or scripts from the network),
so the page prints and archives as it is.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

import catalogue
from catalogue import Language, formats
from documents.render import render
from domain.plan import PlanDefinition
from domain.revision_models import GoalProgress, IndicatorLine, Scorecard

BAR_WIDTH = 360
ROW_HEIGHT = 34
LABEL_WIDTH = 210


def _value(value: Decimal | None, unit: str | None, language: Language) -> str:
    if value is None:
        return catalogue.t("scorecard.not_reported", language)
    text = formats.number(value, language)
    return f"{text} {unit}" if unit else text


def _indicator_row(line: IndicatorLine, language: Language) -> tuple[str, str, str, str, str]:
    level = catalogue.t(
        f"scorecard.level_{'goal' if line.level == 'goal' else 'measure'}", language
    )
    return (
        f"{level} {line.item_id}: {line.name}",
        _value(line.baseline, line.unit, language),
        _value(line.target, line.unit, language),
        _value(line.current, line.unit, language),
        _direction(line, language),
    )


def _direction(line: IndicatorLine, language: Language) -> str:
    """How far from baseline toward target, in per cent (targets may lie below baseline)."""
    if line.current is None or line.target == line.baseline:
        return "–"
    share = (line.current - line.baseline) / (line.target - line.baseline)
    return formats.percent(round(share, 2), language)


def _context(definition: PlanDefinition, card: Scorecard, language: Language) -> dict[str, object]:
    return {
        "definition": definition,
        "card": card,
        "title": catalogue.t("scorecard.title", language, year=card.year, title=definition.title),
        "indicators": [_indicator_row(line, language) for line in card.indicators],
    }


def render_scorecard_markdown(
    definition: PlanDefinition, card: Scorecard, *, language: Language = "nb"
) -> str:
    return render("scorecard.md", language, **_context(definition, card, language))


def progress_svg(goals: tuple[GoalProgress, ...], title: str | None = None) -> str:
    """One bar per goal: the share of its measures reported done."""
    bars = [
        {
            "id": goal.id,
            "y": 5 + row * ROW_HEIGHT,
            "filled": round(BAR_WIDTH * goal.share),
            "done": goal.done,
            "total": goal.total,
        }
        for row, goal in enumerate(goals)
    ]
    return render(
        "progress.svg",
        "nb",
        title=title or catalogue.t("scorecard.figure_title", "nb"),
        bars=bars,
        width=LABEL_WIDTH + BAR_WIDTH + 70,
        height=ROW_HEIGHT * max(len(goals), 1) + 10,
        label_width=LABEL_WIDTH,
        bar_width=BAR_WIDTH,
    ).strip()


def render_scorecard_html(
    definition: PlanDefinition, card: Scorecard, *, language: Language = "nb"
) -> str:
    figure = progress_svg(card.goals, catalogue.t("scorecard.figure_title", language))
    # Our own template's output, escaped where it was made: not escaped again.
    return render(
        "scorecard.html",
        language,
        figure=Markup(figure),
        **_context(definition, card, language),
    )
