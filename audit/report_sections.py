"""The report's sections read from the record: the facts, the chain's status, the
decision table, the hearings with their responses, and the adopted hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from audit.report_text import _RULINGS, _describe, _phase_of, _Text
from catalogue import formats as fmt
from domain.attestation import actor_kind
from domain.canonical import CanonicalFormError
from domain.events import (
    Event,
    HearingClosed,
    HearingDecided,
    HearingOpened,
    HearingResponseReceived,
    HearingSummarySubmitted,
    PhaseStarted,
)
from domain.hierarchy import Indicator, Measure, PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import ContentVersion, PlanState
from eventstore.chain import ChainChecker
from eventstore.records import StoredEvent


def _chain_status(stored: Sequence[StoredEvent]) -> dict[str, Any]:
    """Whether the hash chain holds, recomputed here: ok, or where it breaks and why."""
    checker = ChainChecker()
    for record in stored:
        try:
            broken = checker.feed_stored(record)
        except CanonicalFormError as exc:
            return {"ok": False, "version": record.version, "problem": str(exc)}
        if broken is not None:
            return {"ok": False, "version": broken.version, "problem": broken.problem}
    return {"ok": True, "count": checker.checked}


def _facts(
    text: _Text,
    *,
    state: PlanState,
    definition: PlanDefinition,
    stored: Sequence[StoredEvent],
    events: Sequence[Event],
    adoption: datetime | None,
) -> dict[str, Any]:
    if state.status == "adopted" and adoption is not None:
        status = text.raw("status_adopted", at=text.moment(adoption))
    elif state.status == "active":
        status = text.raw("status_active", phase=text.phase(state.phase))
    else:
        status = text.raw("status_not_started")
    adopted: dict[str, Any] | None = None
    if state.adopted_hash:
        version = state.content(state.adopted_version)
        computed = version.content.content_hash() if version else ""
        adopted = {
            "hash": state.adopted_hash,
            "matches": computed == state.adopted_hash,
            "computed": computed or "?",
        }
    return {
        "plan_id": state.plan_id or stored[0].stream_id,
        "plan_type": text.raw(f"plan_type_{definition.plan_type.value}"),
        "status": status,
        "adopted_version": state.adopted_version,
        "adopted": adopted,
        "count": len(stored),
        "first_hash": stored[0].hash,
        "last_hash": stored[-1].hash,
        "chain": _chain_status(stored),
        "plan_time": f"{text.moment(events[0].occurred_at)} – "
        f"{text.moment(events[-1].occurred_at)}",
        "people": [
            (p.name, p.id, ", ".join(text.role(r.value) for r in p.roles))
            for p in definition.participants
        ],
    }


def _decision_rows(
    text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    running: Phase | None = None
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, PhaseStarted):
            running = event.phase
        content_version = getattr(event, "content_version", None)
        content_hash = getattr(event, "content_hash", None)
        kind = actor_kind(record.actor_role, record.data)
        utc = event.occurred_at.astimezone(UTC)
        rows.append(
            {
                "version": record.version,
                "type": event.type,
                "ruling": event.type in _RULINGS,
                "oslo_day": fmt.short_day(event.occurred_at, text.language),
                "oslo_time": fmt.clock(event.occurred_at, text.language, seconds=True),
                "utc_day": f"{utc:%Y-%m-%d}",
                "utc_time": f"{utc:%H:%M:%S}",
                "actor": record.actor_id,
                "role": text.role(record.actor_role),
                # Whether the front door vouched for who decided (docs/audit-format.md).
                "attested": kind if kind in {"attested", "unattested"} else None,
                "authenticated_by": _authenticated_by(record),
                "decision": _describe(text, event),
                "phase": text.phase(_phase_of(event, running)),
                "content_version": content_version,
                "content_hash": content_hash if isinstance(content_hash, str) else None,
                "hash": record.hash,
            }
        )
    return rows


@dataclass
class _HearingRound:
    opened: tuple[int, HearingOpened] | None = None
    responses: list[tuple[int, HearingResponseReceived]] = field(default_factory=list)
    closed: HearingClosed | None = None
    summaries: list[tuple[int, HearingSummarySubmitted]] = field(default_factory=list)
    decisions: list[tuple[int, HearingDecided]] = field(default_factory=list)


def _hearing_rounds(stored: Sequence[StoredEvent], events: Sequence[Event]) -> list[_HearingRound]:
    rounds: list[_HearingRound] = []
    for record, event in zip(stored, events, strict=True):
        if isinstance(event, HearingOpened):
            rounds.append(_HearingRound(opened=(record.version, event)))
            continue
        if not isinstance(
            event,
            HearingResponseReceived | HearingClosed | HearingSummarySubmitted | HearingDecided,
        ):
            continue
        if not rounds:
            rounds.append(_HearingRound())
        current = rounds[-1]
        if isinstance(event, HearingResponseReceived):
            current.responses.append((record.version, event))
        elif isinstance(event, HearingClosed):
            current.closed = event
        elif isinstance(event, HearingSummarySubmitted):
            current.summaries.append((record.version, event))
        else:
            current.decisions.append((record.version, event))
    return rounds


def _hearings(
    text: _Text, stored: Sequence[StoredEvent], events: Sequence[Event]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for hearing in _hearing_rounds(stored, events):
        facts = []
        if hearing.opened is not None:
            opened = hearing.opened[1]
            facts.append(
                text.raw(
                    "hearing_round_facts",
                    opened=text.moment(opened.occurred_at),
                    version=opened.content_version,
                    deadline=text.moment(opened.deadline),
                )
            )
        if hearing.closed is not None:
            key = "hearing_closed_early" if hearing.closed.early else "hearing_closed_at"
            facts.append(
                text.raw(
                    key,
                    closed=text.moment(hearing.closed.occurred_at),
                    count=hearing.closed.response_count,
                )
            )
        else:
            facts.append(text.raw("hearing_still_open"))
        out.append(
            {
                "facts": " ".join(facts),
                "responses": [
                    {
                        "version": version,
                        "id": r.response_id,
                        "name": r.name,
                        "organisation": r.organisation or "",
                        "text": r.text,
                        "day": fmt.short_day(r.occurred_at, text.language),
                        "time": fmt.clock(r.occurred_at, text.language, seconds=True),
                    }
                    for version, r in hearing.responses
                ],
                "summaries": [
                    {
                        "by": text.raw(
                            "summary_by",
                            actor=s.actor_id,
                            at=text.moment(s.occurred_at),
                            version=version,
                        ),
                        "paragraphs": [p for p in s.summary.split("\n\n") if p.strip()],
                    }
                    for version, s in hearing.summaries
                ],
                "decisions": [
                    {
                        "by": text.raw(
                            "decision_by",
                            actor=", ".join(d.voters) or d.actor_id,
                            at=text.moment(d.occurred_at),
                            version=version,
                            outcome=text.raw(f"outcome_{d.outcome}"),
                        ),
                        "reason": text.raw("reason", reason=d.reason) if d.reason else "",
                    }
                    for version, d in hearing.decisions
                ],
            }
        )
    return out


def _indicator(text: _Text, indicator: Indicator) -> str:
    unit = f" {indicator.unit}" if indicator.unit else ""
    return text.raw(
        "indicator",
        name=indicator.name,
        baseline=f"{text.decimal(indicator.baseline)}{unit}",
        target=f"{text.decimal(indicator.target)}{unit}",
    )


def _measure(text: _Text, measure: Measure) -> dict[str, Any]:
    return {
        "id": measure.id,
        "title": measure.title,
        "completion": measure.completion_criterion,
        "responsible": measure.responsible_unit,
        "due_year": measure.due_year,
        "investment": text.nok(measure.costs.investment_nok),
        "running": text.nok(measure.costs.running_nok_per_year),
        "basis": text.raw(f"basis_{measure.basis.value}"),
        "actor": text.raw(f"actor_{measure.actor.value}"),
        "target_groups": ", ".join(measure.target_groups),
        "indicator": _indicator(text, measure.indicator) if measure.indicator else "",
    }


def _hierarchy(text: _Text, state: PlanState, definition: PlanDefinition) -> dict[str, Any]:
    version: ContentVersion | None
    if state.adopted_version is not None:
        version, heading = state.content(state.adopted_version), text.raw("hierarchy")
    else:
        version, heading = state.latest_content(), text.raw("hierarchy_latest")
    if version is None:
        return {"heading": heading, "version": None}
    content: PlanContent = version.content
    areas = list(definition.target_areas)
    areas += [g.target_area for g in content.goals if g.target_area not in areas]
    tree = []
    for area in areas:
        goals = []
        for goal in (g for g in content.goals if g.target_area == area):
            strategies = [
                {
                    "id": s.id,
                    "title": s.title,
                    "measures": [
                        _measure(text, m) for m in content.measures if m.strategy_id == s.id
                    ],
                }
                for s in content.strategies
                if s.goal_id == goal.id
            ]
            goals.append(
                {
                    "id": goal.id,
                    "title": goal.title,
                    "target_groups": ", ".join(goal.target_groups),
                    "indicator": _indicator(text, goal.indicator) if goal.indicator else "",
                    "strategies": strategies,
                }
            )
        if goals:
            tree.append((area, goals))
    totals = content.cost_totals()
    unknown = content.measures_with_unknown_costs()
    line = text.raw(
        "totals",
        count=len(content.measures),
        investment=text.nok(totals.investment_nok),
        running=text.nok(totals.running_nok_per_year),
    )
    if unknown:
        line += " " + text.raw("totals_exclude", measures=", ".join(unknown))
    return {
        "heading": heading,
        "version": version.version,
        "facts": text.raw(
            "hierarchy_facts",
            version=version.version,
            at=text.moment(version.submitted_at),
            actor=version.submitted_by,
        ),
        "hash": version.content_hash,
        "tree": tree,
        "totals": line,
    }


def _authenticated_by(record: StoredEvent) -> str | None:
    """How the front door authenticated the actor (a token id or an identity provider)."""
    how = record.data.get("authenticated_by")
    return how if isinstance(how, str) and how else None
