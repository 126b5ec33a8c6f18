"""The yearly revision's pure rules: reports, the round, the scorecard, changes, the
schedule's actions, and the scorecard's rendering. No servers."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from activities.scorecard_rendering import render_scorecard_html, render_scorecard_markdown
from domain import events as ev
from domain import revision_changes, revision_reports
from domain import revision_commands as rc
from domain import revision_decisions as rd
from domain.ids import revision_year
from domain.phases import Phase
from domain.plan import PlanDefinition, RevisionDate
from domain.plan_state import PlanState
from domain.refusals import NewId, Refusal
from domain.revision_models import ChangeKind, MeasureChange, ScheduleAction
from domain.roles import Role
from domain.state import fold

T0 = datetime(2027, 9, 1, 6, tzinfo=UTC)
YEAR = 2027


def ids() -> Iterator[UUID]:
    return (UUID(int=n) for n in itertools.count(1000))


def new_id_from(source: Iterator[UUID]) -> NewId:
    return lambda: next(source)


@pytest.fixture
def adopted(bodo: PlanDefinition) -> PlanState:
    content = bodo.proposals
    assert content is not None
    digest = content.content_hash()
    envelope = {"occurred_at": T0 - timedelta(days=200), "actor_id": "x", "actor_role": Role.SYSTEM}
    return fold(
        [
            ev.PlanCreated(event_id=UUID(int=1), plan_id=bodo.plan_id, definition=bodo, **envelope),
            ev.ContentSubmitted(
                event_id=UUID(int=2),
                phase=Phase.DRAFT,
                content_version=1,
                content_hash=digest,
                content=content,
                **envelope,
            ),
            ev.PlanAdopted(
                event_id=UUID(int=3), content_version=1, content_hash=digest, **envelope
            ),
            ev.RevisionScheduleCreated(
                event_id=UUID(int=4),
                schedule_id=f"revision-{bodo.plan_id}",
                month=9,
                day=1,
                hour=8,
                time_zone="Europe/Oslo",
                end_at=datetime(2029, 12, 31, 22, 59, 59, tzinfo=UTC),
                **envelope,
            ),
        ]
    )


def apply(state: PlanState, events: Sequence[ev.Event]) -> PlanState:
    return fold(events, state)


@pytest.fixture
def opened(adopted: PlanState) -> PlanState:
    new_id = new_id_from(ids())
    return apply(
        adopted,
        rd.open_revision(
            adopted, year=YEAR, workflow_id="w", scheduled_at=T0, at=T0, new_id=new_id
        ),
    )


def report(
    actor: str, measure: str, status: str = "done", value: str | None = None
) -> rc.ReportMeasure:
    return rc.ReportMeasure(
        actor_id=actor, year=YEAR, measure_id=measure, status=status, indicator_value=value
    )


def refusal(state: PlanState, command: rc.ReportMeasure) -> Refusal:
    with pytest.raises(Refusal) as caught:
        revision_reports.report_measure(state, command, T0, new_id_from(ids()))
    return caught.value


def test_open_revision_names_the_measures_and_who_is_told(opened: PlanState) -> None:
    revision = opened.revision(YEAR)
    assert revision is not None
    assert revision.round_open
    assert revision.deadline == T0 + timedelta(days=30)
    assert len(revision.measure_ids) == 10
    recipients = next(d for d in opened.decisions if d.event_type == "revision_reminder_sent")
    assert recipients.actor_role is Role.SYSTEM
    with pytest.raises(Refusal, match="already begun"):
        rd.open_revision(
            opened, year=YEAR, workflow_id="w", scheduled_at=T0, at=T0, new_id=new_id_from(ids())
        )
    with pytest.raises(Refusal, match="outside the planning period 2026-2029"):
        rd.open_revision(
            opened, year=2031, workflow_id="w", scheduled_at=T0, at=T0, new_id=new_id_from(ids())
        )


def test_a_revision_needs_an_adopted_plan(bodo: PlanDefinition) -> None:
    with pytest.raises(Refusal, match="not adopted"):
        rd.open_revision(
            PlanState(),
            year=YEAR,
            workflow_id="w",
            scheduled_at=T0,
            at=T0,
            new_id=new_id_from(ids()),
        )


def test_reports_are_checked_for_person_measure_status_and_value(opened: PlanState) -> None:
    assert "not responsible" in refusal(opened, report("ola.hansen", "tiltak-1.1.1")).message
    assert refusal(opened, report("tor.berg", "tiltak-0")).code.value == "UnknownItem"
    assert (
        "allowed: done, not_done"
        in refusal(opened, report("tor.berg", "tiltak-1.1.1", "yes")).message
    )
    assert (
        "'1,5' is not a number"
        in refusal(opened, report("tor.berg", "tiltak-1.1.2", "done", "1,5")).message
    )
    assert (
        "is not a finite decimal"
        in refusal(opened, report("tor.berg", "tiltak-1.1.2", "done", "NaN")).message
    )
    assert (
        "has no indicator"
        in refusal(opened, report("tor.berg", "tiltak-1.1.1", "done", "3")).message
    )
    assert "report its current value" in refusal(opened, report("tor.berg", "tiltak-1.1.2")).message
    [event] = revision_reports.report_measure(
        opened, report("tor.berg", "tiltak-1.1.2", "done", " 17.50 "), T0, new_id_from(ids())
    )
    assert isinstance(event, ev.MeasureReported)
    assert event.indicator_value == Decimal("17.50")


def test_the_project_leader_reports_for_units_nobody_in_the_plan_belongs_to(
    opened: PlanState,
) -> None:
    assert revision_reports.report_measure(
        opened, report("kari.nilsen", "tiltak-3.1.1"), T0, new_id_from(ids())
    )
    assert "not responsible" in refusal(opened, report("kari.nilsen", "tiltak-1.1.1")).message


def test_deadline_marks_the_unreported_and_the_scorecard_counts(opened: PlanState) -> None:
    source = ids()
    state = opened
    for actor, measure, status, value in (
        ("tor.berg", "tiltak-1.1.1", "done", None),
        ("tor.berg", "tiltak-1.1.1", "not_done", None),  # corrected: the latest counts
        ("tor.berg", "tiltak-1.1.2", "done", "30"),
        ("ola.hansen", "tiltak-2.1.1", "done", "95"),
    ):
        state = apply(
            state,
            revision_reports.report_measure(
                state, report(actor, measure, status, value), T0, new_id_from(source)
            ),
        )
    with pytest.raises(Refusal, match="only when every measure is reported"):
        revision_reports.close_round_early(
            state,
            rc.CloseReportingRound(actor_id="kari.nilsen", year=YEAR),
            T0,
            new_id_from(source),
        )
    closing = rd.close_reporting_round(state, YEAR, T0 + timedelta(days=30), new_id_from(source))
    assert [e.type for e in closing] == ["reporting_round_closed", "report_reminder_recorded"]
    state = apply(state, closing)
    assert rd.close_reporting_round(state, YEAR, T0, new_id_from(source)) == []
    assert "is closed" in refusal(state, report("tor.berg", "tiltak-3.2.2")).message
    [recorded] = rd.record_scorecard(state, YEAR, T0, new_id_from(source))
    assert isinstance(recorded, ev.ScorecardRecorded)
    card = recorded.scorecard
    assert (card.done, card.total) == (2, 10)
    assert {g.id: (g.done, g.total) for g in card.goals} == {
        "mal-1": (1, 3),
        "mal-2": (1, 4),
        "mal-3": (0, 3),
    }
    assert len(card.unreported) == 7
    current = {i.item_id: i.current for i in card.indicators}
    assert current == {
        "mal-1": None,
        "mal-2": None,
        "tiltak-1.1.2": Decimal("30"),
        "tiltak-2.1.1": Decimal("95"),
        "tiltak-3.2.1": None,
    }

    definition = state.definition
    assert definition is not None
    markdown = render_scorecard_markdown(definition, card)
    assert "**Tiltak utført: 2 av 10 (20\u00a0%)**" in markdown
    assert "| **mal-1** (Generell boligutvikling) | 1 | 3 | 33\u00a0% |" in markdown
    html = render_scorecard_html(definition, card)
    assert html.count("<rect") == 2 * len(card.goals)
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def changes(*items: MeasureChange) -> rc.ProposeChanges:
    return rc.ProposeChanges(actor_id="kari.nilsen", year=YEAR, changes=items)


def retire(measure_id: str, reason: str = "r") -> rc.ProposeChanges:
    """The project leader proposes to retire one measure."""
    return changes(MeasureChange(kind=ChangeKind.RETIRE, measure_id=measure_id, reason=reason))


def test_changes_are_applied_checked_and_approved_by_quorum(opened: PlanState) -> None:
    source = ids()
    state = apply(opened, rd.close_reporting_round(opened, YEAR, T0, new_id_from(source)))

    def propose(proposal: rc.ProposeChanges) -> list[ev.Event]:
        return revision_changes.propose_changes(state, proposal, T0, new_id_from(source))

    with pytest.raises(Refusal, match="after the 2027 scorecard"):
        propose(retire("tiltak-1.1.1"))
    state = apply(state, rd.record_scorecard(state, YEAR, T0, new_id_from(source)))

    with pytest.raises(Refusal, match="is not in the plan in force"):
        propose(retire("tiltak-0"))
    # Retiring the only measure of a strategy breaks the hierarchy.
    with pytest.raises(Refusal, match="has no measure"):
        propose(retire("tiltak-1.2.1"))
    with pytest.raises(Refusal, match="needs project_leader"):
        propose(retire("tiltak-1.1.1").model_copy(update={"actor_id": "tor.berg"}))

    [proposed] = propose(retire("tiltak-1.1.1", "Utført."))
    assert isinstance(proposed, ev.MeasureChangesProposed)
    assert proposed.content_version == 2
    assert "tiltak-1.1.1" not in {m.id for m in proposed.content.measures}
    state = apply(state, [proposed])
    review = {"year": YEAR, "content_version": 2, "content_hash": proposed.content_hash}

    with pytest.raises(Refusal, match="not the one under review"):
        revision_changes.review_changes(
            state,
            rc.ReviewChanges(actor_id="per.olsen", **{**review, "content_version": 1}),
            T0,
            new_id_from(source),
        )
    with pytest.raises(Refusal, match="needs steering_group"):
        revision_changes.review_changes(
            state, rc.ReviewChanges(actor_id="kari.nilsen", **review), T0, new_id_from(source)
        )
    first = revision_changes.review_changes(
        state, rc.ReviewChanges(actor_id="per.olsen", **review), T0, new_id_from(source)
    )
    assert [e.type for e in first] == ["measure_changes_signed_off"]
    state = apply(state, first)
    with pytest.raises(Refusal, match="already signed"):
        revision_changes.review_changes(
            state, rc.ReviewChanges(actor_id="per.olsen", **review), T0, new_id_from(source)
        )
    second = revision_changes.review_changes(
        state, rc.ReviewChanges(actor_id="tor.berg", **review), T0, new_id_from(source)
    )
    assert [e.type for e in second] == [
        "measure_changes_signed_off",
        "content_revised",
        "revision_concluded",
    ]
    state = apply(state, second)
    assert state.in_force_version == 2
    assert state.adopted_version == 1
    revision = state.revision(YEAR)
    assert revision is not None
    assert revision.outcome == "revised"
    with pytest.raises(Refusal, match="concluded"):
        revision_changes.conclude_revision(state, "kari.nilsen", YEAR, T0, new_id_from(source))


def test_rejected_changes_can_be_proposed_again(opened: PlanState) -> None:
    source = ids()
    state = apply(opened, rd.close_reporting_round(opened, YEAR, T0, new_id_from(source)))
    state = apply(state, rd.record_scorecard(state, YEAR, T0, new_id_from(source)))
    proposal = retire("tiltak-1.1.1")
    [proposed] = revision_changes.propose_changes(state, proposal, T0, new_id_from(source))
    assert isinstance(proposed, ev.MeasureChangesProposed)
    state = apply(state, [proposed])
    with pytest.raises(Refusal, match="waiting for the steering group"):
        revision_changes.propose_changes(state, proposal, T0, new_id_from(source))
    review = rc.ReviewChanges(
        actor_id="anne.larsen",
        year=YEAR,
        content_version=2,
        content_hash=proposed.content_hash,
        approve=False,
    )
    with pytest.raises(Refusal, match="needs a reason"):
        revision_changes.review_changes(state, review, T0, new_id_from(source))
    state = apply(
        state,
        revision_changes.review_changes(
            state, review.model_copy(update={"comment": "Ikke ferdig."}), T0, new_id_from(source)
        ),
    )
    revision = state.revision(YEAR)
    assert revision is not None
    assert revision.proposals[-1].status == "rejected"
    assert state.in_force_version == 1
    [again] = revision_changes.propose_changes(state, proposal, T0, new_id_from(source))
    assert isinstance(again, ev.MeasureChangesProposed)
    assert again.content_version == 3


def test_measure_change_shapes() -> None:
    with pytest.raises(ValidationError, match="names the measure with measure_id"):
        MeasureChange(kind=ChangeKind.RETIRE, reason="r")
    with pytest.raises(ValidationError, match="carries the whole measure"):
        MeasureChange(kind=ChangeKind.ADD, measure_id="x", reason="r")


def schedule(
    action: ScheduleAction, actor: str = "espen.moe", **extra: object
) -> rc.ScheduleCommand:
    return rc.ScheduleCommand(actor_id=actor, action=action, request_id="0123abcd", **extra)


def test_schedule_actions_need_a_scheduler_and_make_sense(adopted: PlanState) -> None:
    source = ids()
    with pytest.raises(Refusal, match="needs scheduler"):
        rd.schedule_action(
            adopted, schedule(ScheduleAction.TRIGGER, "kari.nilsen"), T0, new_id_from(source)
        )
    with pytest.raises(Refusal, match="not paused"):
        rd.schedule_action(adopted, schedule(ScheduleAction.UNPAUSE), T0, new_id_from(source))
    with pytest.raises(Refusal, match="needs a reason"):
        rd.schedule_action(
            adopted, schedule(ScheduleAction.PAUSE, reason="  "), T0, new_id_from(source)
        )
    with pytest.raises(Refusal, match="--from before --to"):
        rd.schedule_action(
            adopted,
            schedule(ScheduleAction.BACKFILL, backfill_from=T0, backfill_to=T0),
            T0,
            new_id_from(source),
        )
    paused = apply(
        adopted,
        rd.schedule_action(
            adopted, schedule(ScheduleAction.PAUSE, reason="Vent."), T0, new_id_from(source)
        ),
    )
    assert paused.schedule is not None
    assert paused.schedule.paused
    assert paused.schedule.pause_reason == "Vent."
    with pytest.raises(Refusal, match="unpause it before you trigger"):
        rd.schedule_action(paused, schedule(ScheduleAction.TRIGGER), T0, new_id_from(source))
    with pytest.raises(Refusal, match="already paused"):
        rd.schedule_action(
            paused, schedule(ScheduleAction.PAUSE, reason="x"), T0, new_id_from(source)
        )
    with pytest.raises(ValidationError):
        rc.ScheduleCommand(
            actor_id="espen.moe", action=ScheduleAction.TRIGGER, request_id="not hex!"
        )


def test_revision_year_is_oslo_year_across_new_year() -> None:
    assert revision_year(datetime(2027, 12, 31, 22, 59, tzinfo=UTC)) == 2027  # 23:59 Oslo
    assert revision_year(datetime(2027, 12, 31, 23, 0, tzinfo=UTC)) == 2028  # 00:00 Oslo
    assert revision_year(datetime(2027, 9, 1, 6, tzinfo=UTC)) == 2027


def test_revision_dates_exist_every_year() -> None:
    assert RevisionDate(month=9, day=1).hour == 8
    with pytest.raises(ValidationError, match="does not exist every year"):
        RevisionDate(month=2, day=29)
    with pytest.raises(ValidationError, match="allowed: 1-30"):
        RevisionDate(month=4, day=31)


def test_a_trigger_whose_revision_cannot_run_is_recorded_as_failed(
    adopted: PlanState, opened: PlanState
) -> None:
    source = ids()
    [fine] = rd.schedule_action(adopted, schedule(ScheduleAction.TRIGGER), T0, new_id_from(source))
    assert isinstance(fine, ev.RevisionScheduleChanged)
    assert fine.failed == ""
    assert "failed" not in ev.to_record(fine)[2]  # recorded as before when it succeeds
    # This year's revision already exists: the trigger would start nothing.
    [again] = rd.schedule_action(opened, schedule(ScheduleAction.TRIGGER), T0, new_id_from(source))
    assert isinstance(again, ev.RevisionScheduleChanged)
    assert "the revision for 2027 already exists" in again.failed
    # After the period (2026-2029 in Bodø's plan) no revision can run.
    later = datetime(2031, 3, 1, tzinfo=UTC)
    [over] = rd.schedule_action(
        adopted, schedule(ScheduleAction.TRIGGER), later, new_id_from(source)
    )
    assert isinstance(over, ev.RevisionScheduleChanged)
    assert over.failed == (
        "a revision for 2031 cannot run: it is outside the planning period 2026-2029"
    )
    state = apply(adopted, [over])
    assert (state.decisions[-1].outcome, state.decisions[-1].reason) == (
        "trigger failed",
        over.failed,
    )


def test_a_backfilled_round_counts_its_days_from_the_scheduled_time(adopted: PlanState) -> None:
    scheduled = datetime(2027, 9, 1, 6, tzinfo=UTC)
    today = datetime(2028, 2, 1, 9, tzinfo=UTC)
    events = rd.open_revision(
        adopted,
        year=2027,
        workflow_id="revision-x-2027",
        scheduled_at=scheduled,
        at=today,
        new_id=new_id_from(ids()),
        deadline_from=scheduled,
    )
    opened_round = next(e for e in events if isinstance(e, ev.ReportingRoundOpened))
    assert opened_round.deadline == scheduled + timedelta(days=30)
