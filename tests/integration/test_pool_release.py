"""The pool hands a clean connection back at once, and anything else the way asyncpg does:
a transaction left open is rolled back, a broken connection replaced (eventstore/
quick_release.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import asyncpg.pool
import pytest

from eventstore.pool import create_pool
from eventstore.quick_release import mirrors_installed_asyncpg

pytestmark = pytest.mark.servers


@pytest.fixture
def asyncpg_releases(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The connections that went through asyncpg's own release."""
    # Before the patch: whether the pool may take the quick way is decided on what
    # asyncpg's code is, once.
    assert mirrors_installed_asyncpg()
    taken: list[object] = []
    original = asyncpg.pool.Pool.release

    async def counted(self: asyncpg.Pool, connection: object, **kwargs: object) -> None:
        taken.append(connection)
        await original(self, connection, **kwargs)

    monkeypatch.setattr(asyncpg.pool.Pool, "release", counted)
    return taken


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The shipped pool with one connection: a release that did not hand it back would
    leave the next acquire waiting, and the close is bounded so that it cannot hang."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await asyncio.wait_for(pool.close(), 10)


async def test_a_clean_connection_is_back_in_the_pool_when_release_returns(
    one_connection: asyncpg.Pool, asyncpg_releases: list[object]
) -> None:
    pool = one_connection
    async with pool.acquire() as conn:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        assert pool.get_idle_size() == 0
    assert pool.get_idle_size() == 1
    assert asyncpg_releases == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == backend
    for _ in range(200):  # many releases, one inactivity timer at a time
        assert await pool.fetchval("SELECT 1") == 1
    assert asyncpg_releases == []


async def test_a_transaction_left_open_is_rolled_back_on_release(
    one_connection: asyncpg.Pool, asyncpg_releases: list[object]
) -> None:
    async with one_connection.acquire() as conn:
        await conn.execute("CREATE TABLE left_open (n int)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO left_open VALUES (1)")
        assert conn.is_in_transaction()
    assert asyncpg_releases == [conn]
    async with one_connection.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM left_open") == 0


async def test_a_connection_that_broke_is_replaced(
    one_connection: asyncpg.Pool, database_url: str
) -> None:
    admin = await asyncpg.connect(database_url)
    try:
        async with one_connection.acquire() as conn:
            backend = await conn.fetchval("SELECT pg_backend_pid()")
            # Waits (5 s at most) until the backend has gone.
            assert await admin.fetchval("SELECT pg_terminate_backend($1, 5000)", backend)
            with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
                await conn.fetchval("SELECT 1")
        async with one_connection.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") != backend
    finally:
        await admin.close()
