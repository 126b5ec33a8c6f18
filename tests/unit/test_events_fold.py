"""domain.state.fold: the plan state rebuilt from a sequence of decision events.

The story is Bodø's plan, shortened: the strategies are submitted, signed, sent back,
resubmitted, signed and anchored; then the plan goes on hearing and is adopted. (The
measures and draft phases are left out; the fold does not police the order.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.events import (
    AnchoringRecorded,
    ChangesRequested,
    ContentSubmitted,
    CouncilDecided,
    Event,
    HearingClosed,
    HearingOpened,
    HearingResponseReceived,
    PhaseStarted,
    PlanAdopted,
    PlanCreated,
    SignOffGiven,
)
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import fold

T0 = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
Contents = tuple[PlanContent, PlanContent]  # version 1 and the revised version 2

# Index of each event in the story, so tests can fold a prefix.
CREATED, STRATEGIES, SUBMIT_1, SIGN_1, CHANGES = 0, 1, 2, 3, 4
SUBMIT_2, SIGN_2, ANCHOR, HEARING, OPENED = 5, 6, 7, 8, 9
RESPONSE, CLOSED, ADOPTION, COUNCIL, ADOPTED = 10, 11, 12, 13, 14


def envelope(n: int, actor_id: str, role: Role) -> dict[str, Any]:
    return {
        "event_id": UUID(int=n),
        "occurred_at": T0 + timedelta(days=n),
        "actor_id": actor_id,
        "actor_role": role,
    }


def strategies_content(plan: PlanDefinition, revised: bool) -> PlanContent:
    assert plan.proposals is not None
    strategies = plan.proposals.strategies
    if revised:
        changed = strategies[1].model_copy(
            update={"title": strategies[1].title + " og bærekraftig fortetting"}
        )
        strategies = (strategies[0], changed, *strategies[2:])
    return PlanContent(goals=plan.proposals.goals, strategies=strategies)


@pytest.fixture
def contents(bodo: PlanDefinition) -> Contents:
    return strategies_content(bodo, revised=False), strategies_content(bodo, True)


@pytest.fixture
def story(bodo: PlanDefinition, contents: Contents) -> list[Event]:
    v1, v2 = contents
    leader = ("kari.nilsen", Role.PROJECT_LEADER)
    system = ("system", Role.SYSTEM)
    qa = "strategies.quality_assurance"
    deadline = T0 + timedelta(days=OPENED, weeks=6)

    def submitted_and_signed(n: int, version: int, content: PlanContent) -> list[Event]:
        """The leader submits ``content`` as event ``n``; per.olsen signs it off next."""
        return [
            ContentSubmitted(
                **envelope(n, *leader),
                phase=Phase.STRATEGIES,
                content_version=version,
                content_hash=content.content_hash(),
                content=content,
            ),
            SignOffGiven(
                **envelope(n + 1, "per.olsen", Role.STEERING_GROUP),
                phase=Phase.STRATEGIES,
                step_key=qa,
                content_version=version,
                content_hash=content.content_hash(),
            ),
        ]

    events: list[Event] = [
        PlanCreated(**envelope(0, *leader), plan_id=bodo.plan_id, definition=bodo),
        PhaseStarted(**envelope(1, *system), phase=Phase.STRATEGIES, reason="mål godkjent"),
        *submitted_and_signed(2, 1, v1),
        ChangesRequested(
            **envelope(4, "anne.larsen", Role.STEERING_GROUP),
            phase=Phase.STRATEGIES,
            step_key=qa,
            content_version=1,
            content_hash=v1.content_hash(),
            reason="Strategi 1.2 må si noe om fortetting.",
        ),
        *submitted_and_signed(5, 2, v2),
        AnchoringRecorded(
            **envelope(7, "siri.andreassen", Role.POLITICAL_LEADERSHIP),
            phase=Phase.STRATEGIES,
            step_key="strategies.anchoring",
            content_version=2,
            content_hash=v2.content_hash(),
            form="Referatsak til formannskapet",
        ),
        PhaseStarted(**envelope(8, *system), phase=Phase.HEARING),
        HearingOpened(
            **envelope(9, *leader),
            content_version=2,
            content_hash=v2.content_hash(),
            deadline=deadline,
        ),
        HearingResponseReceived(
            **envelope(10, "public", Role.PUBLIC),
            response_id="h-001",
            name="Leieboerforeningen i Bodø",
            organisation="Leieboerforeningen",
            text="Vi ber om flere rimelige utleieboliger i sentrum.",
        ),
        HearingClosed(**envelope(11, *system), response_count=1, early=False),
        PhaseStarted(**envelope(12, *system), phase=Phase.ADOPTION),
        CouncilDecided(
            **envelope(13, "siri.andreassen", Role.MUNICIPAL_COUNCIL),
            outcome="adopted",
            content_version=2,
            content_hash=v2.content_hash(),
        ),
        PlanAdopted(**envelope(14, *system), content_version=2, content_hash=v2.content_hash()),
    ]
    assert len(events) == ADOPTED + 1
    return events


def state_after(events: list[Event], index: int) -> PlanState:
    """The state once the event at ``index`` has been folded."""
    return fold(events[: index + 1])


def test_empty_fold_is_the_initial_state() -> None:
    state = fold([])
    assert state == PlanState()
    assert state.status == "not_started"


def test_plan_created_activates_the_plan(story: list[Event], bodo: PlanDefinition) -> None:
    state = state_after(story, CREATED)
    assert state.status == "active"
    assert state.plan_id == "1804-boligplan-2026"
    assert state.definition == bodo
    assert state.phase is None


def test_submission_puts_the_version_under_review(story: list[Event], contents: Contents) -> None:
    state = state_after(story, SUBMIT_1)
    assert state.phase is Phase.STRATEGIES
    assert state.under_review == 1
    assert state.completed_steps == ("strategies.submit",)
    current = state.content()
    assert current is not None
    assert current.content_hash == contents[0].content_hash()
    assert current.submitted_by == "kari.nilsen"


def test_sign_off_counts_on_the_version_under_review(story: list[Event]) -> None:
    state = state_after(story, SIGN_1)
    (sign_off,) = state.valid_sign_offs()
    assert sign_off.actor_id == "per.olsen"
    assert sign_off.body is Role.STEERING_GROUP
    assert sign_off.content_version == 1


def test_changes_requested_clears_review_and_sign_offs(story: list[Event]) -> None:
    state = state_after(story, CHANGES)
    assert state.under_review is None
    assert state.valid_sign_offs() == ()
    assert state.completed_steps == ()
    # The old sign-off stays in the record for auditors; it just no longer counts.
    assert len(state.sign_offs) == 1
    (request,) = state.changes_requested
    assert request.actor_id == "anne.larsen"
    assert request.reason == "Strategi 1.2 må si noe om fortetting."
    assert request.content_version == 1


def test_sign_off_on_the_old_version_does_not_count_after_resubmission(
    story: list[Event],
) -> None:
    state = state_after(story, SIGN_2)
    assert state.under_review == 2
    assert [s.content_version for s in state.sign_offs] == [1, 2]
    assert [s.content_version for s in state.valid_sign_offs()] == [2]


def test_anchoring_is_recorded_as_a_valid_sign_off_of_its_kind(story: list[Event]) -> None:
    state = state_after(story, ANCHOR)
    kinds = {(s.body, s.kind) for s in state.valid_sign_offs()}
    assert kinds == {
        (Role.STEERING_GROUP, "sign_off"),
        (Role.POLITICAL_LEADERSHIP, "anchoring"),
    }


def test_content_versions_are_kept_in_order(story: list[Event], contents: Contents) -> None:
    state = state_after(story, ANCHOR)
    assert [v.version for v in state.content_versions] == [1, 2]
    first, latest = state.content(1), state.latest_content()
    assert first is not None
    assert latest is not None
    assert first.content == contents[0]
    assert latest.content_hash == contents[1].content_hash()
    assert contents[0].content_hash() != contents[1].content_hash()


def test_new_phase_clears_completed_steps(story: list[Event]) -> None:
    state = state_after(story, HEARING)
    assert state.phase is Phase.HEARING
    assert state.completed_steps == ()


def test_hearing_opens_with_its_deadline(story: list[Event]) -> None:
    state = state_after(story, OPENED)
    assert state.hearing_open is True
    assert state.hearing_deadline == T0 + timedelta(days=OPENED, weeks=6)


def test_hearing_response_is_kept(story: list[Event]) -> None:
    state = state_after(story, RESPONSE)
    (response,) = state.hearing_responses
    assert response.response_id == "h-001"
    assert response.organisation == "Leieboerforeningen"
    assert response.at == T0 + timedelta(days=RESPONSE)


def test_hearing_close_marks_the_public_step_done(story: list[Event]) -> None:
    state = state_after(story, CLOSED)
    assert state.hearing_open is False
    assert "hearing.public" in state.completed_steps
    assert len(state.hearing_responses) == 1


def test_council_decision_alone_does_not_adopt(story: list[Event]) -> None:
    state = state_after(story, COUNCIL)
    assert state.status == "active"
    assert state.adopted_hash is None
    assert state.decisions[-1].outcome == "adopted"
    assert state.decisions[-1].actor_role is Role.MUNICIPAL_COUNCIL


def test_full_story_ends_adopted_with_the_hash_of_version_two(
    story: list[Event], contents: Contents
) -> None:
    state = fold(story)
    assert state.status == "adopted"
    assert state.phase is Phase.ADOPTION
    assert state.adopted_version == 2
    assert state.adopted_hash == contents[1].content_hash()
    assert state.events_folded == len(story)
    assert state.last_event_at == T0 + timedelta(days=ADOPTED)


def test_decisions_record_who_decided_what_in_order(story: list[Event]) -> None:
    state = fold(story)
    assert [(d.event_type, d.actor_id) for d in state.decisions] == [
        ("phase_started", "system"),
        ("content_submitted", "kari.nilsen"),
        ("sign_off_given", "per.olsen"),
        ("changes_requested", "anne.larsen"),
        ("content_submitted", "kari.nilsen"),
        ("sign_off_given", "per.olsen"),
        ("anchoring_recorded", "siri.andreassen"),
        ("phase_started", "system"),
        ("hearing_opened", "kari.nilsen"),
        ("hearing_closed", "system"),
        ("phase_started", "system"),
        ("council_decided", "siri.andreassen"),
    ]


def test_fold_can_resume_from_an_intermediate_state(story: list[Event]) -> None:
    middle = fold(story[:6])
    assert fold(story[6:], middle) == fold(story)


def test_fold_is_deterministic(story: list[Event]) -> None:
    assert fold(story) == fold(list(story))


# --- the council returns the plan to the draft phase --------------------------------


@pytest.fixture
def returned_story(bodo: PlanDefinition) -> list[Event]:
    content = bodo.proposals
    assert content is not None
    digest = content.content_hash()
    leader = ("kari.nilsen", Role.PROJECT_LEADER)
    system = ("system", Role.SYSTEM)
    review = {
        "phase": Phase.DRAFT,
        "step_key": "draft.final_review",
        "content_version": 1,
        "content_hash": digest,
    }
    return [
        PlanCreated(**envelope(0, *leader), plan_id=bodo.plan_id, definition=bodo),
        PhaseStarted(**envelope(1, *system), phase=Phase.DRAFT),
        ContentSubmitted(
            **envelope(2, *leader),
            phase=Phase.DRAFT,
            content_version=1,
            content_hash=digest,
            content=content,
        ),
        SignOffGiven(**envelope(3, "per.olsen", Role.STEERING_GROUP), **review),
        SignOffGiven(**envelope(4, "siri.andreassen", Role.POLITICAL_LEADERSHIP), **review),
        PhaseStarted(**envelope(5, *system), phase=Phase.HEARING),
        HearingOpened(
            **envelope(6, *leader),
            content_version=1,
            content_hash=digest,
            deadline=T0 + timedelta(days=48),
        ),
        HearingClosed(**envelope(48, *system), response_count=0, early=False),
        PhaseStarted(**envelope(49, *system), phase=Phase.ADOPTION),
        CouncilDecided(
            **envelope(50, "lise.mikkelsen", Role.MUNICIPAL_COUNCIL),
            outcome="returned",
            content_version=1,
            content_hash=digest,
            return_to=Phase.DRAFT,
            reason="Kostnadene for tomtebanken må utredes.",
        ),
        PhaseStarted(
            **envelope(51, *system), phase=Phase.DRAFT, reason="sendt tilbake av kommunestyret"
        ),
    ]


def test_returned_plan_is_back_in_draft_and_not_adopted(returned_story: list[Event]) -> None:
    state = fold(returned_story)
    assert state.phase is Phase.DRAFT
    assert state.status == "active"
    assert state.adopted_hash is None
    assert state.completed_steps == ()
    council = state.decisions[-2]
    assert (council.event_type, council.outcome) == ("council_decided", "returned")
    assert council.reason == "Kostnadene for tomtebanken må utredes."
    assert state.decisions[-1].reason == "sendt tilbake av kommunestyret"


def test_returned_plan_needs_a_new_final_review(returned_story: list[Event]) -> None:
    state = fold(returned_story)
    old_reviews = [s for s in state.valid_sign_offs() if s.step_key == "draft.final_review"]
    assert old_reviews == []
    assert state.under_review is None
