"""Through the HTTP API and the web page: a reference-group comment sent before the round
has opened answers 409 NotOpenYet, one sent after it has closed 410 LateResponse, so a
client can tell 'come back later' from 'too late'; the finance office's economic check
shows the measures whose costs are unknown."""

from __future__ import annotations

import httpx
import pytest
from temporalio.client import Client

from api.service import ApiContext
from api.web import SESSION_COOKIE
from client.simulation import PlanDriver
from domain.gates import PlanStatus
from domain.phases import Phase, StepKind
from domain.plan import PlanDefinition
from domain.roles import Role
from runtime.planfile import load_plan_file
from tests.conftest import EXAMPLES
from tests.integration.conftest import bearer, unique
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers


async def _not_here(_status: PlanStatus) -> None:
    raise AssertionError("the hearing is not driven here")


async def test_a_comment_before_the_round_is_409_and_after_it_410(
    api: httpx.AsyncClient, api_ctx: ApiContext, plain_client: Client, larvik: PlanDefinition
) -> None:
    definition = unique(larvik)
    plan = definition.plan_id
    leader = definition.members(Role.PROJECT_LEADER)[0].id
    admin = await bearer(api_ctx, leader, "admin")
    created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert created.status_code == 201, created.text
    member = await bearer(api_ctx, definition.members(Role.REFERENCE_GROUP)[0].id)
    driver = PlanDriver(plain_client.get_workflow_handle(workflow_id_for(plan)), definition)

    await driver.run_until(lambda s: s.step_key == "strategies.submit", _not_here)
    early = await api.post(
        f"/api/plans/{plan}/comments",
        json={"content_version": 1, "text": "Før runden er åpnet."},
        headers=member,
    )
    assert early.status_code == 409, early.text
    assert early.json()["error"]["code"] == "NotOpenYet"
    assert "not open yet" in early.json()["error"]["message"]

    after = await driver.run_until(
        lambda s: (
            s.phase is Phase.STRATEGIES
            and s.step_kind not in (StepKind.SUBMIT, StepKind.COMMENT_ROUND)
        ),
        _not_here,
    )
    late = await api.post(
        f"/api/plans/{plan}/comments",
        json={"content_version": after.content_version, "text": "Etter at runden er lukket."},
        headers=member,
    )
    assert late.status_code == 410, late.text
    assert late.json()["error"]["code"] == "LateResponse"
    assert "is closed" in late.json()["error"]["message"]


async def test_the_finance_office_sees_the_measures_with_unknown_costs_at_its_check(
    api: httpx.AsyncClient, api_ctx: ApiContext, plain_client: Client
) -> None:
    definition = unique(load_plan_file(EXAMPLES / "gratangen.json"))
    plan = definition.plan_id
    leader = definition.members(Role.PROJECT_LEADER)[0].id
    admin = await bearer(api_ctx, leader, "admin")
    created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert created.status_code == 201, created.text
    driver = PlanDriver(plain_client.get_workflow_handle(workflow_id_for(plan)), definition)
    await driver.run_until(lambda s: s.step_key == "draft.step6", _not_here)

    finance = definition.members(Role.FINANCE_OFFICE)[0].id
    issued = await api_ctx.tokens.issue(finance, "person")
    detail = await api.get(
        f"/api/plans/{plan}", headers={"Authorization": f"Bearer {issued.token}"}
    )
    assert detail.status_code == 200, detail.text
    assert detail.json()["status"]["unknown_costs"] == ["tiltak-2", "tiltak-4"]

    principal = await api_ctx.tokens.authenticate(issued.token)
    assert principal is not None
    session = await api_ctx.tokens.open_session(principal)
    page = await api.get(f"/plans/{plan}", headers={"Cookie": f"{SESSION_COOKIE}={session}"})
    assert page.status_code == 200, page.text
    assert "data-unknown-costs" in page.text
    assert "Tiltak med ukjent kostnad (ikke med i summene): tiltak-2, tiltak-4" in page.text
