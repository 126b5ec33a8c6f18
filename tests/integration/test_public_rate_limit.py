"""The public rate limit holds per real client and across API processes: it is counted in
PostgreSQL, and X-Forwarded-For is believed only from a proxy named in the settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from ipaddress import ip_network

import asyncpg
import httpx
import pytest
from temporalio.client import Client

from api.app import create_app
from api.service import ApiContext, client_address
from eventstore.pool import create_pool
from runtime.settings import Settings

pytestmark = pytest.mark.servers

URL = "/api/public/plans/1804-ingen-slik-plan/hearing/responses"
RESPONSE = {"name": "Ola", "text": "Flere boliger."}


@asynccontextmanager
async def api_process(
    client: Client, pool: asyncpg.Pool, database_url: str, proxies: str = ""
) -> AsyncIterator[httpx.AsyncClient]:
    """One API process of several: an app of its own, the same database."""
    audit_pool = await create_pool(database_url, read_only=True, max_size=1)
    settings = Settings(TEMAPLAN_PUBLIC_RATE_PER_MINUTE=5, TEMAPLAN_TRUSTED_PROXIES=proxies)
    ctx = ApiContext(client=client, pool=pool, audit_pool=audit_pool, settings=settings)
    transport = httpx.ASGITransport(app=create_app(ctx), client=("127.0.0.1", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            yield api
    finally:
        await audit_pool.close()


async def statuses(
    api: httpx.AsyncClient, count: int, forwarded: list[str] | None = None
) -> list[int]:
    found = []
    for n in range(count):
        headers = {"X-Forwarded-For": forwarded[n % len(forwarded)]} if forwarded else {}
        found.append((await api.post(URL, json=RESPONSE, headers=headers)).status_code)
    return found


async def test_the_limit_is_shared_by_every_api_process_and_ignores_forged_headers(
    plain_client: Client, pool: asyncpg.Pool, database_url: str
) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(api_process(plain_client, pool, database_url))
        second = await stack.enter_async_context(api_process(plain_client, pool, database_url))
        # The plan does not exist (404), but each request counts against the limit.
        assert await statuses(first, 3) == [404] * 3
        # A forged X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
        forged = ["203.0.113.1", "203.0.113.2, 198.51.100.9"]
        assert await statuses(second, 2, forged) == [404, 404]
        assert await statuses(first, 1, forged) == [429]
        refused = await second.post(URL, json=RESPONSE)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "TooManyRequests"
        rows = await pool.fetch("SELECT key, cardinality(hits) AS n FROM rate_limits")
        assert [(r["key"], r["n"]) for r in rows] == [("hearing/127.0.0.1", 5)]


async def test_behind_a_trusted_proxy_each_real_client_has_its_own_limit(
    plain_client: Client, pool: asyncpg.Pool, database_url: str
) -> None:
    async with api_process(plain_client, pool, database_url, proxies="127.0.0.1") as api:
        assert await statuses(api, 6, ["203.0.113.7"]) == [404] * 5 + [429]
        # What the client wrote to the left of the proxy's own entry is not believed.
        assert await statuses(api, 1, ["192.0.2.1, 203.0.113.7"]) == [429]
        assert await statuses(api, 5, ["203.0.113.8"]) == [404] * 5


def test_the_client_is_the_first_hop_from_the_right_that_is_not_a_proxy() -> None:
    proxies = (ip_network("10.0.0.0/8"), ip_network("::1/128"))
    assert client_address("192.0.2.5", "1.2.3.4", ()) == "192.0.2.5"
    assert client_address("192.0.2.5", "1.2.3.4", proxies) == "192.0.2.5"
    assert client_address("10.0.0.2", "1.2.3.4, 192.0.2.7, 10.0.0.9", proxies) == "192.0.2.7"
    assert client_address("10.0.0.2", None, proxies) == "10.0.0.2"
    assert client_address("10.0.0.2", "10.0.0.3", proxies) == "10.0.0.3"
    assert client_address("10.0.0.2", "not-an-address", proxies) == "10.0.0.2"
    assert client_address("::1", "2001:db8::1", proxies) == "2001:db8::1"
    assert client_address(None, "1.2.3.4", proxies) == "unknown"
