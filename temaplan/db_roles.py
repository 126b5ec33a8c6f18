"""The database roles (README, "Database roles"): eventstore/roles.sql, run by psql as
the superuser, exactly as the compose stack's postgres runs it on first start."""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote, urlsplit, urlunsplit

from eventstore.pool import with_database
from temaplan.pgtools import program_for, server_major


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
    temporal: Role
    temporal_db: str
    temporal_visibility_db: str

    def variables(self) -> dict[str, str]:
        return {
            "events_db": self.events_db,
            "owner_role": self.owner.name,
            "owner_password": self.owner.password,
            "app_role": self.app.name,
            "app_password": self.app.password,
            "auditor_role": self.auditor.name,
            "auditor_password": self.auditor.password,
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
