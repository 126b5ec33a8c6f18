"""The scorecard (målekort) as Markdown and as an HTML page with a progress figure.

Pure string building, no I/O. The figure is an SVG drawn here (no fonts or scripts from
the network), so the page prints and archives as it is.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from domain.plan import PlanDefinition
from domain.revision_models import GoalProgress, IndicatorLine, Scorecard

BAR_WIDTH = 360
ROW_HEIGHT = 34
LABEL_WIDTH = 210


def _percent(done: int, total: int) -> str:
    # A no-break space: "100 %" must not wrap in a narrow column.
    return f"{round(100 * done / total)}\u00a0%" if total else "–"


def _value(value: Decimal | None, unit: str | None) -> str:
    if value is None:
        return "ikke rapportert"
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return f"{text} {unit}" if unit else text


def _indicator_row(line: IndicatorLine) -> tuple[str, str, str, str, str]:
    level = "Mål" if line.level == "goal" else "Tiltak"
    return (
        f"{level} {line.item_id}: {line.name}",
        _value(line.baseline, line.unit),
        _value(line.target, line.unit),
        _value(line.current, line.unit),
        _direction(line),
    )


def _direction(line: IndicatorLine) -> str:
    """How far from baseline toward target, in per cent (targets may lie below baseline)."""
    if line.current is None or line.target == line.baseline:
        return "–"
    share = (line.current - line.baseline) / (line.target - line.baseline)
    return f"{round(share * 100)}\u00a0%"


def render_scorecard_markdown(definition: PlanDefinition, card: Scorecard) -> str:
    lines = [
        f"# Målekort {card.year}: {definition.title}",
        "",
        f"{definition.municipality.name}. Planversjon {card.content_version} "
        f"(innholdshash `{card.content_hash}`).",
        "",
        f"**Tiltak utført: {card.done} av {card.total} ({_percent(card.done, card.total)})**",
        "",
        "| Mål / strategi | Utført | Totalt | Andel |",
        "| --- | ---: | ---: | ---: |",
    ]
    for goal in card.goals:
        lines.append(
            f"| **{goal.id}** ({goal.target_area}) | {goal.done} | {goal.total} | "
            f"{_percent(goal.done, goal.total)} |"
        )
        for strategy in goal.strategies:
            lines.append(
                f"| &nbsp;&nbsp;{strategy.id} | {strategy.done} | {strategy.total} | "
                f"{_percent(strategy.done, strategy.total)} |"
            )
    if card.indicators:
        lines += [
            "",
            "## Indikatorer",
            "",
            "| Indikator | Utgangspunkt | Mål | Nå | Oppnådd |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += ["| " + " | ".join(_indicator_row(i)) + " |" for i in card.indicators]
    if card.unreported:
        lines += ["", f"Ikke rapportert innen fristen: {', '.join(card.unreported)}."]
    return "\n".join(lines) + "\n"


def progress_svg(
    goals: tuple[GoalProgress, ...], title: str = "Andel tiltak utført per mål"
) -> str:
    """One bar per goal: the share of its measures reported done."""
    height = ROW_HEIGHT * max(len(goals), 1) + 10
    width = LABEL_WIDTH + BAR_WIDTH + 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'aria-labelledby="progress-title" font-family="sans-serif" font-size="13">',
        f'<title id="progress-title">{escape(title)}</title>',
    ]
    for row, goal in enumerate(goals):
        y = 5 + row * ROW_HEIGHT
        filled = round(BAR_WIDTH * goal.share)
        label = escape(goal.id)
        parts += [
            f'<text x="0" y="{y + 18}">{label}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{BAR_WIDTH}" height="20" '
            'fill="#e3e7ec" stroke="#8a96a3"/>',
            f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{filled}" height="20" fill="#1f6f43"/>',
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 18}">{goal.done}/{goal.total}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def render_scorecard_html(definition: PlanDefinition, card: Scorecard) -> str:
    rows: list[str] = []
    for goal in card.goals:
        rows.append(
            f"<tr class='goal'><th scope='row'>{escape(goal.id)} – {escape(goal.title)}</th>"
            f"<td>{goal.done}</td><td>{goal.total}</td>"
            f"<td>{_percent(goal.done, goal.total)}</td></tr>"
        )
        rows += [
            f"<tr><td class='strategy'>{escape(s.id)} – {escape(s.title)}</td>"
            f"<td>{s.done}</td><td>{s.total}</td><td>{_percent(s.done, s.total)}</td></tr>"
            for s in goal.strategies
        ]
    indicator_rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in _indicator_row(line)) + "</tr>"
        for line in card.indicators
    )
    unreported = (
        f"<p>Ikke rapportert innen fristen: {escape(', '.join(card.unreported))}.</p>"
        if card.unreported
        else ""
    )
    title = f"Målekort {card.year}: {definition.title}"
    return f"""<!doctype html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; max-width: 60rem; margin: 1rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border-bottom: 1px solid #ccd; padding: .3rem .5rem; text-align: left; }}
td:not(:first-child) {{ text-align: right; }}
td.strategy {{ padding-left: 1.5rem; }}
svg {{ max-width: 100%; height: auto; }}
@media print {{ body {{ margin: 0; }} }}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(definition.municipality.name)}. Planversjon {card.content_version},
innholdshash <code>{card.content_hash}</code>.</p>
<p><strong>Tiltak utført: {card.done} av {card.total}
({_percent(card.done, card.total)})</strong></p>
<figure>
{progress_svg(card.goals)}
<figcaption>Andel tiltak rapportert utført, per mål.</figcaption>
</figure>
<h2>Per mål og strategi</h2>
<table>
<thead><tr><th scope="col">Mål / strategi</th><th scope="col">Utført</th>
<th scope="col">Totalt</th><th scope="col">Andel</th></tr></thead>
<tbody>{"".join(rows)}</tbody>
</table>
<h2>Indikatorer</h2>
<table>
<thead><tr><th scope="col">Indikator</th><th scope="col">Utgangspunkt</th>
<th scope="col">Mål</th><th scope="col">Nå</th><th scope="col">Oppnådd</th></tr></thead>
<tbody>{indicator_rows}</tbody>
</table>
{unreported}
</body>
</html>
"""
