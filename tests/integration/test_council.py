"""Councils and committees as they decide, on the real servers and through the HTTP API:
a five-member council votes under 'majority', a tie is withdrawn, every council outcome
reaches the record, and a formannskap that is also the steering group signs twice."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.service import ApiContext
from api.web import csrf_token
from audit import verify_export
from audit.export import export_jsonl
from audit.report import export_html
from client.simulation import PlanDriver
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from domain.planfile import parse_plan_data
from domain.roles import Role
from eventstore import EventStore
from temaplan.cli import main
from tests.council import COUNCIL, amended_by_the_council, five_member_council_data
from tests.integration.conftest import Engine, bearer, passing_hearing, session_of, started, unique

pytestmark = pytest.mark.servers

MEETING = {"case_number": "PS 28/14", "meeting_date": "2026-05-14"}
AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def five_member_council(plan: PlanDefinition) -> PlanDefinition:
    data = five_member_council_data(plan)
    assert data["settings"]["quorum"]["municipal_council"] == "majority"
    return unique(parse_plan_data(data))


async def at_council(
    env: WorkflowEnvironment, queue: str, definition: PlanDefinition
) -> PlanDriver:
    driver = await started(env, queue, definition)
    hearing = passing_hearing(env, driver)
    status = await driver.run_until(lambda s: s.step_key == "adoption.council", hearing)
    assert status.step_key == "adoption.council"
    return driver


async def tokens(ctx: ApiContext, people: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {person: await bearer(ctx, person) for person in people}


async def at_five_member_council(
    engine: Engine, ctx: ApiContext
) -> tuple[PlanDriver, PlanStatus, dict[str, dict[str, str]]]:
    """Bodø's plan with a council of five at its vote to adopt: the driver, the status
    there, and the council's and the project leader's bearer headers."""
    driver = await at_council(engine.env, engine.task_queue, five_member_council(engine.bodo))
    return driver, await driver.status(), await tokens(ctx, (*COUNCIL, "kari.nilsen"))


async def outbox(pool: asyncpg.Pool, plan: str, person: str, part: str) -> list[str]:
    """The dedupe keys of the notifications queued for ``person`` containing ``part``,
    once there is one (the workflow announces a step a moment after it opens)."""
    for _ in range(200):
        keys = [
            str(row["dedupe_key"])
            for row in await pool.fetch(
                "SELECT dedupe_key FROM notification_outbox WHERE plan_id = $1 "
                "AND recipient_id = $2 AND strpos(dedupe_key, $3) > 0",
                plan,
                person,
                part,
            )
        ]
        if keys:
            return keys
        await asyncio.sleep(0.05)
    return []


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return str(error["message"])


async def plan_status(api: httpx.AsyncClient, plan: str, who: dict[str, str]) -> dict[str, Any]:
    status: dict[str, Any] = ok(await api.get(f"/api/plans/{plan}", headers=who))["status"]
    return status


async def wait_status(
    api: httpx.AsyncClient, plan: str, who: dict[str, str], ready: Any
) -> dict[str, Any]:
    for _ in range(300):
        status = await plan_status(api, plan, who)
        if ready(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"the plan did not move on: {status}")


def vote_body(driver_status: PlanStatus, outcome: str, **extra: Any) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "content_version": driver_status.content_version,
        "content_hash": driver_status.content_hash,
        "meeting": MEETING,
        **extra,
    }


async def test_five_member_council_decides_by_majority_and_a_tie_is_withdrawn(
    engine: Engine, api: httpx.AsyncClient, api_ctx: ApiContext
) -> None:
    driver, at, people = await at_five_member_council(engine, api_ctx)
    definition = driver.definition
    plan = definition.plan_id
    url = f"/api/plans/{plan}/council-decision"
    returned = {"return_to": "draft", "reason": "Mer om unge i etableringsfasen."}
    postponed = {"postponed_to": "2030-09-17", "reason": "Vent på budsjettet."}

    # A tie that cannot be broken: 2 adopt, 2 return, 1 postpones.
    for person, outcome, extra in (
        (COUNCIL[0], "adopted", {}),
        (COUNCIL[1], "returned", returned),
        (COUNCIL[2], "adopted", {}),
        (COUNCIL[3], "returned", returned),
    ):
        receipt = ok(
            await api.post(url, json=vote_body(at, outcome, **extra), headers=people[person])
        )
        assert receipt["event_type"] == "vote_cast"
    status = await plan_status(api, plan, people["kari.nilsen"])
    [tally] = status["tallies"]
    assert (tally["needed"], tally["members"], tally["awaited"]) == (3, 5, ["eva.strand"])
    assert [(c["proposal"], c["voters"]) for c in tally["counts"]] == [
        ("adopted", [COUNCIL[0], COUNCIL[2]]),
        ("returned to draft", [COUNCIL[1], COUNCIL[3]]),
    ]
    assert not status["deadlocked"]
    # The last member's page: the votes so far, and the form with every outcome.
    member = await session_of(api_ctx, COUNCIL[4])
    page = await api.get(f"/plans/{plan}", headers={"Cookie": f"temaplan_session={member}"})
    assert page.status_code == 200, page.text
    assert "3 trengs (5)" in page.text
    # People by name, as the plan file names them.
    name = {p.id: p.name for p in definition.participants}
    assert f"Sende tilbake → Utkast: 2 – {name[COUNCIL[1]]}, {name[COUNCIL[3]]}" in page.text
    assert f"Vedta: 2 – {name[COUNCIL[0]]}, {name[COUNCIL[2]]}" in page.text
    assert f"har ikke stemt: {name['eva.strand']}" in page.text
    for value in ("adopted", "adopted_with_changes", "postponed", "returned"):
        assert f'name="outcome" value="{value}"' in page.text
    assert 'name="case_number"' in page.text
    # Withdrawing a vote that can still decide is refused.
    withdraw = f"/api/plans/{plan}/vote/withdraw"
    message = refused(
        await api.post(
            withdraw,
            json={"step_key": "adoption.council", "reason": "for tidlig"},
            headers=people["kari.nilsen"],
        ),
        409,
        "GateNotOpen",
    )
    assert "can still reach its quorum" in message
    ok(
        await api.post(
            url, json=vote_body(at, "postponed", **postponed), headers=people[COUNCIL[4]]
        )
    )
    status = await plan_status(api, plan, people["kari.nilsen"])
    assert status["deadlocked"]
    assert status["step_key"] == "adoption.council"
    assert [(a["role"], a["people"]) for a in status["awaited"]] == [
        ("project_leader", ["kari.nilsen"])
    ]
    # The project leader is told.
    told = await outbox(engine.pool, plan, "kari.nilsen", "adoption.council/")
    assert any(key.endswith("/deadlocked/kari.nilsen") for key in told), told
    # The same vote sent again: the original receipt, nothing new recorded.
    store = engine.store
    before = len(await store.read(plan))
    again = ok(await api.post(url, json=vote_body(at, "adopted"), headers=people[COUNCIL[0]]))
    assert again["duplicate"] is True
    assert len(await store.read(plan)) == before
    # The web page says so, and offers the project leader the way out.
    key = await session_of(api_ctx, "kari.nilsen")
    session = {"Cookie": f"temaplan_session={key}"}
    page = await api.get(f"/plans/{plan}?lang=en", headers=session)
    assert page.status_code == 200
    assert "No proposal can reach the quorum any more" in page.text
    assert 'value="withdraw_vote"' in page.text
    # A member cannot withdraw; the project leader can, with a reason, through the form.
    refused(
        await api.post(
            withdraw,
            json={"step_key": "adoption.council", "reason": "x"},
            headers=people[COUNCIL[0]],
        ),
        403,
        "WrongRole",
    )
    withdrawn = await api.post(
        f"/plans/{plan}/decide",
        data={
            "csrf": csrf_token(key),
            "kind": "withdraw_vote",
            "step_key": "adoption.council",
            "reason": "Stemmelikhet; saken legges fram på nytt i neste møte.",
        },
        headers=session,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    status = await plan_status(api, plan, people["kari.nilsen"])
    assert not status["deadlocked"]
    assert status["votes"] == []
    assert status["awaited"][0]["people"] == list(COUNCIL)

    # Every member is told of the new vote.
    for person in COUNCIL:
        told = await outbox(engine.pool, plan, person, "/vote1/")
        assert len(told) == 1, (person, told)
    # The new vote: two adopting votes leave the plan waiting, the third adopts; a
    # returned vote in between is recorded and does not decide.
    for person in COUNCIL[:2]:
        ok(await api.post(url, json=vote_body(at, "adopted"), headers=people[person]))
    status = await plan_status(api, plan, people["kari.nilsen"])
    assert status["status"] == "active"
    assert status["step_key"] == "adoption.council"
    assert (status["awaited"][0]["given"], status["awaited"][0]["needed"]) == (2, 3)
    ok(await api.post(url, json=vote_body(at, "returned", **returned), headers=people[COUNCIL[2]]))
    last = ok(await api.post(url, json=vote_body(at, "adopted"), headers=people[COUNCIL[3]]))
    assert last["event_type"] == "vote_cast"
    assert (await driver.handle.result()).status == "adopted"

    events = await store.read_domain(plan)
    votes = [
        (e.actor_id, e.actor_role, e.outcome)
        for e in events
        if e.type == "vote_cast" and e.step_key == "adoption.council"
    ]
    council = Role.MUNICIPAL_COUNCIL
    assert votes == [
        (COUNCIL[0], council, "adopted"),
        (COUNCIL[1], council, "returned"),
        (COUNCIL[2], council, "adopted"),
        (COUNCIL[3], council, "returned"),
        (COUNCIL[4], council, "postponed"),
        (COUNCIL[0], council, "adopted"),
        (COUNCIL[1], council, "adopted"),
        (COUNCIL[2], council, "returned"),
        (COUNCIL[3], council, "adopted"),
    ]
    [withdrawal] = [e for e in events if e.type == "vote_withdrawn"]
    assert withdrawal.actor_id == "kari.nilsen"
    [decided] = [e for e in events if e.type == "council_decided"]
    assert decided.outcome == "adopted"
    assert decided.voters == (COUNCIL[0], COUNCIL[1], COUNCIL[3])
    assert (decided.actor_id, decided.needed) == ("municipal_council", 3)
    assert decided.meeting is not None
    assert decided.meeting.case_number == "PS 28/14"
    assert (await store.verify(plan)).ok


async def _audited(
    store: EventStore,
    plan: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    database_url: str,
    temporal_address: str,
) -> tuple[str, str, str]:
    """The record as auditors see it: `audit history`, the HTML report, the export
    (checked by the standalone verifier)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_address)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["audit", "history", plan, "--lang", "en"]) == 0
    history = capsys.readouterr().out
    report = tmp_path / "report.html"
    await export_html(store, plan, report, generated_at=AT)
    exported = tmp_path / "export.jsonl"
    await export_jsonl(store, plan, exported, exported_at=AT)
    assert verify_export.main([str(exported)]) == 0
    assert "OK: " in capsys.readouterr().out
    return history, report.read_text(encoding="utf-8"), exported.read_text(encoding="utf-8")


async def _state_as_of(plan: str, moment: datetime, capsys: pytest.CaptureFixture[str]) -> str:
    """`temaplan audit state PLAN --as-of MOMENT` (DATABASE_URL set by _audited)."""
    capsys.readouterr()
    assert (
        await asyncio.to_thread(
            main, ["audit", "state", plan, "--as-of", moment.isoformat(), "--lang", "en"]
        )
        == 0
    )
    return capsys.readouterr().out


@pytest.mark.parametrize("outcome", ["postponed", "adopted_with_changes", "returned"])
async def test_every_council_outcome_through_the_api_reaches_the_record(
    engine: Engine,
    api: httpx.AsyncClient,
    api_ctx: ApiContext,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    outcome: str,
) -> None:
    driver, at, people = await at_five_member_council(engine, api_ctx)
    definition = driver.definition
    plan = definition.plan_id
    assert definition.proposals is not None
    amended = amended_by_the_council(definition.proposals)
    reason = {
        "postponed": "Saken utsettes til budsjettet er behandlet.",
        "adopted_with_changes": "Tiltaket starter først i 2027.",
        "returned": "Legg inn et eget tiltak for unge i etableringsfasen.",
    }[outcome]
    extras: dict[str, dict[str, Any]] = {
        "postponed": {"postponed_to": "2030-09-17"},
        "adopted_with_changes": {"amended_content": amended.model_dump(mode="json")},
        "returned": {"return_to": "strategies"},
    }
    extra = extras[outcome]
    url = f"/api/plans/{plan}/council-decision"
    # Each outcome needs its reason.
    refused(
        await api.post(url, json=vote_body(at, outcome, **extra), headers=people[COUNCIL[0]]),
        422,
        "InvalidDecision",
    )
    store = engine.store
    for person in COUNCIL[:2]:
        ok(
            await api.post(
                url, json=vote_body(at, outcome, reason=reason, **extra), headers=people[person]
            )
        )
    two_votes = (await store.read(plan))[-1].recorded_at
    # The third vote through the web page's form, as a council member would send it.
    key = await session_of(api_ctx, COUNCIL[2])
    form = {
        "csrf": csrf_token(key),
        "kind": "council",
        "step_key": "adoption.council",
        "content_version": str(at.content_version),
        "content_hash": at.content_hash or "",
        "role": "municipal_council",
        "outcome": outcome,
        "reason": reason,
        "case_number": MEETING["case_number"],
        "meeting_date": MEETING["meeting_date"],
        "return_to": extra.get("return_to", ""),
        "postponed_to": extra.get("postponed_to", ""),
        "amended_content": json.dumps(extra["amended_content"])
        if "amended_content" in extra
        else "",
    }
    page = await api.post(
        f"/plans/{plan}/decide", data=form, headers={"Cookie": f"temaplan_session={key}"}
    )
    assert page.status_code == 200, page.text
    if outcome == "adopted_with_changes":
        # An adoption cannot be undone: the page asks again, and records nothing yet.
        assert "Bekreft vedtaket" in page.text
        assert (await store.read(plan))[-1].recorded_at == two_votes
        page = await api.post(
            f"/plans/{plan}/decide",
            data={**form, "confirmed": "yes"},
            headers={"Cookie": f"temaplan_session={key}"},
        )
        assert page.status_code == 200, page.text
    assert "Kvittering" in page.text
    [third] = [
        e
        for e in await store.read_domain(plan)
        if e.type == "vote_cast" and e.actor_id == COUNCIL[2] and e.step_key == "adoption.council"
    ]
    assert (third.outcome, third.reason) == (outcome, reason)
    assert third.meeting is not None
    assert third.meeting.case_number == "PS 28/14"
    leader = people["kari.nilsen"]

    if outcome == "postponed":
        status = await plan_status(api, plan, leader)
        assert (status["status"], status["step_key"]) == ("active", "adoption.council")
        assert status["postponed_to"] == "2030-09-17"
        assert status["content_version"] == at.content_version  # nothing else changed
        assert status["votes"] == []
    elif outcome == "adopted_with_changes":
        assert (await driver.handle.result()).status == "adopted"
        status = await plan_status(api, plan, leader)
        assert status["adopted_hash"] == amended.content_hash()
        assert status["content_version"] == (at.content_version or 0) + 1
        content = ok(await api.get(f"/api/plans/{plan}/content", headers=leader))
        assert content["content_hash"] == amended.content_hash()
    else:
        status = await wait_status(
            api, plan, leader, lambda s: s["step_key"] == "strategies.submit"
        )
        assert status["phase"] == "strategies"
        instructions = status["return_instructions"]
        assert instructions["instructions"] == reason
        assert instructions["return_to"] == "strategies"
        assert instructions["meeting"] == MEETING
        key = await session_of(api_ctx, "kari.nilsen")
        page = await api.get(f"/plans/{plan}", headers={"Cookie": f"temaplan_session={key}"})
        assert "Kommunestyret sendte planen tilbake" in page.text
        assert reason in page.text

    history, html, exported = await _audited(
        store,
        plan,
        tmp_path,
        monkeypatch,
        capsys,
        database_url,
        engine.env.client.service_client.config.target_host,
    )
    decided_rows = [line for line in history.splitlines() if " council_decided " in line]
    assert len(decided_rows) == 1
    assert outcome in decided_rows[0]
    assert "PS 28/14" in decided_rows[0]
    assert "votes 3/3" in decided_rows[0]
    council_votes = [
        line for line in history.splitlines() if " vote_cast " in line and " adoption " in line
    ]
    assert len(council_votes) == 3
    words = {
        "postponed": "utsatt til møtet 2030-09-17",
        "adopted_with_changes": "vedtatt med endringer",
        "returned": "sendt tilbake til fasen Strategier",
    }[outcome]
    assert words in html
    assert "sak PS 28/14, møte 2026-05-14" in html
    lines = [json.loads(line) for line in exported.splitlines()]
    [council] = [line for line in lines if line["type"] == "council_decided"]
    assert council["data"]["outcome"] == outcome
    assert council["data"]["meeting"] == MEETING
    assert council["data"]["reason"] == reason
    if outcome == "adopted_with_changes":
        [amendment] = [line for line in lines if line["type"] == "content_amended"]
        assert amendment["data"]["content_hash"] == amended.content_hash()
        assert "Kommunestyrets endringer" in html

    # The state as of the moment after two votes, and as of now.
    then = await _state_as_of(plan, two_votes, capsys)
    assert "Vote of municipal_council: 3 of 5 needed" in then
    assert f"not yet voted: {', '.join(COUNCIL[2:])}" in then
    now = await _state_as_of(plan, datetime.now(UTC), capsys)
    assert "Decided by municipal_council" in now
    assert "[PS 28/14, 2026-05-14]" in now
    if outcome == "postponed":
        assert "Postponed to the meeting on 2030-09-17" in now
    if outcome == "returned":
        assert f"Returned by the council to strategies: {reason}" in now


async def test_a_formannskap_that_is_the_steering_group_takes_a_plan_to_adoption(
    engine: Engine, api: httpx.AsyncClient, api_ctx: ApiContext
) -> None:
    data = engine.bodo.model_dump(mode="json")
    for person in data["participants"]:
        person["roles"] = [r for r in person["roles"] if r != "steering_group"] or ["project_group"]
    data["bodies"] = {"steering_group": "same_as political_leadership"}
    definition = unique(parse_plan_data(data))
    formannskap = ("siri.andreassen", "bjorn.eriksen")
    assert tuple(p.id for p in definition.members(Role.STEERING_GROUP)) == formannskap
    driver = await engine.started(definition)
    hearing = passing_hearing(engine.env, driver)
    status = await driver.run_until(lambda s: s.step_key == "draft.final_review", hearing)
    people = await tokens(api_ctx, formannskap)
    url = f"/api/plans/{definition.plan_id}/sign-offs"
    sign = {
        "step_key": "draft.final_review",
        "content_version": status.content_version,
        "content_hash": status.content_hash,
        "decision": "approve",
    }
    # In both bodies, the role must be named.
    refused(await api.post(url, json=sign, headers=people[formannskap[0]]), 403, "WrongRole")
    receipts: dict[tuple[str, str], dict[str, Any]] = {}
    for person in formannskap:
        for role in ("steering_group", "political_leadership"):
            receipt = ok(await api.post(url, json={**sign, "role": role}, headers=people[person]))
            assert not receipt["duplicate"]
            receipts[person, role] = receipt
            if (person, role) == (formannskap[0], "steering_group"):
                again = ok(await api.post(url, json={**sign, "role": role}, headers=people[person]))
                assert again["duplicate"] is True
                assert again["event_id"] == receipt["event_id"]
    assert len({r["event_id"] for r in receipts.values()}) == 4
    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"

    events = await engine.store.read_domain(definition.plan_id)
    final_review = [
        (e.actor_id, e.actor_role.value, str(e.event_id))
        for e in events
        if e.type == "sign_off_given" and e.step_key == "draft.final_review"
    ]
    assert final_review == [
        (person, role, receipts[person, role]["event_id"])
        for person in formannskap
        for role in ("steering_group", "political_leadership")
    ]
    # The formannskap also decided after the hearing, as the steering group.
    [decided] = [e for e in events if e.type == "hearing_decided"]
    assert decided.voters == formannskap
    assert decided.actor_role is Role.STEERING_GROUP
    assert (await engine.store.verify(definition.plan_id)).ok
