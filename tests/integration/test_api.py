"""The HTTP API against the real servers: a worker on the dev server, a fresh database,
tokens in PostgreSQL, every decision through the workflow's Updates."""

from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest

from api.service import ApiContext
from client.simulation import PlanDriver
from domain.phases import Phase
from domain.plan import PlanDefinition
from eventstore import EventStore
from tests.integration.conftest import (
    EARLY_CLOSE,
    Servers,
    api_error,
    bearer,
    closable_early,
    goals_submission,
    unique,
)
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers


async def _created(
    api: httpx.AsyncClient, ctx: ApiContext, definition: PlanDefinition
) -> dict[str, str]:
    """The Bodø plan started by its project leader, who is also an administrator."""
    admin = await bearer(ctx, "kari.nilsen", "admin")
    response = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert response.status_code == 201, response.text
    return admin


async def test_people_act_as_themselves_with_receipts(
    api: httpx.AsyncClient, api_ctx: ApiContext, pool: object, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    plan = definition.plan_id
    admin = await _created(api, api_ctx, definition)
    per = await bearer(api_ctx, "per.olsen")
    marte = await bearer(api_ctx, "marte.karlsen")
    outsider = await bearer(api_ctx, "nobody")

    # Administrators only start plans; the same plan twice is refused.
    api_error(
        await api.post("/api/plans", content=definition.model_dump_json(), headers=per),
        403,
        "NotAllowed",
    )
    api_error(
        await api.post("/api/plans", content=definition.model_dump_json(), headers=admin),
        409,
        "PlanExists",
    )
    # Same validation and messages as the plan file, with field paths.
    broken = json.loads(definition.model_dump_json())
    broken["municipality"]["number"] = "18O4"
    broken["period"]["from_year"] = 1900
    body = api_error(
        await api.post("/api/plans", json=broken, headers=admin), 422, "ValidationError"
    )
    paths = {p["path"] for p in body["problems"]}
    assert {"municipality.number", "period.from_year"} <= paths
    assert "expected four digits" in body["message"]
    api_error(
        await api.post("/api/plans", content=b"{not json", headers=admin), 422, "ValidationError"
    )

    # Lists: every plan for the administrator, their own for participants, none for others.
    listed = (await api.get("/api/plans", headers=admin)).json()
    mine = next(p for p in listed if p["plan_id"] == plan)
    assert mine["phase"] == "goals"
    assert mine["awaited_roles"] == ["project_leader"]
    assert [p["plan_id"] for p in (await api.get("/api/plans", headers=per)).json()] == [plan]
    assert (await api.get("/api/plans", headers=outsider)).json() == []
    api_error(await api.get(f"/api/plans/{plan}", headers=outsider), 403, "NotAllowed")
    api_error(await api.get("/api/plans/1804-nope", headers=per), 404, "UnknownPlan")

    # The project leader submits the goals; only she may.
    proposals = bodo.proposals
    assert proposals is not None
    goals = goals_submission(bodo)
    api_error(
        await api.post(f"/api/plans/{plan}/content", json=goals, headers=per), 403, "WrongRole"
    )
    submitted = await api.post(f"/api/plans/{plan}/content", json=goals, headers=admin)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["event_type"] == "content_submitted"

    # The steering group member sees the sign-off waiting, and the tree under review.
    pending = (await api.get("/api/me/pending", headers=per)).json()
    assert [(p["plan_id"], p["step_key"], p["role"]) for p in pending] == [
        (plan, "goals.quality_assurance", "steering_group")
    ]
    content = (await api.get(f"/api/plans/{plan}/content", headers=per)).json()
    assert content["version"] == 1
    assert content["content_hash"] == pending[0]["content_hash"]
    assert content["tree"][0]["goal"]["id"] == proposals.goals[0].id
    assert (await api.get("/api/me/pending", headers=marte)).json() == []

    sign = {
        "step_key": "goals.quality_assurance",
        "content_version": 1,
        "content_hash": content["content_hash"],
        "decision": "approve",
    }

    async def refused_sign_off(
        headers: dict[str, str], expected_status: int, expected_code: str, **changes: object
    ) -> None:
        """``sign`` with ``changes`` sent with ``headers``, and refused."""
        sent = await api.post(
            f"/api/plans/{plan}/sign-offs", json={**sign, **changes}, headers=headers
        )
        api_error(sent, expected_status, expected_code)

    # Not a name from the body: the actor is the token's person.
    await refused_sign_off(per, 422, "ValidationError", actor_id="tor.berg")
    await refused_sign_off(marte, 403, "WrongRole")
    await refused_sign_off(per, 409, "StaleContent", content_version=2)
    await refused_sign_off(per, 422, "InvalidDecision", decision="request_changes")
    api_error(
        await api.post(
            f"/api/plans/{plan}/draft-steps",
            json={"step_key": "draft.step1", "content_version": 1},
            headers=per,
        ),
        409,
        "GateNotOpen",
    )
    signed = await api.post(f"/api/plans/{plan}/sign-offs", json=sign, headers=per)
    assert signed.status_code == 200, signed.text
    receipt = signed.json()
    assert receipt["event_type"] == "sign_off_given"
    stored = await EventStore(pool).read(plan)
    event = next(e for e in stored if e.version == receipt["version"])
    assert (event.actor_id, event.hash) == ("per.olsen", receipt["hash"])

    # Auditors read everything and change nothing; others do not read the audit record.
    auditor = await bearer(api_ctx, "revisjon", "auditor")
    randi = await bearer(api_ctx, "randi.solberg")  # the plan's own auditor role
    api_error(
        await api.post(f"/api/plans/{plan}/sign-offs", json=sign, headers=auditor),
        403,
        "NotAllowed",
    )
    api_error(
        await api.post(f"/api/plans/{plan}/sign-offs", json=sign, headers=randi), 403, "NotAllowed"
    )
    api_error(await api.get(f"/api/audit/plans/{plan}/history", headers=per), 403, "NotAllowed")
    history = (await api.get(f"/api/audit/plans/{plan}/history", headers=randi)).json()
    assert [r["version"] for r in history] == list(range(1, len(stored) + 1))
    by_per = (
        await api.get(f"/api/audit/plans/{plan}/history?actor=per.olsen", headers=auditor)
    ).json()
    assert [r["type"] for r in by_per] == ["sign_off_given"]
    state = (await api.get(f"/api/audit/plans/{plan}/state?at_version=3", headers=auditor)).json()
    assert state["events_folded"] == 3
    assert state["status"]["step_key"] == "goals.quality_assurance"
    verified = (await api.get(f"/api/audit/plans/{plan}/verify", headers=auditor)).json()
    assert (verified["chain_ok"], verified["cross_check"], verified["ok"]) == (True, "ok", True)
    archive = await api.get(f"/api/audit/plans/{plan}/export?format=jsonl", headers=auditor)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        names = sorted(zipped.namelist())
        lines = zipped.read(f"{plan}.jsonl").decode().splitlines()
    assert names == [f"{plan}.jsonl", f"{plan}.jsonl.manifest.json"]
    assert len(lines) >= len(stored)
    csv = await api.get(f"/api/audit/plans/{plan}/export?format=csv", headers=auditor)
    assert csv.status_code == 200
    assert "sign_off_given" in csv.text
    html = await api.get(f"/api/audit/plans/{plan}/export?format=html&lang=en", headers=auditor)
    assert html.status_code == 200
    assert "<html" in html.text

    # Tokens: missing, malformed, revoked.
    api_error(await api.get("/api/plans"), 401, "NotAuthenticated")
    api_error(
        await api.get("/api/plans", headers={"Authorization": "Bearer nope"}),
        401,
        "NotAuthenticated",
    )
    info = (await api.get("/api/me", headers=per)).json()
    assert info["person_id"] == "per.olsen"
    assert info["plans"] == [
        {
            "plan_id": plan,
            "title": bodo.title,
            "roles": ["steering_group", "administrative_leadership"],
        }
    ]
    await api_ctx.tokens.revoke_person("per.olsen")
    api_error(await api.get("/api/plans", headers=per), 401, "NotAuthenticated")


async def test_public_hearing_with_receipts_limits_and_a_closed_door(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition = closable_early(servers.plan())
    plan = definition.plan_id
    admin = await _created(api, servers.ctx, definition)
    response = {
        "name": "Ås & Sønner",
        "organisation": "Velforening",
        "text": "Flere utleieboliger.",
    }
    # Before the hearing: refused, and said why.
    api_error(
        await api.post(f"/api/public/plans/{plan}/hearing/responses", json=response),
        409,
        "NotOpenYet",
    )
    driver = PlanDriver(servers.client.get_workflow_handle(workflow_id_for(plan)), definition)

    async def stop_at_hearing(_status: object) -> None:
        raise AssertionError("the hearing is not driven here")

    await driver.run_until(lambda s: s.phase is Phase.HEARING and s.hearing_open, stop_at_hearing)

    hearing = (await api.get(f"/api/public/plans/{plan}/hearing")).json()
    assert hearing["hearing_open"]
    assert hearing["draft"]["tree"]
    assert [h["plan_id"] for h in (await api.get("/api/public/hearings")).json()] == [plan]
    sent = await api.post(f"/api/public/plans/{plan}/hearing/responses", json=response)
    assert sent.status_code == 201, sent.text
    receipt = sent.json()
    assert receipt["receipt_number"].startswith(f"{receipt['version']}-")
    stored = await servers.store.read(plan)
    event = next(e for e in stored if e.version == receipt["version"])
    assert event.type == "hearing_response_received"
    assert event.data["name"] == "Ås & Sønner"
    assert event.data["response_id"] == receipt["response_id"]  # made by the server

    # Guarded: body size, field sizes, and a per-address rate (5 a minute in these tests).
    api_error(
        await api.post(
            f"/api/public/plans/{plan}/hearing/responses",
            json={**response, "text": "x" * 40_000},
        ),
        413,
        "TooLarge",
    )
    api_error(
        await api.post(
            f"/api/public/plans/{plan}/hearing/responses", json={**response, "text": "x" * 4001}
        ),
        422,
        "ValidationError",
    )
    # Counted: the early one, the one above, and these (not the two refused as invalid).
    statuses = [
        (await api.post(f"/api/public/plans/{plan}/hearing/responses", json=response)).status_code
        for _ in range(4)
    ]
    assert statuses == [201, 201, 201, 429]
    api_error(
        await api.post(f"/api/public/plans/{plan}/hearing/responses", json=response),
        429,
        "TooManyRequests",
    )

    # Before its deadline the project leader closes the hearing only with a reason.
    no_reason = await api.post(f"/api/plans/{plan}/hearing/close", json={}, headers=admin)
    assert no_reason.status_code == 422, no_reason.text
    assert "needs a reason" in no_reason.json()["error"]["message"]
    closed = await api.post(
        f"/api/plans/{plan}/hearing/close", json={"reason": EARLY_CLOSE}, headers=admin
    )
    assert closed.status_code == 200, closed.text
    servers.ctx.limiter.limit = 100
    late = api_error(
        await api.post(f"/api/public/plans/{plan}/hearing/responses", json=response),
        410,
        "LateResponse",
    )
    assert "the hearing was closed early on" in late["message"]
    assert EARLY_CLOSE in late["message"]
    assert (await api.get(f"/api/public/plans/{plan}/hearing")).json()["hearing_open"] is False
