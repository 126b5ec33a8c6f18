"""Backups that restore: `temaplan backup` while the record is live, the database
dropped, `temaplan restore` into an empty one, and the record checks out again - the
chains, the cross-check with Temporal, and the log against the checkpoint held before."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from audit.checkpointer import Checkpointer
from domain import checkpoints as cp
from domain.plan import PlanDefinition
from eventstore import EventStore, NewEvent
from eventstore.log import MerkleLog
from eventstore.pool import create_pool, with_database
from temaplan.cli import main
from temaplan.log_cli import verify_log
from tests.integration.conftest import adopted_plan, unique
from workflows.registry import build_worker

pytestmark = pytest.mark.servers

LOG_KEY = cp.SigningKey.generate("bolig.kommune.example/temaplan")


async def test_backup_drop_restore_and_the_record_verifies(
    temporal_env: WorkflowEnvironment,
    postgres_server_url: str,
    database_url: str,
    bodo: PlanDefinition,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    definition = unique(bodo)
    queue = f"backup-{uuid.uuid4()}"
    pool = await create_pool(database_url)
    try:
        async with build_worker(temporal_env.client, pool, queue):
            await adopted_plan(temporal_env, queue, definition)
        signed = await Checkpointer(pool, LOG_KEY).checkpoint_now()
        assert signed is not None
        assert signed.tree_size > 0
        held = tmp_path / "held.checkpoint"
        held.write_text(signed.note)
        events_before = await EventStore(pool).read(definition.plan_id)
    finally:
        await pool.close()

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_env.client.service_client.config.target_host)
    backup_file = tmp_path / "events.dump"
    assert await asyncio.to_thread(main, ["backup", "--out", str(backup_file)]) == 0
    assert f"Sikkerhetskopien er skrevet til {backup_file} (" in capsys.readouterr().out
    assert backup_file.stat().st_size > 0
    assert not (tmp_path / "events.dump.partial").exists()

    name = urlsplit(database_url).path.lstrip("/")
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["restore", str(backup_file)]) == 0
    # Never over a live record.
    assert await asyncio.to_thread(main, ["restore", str(backup_file)]) == 1
    said = capsys.readouterr()
    assert said.out.startswith(f"{backup_file} er gjenopprettet; kjør nå `temaplan audit verify")
    assert said.err.startswith("Gjenopprettingen mislyktes: ")
    assert "is not empty" in said.err

    assert await asyncio.to_thread(main, ["audit", "verify", "--all", "--lang", "en"]) == 0
    assert "cross-check OK" in capsys.readouterr().out
    pool = await create_pool(with_database(postgres_server_url, name))
    try:
        assert await EventStore(pool).read(definition.plan_id) == events_before
        arguments = argparse.Namespace(
            log_key=LOG_KEY.verifier.vkey(), witness_key=[], checkpoint=[held], lang="nb"
        )
        assert await verify_log(pool, arguments) == 0
        assert "Merkle-loggen er i orden: " in (capsys.readouterr().out)
        arguments.lang = "en"
        assert await verify_log(pool, arguments) == 0
        assert f"consistent with held checkpoint of tree size {signed.tree_size}" in (
            capsys.readouterr().out
        )
        # The restored store goes on: the sequencer gives the next event the next leaf.
        await EventStore(pool).append(
            "after-restore",
            0,
            [
                NewEvent(
                    event_id=uuid.uuid4(),
                    type="comment_recorded",
                    data={"n": 1},
                    actor_id="kari.nilsen",
                    actor_role="steering_group",
                )
            ],
        )
        assert await MerkleLog(pool).sequence() == signed.tree_size + 1
    finally:
        await pool.close()
