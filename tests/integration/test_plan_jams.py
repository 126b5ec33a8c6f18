"""A step that fails for a reason no retry can fix fails at once, with a 4xx the person
can read, and its plan goes on; other people and other plans never wait behind it.

Once, such a step (an append PostgreSQL refused) retried for good: every later request
for the plan queued behind it, and when ten waited, every actor got 503."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio import activity
from temporalio.client import Client

from activities.models import AppendEventsInput, AppendEventsOutput
from activities.plan_activities import PlanActivities
from api.app import create_app
from api.errors import ApiError
from api.service import ApiContext
from client.plans import start_plan
from client.simulation import PlanDriver
from domain import commands as cmd
from domain.plan import PlanDefinition
from domain.roles import Role
from eventstore.pool import create_pool
from runtime.settings import Settings
from tests.integration.conftest import bearer, unique
from tests.integration.test_plan_resilience import worker_with
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers


class DatabaseRefusesOnce(PlanActivities):
    """The first sign-off in plan ``jammed`` reaches the store with a NUL in its comment
    (as text got in before the edges refused it): jsonb cannot hold it."""

    def __init__(self, pool: asyncpg.Pool, jammed: str) -> None:
        super().__init__(pool)
        self.jammed = jammed
        self.attempts = 0

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        first = request.events[0]
        retried = activity.info().attempt > 1
        if (
            request.stream_id == self.jammed
            and first.type == "sign_off_given"
            and (self.attempts == 0 or retried)
        ):
            self.attempts += 1
            bad = first.model_copy(update={"comment": "a\u0000b"})
            request = request.model_copy(update={"events": [bad, *request.events[1:]]})
        return await super().append_events(request)


@asynccontextmanager
async def api_for(
    client: Client, pool: asyncpg.Pool, database_url: str, queue: str
) -> AsyncIterator[tuple[httpx.AsyncClient, ApiContext]]:
    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    settings = Settings(TEMPORAL_TASK_QUEUE=queue)
    ctx = ApiContext(client=client, pool=pool, audit_pool=audit_pool, settings=settings)
    ctx.update_timeout = 10.0
    transport = httpx.ASGITransport(app=create_app(ctx))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            yield api, ctx
    finally:
        await audit_pool.close()


async def at_first_gate(client: Client, definition: PlanDefinition, queue: str) -> dict[str, Any]:
    handle = await start_plan(client, definition, queue)
    driver = PlanDriver(handle, definition)
    submit = await driver.wait_for(lambda s: s.step_key == "goals.submit")
    await driver.act_once(submit, hearing=None)  # type: ignore[arg-type]
    gate = await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    return {
        "step_key": gate.step_key,
        "content_version": gate.content_version,
        "content_hash": gate.content_hash,
        "decision": "approve",
    }


async def test_a_refused_append_fails_at_once_and_holds_up_no_one(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    jammed, other = unique(bodo), unique(bodo)
    queue = f"plans-{uuid.uuid4()}"
    hook = DatabaseRefusesOnce(pool, jammed.plan_id)
    async with (
        worker_with(plain_client, queue, hook),
        api_for(plain_client, pool, database_url, queue) as (api, ctx),
    ):
        gates = {d.plan_id: await at_first_gate(plain_client, d, queue) for d in (jammed, other)}
        steering = [p.id for p in jammed.members(Role.STEERING_GROUP)]
        tokens = {person: await bearer(ctx, person) for person in steering}

        async def sign(plan: str, person: str) -> httpx.Response:
            return await api.post(
                f"/api/plans/{plan}/sign-offs", json=gates[plan], headers=tokens[person]
            )

        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            first = asyncio.create_task(sign(jammed.plan_id, steering[0]))
            await asyncio.sleep(0.3)  # the refused append is under way
            others = await asyncio.gather(
                sign(jammed.plan_id, steering[1]),
                sign(other.plan_id, steering[0]),
                sign(other.plan_id, steering[1]),
            )
            refused = await first
            took = loop.time() - started

            # The person is told, with a 4xx, that the record refused it; not retried.
            assert refused.status_code == 422, refused.text
            error = refused.json()["error"]
            assert error["code"] == "DataRefused"
            assert "safe" not in error["message"]
            assert hook.attempts == 1
            # Nobody else waited behind it, in this plan or in another.
            assert [r.status_code for r in others] == [200, 200, 200], [r.text for r in others]
            assert took < 8
            # The plan is not stuck: the same person signs again and the phase completes.
            again = await sign(jammed.plan_id, steering[0])
            assert again.status_code == 200, again.text
            driver = PlanDriver(
                plain_client.get_workflow_handle(workflow_id_for(jammed.plan_id)), jammed
            )
            moved = await driver.wait_for(lambda s: s.step_key == "strategies.submit")
            assert moved.phase == "strategies"
        finally:
            # Ends a plan jammed by a step that retries for good, so the worker can stop.
            for plan in (jammed.plan_id, other.plan_id):
                await plain_client.get_workflow_handle(workflow_id_for(plan)).terminate("done")


async def test_a_503_calls_a_repeat_safe_only_where_the_plan_recognises_it(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    # Started on a queue no worker polls: the plan does not answer.
    handle = await start_plan(plain_client, definition, f"nobody-{uuid.uuid4()}")
    async with api_for(plain_client, pool, database_url, "unused") as (_api, ctx):
        ctx.update_timeout = 1.0
        try:
            with pytest.raises(ApiError) as comment:
                await ctx.update(
                    definition.plan_id,
                    "comment",
                    cmd.AddComment(actor_id="per.olsen", content_version=1, text="Bra."),
                )
            with pytest.raises(ApiError) as sign_off:
                await ctx.update(
                    definition.plan_id,
                    "sign_off",
                    cmd.SignOff(
                        actor_id="per.olsen", step_key="goals.quality_assurance",
                        content_version=1, content_hash="0" * 64,
                    ),
                )  # fmt: skip
        finally:
            await handle.terminate("test done")
    assert comment.value.status == sign_off.value.status == 503
    assert "safe" not in comment.value.message
    assert "look at the plan before sending it again" in comment.value.message
    assert "sending the same request again is safe" in sign_off.value.message


class StoreDownForOnePlan(PlanActivities):
    """Every append of plan ``jammed`` fails as if its database were unreachable: a
    fault a retry may fix, so Temporal keeps retrying and the plan's requests wait."""

    def __init__(self, pool: asyncpg.Pool, jammed: str) -> None:
        super().__init__(pool)
        self.jammed = jammed

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        if request.stream_id == self.jammed and request.events[0].type == "sign_off_given":
            raise RuntimeError("connection refused")
        return await super().append_events(request)


async def test_a_backlog_in_one_plan_never_spreads_to_another(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, bodo: PlanDefinition
) -> None:
    jammed, other = unique(bodo), unique(bodo)
    queue = f"plans-{uuid.uuid4()}"
    async with (
        worker_with(plain_client, queue, StoreDownForOnePlan(pool, jammed.plan_id)),
        api_for(plain_client, pool, database_url, queue) as (api, ctx),
    ):
        gates = {d.plan_id: await at_first_gate(plain_client, d, queue) for d in (jammed, other)}
        steering = [p.id for p in jammed.members(Role.STEERING_GROUP)]
        token = await bearer(ctx, steering[0])
        ctx.update_timeout = 6.0

        async def sign(plan: str) -> httpx.Response:
            return await api.post(f"/api/plans/{plan}/sign-offs", json=gates[plan], headers=token)

        try:
            waiting = [asyncio.create_task(sign(jammed.plan_id)) for _ in range(14)]
            await asyncio.sleep(2)
            # Another plan is answered at once while fourteen requests wait in this one.
            started = asyncio.get_running_loop().time()
            elsewhere = await sign(other.plan_id)
            assert elsewhere.status_code == 200, elsewhere.text
            assert asyncio.get_running_loop().time() - started < 3
            answers = await asyncio.gather(*waiting)
        finally:
            for plan in (jammed.plan_id, other.plan_id):
                await plain_client.get_workflow_handle(workflow_id_for(plan)).terminate("done")
        # The plan's own requests are told what happened to them: it did not answer in
        # time (a sign-off is safe to send again, and the answer says so), or, where
        # Temporal admits no more Updates to the workflow, that it is busy and nothing
        # was recorded. Never a 500, never an error of the service as a whole.
        for answer in answers:
            error = answer.json()["error"]
            assert (answer.status_code, error["code"]) in {
                (503, "PlanNotAnswering"),
                (429, "PlanBusy"),
            }, answer.text
            if answer.status_code == 503:
                assert "sending the same request again is safe" in error["message"]
            else:
                assert "nothing was recorded" in error["message"]
