"""The fold of the events after adoption: the revision schedule and the yearly rounds
(rullering). ``domain.state.evolve`` hands these events here.
"""

from __future__ import annotations

from typing import Literal

from domain import events as ev
from domain.alike import alike
from domain.phases import Phase
from domain.plan_state import (
    ChangeProposal,
    Decision,
    GoalIndicatorState,
    MeasureReportState,
    PlanState,
    RevisionRound,
    ScheduleState,
    SignOff,
    _after,
    _content_version,
    _decision,
)
from domain.revision_models import ScheduleAction


def _added_to_round(state: PlanState, year: int, field: str, item: object) -> dict[str, object]:
    """``item`` appended to one of the year's round's tuples."""
    current = state.revision(year)
    assert current is not None
    return _with_round(state, year, **{field: (*getattr(current, field), item)})


def _with_round(state: PlanState, year: int, **changes: object) -> dict[str, object]:
    rounds = tuple(r.model_copy(update=changes) if r.year == year else r for r in state.revisions)
    return {"revisions": rounds}


def _round_after(
    state: PlanState, event: ev.YearEvent, decision: Decision, **round_changes: object
) -> PlanState:
    """``state`` after a year's event that changes only that year's round."""
    return _after(state, event, decision, **_with_round(state, event.year, **round_changes))


def _added_after(
    state: PlanState, event: ev.YearEvent, decision: Decision, field: str, item: object
) -> PlanState:
    """``state`` after a year's event that adds ``item`` to one of its round's tuples."""
    return _after(state, event, decision, **_added_to_round(state, event.year, field, item))


def _evolve_revision(state: PlanState, event: ev.Event) -> PlanState:  # noqa: PLR0911, PLR0912
    """The events after adoption: the revision schedule and the yearly rounds."""
    decided = _decision(event, None)
    match event:
        case ev.RevisionScheduleCreated():
            schedule = alike(
                ScheduleState, event, changed_by=event.actor_id, changed_at=event.occurred_at
            )
            return _after(state, event, decided, schedule=schedule)
        case ev.RevisionScheduleChanged():
            current = state.schedule
            if current is not None and event.action in (
                ScheduleAction.PAUSE,
                ScheduleAction.UNPAUSE,
            ):
                paused = event.action is ScheduleAction.PAUSE
                current = current.model_copy(
                    update={
                        "paused": paused,
                        "pause_reason": event.reason if paused else "",
                        "changed_by": event.actor_id,
                        "changed_at": event.occurred_at,
                    }
                )
            outcome = f"{event.action.value} failed" if event.failed else event.action.value
            decision = _decision(event, None, outcome=outcome, reason=event.failed or event.reason)
            return _after(state, event, decision, schedule=current)
        case ev.RevisionReminderSent():
            revision = alike(RevisionRound, event)
            return _after(state, event, decided, revisions=(*state.revisions, revision))
        case ev.ReportingRoundOpened():
            return _round_after(
                state,
                event,
                decided,
                content_version=event.content_version,
                measure_ids=event.measure_ids,
                deadline=event.deadline,
                round_open=True,
            )
        case ev.MeasureReported():
            report = alike(
                MeasureReportState, event, at=event.occurred_at, version=state.events_folded + 1
            )
            decision = _decision(event, None, outcome=event.status.value, reason=event.comment)
            return _added_after(state, event, decision, "reports", report)
        case ev.GoalIndicatorReported():
            value = alike(GoalIndicatorState, event, at=event.occurred_at)
            return _added_after(state, event, decided, "goal_indicators", value)
        case ev.ReportingRoundClosed():
            return _round_after(
                state, event, decided, round_open=False, unreported=event.unreported
            )
        case ev.ReportReminderRecorded():
            return _round_after(state, event, decided, reminded=event.measure_ids)
        case ev.ScorecardRecorded():
            return _round_after(state, event, decided, scorecard=event.scorecard)
        case ev.MeasureChangesProposed():
            proposal = alike(
                ChangeProposal, event, proposed_by=event.actor_id, at=event.occurred_at
            )
            version = _content_version(event, Phase.MEASURES)
            return _after(
                state,
                event,
                _on_version(event),
                content_versions=(*state.content_versions, version),
                **_added_to_round(state, event.year, "proposals", proposal),
            )
        case ev.MeasureChangesSignedOff():
            sign_off = alike(
                SignOff,
                event,
                step_key=f"revision.{event.year}.quality_assurance",
                body=event.actor_role,
                at=event.occurred_at,
            )
            return _added_after(state, event, _on_version(event), "sign_offs", sign_off)
        case ev.MeasureChangesRejected():
            return _after(
                state,
                event,
                _on_version(event, reason=event.reason),
                **_last_proposal_decided(state, event.year, "rejected", event.reason),
            )
        case ev.ContentRevised():
            return _after(
                state,
                event,
                _on_version(event),
                in_force_version=event.content_version,
                in_force_hash=event.content_hash,
                **_last_proposal_decided(state, event.year, "approved", ""),
            )
        case ev.RevisionConcluded():
            decision = _on_version(event, outcome=event.outcome)
            return _round_after(state, event, decision, outcome=event.outcome)
    raise TypeError(f"no fold rule for {type(event).__name__}")  # pragma: no cover


def _on_version(event: ev.YearContentEvent | ev.RevisionConcluded, **extra: object) -> Decision:
    """The decision of a year's event on one content version."""
    return _decision(event, None, content_version=event.content_version, **extra)


def _last_proposal_decided(
    state: PlanState, year: int, status: Literal["approved", "rejected"], reason: str
) -> dict[str, object]:
    current = state.revision(year)
    assert current is not None
    *earlier, last = current.proposals
    decided = last.model_copy(update={"status": status, "reason": reason})
    return _with_round(state, year, proposals=(*earlier, decided))
