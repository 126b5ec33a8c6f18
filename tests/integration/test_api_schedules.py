"""Schedulers through the API: a plan's revision schedule after adoption; pause, unpause
and trigger recorded as events with the scheduler as actor; others refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from client.plans import start_plan
from client.simulation import PlanDriver
from domain.ids import revision_year
from domain.state import fold
from tests.integration.conftest import Servers, bearer, closable_early, closing_early

pytestmark = pytest.mark.servers


async def test_schedulers_pause_unpause_and_trigger_with_receipts(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition = closable_early(servers.plan())
    plan = definition.plan_id
    espen = await bearer(servers.ctx, "espen.moe")  # the plan's scheduler
    per = await bearer(servers.ctx, "per.olsen")
    auditor = await bearer(servers.ctx, "revisjon", "auditor")
    handle = await start_plan(servers.client, definition, servers.task_queue)
    driver = PlanDriver(handle, definition)

    # No schedule before adoption.
    body = (await api.get(f"/api/plans/{plan}/schedule", headers=espen)).json()
    assert body["error"]["code"] in ("UnknownSchedule", "UnknownPlan")

    assert (await driver.run_to_adoption(closing_early(driver))).status == "adopted"

    view = await api.get(f"/api/plans/{plan}/schedule", headers=espen)
    assert view.status_code == 200, view.text
    assert view.json()["paused"] is False
    assert view.json()["time_zone"] == "Europe/Oslo"

    no_reason = await api.post(f"/api/plans/{plan}/schedule/pause", json={}, headers=espen)
    assert no_reason.status_code == 422
    assert "needs a reason" in no_reason.json()["error"]["message"]
    wrong = await api.post(f"/api/plans/{plan}/schedule/pause", json={"reason": "nei"}, headers=per)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "WrongRole")
    read_only = await api.post(
        f"/api/plans/{plan}/schedule/pause", json={"reason": "nei"}, headers=auditor
    )
    assert read_only.status_code == 403
    bad = await api.post(
        f"/api/plans/{plan}/schedule/pause",
        json={"reason": "x", "request_id": "not hex", "actor_id": "espen.moe"},
        headers=espen,
    )
    assert bad.status_code == 422

    reason = "Budsjettprosessen flyttes; rulleringen venter."
    paused = await api.post(
        f"/api/plans/{plan}/schedule/pause",
        json={"reason": reason, "request_id": "abcdef0123"},
        headers=espen,
    )
    assert paused.status_code == 200, paused.text
    receipt = paused.json()
    again = await api.post(
        f"/api/plans/{plan}/schedule/pause",
        json={"reason": reason, "request_id": "abcdef0123"},
        headers=espen,
    )
    # Sent again (an answer lost on the way): the original receipt, nothing recorded twice.
    assert again.status_code == 200, again.text
    assert again.json() == {**receipt, "duplicate": True}
    # A new request to pause what is paused is refused.
    refused = await api.post(
        f"/api/plans/{plan}/schedule/pause", json={"reason": reason}, headers=espen
    )
    assert refused.status_code in (409, 422), refused.text
    assert (await api.get(f"/api/plans/{plan}/schedule", headers=per)).json()["paused"] is True
    unpaused = await api.post(f"/api/plans/{plan}/schedule/unpause", json={}, headers=espen)
    assert unpaused.status_code == 200, unpaused.text
    triggered = await api.post(f"/api/plans/{plan}/schedule/trigger", json={}, headers=espen)
    assert triggered.status_code == 200, triggered.text

    stored = {e.version: e for e in await servers.store.read(plan)}
    assert sum(1 for e in stored.values() if e.actor_id == "espen.moe") == 3
    for answer in (receipt, unpaused.json(), triggered.json()):
        event = stored[answer["version"]]
        assert (event.actor_id, event.hash) == ("espen.moe", answer["hash"])
    assert reason in str(stored[receipt["version"]].data)

    # This year's revision now exists: a second trigger could start nothing. It is
    # recorded as failed and the scheduler gets a 4xx saying why.
    year = revision_year(datetime.now(UTC))
    for _ in range(300):
        if fold(await servers.store.read_domain(plan)).revision(year) is not None:
            break
        await asyncio.sleep(0.1)
    again_trigger = await api.post(f"/api/plans/{plan}/schedule/trigger", json={}, headers=espen)
    assert again_trigger.status_code == 409, again_trigger.text
    error = again_trigger.json()["error"]
    assert error["code"] == "RevisionCannotRun"
    assert f"the revision for {year} already exists" in error["message"]
    last = (await servers.store.read(plan))[-1]
    assert (last.type, last.actor_id) == ("revision_schedule_changed", "espen.moe")
    assert "already exists" in last.data["failed"]
