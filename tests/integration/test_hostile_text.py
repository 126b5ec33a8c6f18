"""Text PostgreSQL cannot store, or a person should never send, is refused at every edge
with a 422 naming the field (API, web form, raw Updates and Signals as the `temporal`
CLI sends them), and the plan goes on: once, one NUL in a hearing response jammed a plan
for good (its append retried forever, jsonb cannot hold U+0000)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError

from client.simulation import PlanDriver, content_for
from domain.phases import Phase
from eventstore import EventStore
from tests.integration.conftest import Servers, bearer
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers


def refused_naming(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "ValidationError"
    assert any(p["path"] == field and "U+" in p["message"] for p in error["problems"]), error
    return str(error["message"])


async def responses_recorded(pool: asyncpg.Pool, plan: str) -> list[dict[str, Any]]:
    stored = await EventStore(pool).read(plan)
    return [e.data for e in stored if e.type == "hearing_response_received"]


async def test_hostile_text_is_refused_at_every_edge_and_jams_nothing(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition = servers.plan()
    plan = definition.plan_id
    admin = await bearer(servers.ctx, "kari.nilsen", "admin")

    # A plan title with NUL: refused, nothing started.
    body = definition.model_dump(mode="json")
    refused_naming(
        await api.post("/api/plans", json={**body, "title": "Bolig\u0000plan"}, headers=admin),
        "title",
    )
    assert await servers.store.head(plan) == (0, "0" * 64)
    started = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert started.status_code == 201, started.text

    # The project leader's content with a control character in a goal's title.
    handle = servers.client.get_workflow_handle(workflow_id_for(plan))
    driver = PlanDriver(handle, definition)
    await driver.wait_for(lambda s: s.step_key == "goals.submit")
    goals = content_for(Phase.GOALS, driver.proposals).model_dump(mode="json")
    goals["goals"][0]["title"] = "Flere\u0000boliger"
    refused_naming(
        await api.post(
            f"/api/plans/{plan}/content", json={"phase": "goals", "content": goals}, headers=admin
        ),
        "content.goals[0].title",
    )
    # The same as a raw Update (what `temporal workflow update` sends): refused by the
    # update's decoding before it reaches history, and the record does not move.
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            "submit_content",
            {"actor_id": "kari.nilsen", "phase": "goals", "content": goals},
        )
    assert (await servers.store.head(plan))[0] == 2

    async def no_hearing(_status: object) -> None:
        raise AssertionError("the hearing is not driven here")

    await driver.run_until(lambda s: s.phase is Phase.HEARING and s.hearing_open, no_hearing)

    # The public: NUL (no token needed), other C0 characters, a non-character, a lone
    # surrogate, through the API and through the web form.
    servers.ctx.limiter.limit = 100
    url = f"/api/public/plans/{plan}/hearing/responses"
    refused_naming(await api.post(url, json={"name": "a\u0000b", "text": "x"}), "name")
    refused_naming(await api.post(url, json={"name": "a", "text": "x\u0007y"}), "text")
    refused_naming(
        await api.post(url, json={"name": "a", "organisation": "\ufffe", "text": "x"}),
        "organisation",
    )
    lone = await api.post(
        url,
        content=b'{"name": "a\\ud800", "text": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert lone.status_code == 422, lone.text
    form = await api.post(
        f"/hearing/{plan}", data={"name": "Ola\u0001", "text": "Ja.", "consent": "yes"}
    )
    assert form.status_code == 422
    assert "U+0001" in form.text
    # A raw Signal cannot get it in either: logged and left out of the record.
    await handle.signal("hearing_response", {"name": "a\u0000b", "text": "signal"})
    await handle.signal("hearing_response", {"name": "a", "text": "x\u001b[2J"})

    # Nothing jammed: the next response from anyone is recorded at once.
    sent = await asyncio.wait_for(
        api.post(url, json={"name": "Åse", "text": "Flere utleieboliger.\n\tTakk."}), 15
    )
    assert sent.status_code == 201, sent.text
    await driver.wait_for(lambda s: s.hearing_responses == 1)
    recorded = await responses_recorded(servers.pool, plan)
    assert [(r["name"], r["text"]) for r in recorded] == [("Åse", "Flere utleieboliger.\n\tTakk.")]
    status = await api.get(f"/api/plans/{plan}", headers=admin)
    assert status.status_code == 200
    await handle.terminate("test done")
