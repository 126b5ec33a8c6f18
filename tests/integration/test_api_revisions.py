"""The yearly revision through the API on the real servers: people report their measures
with receipts, every refusal leaves the record untouched, the project leader closes the
round and proposes changes, the steering group reviews them, and the scorecard is served
as it was rendered."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.integration.conftest import Servers, api_error, bearer
from tests.integration.test_api_malformed import BAD_BODIES

pytestmark = pytest.mark.servers


async def test_people_report_review_and_read_the_scorecard(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition, year = await servers.plan_with_open_round()
    plan = definition.plan_id
    store = servers.store
    tokens: dict[str, dict[str, str]] = {}

    async def token(person: str) -> dict[str, str]:
        if person not in tokens:
            tokens[person] = await bearer(servers.ctx, person)
        return tokens[person]

    tor, ola, kari, per = [
        await token(p) for p in ("tor.berg", "ola.hansen", "kari.nilsen", "per.olsen")
    ]
    base = f"/api/plans/{plan}/revisions"

    # The revision as the record has it, and what waits for Tor (Eiendomsavdelingen).
    listed = (await api.get(base, headers=tor)).json()
    assert [(r["year"], r["round_open"]) for r in listed] == [(year, True)]
    assert len(listed[0]["unreported"]) == len(listed[0]["measures"]) == 10
    revision = (await api.get(f"{base}/{year}", headers=tor)).json()
    assert revision["deadline"]
    assert {"tiltak-1.1.1", "tiltak-1.1.2", "tiltak-3.2.1"} <= set(revision["awaiting_me"])
    assert "tiltak-2.1.1" not in revision["awaiting_me"]
    reporters = {m["measure_id"]: m["reporters"] for m in revision["measures"]}
    assert reporters["tiltak-3.1.1"] == ["kari.nilsen"]  # nobody in that unit
    # The inbox lists each of them with the round's deadline.
    pending = list((await api.get("/api/me/pending", headers=tor)).json())
    reports = [p for p in pending if p["kind"] == "revision_report"]
    assert sorted(p["measure_id"] for p in reports) == sorted(revision["awaiting_me"])
    assert {(p["plan_id"], p["revision_year"], p["deadline"]) for p in reports} == {
        (plan, year, revision["deadline"])
    }
    assert not [p for p in pending if p["kind"] == "revision_review"]
    api_error(await api.get(f"{base}/{year + 1}", headers=tor), 404, "UnknownRevision")
    api_error(await api.get(base, headers=await bearer(servers.ctx, "nobody")), 403, "NotAllowed")

    # Refusals: each says why, and nothing is recorded.
    head = await store.head(plan)
    report = {"measure_id": "tiltak-1.1.1", "status": "done", "comment": "Regulert."}

    async def refused_report(
        headers: dict[str, str], expected_status: int, expected_code: str, **changes: str
    ) -> dict[str, Any]:
        """``report`` with ``changes`` sent with ``headers`` and refused: the error's body."""
        sent = await api.post(f"{base}/{year}/reports", json={**report, **changes}, headers=headers)
        return api_error(sent, expected_status, expected_code)

    wrong = await refused_report(ola, 403, "WrongRole")
    assert "not responsible for measure 'tiltak-1.1.1'" in wrong["message"]
    unknown = await refused_report(tor, 404, "UnknownItem", measure_id="tiltak-9.9.9")
    assert "tiltak-9.9.9" in unknown["message"]
    malformed = await refused_report(
        tor, 422, "InvalidValue", measure_id="tiltak-1.1.2", indicator_value="tjue"
    )
    assert "'tjue' is not a number" in malformed["message"]
    await refused_report(tor, 422, "InvalidValue", measure_id="tiltak-1.1.2")
    await refused_report(tor, 422, "ValidationError", status="halfway")
    await refused_report(ola, 422, "ValidationError", actor_id="tor.berg")
    await refused_report(await token("nobody"), 403, "NotAllowed")
    auditor = await bearer(servers.ctx, "revisjon", "auditor")
    await refused_report(auditor, 403, "NotAllowed")
    # No revision that year: its workflow does not exist.
    api_error(
        await api.post(f"{base}/{year + 1}/reports", json=report, headers=tor),
        404,
        "UnknownRevision",
    )
    api_error(
        await api.post(
            f"{base}/{year}/goal-indicators", json={"goal_id": "mal-1", "value": "1"}, headers=ola
        ),
        403,
        "WrongRole",
    )
    api_error(
        await api.post(
            f"{base}/{year}/goal-indicators", json={"goal_id": "mal-9", "value": "1"}, headers=kari
        ),
        404,
        "UnknownItem",
    )
    api_error(
        await api.post(
            f"{base}/{year}/goal-indicators",
            json={"goal_id": "mal-1", "value": "NaN"},
            headers=kari,
        ),
        422,
        "InvalidValue",
    )
    early = api_error(await api.post(f"{base}/{year}/close", headers=kari), 409, "GateNotOpen")
    assert "missing" in early["message"]
    api_error(await api.post(f"{base}/{year}/close", json={}, headers=tor), 403, "WrongRole")
    api_error(
        await api.post(f"{base}/{year}/conclude", headers=kari), 409, "GateNotOpen"
    )  # not before the scorecard
    # Malformed bodies on every revision route: a 4xx each, never a 5xx.
    for path in ("reports", "goal-indicators", "close", "changes", "changes/review", "conclude"):
        for bad_body in BAD_BODIES:
            answer = await api.post(
                f"{base}/{year}/{path}",
                content=bad_body,
                headers={**tor, "Content-Type": "application/json"},
            )
            assert 400 <= answer.status_code < 500, (path, bad_body, answer.text)
    assert await store.head(plan) == head

    # A report: the receipt names the stored event, which carries Tor as its actor.
    sent = await api.post(
        f"{base}/{year}/reports",
        json={**report, "measure_id": "tiltak-1.1.2", "indicator_value": 20.5},
        headers=tor,
    )
    assert sent.status_code == 200, sent.text
    receipt = sent.json()
    assert receipt["event_type"] == "measure_reported"
    event = next(e for e in await store.read(plan) if e.version == receipt["version"])
    assert (event.actor_id, event.hash, event.type) == (
        "tor.berg",
        receipt["hash"],
        "measure_reported",
    )
    assert event.data["measure_id"] == "tiltak-1.1.2"
    assert event.data["status"] == "done"
    assert Decimal(str(event.data["indicator_value"])) == Decimal("20.5")
    revision = (await api.get(f"{base}/{year}", headers=tor)).json()
    assert "tiltak-1.1.2" not in revision["awaiting_me"]
    measure = next(m for m in revision["measures"] if m["measure_id"] == "tiltak-1.1.2")
    assert measure["report"]["actor_id"] == "tor.berg"
    assert measure["report"]["version"] == receipt["version"]
    pending = (await api.get("/api/me/pending", headers=tor)).json()
    assert "tiltak-1.1.2" not in [p["measure_id"] for p in pending]

    # Everyone else reports theirs; the project leader a goal's indicator, then closes.
    for line in revision["measures"]:
        if line["report"] is not None:
            continue
        body: dict[str, Any] = {
            "measure_id": line["measure_id"],
            "status": "not_done" if line["measure_id"] == "tiltak-2.1.2" else "done",
        }
        if line["indicator_name"]:
            body["indicator_value"] = "65"
        answer = await api.post(
            f"{base}/{year}/reports", json=body, headers=await token(line["reporters"][0])
        )
        assert answer.status_code == 200, answer.text
    indicator = await api.post(
        f"{base}/{year}/goal-indicators", json={"goal_id": "mal-1", "value": 352}, headers=kari
    )
    assert indicator.status_code == 200, indicator.text
    assert (await api.get("/api/me/pending", headers=tor)).json() == []
    closed = await api.post(f"{base}/{year}/close", headers=kari)
    assert closed.status_code == 200, closed.text
    assert closed.json()["event_type"] == "reporting_round_closed"

    # The scorecard: recorded as an event, rendered into the scorecards table.
    for _ in range(200):
        card = await api.get(f"{base}/{year}/scorecard", headers=per)
        if card.status_code == 200:
            break
        assert card.json()["error"]["code"] == "NoScorecard"
        await asyncio.sleep(0.1)
    assert card.status_code == 200, card.text
    assert card.headers["content-type"].startswith("text/html")
    assert "<svg" in card.text
    assert "9 av 10" in card.text
    assert "'unsafe-inline'" in card.headers["content-security-policy"]
    markdown = await api.get(f"{base}/{year}/scorecard?format=markdown", headers=per)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert f"# Målekort {year}" in markdown.text
    api_error(
        await api.get(f"{base}/{year}/scorecard?format=pdf", headers=per), 422, "ValidationError"
    )
    revision = (await api.get(f"{base}/{year}", headers=per)).json()
    assert revision["round_open"] is False
    assert (revision["scorecard"]["done"], revision["scorecard"]["total"]) == (9, 10)

    # After the round has closed (and the scorecard is made), even the right person is refused, and nothing is recorded.
    head = await store.head(plan)
    late = api_error(
        await api.post(f"{base}/{year}/reports", json=report, headers=tor), 409, "GateNotOpen"
    )
    assert "is closed" in late["message"]
    assert await store.head(plan) == head

    # Next year's changes: proposed by the project leader, reviewed by the steering group.
    changes = {
        "changes": [
            {"kind": "retire", "measure_id": "tiltak-1.1.1", "reason": "Utført."},
        ]
    }
    api_error(await api.post(f"{base}/{year}/changes", json=changes, headers=tor), 403, "WrongRole")
    api_error(
        await api.post(
            f"{base}/{year}/changes",
            json={"changes": [{"kind": "retire", "measure_id": "tiltak-9.9.9", "reason": "x"}]},
            headers=kari,
        ),
        404,
        "UnknownItem",
    )
    proposed = await api.post(f"{base}/{year}/changes", json=changes, headers=kari)
    assert proposed.status_code == 200, proposed.text
    revision = (await api.get(f"{base}/{year}", headers=per)).json()
    proposal = revision["pending_proposal"]
    assert revision["review_awaits_me"] is True
    [review_item] = [
        p
        for p in (await api.get("/api/me/pending", headers=per)).json()
        if p["kind"] == "revision_review"
    ]
    assert (review_item["content_version"], review_item["content_hash"]) == (
        proposal["content_version"],
        proposal["content_hash"],
    )
    review = {
        "content_version": proposal["content_version"],
        "content_hash": proposal["content_hash"],
        "approve": True,
    }
    api_error(
        await api.post(f"{base}/{year}/changes/review", json=review, headers=ola), 403, "WrongRole"
    )
    api_error(
        await api.post(
            f"{base}/{year}/changes/review",
            json={**review, "content_hash": "0" * 64},
            headers=per,
        ),
        409,
        "StaleContent",
    )
    first = await api.post(f"{base}/{year}/changes/review", json=review, headers=per)
    assert first.status_code == 200, first.text
    assert first.json()["event_type"] == "measure_changes_signed_off"
    second = await api.post(f"{base}/{year}/changes/review", json=review, headers=tor)
    assert second.status_code == 200, second.text
    for _ in range(100):
        revision = (await api.get(f"{base}/{year}", headers=per)).json()
        if revision["outcome"]:
            break
        await asyncio.sleep(0.1)
    assert revision["outcome"] == "revised"
    assert [p["status"] for p in revision["proposals"]] == ["approved"]
    # Concluded: nothing waits any more.
    api_error(await api.post(f"{base}/{year}/conclude", headers=kari), 409, "GateNotOpen")
    assert not [
        p
        for p in (await api.get("/api/me/pending", headers=per)).json()
        if p["kind"] != "plan_step"
    ]
