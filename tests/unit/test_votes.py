"""Decisions by vote (domain.votes, domain.vote_decisions, domain.council_decisions): a
body decides when one proposal reaches its quorum; a deadlock is shown and withdrawn;
every council outcome; one person in two bodies; a body that doubles as another in the
plan file."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain import commands as cmd
from domain import council_decisions, refusals, review_decisions, vote_decisions
from domain.events import (
    ContentSubmitted,
    Event,
    HearingClosed,
    HearingOpened,
    HearingSummarySubmitted,
)
from domain.gates import plan_status
from domain.hierarchy import PlanContent
from domain.phases import Phase
from domain.plan import PlanDefinition, QuorumRule
from domain.plan_state import PlanState
from domain.planfile import parse_plan_data
from domain.roles import Role
from domain.state import evolve, fold
from domain.votes import MeetingReference, Vote, tally
from tests.council import COUNCIL, amended_by_the_council, five_member_council_data
from tests.unit.conftest import Refuse, opened, phase_started

T0 = datetime(2026, 5, 14, 18, 0, tzinfo=UTC)
MEETING = MeetingReference(case_number="PS 28/14", meeting_date=date(2026, 5, 14))


def _ids() -> Callable[[], UUID]:
    counter = itertools.count(1000)
    return lambda: UUID(int=next(counter))


def five_member_council(plan: PlanDefinition, rule: QuorumRule = QuorumRule.MAJORITY) -> Any:
    data = five_member_council_data(plan)
    data["settings"]["quorum"]["municipal_council"] = rule.value
    return parse_plan_data(data)


def apply(state: PlanState, events: Iterable[Event]) -> PlanState:
    for event in events:
        state = evolve(state, event)
    return state


def at_step(plan: PlanDefinition, phase: Phase) -> PlanState:
    """The plan with its draft under review, at the first step of ``phase``."""
    assert plan.proposals is not None
    content = plan.proposals
    system = {"actor_id": "temaplan", "actor_role": Role.SYSTEM}
    events: list[Event] = [
        *opened(plan, Phase.DRAFT, T0),
        ContentSubmitted(
            event_id=UUID(int=3),
            occurred_at=T0,
            actor_id="kari.nilsen",
            actor_role=Role.PROJECT_LEADER,
            phase=Phase.DRAFT,
            content_version=1,
            content_hash=content.content_hash(),
            content=content,
        ),
    ]
    if phase is not Phase.DRAFT:
        events.append(phase_started(4, phase, T0))
    if phase is Phase.HEARING:
        events += [
            HearingOpened(
                event_id=UUID(int=5),
                occurred_at=T0,
                content_version=1,
                content_hash=content.content_hash(),
                deadline=T0 + timedelta(days=42),
                **system,
            ),
            HearingClosed(
                event_id=UUID(int=6), occurred_at=T0, response_count=0, early=False, **system
            ),
            HearingSummarySubmitted(
                event_id=UUID(int=7),
                occurred_at=T0,
                actor_id="kari.nilsen",
                actor_role=Role.PROJECT_LEADER,
                content_version=1,
                summary="Ingen uttalelser.",
            ),
        ]
    return fold(events)


def council_vote(state: PlanState, person: str, outcome: str, **extra: Any) -> list[Event]:
    current = state.content()
    assert current is not None
    command = cmd.CouncilDecision(
        actor_id=person,
        outcome=outcome,
        content_version=current.version,
        content_hash=current.content_hash,
        **extra,
    )
    return council_decisions.council_vote(state, command, T0, _ids())


def withdraw(
    state: PlanState, reason: str, actor_id: str = "kari.nilsen", **extra: Any
) -> list[Event]:
    """The council's vote withdrawn, by the project leader unless another is named."""
    command = cmd.WithdrawVote(
        actor_id=actor_id, step_key="adoption.council", reason=reason, **extra
    )
    return vote_decisions.withdraw_vote(state, command, T0, _ids())


def types(events: Sequence[Event]) -> list[str]:
    return [e.model_dump()["type"] for e in events]


@pytest.fixture
def council(bodo: PlanDefinition) -> PlanState:
    state = at_step(five_member_council(bodo), Phase.ADOPTION)
    assert plan_status(state).step_key == "adoption.council"
    return state


# --- counting -----------------------------------------------------------------------------


def _vote(person: str, outcome: str, body: Role = Role.MUNICIPAL_COUNCIL) -> Vote:
    return Vote(
        step_key="adoption.council",
        content_version=1,
        actor_id=person,
        body=body,
        outcome=outcome,
        at=T0,
    )


def test_tally_decides_when_one_proposal_reaches_the_quorum() -> None:
    votes = (_vote("a", "adopted"), _vote("b", "returned"), _vote("c", "adopted"))
    open_ = tally(votes, Role.MUNICIPAL_COUNCIL, ("a", "b", "c", "d", "e"), 3)
    assert open_.decided is None
    assert not open_.deadlocked
    assert open_.awaited == ("d", "e")
    decided = tally(
        (*votes, _vote("d", "adopted")),
        Role.MUNICIPAL_COUNCIL,
        ("a", "b", "c", "d", "e"),
        3,
    )
    assert decided.decided == "adopted"
    assert [(c.proposal, c.voters) for c in decided.counts] == [
        ("adopted", ("a", "c", "d")),
        ("returned", ("b",)),
    ]


def test_tally_is_deadlocked_when_no_proposal_can_reach_the_quorum() -> None:
    members = ("a", "b", "c", "d")
    tie = tally(
        (
            _vote("a", "adopted"),
            _vote("b", "adopted"),
            _vote("c", "returned"),
            _vote("d", "returned"),
        ),
        Role.MUNICIPAL_COUNCIL,
        members,
        3,
    )
    assert tie.deadlocked
    assert tie.decided is None
    # Under 'all' two different votes are enough, whoever is still to vote.
    dissent = tally(
        (_vote("a", "returned"), _vote("b", "adopted")), Role.MUNICIPAL_COUNCIL, members, 4
    )
    assert dissent.deadlocked
    assert dissent.awaited == ("c", "d")


def test_two_return_proposals_to_different_phases_are_different_proposals() -> None:
    first = _vote("a", "returned").model_copy(update={"return_to": Phase.DRAFT})
    second = _vote("b", "returned").model_copy(update={"return_to": Phase.GOALS})
    result = tally((first, second), Role.MUNICIPAL_COUNCIL, ("a", "b", "c"), 2)
    assert [c.proposal for c in result.counts] == ["returned to draft", "returned to goals"]
    assert result.decided is None


# --- the council votes -----------------------------------------------------------------


def test_two_adopting_votes_of_five_leave_the_plan_waiting_and_the_third_adopts(
    council: PlanState,
) -> None:
    state = council
    for person in COUNCIL[:2]:
        events = council_vote(state, person, "adopted", meeting=MEETING)
        assert types(events) == ["vote_cast"]
        state = apply(state, events)
    status = plan_status(state)
    assert status.step_key == "adoption.council"
    [count] = status.tallies
    assert (count.needed, count.members, count.awaited) == (3, 5, COUNCIL[2:])
    [awaited] = status.awaited
    assert (awaited.needed, awaited.given, awaited.people) == (3, 2, COUNCIL[2:])
    assert [(v.actor_id, v.proposal) for v in status.votes] == [
        (COUNCIL[0], "adopted"),
        (COUNCIL[1], "adopted"),
    ]

    returned = council_vote(
        state, COUNCIL[2], "returned", return_to=Phase.DRAFT, reason="Mer om unge."
    )
    assert types(returned) == ["vote_cast"]
    state = apply(state, returned)
    events = council_vote(state, COUNCIL[3], "adopted")
    assert types(events) == ["vote_cast", "council_decided", "plan_adopted"]
    decided = events[1]
    assert decided.model_dump()["voters"] == (COUNCIL[0], COUNCIL[1], COUNCIL[3])
    assert decided.model_dump()["needed"] == 3
    assert decided.model_dump()["meeting"] == MEETING.model_dump()
    assert (decided.actor_id, decided.actor_role) == ("municipal_council", Role.MUNICIPAL_COUNCIL)
    state = apply(state, events)
    assert state.status == "adopted"
    assert [d.outcome for d in state.decisions if d.event_type == "vote_cast"] == [
        "adopted",
        "adopted",
        "returned to draft",
        "adopted",
    ]


def test_a_member_votes_once_and_the_vote_stands(council: PlanState) -> None:
    state = apply(council, council_vote(council, COUNCIL[0], "adopted"))
    assert vote_decisions.existing_vote(state, "adoption.council", COUNCIL[0], None) is not None
    with pytest.raises(refusals.Refusal, match="has already voted 'adopted'"):
        council_vote(state, COUNCIL[0], "returned", return_to=Phase.DRAFT, reason="x")
    with pytest.raises(refusals.Refusal, match=r"cannot act at 'adoption\.council'"):
        council_vote(state, "kari.nilsen", "adopted")


def test_an_unbreakable_tie_is_deadlocked_and_the_project_leader_withdraws_it(
    council: PlanState,
) -> None:
    state = council
    plan: list[tuple[str, dict[str, object]]] = [
        ("adopted", {}),
        ("adopted", {}),
        ("returned", {"return_to": Phase.DRAFT, "reason": "Mer om unge."}),
        ("returned", {"return_to": Phase.DRAFT, "reason": "Enig."}),
        ("postponed", {"postponed_to": date(2026, 6, 18), "reason": "Vent på budsjettet."}),
    ]
    with pytest.raises(refusals.Refusal, match="the vote can still reach its quorum"):
        withdraw(state, "for tidlig")
    for person, (outcome, extra) in zip(COUNCIL, plan, strict=True):
        state = apply(state, council_vote(state, person, outcome, **extra))
    status = plan_status(state)
    assert status.deadlocked
    assert status.step_key == "adoption.council"
    # No vote can change it: the plan waits for the project leader to withdraw the item.
    [leader] = status.awaited
    assert (leader.role, leader.people) == (Role.PROJECT_LEADER, ("kari.nilsen",))
    with pytest.raises(refusals.Refusal, match="cannot withdraw"):
        withdraw(state, "x", actor_id=COUNCIL[0])
    withdrawn = withdraw(state, "Stemmelikhet; saken legges fram på nytt i neste møte.")
    assert types(withdrawn) == ["vote_withdrawn"]
    state = apply(state, withdrawn)
    status = plan_status(state)
    assert not status.deadlocked
    assert status.votes == ()
    assert status.awaited[0].people == COUNCIL
    assert len([x for x in state.decisions if x.event_type == "vote_cast"]) == 5  # kept


def test_a_withdrawal_can_send_the_plan_back_for_a_new_version(council: PlanState) -> None:
    events = withdraw(council, "Nye tall fra Husbanken.", return_to=Phase.MEASURES)
    assert types(events) == ["vote_withdrawn", "phase_started"]
    assert apply(council, events).phase is Phase.MEASURES
    with pytest.raises(refusals.Refusal, match="must be a phase before adoption"):
        withdraw(council, "x", return_to=Phase.ADOPTION)


# --- every council outcome ---------------------------------------------------------------


def test_postponed_waits_at_the_council_with_the_new_meeting_date(council: PlanState) -> None:
    with pytest.raises(refusals.Refusal, match="needs 'postponed_to'"):
        council_vote(council, COUNCIL[0], "postponed", reason="Budsjett.")
    with pytest.raises(refusals.Refusal, match="is not a later date"):
        council_vote(council, COUNCIL[0], "postponed", reason="Budsjett.", postponed_to=T0.date())
    with pytest.raises(refusals.Refusal, match="needs a reason"):
        council_vote(council, COUNCIL[0], "postponed", postponed_to=date(2026, 6, 18))
    state = council
    later = date(2026, 6, 18)
    for person in COUNCIL[:3]:
        events = council_vote(
            state, person, "postponed", reason="Vent på budsjettet.", postponed_to=later
        )
        state = apply(state, events)
    assert types(events) == ["vote_cast", "council_decided"]
    status = plan_status(state)
    assert (status.status, status.step_key, status.postponed_to) == (
        "active",
        "adoption.council",
        later,
    )
    assert status.votes == ()  # the next meeting votes afresh
    assert state.content_versions == council.content_versions
    # At the later meeting the council adopts; the postponement is over.
    for person in COUNCIL[:3]:
        state = apply(state, council_vote(state, person, "adopted"))
    assert state.status == "adopted"
    assert state.postponed_to is None


def test_adopted_with_changes_puts_the_councils_text_in_force(
    council: PlanState, bodo: PlanDefinition
) -> None:
    assert bodo.proposals is not None
    amended = amended_by_the_council(bodo.proposals)
    # None is amended_content's default: the same as leaving it out.
    for unusable, refused in (
        (None, "needs 'amended_content'"),
        (bodo.proposals, "unchanged"),
        (PlanContent(goals=bodo.proposals.goals), "problem"),
    ):
        with pytest.raises(refusals.Refusal, match=refused):
            council_vote(
                council,
                COUNCIL[0],
                "adopted_with_changes",
                reason="Endret.",
                amended_content=unusable,
            )
    state = council
    for person in COUNCIL[:3]:
        events = council_vote(
            state,
            person,
            "adopted_with_changes",
            reason="Tiltaket starter i 2027.",
            amended_content=amended,
        )
        state = apply(state, events)
    assert types(events) == ["vote_cast", "content_amended", "council_decided", "plan_adopted"]
    assert state.status == "adopted"
    assert state.adopted_version == 2
    assert state.adopted_hash == amended.content_hash() == state.in_force_hash
    version_2 = state.content(2)
    assert version_2 is not None
    assert version_2.content == amended
    assert events[1].model_dump()["reason"] == "Tiltaket starter i 2027."


def test_returned_with_instructions_shows_them_at_the_earlier_phase(council: PlanState) -> None:
    with pytest.raises(refusals.Refusal, match="'return_to' belongs to 'returned' only"):
        council_vote(council, COUNCIL[0], "adopted", return_to=Phase.DRAFT)
    instructions = "Legg inn et eget tiltak for unge i etableringsfasen."
    state = council
    for person in COUNCIL[:3]:
        events = council_vote(
            state,
            person,
            "returned",
            return_to=Phase.STRATEGIES,
            reason=instructions,
            meeting=MEETING,
        )
        state = apply(state, events)
    assert types(events) == ["vote_cast", "council_decided", "phase_started"]
    status = plan_status(state)
    assert status.phase is Phase.STRATEGIES
    assert status.return_instructions is not None
    assert status.return_instructions.instructions == instructions
    assert status.return_instructions.meeting == MEETING
    back = apply(state, [phase_started(99, Phase.ADOPTION, T0)])
    assert plan_status(back).return_instructions is None


# --- after the hearing ----------------------------------------------------------------


def test_after_the_hearing_the_steering_group_decides_by_its_quorum(bodo: PlanDefinition) -> None:
    state = at_step(bodo, Phase.HEARING)
    assert plan_status(state).step_key == "hearing.decision"
    members = [p.id for p in bodo.members(Role.STEERING_GROUP)]
    assert bodo.settings.quorum_for(Role.STEERING_GROUP) is QuorumRule.MAJORITY
    first = vote_decisions.hearing_vote(
        state, cmd.HearingDecision(actor_id=members[0], outcome="to_council"), T0, _ids()
    )
    assert types(first) == ["vote_cast"]
    state = apply(state, first)
    with pytest.raises(refusals.Refusal, match="needs a reason"):
        vote_decisions.hearing_vote(
            state, cmd.HearingDecision(actor_id=members[1], outcome="revise"), T0, _ids()
        )
    second = vote_decisions.hearing_vote(
        state, cmd.HearingDecision(actor_id=members[1], outcome="to_council"), T0, _ids()
    )
    assert types(second) == ["vote_cast", "hearing_decided"]
    assert second[1].model_dump()["voters"] == tuple(members[:2])
    state = apply(state, second)
    assert plan_status(state).phase is Phase.HEARING
    assert "hearing.decision" in state.completed_steps


# --- one person, several bodies ----------------------------------------------------------


@pytest.fixture
def formannskap(bodo_data: dict[str, Any]) -> PlanDefinition:
    """Gratangen's way: the formannskap is the steering group, written once."""
    for person in bodo_data["participants"]:
        person["roles"] = [r for r in person["roles"] if r != "steering_group"] or ["project_group"]
    bodo_data["bodies"] = {"steering_group": "same_as political_leadership"}
    return parse_plan_data(bodo_data)


def test_a_body_written_as_the_same_as_another_has_its_members(
    formannskap: PlanDefinition,
) -> None:
    steering = [p.id for p in formannskap.members(Role.STEERING_GROUP)]
    political = [p.id for p in formannskap.members(Role.POLITICAL_LEADERSHIP)]
    assert steering == political == ["siri.andreassen", "bjorn.eriksen"]
    assert formannskap.doubles_as(Role.STEERING_GROUP) is Role.POLITICAL_LEADERSHIP
    # Stored and read back (as the record does), the definition is the same.
    again = PlanDefinition.model_validate(formannskap.model_dump(mode="json"))
    assert again == formannskap


@pytest.mark.parametrize(
    ("bodies", "path", "fragment"),
    [
        ({"steering_group": "same as political_leadership"}, "bodies.steering_group", "write 'same_as <body>'"),
        ({"steering_group": "same_as formannskap"}, "bodies.steering_group", "'formannskap' is not a deciding body"),
        ({"steering_group": "same_as steering_group"}, "bodies.steering_group", "cannot be the same as itself"),
        ({"finance_office": "same_as steering_group"}, "bodies.finance_office", "only a deciding body"),
        (
            {"steering_group": "same_as political_leadership", "political_leadership": "same_as municipal_council"},
            "bodies.steering_group",
            "political_leadership is itself the same as municipal_council",
        ),
    ],
)  # fmt: skip
def test_a_doubled_body_is_validated_with_a_clear_message(
    bodo_data: dict[str, Any], refuse: Refuse, bodies: dict[str, str], path: str, fragment: str
) -> None:
    bodo_data["bodies"] = bodies
    error = refuse(bodo_data)
    assert any(p.path == path and fragment in p.message for p in error.problems), error.render()


def test_a_member_listed_in_the_double_but_not_the_body_is_refused(
    bodo_data: dict[str, Any], refuse: Refuse
) -> None:
    bodo_data["bodies"] = {"steering_group": "same_as political_leadership"}
    error = refuse(bodo_data)
    assert any(
        "'anne.larsen' is in steering_group but not in political_leadership" in p.message
        for p in error.problems
    ), error.render()


def _final_review(plan: PlanDefinition) -> PlanState:
    state = at_step(plan, Phase.DRAFT)
    # Draft steps 1-7 done: the final review is the step now open.
    done = tuple(f"draft.step{n}" for n in range(1, 8))
    return state.model_copy(update={"completed_steps": (*state.completed_steps, *done)})


def test_one_person_signs_the_final_review_in_each_of_two_roles(
    formannskap: PlanDefinition,
) -> None:
    state = _final_review(formannskap)
    assert plan_status(state).step_key == "draft.final_review"
    current = state.content()
    assert current is not None

    def sign(person: str, role: Role | None, approve: bool = True) -> cmd.SignOff:
        return cmd.SignOff(
            actor_id=person,
            step_key="draft.final_review",
            content_version=current.version,
            content_hash=current.content_hash,
            role=role,
            approve=approve,
            comment="" if approve else "Mer om økonomi.",
        )

    with pytest.raises(refusals.Refusal, match="say which role"):
        review_decisions.sign_off(state, sign("siri.andreassen", None), T0, _ids())
    first = review_decisions.sign_off(
        state, sign("siri.andreassen", Role.STEERING_GROUP), T0, _ids()
    )
    state = apply(state, first)
    assert review_decisions.existing_sign_off(state, sign("siri.andreassen", Role.STEERING_GROUP))
    assert not review_decisions.existing_sign_off(
        state, sign("siri.andreassen", Role.POLITICAL_LEADERSHIP)
    )
    assert not review_decisions.existing_sign_off(
        state, sign("siri.andreassen", None)
    )  # role unclear
    with pytest.raises(refusals.Refusal, match="has already approved"):
        review_decisions.sign_off(
            state, sign("siri.andreassen", Role.STEERING_GROUP, approve=False), T0, _ids()
        )
    second = review_decisions.sign_off(
        state, sign("siri.andreassen", Role.POLITICAL_LEADERSHIP), T0, _ids()
    )
    state = apply(state, second)
    assert [(e.actor_id, e.actor_role) for e in (*first, *second)] == [
        ("siri.andreassen", Role.STEERING_GROUP),
        ("siri.andreassen", Role.POLITICAL_LEADERSHIP),
    ]
    # One person counts toward both bodies' quorums: the formannskap is both.
    given = {a.role: a.given for a in plan_status(state).awaited}
    assert given == {Role.STEERING_GROUP: 1, Role.POLITICAL_LEADERSHIP: 1}


def test_changes_requested_again_in_the_same_role_is_recognised(
    formannskap: PlanDefinition,
) -> None:
    state = _final_review(formannskap)
    current = state.content()
    assert current is not None
    request = cmd.SignOff(
        actor_id="bjorn.eriksen",
        step_key="draft.final_review",
        content_version=current.version,
        content_hash=current.content_hash,
        role=Role.POLITICAL_LEADERSHIP,
        approve=False,
        comment="Mer om økonomi.",
    )
    state = apply(state, review_decisions.sign_off(state, request, T0, _ids()))
    assert review_decisions.existing_change_request(state, request)
    other_role = request.model_copy(update={"role": Role.STEERING_GROUP})
    assert not review_decisions.existing_change_request(state, other_role)
