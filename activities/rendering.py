"""The draft plan as Markdown and HTML, built from the content and the target areas.

Pure string building (no I/O), so it can be tested without servers.
"""

from __future__ import annotations

from html import escape

from domain.hierarchy import Measure, PlanContent
from domain.plan import PlanDefinition
from runtime.formatting import grouped

BASIS_NB = {"must": "må", "should": "bør", "want": "vil", "can": "kan"}
ACTOR_NB = {
    "self": "kommunen selv",
    "with_others": "sammen med andre",
    "others": "overlates til andre",
}


def _nok(amount: int | None) -> str:
    if amount is None:
        return "ukjent"
    return grouped(amount) + " kr"


def economy_lines(content: PlanContent) -> list[str]:
    """The draft's economic summary (step 6, the finance office's check): totals of the
    known costs, and which measures' costs are unknown, which the totals leave out."""
    totals = content.cost_totals()
    lines = [
        f"Sum investering {_nok(totals.investment_nok)}; sum drift "
        f"{_nok(totals.running_nok_per_year)} per år ({len(content.measures)} tiltak)."
    ]
    unknown = content.measures_with_unknown_costs()
    if unknown:
        left_out = []
        if totals.unknown_investment:
            left_out.append(f"investering for {', '.join(totals.unknown_investment)}")
        if totals.unknown_running:
            left_out.append(f"drift for {', '.join(totals.unknown_running)}")
        lines.append(
            f"Summene omfatter ikke ukjente kostnader ({'; '.join(left_out)}). "
            f"Tiltak med ukjent kostnad: {', '.join(unknown)}."
        )
    return lines


def heading_lines(definition: PlanDefinition) -> list[str]:
    """What the plan revises and its vision: the first things a reader meets."""
    lines = []
    if definition.revises is not None:
        lines.append(f"Reviderer: {definition.revises.describe()}")
    if definition.vision:
        lines.append(f"Visjon: {definition.vision}")
    return lines


def _measure_lines(measure: Measure) -> list[str]:
    lines = [
        f"- **{measure.id} {measure.title}**",
        f"  - Utført? {measure.completion_criterion}",
        f"  - Ansvar: {measure.responsible_unit}; frist: {measure.due_year}",
        f"  - Grunnlag: kommunen {BASIS_NB[measure.basis.value]}; "
        f"gjennomføres av {ACTOR_NB[measure.actor.value]}",
        f"  - Kostnad: investering {_nok(measure.costs.investment_nok)}, "
        f"drift {_nok(measure.costs.running_nok_per_year)} per år",
    ]
    if measure.target_groups:
        lines.append(f"  - Målgrupper: {', '.join(measure.target_groups)}")
    if measure.indicator:
        ind = measure.indicator
        unit = f" {ind.unit}" if ind.unit else ""
        lines.append(f"  - Indikator: {ind.name}: fra {ind.baseline}{unit} til {ind.target}{unit}")
    return lines


def render_markdown(
    definition: PlanDefinition, content: PlanContent, version: int, content_hash: str
) -> str:
    out = [
        f"# {definition.title}",
        "",
        f"{definition.municipality.name} ({definition.municipality.number}) · "
        f"planperiode {definition.period.from_year}–{definition.period.to_year} · "
        f"utkast versjon {version}",
        "",
        f"Innholdets SHA-256: `{content_hash}`",
        "",
        *(line for item in heading_lines(definition) for line in (item, "")),
        "## Analysedel",
        "",
        content.analysis.strip() or "_Ingen analysetekst i dette utkastet._",
        "",
        "## Handlingsdel",
    ]
    strategies_by_goal = {
        g.id: [s for s in content.strategies if s.goal_id == g.id] for g in content.goals
    }
    measures_by_strategy = {
        s.id: [m for m in content.measures if m.strategy_id == s.id] for s in content.strategies
    }
    for area in definition.target_areas:
        goals = [g for g in content.goals if g.target_area == area]
        if not goals:
            continue
        out += ["", f"### Innsatsområde: {area}"]
        for goal in goals:
            out += ["", f"#### Mål {goal.id}: {goal.title}"]
            if goal.target_groups:
                out.append(f"Målgrupper: {', '.join(goal.target_groups)}")
            for strategy in strategies_by_goal[goal.id]:
                out += ["", f"**Strategi {strategy.id}:** {strategy.title}", ""]
                for measure in measures_by_strategy[strategy.id]:
                    out += _measure_lines(measure)
    out += ["", "## Økonomi", "", *economy_lines(content), ""]
    return "\n".join(out)


def render_html(
    definition: PlanDefinition, content: PlanContent, version: int, content_hash: str
) -> str:
    """A self-contained page: no scripts, no web fonts, nothing fetched."""
    parts = [
        "<!doctype html>",
        '<html lang="nb"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(definition.title)} – utkast v{version}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;"
        "padding:0 1rem;line-height:1.5}code{word-break:break-all}"
        ".measure{border-left:3px solid #2a6;padding-left:.75rem;margin:.75rem 0}</style>",
        "</head><body>",
        f"<h1>{escape(definition.title)}</h1>",
        f"<p>{escape(definition.municipality.name)} ({escape(definition.municipality.number)}) · "
        f"planperiode {definition.period.from_year}–{definition.period.to_year} · "
        f"utkast versjon {version}</p>",
        f"<p>Innholdets SHA-256: <code>{content_hash}</code></p>",
        *(f"<p>{escape(line)}</p>" for line in heading_lines(definition)),
        "<h2>Analysedel</h2>",
        f"<p>{escape(content.analysis.strip()) or '<em>Ingen analysetekst.</em>'}</p>",
        "<h2>Handlingsdel</h2>",
    ]
    for area in definition.target_areas:
        goals = [g for g in content.goals if g.target_area == area]
        if not goals:
            continue
        parts.append(f"<h3>Innsatsområde: {escape(area)}</h3>")
        for goal in goals:
            parts.append(f"<h4>Mål {escape(goal.id)}: {escape(goal.title)}</h4>")
            for strategy in (s for s in content.strategies if s.goal_id == goal.id):
                parts.append(
                    f"<p><strong>Strategi {escape(strategy.id)}:</strong> {escape(strategy.title)}</p>"
                )
                for m in (m for m in content.measures if m.strategy_id == strategy.id):
                    parts.append(
                        f'<div class="measure"><strong>{escape(m.id)} {escape(m.title)}</strong><br>'
                        f"Utført? {escape(m.completion_criterion)}<br>"
                        f"Ansvar: {escape(m.responsible_unit)}; frist {m.due_year}<br>"
                        f"Kostnad: investering {_nok(m.costs.investment_nok)}, "
                        f"drift {_nok(m.costs.running_nok_per_year)} per år</div>"
                    )
    parts.append("<h2>Økonomi</h2>")
    parts += [f"<p>{escape(line)}</p>" for line in economy_lines(content)]
    parts.append("</body></html>")
    return "\n".join(parts)
