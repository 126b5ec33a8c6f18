"""`temaplan backup` and `temaplan restore`: the event store with pg_dump's custom format.

pg_dump reads the whole database in one snapshot, so a backup taken while plans run is
consistent: every event with its leaf, every checkpoint with the leaves it commits to.
--serializable-deferrable waits for a snapshot no running transaction can still make
anomalous. The file is written beside its final name and renamed when complete, so a
failed backup never leaves a file that looks whole.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import asyncpg

from eventstore.log import sequence_restored
from runtime.pgtools import database_facts, program_for, server_major


class BackupError(RuntimeError):
    pass


async def _run(command: list[str]) -> str:
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")
    return done.stdout


async def backup(dsn: str, out: Path) -> int:
    """Write the backup; returns the number of objects in its table of contents."""
    major = await server_major(dsn)
    partial = out.with_name(out.name + ".partial")
    await _run(
        [
            str(program_for("pg_dump", major)),
            "--format=custom",
            "--serializable-deferrable",
            "--no-password",
            f"--file={partial}",
            f"--dbname={dsn}",
        ]
    )
    # A backup is only as good as its readability: list it before calling it done.
    listing = await _run([str(program_for("pg_restore", major)), "--list", str(partial)])
    os.replace(partial, out)
    return sum(1 for line in listing.splitlines() if line and not line.startswith(";"))


async def restore(dsn: str, backup_file: Path) -> None:
    """Into an empty database only: restoring over a live record would mix two."""
    if not await asyncio.to_thread(backup_file.is_file):
        raise BackupError(f"{backup_file}: no such backup file")
    target = await database_facts(dsn)
    if target.objects:
        raise BackupError(
            f"database '{target.name}' is not empty ({target.objects} tables, sequences or "
            "indexes); "
            "restore into a newly created database (the roles first: eventstore/roles.sql)"
        )
    await _run(
        [
            str(program_for("pg_restore", target.server_major)),
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={dsn}",
            str(backup_file),
        ]
    )
    # Another server's transaction ids may be lower than those the events recorded.
    conn = await asyncpg.connect(dsn)
    try:
        await sequence_restored(conn)
    finally:
        await conn.close()
