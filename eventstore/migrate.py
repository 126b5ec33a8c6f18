"""A small migration runner: ordered SQL files, one transaction each, recorded by checksum.

Chosen over a migration library because the schema is a handful of plain SQL files and
the runner must work on an asyncpg connection without a second database driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

from eventstore.errors import MigrationError

log = structlog.get_logger(__name__)

# Any constant works; it only has to be the same for every runner of this schema.
_MIGRATION_LOCK_KEY = 7_326_041_955


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def bundled_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("eventstore.migrations").iterdir():
        if not entry.name.endswith(".sql"):
            continue
        number, _, rest = entry.name.partition("_")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a number: {versions}")
    return found


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing, each migration in a transaction of its own; returns the
    versions applied now (empty when the database is up to date)."""
    todo = bundled_migrations() if migrations is None else migrations
    if await _up_to_date(conn, todo):
        # The worker and the API connect as the application role, which may read the
        # migrations table but create nothing: they check, the owner migrates.
        return []
    applied_now: list[int] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     PRIMARY KEY,
                    name       text        NOT NULL,
                    checksum   text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
    except asyncpg.InsufficientPrivilegeError as exc:
        user = await conn.fetchval("SELECT current_user")
        raise MigrationError(
            f"the database needs migrations, and role '{user}' may not run them ({exc}); "
            "run `temaplan migrate` with DATABASE_URL naming the owner role"
        ) from exc
    for migration in todo:
        async with conn.transaction():
            # Serialises concurrent runners (several workers starting at once): the
            # second one waits here, then finds the migration recorded.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            checksum = await conn.fetchval(
                "SELECT checksum FROM schema_migrations WHERE version = $1", migration.version
            )
            if checksum is not None:
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version} ({migration.name}) was changed after "
                        "it was applied; add a new migration instead of editing an old one"
                    )
                continue
            try:
                await conn.execute(migration.sql)
            except asyncpg.PostgresError as exc:
                raise MigrationError(
                    f"migration {migration.version} ({migration.name}) failed: {exc}"
                ) from exc
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
        applied_now.append(migration.version)
        log.info("migration applied", version=migration.version, name=migration.name)
    return applied_now


async def _up_to_date(conn: asyncpg.Connection, todo: list[Migration]) -> bool:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return False
    rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
    recorded = {r["version"]: r["checksum"] for r in rows}
    return all(recorded.get(m.version) == m.checksum for m in todo)
