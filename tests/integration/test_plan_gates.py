"""Gates on the real servers: changes requested, the council returning the plan, quorum
rules, and a repeated sign-off answered with its original receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import commands as cmd
from domain.gates import PlanStatus
from domain.phases import Phase
from domain.plan import PlanDefinition, QuorumRule
from domain.roles import Role
from domain.state import fold
from tests.integration.conftest import Engine, council_returns, passing_hearing, sign_off_by, unique

pytestmark = pytest.mark.servers


async def test_changes_requested_then_council_returns_to_strategies_and_plan_is_adopted(
    engine: Engine,
) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    hearing = passing_hearing(engine.env, driver)
    status = await driver.run_until(lambda s: s.step_key == "strategies.quality_assurance", hearing)
    first_version = status.content_version
    approver, objector = "per.olsen", "anne.larsen"
    await driver.update("sign_off", sign_off_by(status, approver, "strategies.quality_assurance"))
    refusal = await driver.update(
        "sign_off",
        sign_off_by(
            status,
            objector,
            "strategies.quality_assurance",
            role=None,
            approve=False,
            comment="Strategi 2.1 må si noe om bostedsløse.",
        ),
    )
    assert refusal.event_type == "changes_requested"
    status = await driver.wait_for(lambda s: s.step_key == "strategies.submit")
    assert status.content_version is None  # the rejected version is history now
    state = await driver.plan.state()
    assert state.under_review is None
    assert state.changes_requested[-1].reason == "Strategi 2.1 må si noe om bostedsløse."

    # Resubmitted: a new version, and the earlier approval no longer counts.
    status = await driver.run_until(lambda s: s.step_key == "strategies.quality_assurance", hearing)
    assert status.content_version is not None
    assert first_version is not None
    assert status.content_version > first_version
    steering = next(a for a in status.awaited if a.role is Role.STEERING_GROUP)
    assert steering.given == 0
    assert approver in steering.people

    # On to the council, which returns the plan to the strategies phase.
    status = await driver.run_until(lambda s: s.step_key == "adoption.council", hearing)
    *_, returned = await council_returns(
        driver,
        status,
        Phase.STRATEGIES,
        "Kommunestyret ber om en egen strategi for unge i etableringsfasen.",
    )
    assert returned.event_type == "vote_cast"
    status = await driver.wait_for(lambda s: s.step_key == "strategies.submit")
    assert status.phase is Phase.STRATEGIES

    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    store = engine.store
    events = await store.read_domain(definition.plan_id)
    assert fold(events) == await driver.plan.state()
    phases = [e.phase for e in events if e.type == "phase_started"]
    assert phases == [
        Phase.GOALS, Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING, Phase.ADOPTION,
        Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING, Phase.ADOPTION,
    ]  # fmt: skip
    decisions = [e for e in events if e.type == "council_decided"]
    assert [d.outcome for d in decisions] == ["returned", "adopted"]
    assert sum(1 for e in events if e.type == "hearing_opened") == 2
    assert (await store.verify(definition.plan_id)).ok


@pytest.mark.parametrize(
    ("rule", "needed"), [(QuorumRule.ANY, 1), (QuorumRule.MAJORITY, 2), (QuorumRule.ALL, 3)]
)
async def test_quorum_rule_decides_how_many_steering_members_must_sign(
    engine: Engine, rule: QuorumRule, needed: int
) -> None:
    base = engine.plan()
    quorum = {**base.settings.quorum, Role.STEERING_GROUP: rule}
    definition = base.model_copy(
        update={"settings": base.settings.model_copy(update={"quorum": quorum})}
    )
    members = [p.id for p in definition.members(Role.STEERING_GROUP)]
    assert len(members) == 3
    driver = await engine.started(definition)
    status = await driver.run_until(
        lambda s: s.step_key == "goals.quality_assurance", passing_hearing(engine.env, driver)
    )
    store = engine.store
    for signed, member in enumerate(members, start=1):
        receipt = await driver.update(
            "sign_off", sign_off_by(status, member, "goals.quality_assurance")
        )
        # Signing again gives the original receipt back and records nothing.
        before = len(await store.read(definition.plan_id))
        again = (
            await driver.update("sign_off", sign_off_by(status, member, "goals.quality_assurance"))
            if signed < needed
            else receipt
        )
        if signed < needed:
            assert again.duplicate
            assert (again.version, again.hash, again.event_id) == (
                receipt.version,
                receipt.hash,
                receipt.event_id,
            )
            assert len(await store.read(definition.plan_id)) == before
            now = await driver.status()
            assert now.step_key == "goals.quality_assurance"
            assert now.awaited[0].given == signed
            assert now.awaited[0].needed == needed
        else:
            now = await driver.wait_for(lambda s: s.phase is Phase.STRATEGIES)
            assert now.step_key == "strategies.submit"
            break
    sign_offs = [
        e for e in await store.read_domain(definition.plan_id) if e.type == "sign_off_given"
    ]
    assert len(sign_offs) == needed


async def test_steering_group_revises_after_the_hearing_and_responses_stay_in_the_record(
    engine: Engine, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)
    driver = await engine.started(definition)
    responses_sent = 0

    async def hearing(_status: PlanStatus) -> None:
        nonlocal responses_sent
        responses_sent += 1
        await driver.update(
            "respond_to_hearing",
            cmd.HearingResponse(name=f"Innbygger {responses_sent}", text="Flere boliger, takk."),
        )
        await engine.env.fast_forward(driver.handle, timedelta(weeks=6, minutes=5))

    status = await driver.run_until(lambda s: s.step_key == "hearing.decision", hearing)
    revised = await driver.vote(
        "decide_after_hearing",
        lambda person, role: cmd.HearingDecision(
            actor_id=person,
            role=role,
            outcome="revise",
            reason="Høringen viste behov for tiltak for unge.",
        ),
    )
    assert [r.event_type for r in revised] == ["vote_cast"] * len(revised)
    status = await driver.wait_for(lambda s: s.step_key == "draft.submit")
    assert status.phase is Phase.DRAFT
    assert status.hearing_responses == 1  # carried along into the revised draft
    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    assert final.hearing_responses == 1  # the second hearing's own count
    events = await engine.store.read_domain(definition.plan_id)
    # The record keeps both hearings' responses, and each close counts its own.
    assert sum(1 for e in events if e.type == "hearing_response_received") == 2
    assert [e.response_count for e in events if e.type == "hearing_closed"] == [1, 1]
    outcomes = [e.outcome for e in events if e.type == "hearing_decided"]
    assert outcomes == ["revise", "to_council"]
    draft_versions = [
        e.content_version
        for e in events
        if e.type == "content_submitted" and e.phase is Phase.DRAFT
    ]
    assert len(draft_versions) == 2
    assert draft_versions[1] > draft_versions[0]
