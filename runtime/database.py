"""Where the event store lives: DATABASE_URL, or an embedded pgserver under the data dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import structlog

from eventstore.migrate import migrate
from eventstore.pool import create_pool, with_database
from runtime.settings import Settings

log = structlog.get_logger(__name__)


def _start_embedded(directory: Path) -> tuple[str, object]:
    try:
        # Imported lazily: production never needs it. From its defining module, which
        # the package's own namespace re-exports without type information.
        from pgserver.postgres_server import get_server
    except ImportError:
        raise RuntimeError(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed "
            "(pip install 'temaplan[embedded]')"
        ) from None

    directory.mkdir(parents=True, exist_ok=True)
    # pgserver keeps a lock file beside its data directory and, run as root, changes
    # the permissions of the directory's parents: give it a directory of its own.
    server = get_server(directory / "pgdata", cleanup_mode="stop")
    return server.get_uri(), server


@asynccontextmanager
async def database_url(settings: Settings, *, as_application: bool = False) -> AsyncIterator[str]:
    """Yield a DSN; an embedded server is stopped again on exit. The embedded server is
    set up as compose sets up its PostgreSQL (eventstore/roles.sql, migrations run by the
    owner role); ``as_application`` then yields the application role's DSN instead of
    the superuser's."""
    if settings.database_url:
        yield settings.database_url
        return
    from runtime.db_roles import as_role, least_privilege

    directory = (settings.data_dir / "postgres").resolve()
    uri, server = await asyncio.to_thread(_start_embedded, directory)
    log.info("embedded postgresql started", data_dir=str(directory))
    try:
        roles = await least_privilege(uri)
        if as_application:
            yield as_role(uri, roles.app, roles.events_db)
        else:
            yield with_database(uri, roles.events_db)
    finally:
        await asyncio.to_thread(server.cleanup)  # type: ignore[attr-defined]


@asynccontextmanager
async def migrated_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with database_url(settings) as dsn:
        pool = await create_pool(dsn)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            yield pool
        finally:
            await pool.close()


@asynccontextmanager
async def read_only_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """For auditors: no migrations, and PostgreSQL refuses any write in the session."""
    async with database_url(settings) as dsn:
        pool = await create_pool(dsn, read_only=True)
        try:
            yield pool
        finally:
            await pool.close()
