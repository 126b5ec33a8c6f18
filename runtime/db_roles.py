"""The database roles (README, "Database roles"): eventstore/roles.sql, run by psql as
the superuser, exactly as the compose stack's postgres runs it on first start."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from eventstore.pool import with_database
from runtime.pgtools import program_for, server_major


@dataclass(frozen=True)
class Role:
    name: str
    password: str


@dataclass(frozen=True)
class Roles:
    events_db: str
    owner: Role
    app: Role
    auditor: Role
    temporal: Role | None = None
    temporal_db: str = "temporal"
    temporal_visibility_db: str = "temporal_visibility"

    def variables(self) -> dict[str, str]:
        own = {
            "events_db": self.events_db,
            "owner_role": self.owner.name,
            "owner_password": self.owner.password,
            "app_role": self.app.name,
            "app_password": self.app.password,
            "auditor_role": self.auditor.name,
            "auditor_password": self.auditor.password,
        }
        if self.temporal is None:
            return own
        return own | {
            "temporal_role": self.temporal.name,
            "temporal_password": self.temporal.password,
            "temporal_db": self.temporal_db,
            "temporal_visibility_db": self.temporal_visibility_db,
        }


def roles_sql() -> str:
    return (resources.files("eventstore") / "roles.sql").read_text("utf-8")


def as_role(superuser_dsn: str, role: Role, database: str) -> str:
    """The superuser's server address with another role's name and password."""
    parts = urlsplit(with_database(superuser_dsn, database))
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(role.name, safe='')}:{quote(role.password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def apply_roles(superuser_dsn: str, roles: Roles) -> None:
    psql = program_for("psql", await server_major(superuser_dsn))
    command = [str(psql), "--no-psqlrc", "--quiet", "-d", superuser_dsn]
    for name, value in roles.variables().items():
        command += ["-v", f"{name}={value}"]
    done = await asyncio.to_thread(
        subprocess.run, command, input=roles_sql(), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"eventstore/roles.sql failed: {done.stderr.strip()}")


async def least_privilege(superuser_dsn: str, events_db: str = "temaplan_events") -> Roles:
    """`temaplan up` on the embedded server: the roles made as compose makes them (fresh
    passwords each start), and the event store migrated by its owner."""
    from eventstore.migrate import migrate

    roles = Roles(
        events_db=events_db,
        owner=Role("temaplan_owner", secrets.token_urlsafe(24)),
        app=Role("temaplan_app", secrets.token_urlsafe(24)),
        auditor=Role("temaplan_auditor", secrets.token_urlsafe(24)),
    )
    await apply_roles(superuser_dsn, roles)
    owner = await asyncpg.connect(as_role(superuser_dsn, roles.owner, events_db))
    try:
        await migrate(owner)
    finally:
        await owner.close()
    return roles
