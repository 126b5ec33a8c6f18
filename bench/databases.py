"""PostgreSQL for the benchmarks: DATABASE_URL or an embedded pgserver, scratch databases
created for one measurement and dropped WITH (FORCE) afterwards, and the server's version
and settings for the report."""

from __future__ import annotations

import os
import secrets
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg

from eventstore.migrate import migrate
from eventstore.pool import with_database


@contextmanager
def postgres_server(prefix: str = "temaplan-bench-") -> Iterator[tuple[str, str]]:
    """(admin URL, how it was found)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url, "DATABASE_URL"
        return
    with warnings.catch_warnings():
        # platformdirs, under pgserver, warns when XDG_RUNTIME_DIR is unset.
        warnings.filterwarnings("ignore", module="platformdirs")
        from pgserver.postgres_server import get_server

    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
        try:
            yield server.get_uri(), "embedded pgserver"
        finally:
            server.cleanup()


@asynccontextmanager
async def scratch_database(
    admin_url: str, label: str, *, migrated: bool = True
) -> AsyncIterator[str]:
    name = f"bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = with_database(admin_url, name)
        if migrated:
            conn = await asyncpg.connect(url)
            try:
                await migrate(conn)
            finally:
                await conn.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def describe_server(url: str) -> dict[str, str]:
    """The server's version and the settings that decide what a commit and a read cost."""
    admin = await asyncpg.connect(url)
    try:
        row = await admin.fetchrow(
            "SELECT current_setting('server_version') AS version,"
            " current_setting('fsync') AS fsync,"
            " current_setting('synchronous_commit') AS synchronous_commit,"
            " current_setting('shared_buffers') AS shared_buffers"
        )
    finally:
        await admin.close()
    return dict(row.items()) if row else {}
