"""Public hearing responses appended by the API itself (eventstore/hearing_inbox.py), not
as workflow Updates: many at once are each recorded exactly once with a receipt, a
retried request gets its original receipt, a response racing the close lands before it
or is refused, the workflow's close counts them all, and `audit verify` traces them."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import asyncpg
import httpx
import pytest

from audit import commands
from catalogue import formats
from client.simulation import PlanDriver
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from eventstore import EventStore
from eventstore.hearing_inbox import HearingInbox, InboxReceipt, InboxRefusal, PublicResponse
from tests.integration.conftest import EARLY_CLOSE, Servers, bearer, closable_early
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers


async def _on_hearing(
    api: httpx.AsyncClient, servers: Servers, definition: PlanDefinition
) -> tuple[PlanDriver, dict[str, str]]:
    ctx, client = servers.ctx, servers.client
    admin = await bearer(ctx, "kari.nilsen", "admin")
    started = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert started.status_code == 201, started.text
    driver = PlanDriver(client.get_workflow_handle(workflow_id_for(definition.plan_id)), definition)

    async def no_hearing(_status: object) -> None:
        raise AssertionError("the hearing is not driven here")

    await driver.run_until(lambda s: s.phase is Phase.HEARING and s.hearing_open, no_hearing)
    ctx.limiter.limit = 100_000
    return driver, admin


async def _responses(pool: asyncpg.Pool, plan: str) -> list[Any]:
    return [e for e in await EventStore(pool).read(plan) if e.type == "hearing_response_received"]


async def test_a_flood_of_responses_is_recorded_once_each_and_counted_at_the_close(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition = closable_early(servers.plan())
    plan = definition.plan_id
    url = f"/api/public/plans/{plan}/hearing/responses"
    driver, admin = await _on_hearing(api, servers, definition)

    async def send(n: int, key: bool = True) -> httpx.Response:
        body = {"name": f"Innbygger {n}", "text": f"Svar nummer {n}."}
        headers = {"Idempotency-Key": f"flood-{plan}-{n}"} if key else {}
        return await api.post(url, json=body, headers=headers)

    # Many at once, with and without a key: each recorded once, each with its own receipt.
    sent = await asyncio.gather(*(send(n, key=n % 2 == 0) for n in range(300)))
    assert [r.status_code for r in sent] == [201] * 300, [
        r.text for r in sent if r.status_code != 201
    ]
    receipts = [r.json() for r in sent]
    assert len({r["event_id"] for r in receipts}) == 300
    assert not any(r["duplicate"] for r in receipts)
    stored = await _responses(servers.pool, plan)
    assert len(stored) == 300
    by_id = {str(e.event_id): e for e in stored}
    for receipt in receipts:
        event = by_id[receipt["event_id"]]
        assert (event.version, event.hash) == (receipt["version"], receipt["hash"])
        assert event.data["received"]["via"] == "public-api"
    assert (await servers.store.verify(plan)).ok

    # Sent again with its key (the answer was lost): the original receipt, nothing new.
    again = await send(4)
    assert again.status_code == 201, again.text
    assert again.json()["event_id"] == receipts[4]["event_id"]
    assert again.json()["version"] == receipts[4]["version"]
    assert again.json()["duplicate"] is True
    # The same key with other words: refused, nothing recorded.
    reused = await api.post(
        url,
        json={"name": "Noen", "text": "Noe annet."},
        headers={"Idempotency-Key": f"flood-{plan}-4"},
    )
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "IdempotencyKeyReused"
    assert len(await _responses(servers.pool, plan)) == 300
    # The workflow is told the count; it has not read the responses yet.
    await driver.wait_for(lambda s: s.hearing_responses == 300)

    # Responses racing the close: each lands before the close or is refused, never after.
    async def close() -> httpx.Response:
        await asyncio.sleep(0.05)
        return await api.post(
            f"/api/plans/{plan}/hearing/close", json={"reason": EARLY_CLOSE}, headers=admin
        )

    racing = asyncio.gather(*(send(n) for n in range(1000, 1300)))
    closed, raced = await asyncio.gather(close(), racing)
    assert closed.status_code == 200, closed.text
    close_version = closed.json()["version"]
    statuses = [r.status_code for r in raced]
    assert set(statuses) <= {201, 410}, [r.text for r in raced if r.status_code not in (201, 410)]
    accepted = [r.json() for r in raced if r.status_code == 201]
    assert all(r["version"] < close_version for r in accepted)
    stored = await _responses(servers.pool, plan)
    assert len(stored) == 300 + len(accepted)
    assert max(e.version for e in stored) < close_version
    late = [r for r in raced if r.status_code == 410]
    assert all(r.json()["error"]["code"] == "LateResponse" for r in late)
    # A response after the close is refused; a retry of one recorded before still gets
    # its receipt.
    after = await send(2000)
    assert after.status_code == 410, after.text
    assert (await send(6)).json()["version"] == receipts[6]["version"]

    # The workflow read them all from the record: its close counts every one.
    [closing] = [e for e in await servers.store.read(plan) if e.version == close_version]
    assert closing.type == "hearing_closed"
    assert closing.data["response_count"] == len(stored)
    state = await driver.plan.state()
    assert len(state.current_hearing_responses()) == len(stored)
    status = await driver.status()
    assert status.hearing_responses == len(stored)

    # Each traces back to the API's request in the audit cross-check.
    out = io.StringIO()
    code = await commands.verify(servers.store, servers.client, [plan], out, language="en")
    report = out.getvalue()
    assert code == 0, report
    traced = formats.number(len(stored), "en")
    assert f"{traced} public hearing responses traced to the API's requests" in report
    await driver.handle.terminate("test done")


async def test_a_forged_public_response_does_not_trace_back(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    """The cross-check can fail: a response whose words were changed after the fact (the
    chain recomputed, as by someone who owns the database) no longer has the id the API
    derives from them."""
    from tests.integration.test_log_attacks import rechain, superuser

    definition = closable_early(servers.plan())
    plan = definition.plan_id
    driver, _admin = await _on_hearing(api, servers, definition)
    sent = await api.post(
        f"/api/public/plans/{plan}/hearing/responses", json={"name": "Åse", "text": "Ja takk."}
    )
    assert sent.status_code == 201, sent.text
    version = sent.json()["version"]
    out = io.StringIO()
    assert await commands.verify(servers.store, servers.client, [plan], out) == 0, out.getvalue()
    await superuser(
        servers.pool,
        "UPDATE events SET data = jsonb_set(data, '{text}', '\"Nei takk.\"'), "
        "canonical_data = NULL "
        f"WHERE stream_id = '{plan}' AND version = {version}",
    )
    await rechain(servers.pool, plan)
    out = io.StringIO()
    assert await commands.verify(servers.store, servers.client, [plan], out) == 1
    assert "innholdsnøkkelen er ikke hashverdien av svarets egne ord" in out.getvalue()
    await driver.handle.terminate("test done")


async def test_one_plans_responses_are_written_at_the_inbox_pace(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    """A flood to one plan is written at the pace (a second's worth at once, then so many
    a second), the rest waiting their turn; whoever would wait past ``max_wait`` is told
    to send it again, and nothing of theirs is recorded."""
    definition = closable_early(servers.plan())
    plan = definition.plan_id
    driver, _admin = await _on_hearing(api, servers, definition)

    paced = HearingInbox(servers.pool, per_second=40, max_wait=5)
    began = time.monotonic()
    receipts = await asyncio.gather(
        *(
            paced.respond(plan, PublicResponse(f"Innbygger {n}", None, f"Svar {n}."))
            for n in range(120)
        )
    )
    took = time.monotonic() - began
    # 40 at once, then 80 more at 40 a second.
    assert took >= 1.8, took
    assert len({r.event_id for r in receipts}) == 120
    stored = await _responses(servers.pool, plan)
    assert len(stored) == 120
    spread = max(e.recorded_at for e in stored) - min(e.recorded_at for e in stored)
    assert spread.total_seconds() >= 1.8, spread

    # At most max_wait seconds' worth of the pace waits: the rest is refused, unrecorded.
    tight = HearingInbox(servers.pool, per_second=10, max_wait=1)
    answers = await asyncio.gather(
        *(
            tight.respond(plan, PublicResponse(f"Nabo {n}", None, f"Innspill {n}."))
            for n in range(40)
        ),
        return_exceptions=True,
    )
    refused = [a for a in answers if isinstance(a, InboxRefusal)]
    accepted = [a for a in answers if isinstance(a, InboxReceipt)]
    # Ten (one second at ten a second) wait; the other thirty came while they waited.
    assert (len(accepted), len(refused)) == (10, 30), answers
    assert all(r.code == "PlanBusy" and "send it again" in str(r) for r in refused)
    assert len(await _responses(servers.pool, plan)) == 120 + len(accepted)
    await driver.handle.terminate("test done")


def test_ten_thousand_responses_fit_in_a_continued_run() -> None:
    """The state's responses travel packed across continue-as-new: 10,000 take about
    2.4 MB as JSON (over Temporal's 2 MB a payload), packed under 1.2 MB, and come back
    the same."""
    import hashlib
    from datetime import UTC, datetime

    from domain.plan_state import HearingResponse
    from workflows.plan_models import Carried, pack_responses, unpack_responses

    at = datetime(2026, 12, 5, tzinfo=UTC)
    responses = tuple(
        HearingResponse(
            response_id=f"api-{hashlib.md5(str(n).encode()).hexdigest()}",
            name=f"Innbygger {n}",
            organisation=None,
            text_sha256=hashlib.sha256(str(n).encode()).hexdigest(),
            version=n + 50,
            at=at,
        )
        for n in range(10_000)
    )
    state = PlanState(hearing_responses=responses)
    assert len(state.model_dump_json()) > 2_097_152
    light, packed = pack_responses(state)
    carried = Carried(state=light, stream_version=10_050, packed_responses=packed)
    assert len(carried.model_dump_json()) < 1_200_000
    assert unpack_responses(carried.state, carried.packed_responses) == state
    assert pack_responses(state)[1] == packed  # the same every time (replay)
