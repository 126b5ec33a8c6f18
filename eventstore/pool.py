"""The connection pool: created once per process, closed cleanly."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg

from eventstore.errors import StoreUnavailable
from eventstore.quick_release import QuickReleasePool, keep_session


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, read_only: bool = False
) -> asyncpg.Pool:
    """``read_only``: every transaction of the pool is read-only in PostgreSQL itself, for
    auditors, who read everything and change nothing."""
    settings = {"default_transaction_read_only": "on"} if read_only else {}
    try:
        # asyncpg.create_pool's defaults, with our pool class.
        pool = await QuickReleasePool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            max_queries=50_000,
            max_inactive_connection_lifetime=300.0,
            loop=None,
            connection_class=asyncpg.Connection,
            record_class=asyncpg.Record,
            command_timeout=60,
            reset=keep_session,
            server_settings=settings,
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StoreUnavailable(f"cannot connect to PostgreSQL ({_redact(dsn)}): {exc}") from exc
    if pool is None:  # pragma: no cover - asyncpg returns None only when awaited oddly
        raise StoreUnavailable("asyncpg returned no pool")
    return pool


def _redact(dsn: str) -> str:
    """Never print a password in an error message or a log line."""
    if "@" not in dsn or "://" not in dsn:
        return dsn
    scheme, rest = dsn.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else dsn


def with_database(dsn: str, name: str) -> str:
    """The same server, another database: only the URL's path changes."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
