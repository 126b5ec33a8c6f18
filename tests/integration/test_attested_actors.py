"""Attested actors: a decision sent through the API carries the front door's signature
on who sent it, checked by the workflow's update validator and shown as attested by
`audit history`, the CSV and the HTML report; one sent with the raw `temporal` CLI is
recorded as unattested, or refused where the deployment requires attestation; a forged
or altered attestation is refused before it reaches history."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.attestation import AttestationPolicy
from api.app import create_app
from api.attest import attest
from api.service import ApiContext
from audit import commands
from audit.export import export_csv
from audit.history import HistoryFilter
from audit.report import export_html
from client.simulation import PlanDriver, content_for
from domain import checkpoints as cp
from domain import commands as cmd
from domain.attestation import Attestation
from domain.gates import PlanStatus
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.roles import Role
from eventstore import EventStore
from eventstore.pool import create_pool
from runtime.settings import Settings
from tests.integration.conftest import bearer, sign_off_by, started, unique
from tests.integration.replay import settle
from tests.integration.test_plan_temporal_cli import sign_off_through_the_cli
from workflows.registry import build_worker

pytestmark = pytest.mark.servers

FRONT_DOOR = cp.SigningKey.generate("bolig.kommune.example/front-door")
STRANGER = cp.SigningKey.generate("bolig.kommune.example/front-door")


@asynccontextmanager
async def deployment(
    env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str, *, require: bool
) -> AsyncIterator[tuple[str, ApiContext, httpx.AsyncClient]]:
    """A worker that accepts the front door's key, and the API holding that key."""
    queue = f"plans-{uuid.uuid4()}"
    policy = AttestationPolicy((FRONT_DOOR.verifier,), require)
    settings = Settings(TEMPORAL_TASK_QUEUE=queue, TEMAPLAN_FRONT_DOOR_KEY=FRONT_DOOR.text())
    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    ctx = ApiContext(client=env.client, pool=pool, audit_pool=audit_pool, settings=settings)
    transport = httpx.ASGITransport(app=create_app(ctx))
    try:
        async with (
            build_worker(env.client, pool, queue, attestation=policy),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as api,
        ):
            yield queue, ctx, api
    finally:
        await audit_pool.close()


async def at_quality_assurance(
    env: WorkflowEnvironment, queue: str, bodo: PlanDefinition
) -> tuple[PlanDriver, list[str]]:
    definition = unique(bodo)
    driver = await started(env, queue, definition)
    handle = driver.handle
    await driver.wait_for(lambda s: s.step_key == "goals.submit")
    # Through the front door, as every decision must be where attestation is required.
    goals = cmd.SubmitContent(
        actor_id=driver.person(Role.PROJECT_LEADER),
        phase=Phase.GOALS,
        content=content_for(Phase.GOALS, driver.proposals),
    )
    await driver.handle.execute_update(
        "submit_content",
        attest(goals, "submit_content", definition.plan_id, FRONT_DOOR),
        result_type=cmd.Receipt,
    )
    await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    await settle(handle)
    return driver, [p.id for p in definition.members(Role.STEERING_GROUP)]


def api_sign_off(status: PlanStatus) -> dict[str, object]:
    return {
        "step_key": "goals.quality_assurance",
        "content_version": status.content_version,
        "content_hash": status.content_hash,
        "decision": "approve",
    }


async def test_the_api_attests_and_the_raw_cli_is_recorded_unattested(
    temporal_env: WorkflowEnvironment,
    pool: asyncpg.Pool,
    database_url: str,
    bodo: PlanDefinition,
    tmp_path: Path,
) -> None:
    async with deployment(temporal_env, pool, database_url, require=False) as (queue, ctx, api):
        driver, members = await at_quality_assurance(temporal_env, queue, bodo)
        plan = driver.definition.plan_id
        status = await driver.status()
        signed = await api.post(
            f"/api/plans/{plan}/sign-offs",
            json=api_sign_off(status),
            headers=await bearer(ctx, members[0]),
        )
        assert signed.status_code == 200, signed.text
        address = temporal_env.client.service_client.config.target_host
        code, _out, err = await sign_off_through_the_cli(
            driver.handle.id, address, members[1], status
        )
        assert code == 0, err
        await driver.wait_for(lambda s: s.step_key == "strategies.submit")

    store = EventStore(pool)
    stored = {e.actor_id: e for e in await store.read(plan) if e.type == "sign_off_given"}
    attested = Attestation.model_validate(stored[members[0]].data["attestation"])
    assert (attested.actor_id, attested.plan_id, attested.update) == (members[0], plan, "sign_off")
    assert attested.step == "goals.quality_assurance"
    # An auditor checks it with the published key alone.
    assert FRONT_DOOR.verifier.verify(attested.message(), base64.b64decode(attested.signature))
    assert "attestation" not in stored[members[1]].data

    out = io.StringIO()
    where = HistoryFilter(type="sign_off_given")
    assert await commands.show_history(store, plan, where, as_json=True, out=out) == 0
    kinds = {
        row["actor_id"]: row["actor_kind"] for row in map(json.loads, out.getvalue().splitlines())
    }
    assert kinds == {members[0]: "attested", members[1]: "unattested"}
    table = io.StringIO()
    assert await commands.show_history(store, plan, where, as_json=False, out=table) == 0
    lines = table.getvalue().splitlines()
    assert "aktøren er" in lines[0]
    assert any(members[1] in line and "IKKE ATTESTERT" in line for line in lines)

    await export_csv(store, plan, tmp_path / "plan.csv")
    rows = (tmp_path / "plan.csv").read_text("utf-8-sig").splitlines()
    assert rows[0].split(";").count("actor_is") == 1
    assert any(members[0] in r and ";attested;" in r for r in rows)
    assert any(members[1] in r and ";unattested;" in r for r in rows)
    await export_html(
        store, plan, tmp_path / "plan.html", language="en", generated_at=datetime.now(UTC)
    )
    page = (tmp_path / "plan.html").read_text("utf-8")
    assert 'data-actor="attested">attested by the login' in page
    assert 'data-actor="unattested">NOT attested' in page


async def refusal(driver: PlanDriver, command: cmd.SignOff) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await driver.plan.sign_off(command)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_unattested_and_forged_decisions_are_refused_where_required(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    async with deployment(temporal_env, pool, database_url, require=True) as (queue, ctx, api):
        driver, members = await at_quality_assurance(temporal_env, queue, bodo)
        plan = driver.definition.plan_id
        store = EventStore(pool)
        before, _ = await store.head(plan)
        status = await driver.status()
        address = temporal_env.client.service_client.config.target_host
        code, _out, err = await sign_off_through_the_cli(
            driver.handle.id, address, members[0], status
        )
        assert code != 0
        assert "Unattested" in err
        assert "records only attested decisions" in err

        def sign_off(actor: str) -> cmd.SignOff:
            return sign_off_by(status, actor, "goals.quality_assurance")

        genuine: cmd.SignOff = attest(sign_off(members[0]), "sign_off", plan, FRONT_DOOR)
        assert genuine.attestation is not None
        # Someone else's attestation on this person's decision.
        borrowed = sign_off(members[1]).model_copy(update={"attestation": genuine.attestation})
        refused = await refusal(driver, borrowed)
        assert refused.type == "AttestationInvalid"
        assert (
            f"its actor_id is '{members[0]}', the decision's is '{members[1]}'" in refused.message
        )
        # The attested decision altered after signing: approve turned into changes.
        altered = genuine.model_copy(update={"approve": False, "comment": "Nei"})
        refused = await refusal(driver, altered)
        assert "its command_sha256 is" in refused.message
        # Claims rewritten to match, signature kept: it does not verify.
        forged_claims = genuine.attestation.model_copy(update={"request_id": "other"})
        refused = await refusal(driver, genuine.model_copy(update={"attestation": forged_claims}))
        assert "signature does not verify" in refused.message
        # Signed with a key the deployment does not know (same name, other key).
        stranger: cmd.SignOff = attest(sign_off(members[0]), "sign_off", plan, STRANGER)
        refused = await refusal(driver, stranger)
        assert "not a front-door key of this plan" in refused.message
        assert (await store.head(plan))[0] == before  # no trace beyond the refusals

        signed = await api.post(
            f"/api/plans/{plan}/sign-offs",
            json=api_sign_off(status),
            headers=await bearer(ctx, members[0]),
        )
        assert signed.status_code == 200, signed.text
        [event] = await store.read(plan, from_version=before + 1)
        assert event.actor_id == members[0]
        assert event.data["attestation"]["key"].startswith("bolig.kommune.example/front-door+")
        await driver.handle.terminate("test done")
