"""PostgreSQL's client programs (psql, pg_dump, pg_restore) matched to a server's version.

pg_dump refuses a server newer than itself, and a dump is best restored by the same
major version, so the program is chosen by the server's major version among the
machine's installations (/usr/lib/postgresql/N/bin, then the embedded pgserver's bundled
binaries, then PATH).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import asyncpg


class ToolMissing(RuntimeError):
    pass


def _candidates(name: str) -> list[Path]:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    try:
        import pgserver

        found.append(Path(pgserver.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:  # the runtime image has no embedded server, and needs none
        pass
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return [p for p in found if p.is_file()]


def _major(program: Path) -> int:
    out = subprocess.run(
        [str(program), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    if match is None:  # pragma: no cover - every PostgreSQL program prints its version
        raise ToolMissing(f"cannot read the version of {program}: {out!r}")
    return int(match.group(1))


def program_for(name: str, server_major: int) -> Path:
    """The same major version as the server, else the nearest newer one."""
    versions = [(_major(p), p) for p in _candidates(name)]
    usable = sorted((v, str(p)) for v, p in versions if v >= server_major)
    if not usable:
        seen = ", ".join(f"{p} ({v})" for v, p in versions) or "none"
        raise ToolMissing(
            f"no {name} of PostgreSQL {server_major} or newer found (seen: {seen}); "
            f"install postgresql-client-{server_major}"
        )
    return Path(usable[0][1])


@dataclass(frozen=True)
class DatabaseFacts:
    name: str
    # Tables, sequences and indexes outside PostgreSQL's own schemas.
    objects: int
    server_major: int


async def database_facts(dsn: str) -> DatabaseFacts:
    """What a restore needs to know of its target, read from PostgreSQL's catalogue."""
    conn = await asyncpg.connect(dsn)
    try:
        name = await conn.fetchval("SELECT current_database()")
        objects = await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
        )
        major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
    return DatabaseFacts(name=name, objects=objects, server_major=major)


async def server_major(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SHOW server_version_num")) // 10000
    finally:
        await conn.close()
