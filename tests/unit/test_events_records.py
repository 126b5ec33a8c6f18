"""domain.events: records round-trip, events are frozen, old schemas are upcast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from domain import events as ev
from domain.canonical import canonical_json
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.revision_models import (
    ChangeKind,
    GoalProgress,
    IndicatorLine,
    MeasureChange,
    ProgressLine,
    ReportStatus,
    ScheduleAction,
    Scorecard,
)
from domain.roles import Role
from domain.votes import MeetingReference

T0 = datetime(2026, 3, 2, 8, 30, 15, 123456, tzinfo=UTC)
OSLO_WINTER = timezone(timedelta(hours=1))


def envelope(
    n: int, actor_id: str = "kari.nilsen", role: Role = Role.PROJECT_LEADER
) -> dict[str, Any]:
    return {
        "event_id": UUID(int=n),
        "occurred_at": T0 + timedelta(hours=n),
        "actor_id": actor_id,
        "actor_role": role,
    }


def one_of_each(plan: PlanDefinition) -> dict[str, ev.EventBase]:
    content = plan.proposals
    assert content is not None
    digest = content.content_hash()
    deadline = datetime(2026, 4, 13, 23, 59, tzinfo=OSLO_WINTER)
    # The quality-assurance step's decisions, all on version 3.
    at_review: dict[str, Any] = {
        "phase": Phase.MEASURES,
        "step_key": "measures.quality_assurance",
        "content_version": 3,
        "content_hash": digest,
    }
    samples: list[ev.EventBase] = [
        ev.PlanCreated(**envelope(1), plan_id=plan.plan_id, definition=plan),
        ev.PhaseStarted(**envelope(2, "system", Role.SYSTEM), phase=Phase.MEASURES),
        ev.PhaseCompleted(**envelope(3, "system", Role.SYSTEM), phase=Phase.GOALS),
        ev.ContentSubmitted(
            **envelope(4),
            phase=Phase.MEASURES,
            content_version=3,
            content_hash=digest,
            content=content,
        ),
        ev.CommentRoundOpened(
            **envelope(5, "system", Role.SYSTEM),
            phase=Phase.MEASURES,
            content_version=3,
            deadline=deadline,
        ),
        ev.CommentRecorded(
            **envelope(6, "marte.karlsen", Role.REFERENCE_GROUP),
            phase=Phase.MEASURES,
            content_version=3,
            text="Tiltak 2.2.2 bør også gjelde enslige mindreårige.",
        ),
        ev.CommentRoundClosed(
            **envelope(7, "system", Role.SYSTEM),
            phase=Phase.MEASURES,
            comment_count=1,
            early=True,
        ),
        ev.SignOffGiven(
            **envelope(8, "per.olsen", Role.STEERING_GROUP), **at_review, comment="Godkjent."
        ),
        ev.ChangesRequested(
            **envelope(9, "tor.berg", Role.STEERING_GROUP),
            **at_review,
            reason="Kostnadene for tomtebanken mangler drift.",
        ),
        ev.AnchoringRecorded(
            **envelope(10, "per.olsen", Role.ADMINISTRATIVE_LEADERSHIP),
            **{**at_review, "step_key": "measures.anchoring"},
            form="Orientering til kommunedirektørens ledergruppe",
        ),
        ev.DraftStepCompleted(
            **envelope(11, "geir.jakobsen", Role.FINANCE_OFFICE),
            step_key="draft.step6",
            step_number=6,
            content_version=3,
            note="Investering 139 mill. kr er innarbeidet i økonomiplanen.",
        ),
        ev.HearingOpened(**envelope(12), content_version=3, content_hash=digest, deadline=deadline),
        ev.HearingResponseReceived(
            **envelope(13, "public", Role.PUBLIC),
            response_id="h-007",
            name="Åse Øvergård",
            text="Bra plan, men for få boliger på Rønvik.",
        ),
        ev.HearingClosed(**envelope(14, "system", Role.SYSTEM), response_count=7, early=False),
        ev.HearingSummarySubmitted(
            **envelope(15), content_version=3, summary="Sju uttalelser, ingen innsigelser."
        ),
        ev.HearingDecided(**envelope(16, "per.olsen", Role.STEERING_GROUP), outcome="to_council"),
        ev.CouncilDecided(
            **envelope(17, "siri.andreassen", Role.MUNICIPAL_COUNCIL),
            outcome="returned",
            content_version=3,
            content_hash=digest,
            return_to=Phase.DRAFT,
            reason="Kostnadene må utredes nærmere.",
        ),
        ev.PlanAdopted(
            **envelope(18, "system", Role.SYSTEM), content_version=3, content_hash=digest
        ),
        ev.VoteCast(
            **envelope(19, "lise.mikkelsen", Role.MUNICIPAL_COUNCIL),
            phase=Phase.ADOPTION,
            step_key="adoption.council",
            content_version=3,
            content_hash=digest,
            outcome="postponed",
            postponed_to=date(2026, 6, 18),
            reason="Saken trenger en ny økonomisk vurdering.",
            meeting=MeetingReference(case_number="PS 28/14", meeting_date=date(2026, 5, 14)),
        ),
        ev.VoteWithdrawn(
            **envelope(20),
            phase=Phase.ADOPTION,
            step_key="adoption.council",
            content_version=3,
            reason="Stemmelikhet; saken legges fram på nytt.",
        ),
        ev.ContentAmended(
            **envelope(21, "system", Role.SYSTEM),
            phase=Phase.ADOPTION,
            content_version=4,
            content_hash=digest,
            content=content,
            amends_version=3,
            reason="Tiltak 3.2 får en egen finansiering.",
        ),
        *revision_samples(plan, deadline),
    ]
    return {ev.to_record(event)[0]: event for event in samples}


def revision_samples(plan: PlanDefinition, deadline: datetime) -> list[ev.EventBase]:
    content = plan.proposals
    assert content is not None
    digest = content.content_hash()
    measure = content.measures[0]
    system = ("system", Role.SYSTEM)
    year = 2027
    scorecard = Scorecard(
        year=year,
        content_version=3,
        content_hash=digest,
        done=1,
        total=2,
        goals=(
            GoalProgress(
                id="mal-1",
                title="Boligutvikling",
                target_area="Generell boligutvikling",
                done=1,
                total=2,
                strategies=(ProgressLine(id="s-1", title="Tomter", done=1, total=2),),
            ),
        ),
        indicators=(
            IndicatorLine(
                level="goal",
                item_id="mal-1",
                name="Nye boliger",
                unit="boliger",
                baseline=Decimal("310"),
                target=Decimal("400"),
                current=Decimal("352.5"),
            ),
        ),
        unreported=("t-2",),
    )
    return [
        ev.RevisionScheduleCreated(
            **envelope(19, *system),
            schedule_id=f"revision-{plan.plan_id}",
            month=9,
            day=1,
            hour=8,
            time_zone="Europe/Oslo",
            end_at=datetime(2029, 12, 31, 23, tzinfo=UTC),
        ),
        ev.RevisionScheduleChanged(
            **envelope(20, "espen.moe", Role.SCHEDULER),
            schedule_id=f"revision-{plan.plan_id}",
            action=ScheduleAction.PAUSE,
            reason="Budsjettprosessen er utsatt.",
        ),
        ev.RevisionReminderSent(
            **envelope(21, *system),
            year=year,
            workflow_id=f"revision-{plan.plan_id}-{year}",
            scheduled_at=datetime(2027, 9, 1, 6, tzinfo=UTC),
            recipients=("kari.nilsen", "tor.berg"),
        ),
        ev.ReportingRoundOpened(
            **envelope(22, *system),
            year=year,
            content_version=3,
            content_hash=digest,
            deadline=deadline,
            measure_ids=(measure.id,),
        ),
        ev.MeasureReported(
            **envelope(23, "tor.berg", Role.STEERING_GROUP),
            year=year,
            measure_id=measure.id,
            status=ReportStatus.DONE,
            comment="Ferdig i juni.",
            indicator_value=Decimal("12.50"),
        ),
        ev.GoalIndicatorReported(
            **envelope(24), year=year, goal_id="mal-1", value=Decimal("352.5")
        ),
        ev.ReportingRoundClosed(
            **envelope(25, *system), year=year, early=False, unreported=("t-2",)
        ),
        ev.ReportReminderRecorded(
            **envelope(26, *system), year=year, measure_ids=("t-2",), recipients=("kari.nilsen",)
        ),
        ev.ScorecardRecorded(**envelope(27, *system), year=year, scorecard=scorecard),
        ev.MeasureChangesProposed(
            **envelope(28),
            year=year,
            content_version=4,
            content_hash=digest,
            changes=(
                MeasureChange(kind=ChangeKind.RETIRE, measure_id=measure.id, reason="Utført."),
            ),
            content=content,
        ),
        ev.MeasureChangesSignedOff(
            **envelope(29, "per.olsen", Role.STEERING_GROUP),
            year=year,
            content_version=4,
            content_hash=digest,
        ),
        ev.MeasureChangesRejected(
            **envelope(30, "tor.berg", Role.STEERING_GROUP),
            year=year,
            content_version=4,
            content_hash=digest,
            reason="Tiltaket er ikke ferdig.",
        ),
        ev.ContentRevised(
            **envelope(31, *system), year=year, content_version=4, content_hash=digest
        ),
        ev.RevisionConcluded(
            **envelope(32, *system), year=year, outcome="revised", content_version=4
        ),
    ]


@pytest.fixture
def samples(bodo: PlanDefinition) -> dict[str, ev.EventBase]:
    return one_of_each(bodo)


def test_samples_cover_every_event_type(samples: dict[str, ev.EventBase]) -> None:
    assert set(samples) == set(ev.EVENT_TYPES)


def round_trip(event: ev.EventBase) -> ev.EventBase:
    event_type, version, data = ev.to_record(event)
    return ev.from_record(
        event_type=event_type,
        schema_version=version,
        data=data,
        event_id=str(event.event_id),
        actor_id=event.actor_id,
        actor_role=event.actor_role.value,
    )


@pytest.mark.parametrize("event_type", sorted(ev.EVENT_TYPES))
def test_record_round_trips(samples: dict[str, ev.EventBase], event_type: str) -> None:
    event = samples[event_type]
    back = round_trip(event)
    assert type(back) is type(event)
    assert back == event


@pytest.mark.parametrize("event_type", sorted(ev.EVENT_TYPES))
def test_record_data_excludes_the_envelope_and_is_canonical(
    samples: dict[str, ev.EventBase], event_type: str
) -> None:
    recorded_type, version, data = ev.to_record(samples[event_type])
    assert recorded_type == event_type
    assert version == 1
    assert not ev.ENVELOPE_FIELDS & set(data)
    assert "occurred_at" in data
    canonical_json(data)  # raises CanonicalFormError if a float or odd type slipped in


def test_record_keeps_indicator_decimals_as_text(
    samples: dict[str, ev.EventBase],
) -> None:
    _, _, data = ev.to_record(samples["content_submitted"])
    indicator = data["content"]["measures"][1]["indicator"]
    assert indicator["baseline"] == "12.5"


def test_events_are_frozen(samples: dict[str, ev.EventBase]) -> None:
    event = samples["sign_off_given"]
    with pytest.raises(ValidationError, match="frozen"):
        event.actor_id = "someone.else"  # type: ignore[misc]
    assert event.actor_id == "per.olsen"


def test_events_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ev.PhaseStarted(**envelope(1), phase=Phase.GOALS, note="nope")  # type: ignore[call-arg]


def test_events_refuse_naive_datetimes() -> None:
    data = envelope(1) | {"occurred_at": datetime(2026, 3, 2, 8, 30)}
    with pytest.raises(ValidationError, match="timezone"):
        ev.PhaseStarted(**data, phase=Phase.GOALS)


# --- upcasting ----------------------------------------------------------------------


OLD_HEARING_CLOSED: dict[str, Any] = {
    "occurred_at": "2026-04-14T10:00:00Z",
    "responses": 4,  # v1 called the count "responses"
    "early": False,
}


def rename_responses(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["response_count"] = data.pop("responses")
    return data


def test_upcast_brings_old_data_to_the_current_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ev.HearingClosed, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(ev.UPCASTERS, ("hearing_closed", 1), rename_responses)
    event = ev.from_record(
        event_type="hearing_closed",
        schema_version=1,
        data=OLD_HEARING_CLOSED,
        event_id=UUID(int=42),
        actor_id="system",
        actor_role="system",
    )
    assert isinstance(event, ev.HearingClosed)
    assert event.response_count == 4
    assert event.occurred_at == datetime(2026, 4, 14, 10, 0, tzinfo=UTC)
    assert "responses" in OLD_HEARING_CLOSED  # the stored row is not rewritten


def test_upcast_applies_every_step_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[int] = []

    def v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
        steps.append(1)
        return rename_responses(data)

    def v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
        steps.append(2)
        assert "response_count" in data  # sees v1_to_v2's output
        return {**data, "closed_by_deadline": not data["early"]}

    monkeypatch.setattr(ev.HearingClosed, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(ev.UPCASTERS, ("hearing_closed", 1), v1_to_v2)
    monkeypatch.setitem(ev.UPCASTERS, ("hearing_closed", 2), v2_to_v3)
    result = ev.upcast("hearing_closed", 1, OLD_HEARING_CLOSED)
    assert steps == [1, 2]
    assert result["response_count"] == 4
    assert result["closed_by_deadline"] is True
    assert "responses" not in result


def test_current_version_is_not_upcast() -> None:
    data = {"occurred_at": "2026-04-14T10:00:00Z", "response_count": 1, "early": True}
    assert ev.upcast("hearing_closed", 1, data) == data


def test_writing_uses_the_current_schema_version(
    monkeypatch: pytest.MonkeyPatch, samples: dict[str, ev.EventBase]
) -> None:
    monkeypatch.setattr(ev.HearingClosed, "SCHEMA_VERSION", 2)
    _, version, _ = ev.to_record(samples["hearing_closed"])
    assert version == 2


def test_missing_upcaster_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev.HearingClosed, "SCHEMA_VERSION", 2)
    with pytest.raises(ev.UnknownEventError, match="no upcaster from 'hearing_closed' v1 to v2"):
        ev.upcast("hearing_closed", 1, OLD_HEARING_CLOSED)


def test_newer_schema_version_than_known_is_refused() -> None:
    with pytest.raises(ev.UnknownEventError) as info:
        ev.upcast("hearing_closed", 2, {"response_count": 1, "early": True})
    message = str(info.value)
    assert "'hearing_closed' has schema version 2" in message
    assert "newer than this code understands (1)" in message


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ev.UnknownEventError, match="unknown event type 'plan_exploded'"):
        ev.from_record(
            event_type="plan_exploded",
            schema_version=1,
            data={},
            event_id=UUID(int=1),
            actor_id="system",
            actor_role="system",
        )
