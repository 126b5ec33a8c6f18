"""Least privilege: the worker and the API connect as the application role, which can
append to the record and read it, and nothing else there; migrations run as the owner.
The roles are made by eventstore/roles.sql, the file the compose stack's postgres runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from client.simulation import send_hearing_responses
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from eventstore import EventStore
from eventstore.errors import MigrationError
from eventstore.log import MerkleLog
from eventstore.migrate import migrate
from eventstore.pool import create_pool
from runtime.db_roles import Role, Roles, apply_roles, as_role
from temaplan.backup import backup, restore
from tests.conftest import scratch_database
from tests.integration.conftest import closable_early, close_early, started, unique
from workflows.registry import build_worker

pytestmark = pytest.mark.servers


def run_roles() -> Roles:
    # Roles belong to the whole cluster, which other test runs may share: named per run.
    tag = uuid.uuid4().hex[:8]
    return Roles(
        events_db=f"temaplan_roles_{tag}",
        owner=Role(f"temaplan_owner_{tag}", uuid.uuid4().hex),
        app=Role(f"temaplan_app_{tag}", uuid.uuid4().hex),
        auditor=Role(f"temaplan_auditor_{tag}", uuid.uuid4().hex),
        temporal=Role(f"temporal_{tag}", uuid.uuid4().hex),
        temporal_db=f"temporal_{tag}",
        temporal_visibility_db=f"temporal_visibility_{tag}",
    )


async def drop_roles(superuser_dsn: str, roles: Roles) -> None:
    assert roles.temporal is not None
    admin = await asyncpg.connect(superuser_dsn)
    try:
        for db in (roles.events_db, roles.temporal_db, roles.temporal_visibility_db):
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (roles.owner, roles.app, roles.auditor, roles.temporal):
            await admin.execute(f'DROP ROLE IF EXISTS "{role.name}"')
    finally:
        await admin.close()


@pytest.fixture
async def roles(postgres_server_url: str) -> AsyncIterator[Roles]:
    made = run_roles()
    try:
        await apply_roles(postgres_server_url, made)
        await apply_roles(postgres_server_url, made)  # idempotent: run again at will
        owner = await asyncpg.connect(as_role(postgres_server_url, made.owner, made.events_db))
        try:
            assert await migrate(owner)
        finally:
            await owner.close()
        yield made
    finally:
        await drop_roles(postgres_server_url, made)


@pytest.fixture
async def app_pool(postgres_server_url: str, roles: Roles) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(as_role(postgres_server_url, roles.app, roles.events_db))
    try:
        async with pool.acquire() as conn:
            assert await migrate(conn) == []  # checks, creates nothing
        yield pool
    finally:
        await pool.close()


REFUSED_ON_EVENTS = [
    "ALTER TABLE events DISABLE TRIGGER events_no_update_delete",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_no_update_delete ON events",
    "SET session_replication_role = replica",
    "DELETE FROM events",
    "UPDATE events SET actor_id = 'someone.else'",
    "TRUNCATE events",
    "DROP TABLE events CASCADE",
    "ALTER TABLE events OWNER TO CURRENT_USER",
    "CREATE OR REPLACE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NULL; END; $$",
    # The sequencer's order is PostgreSQL's to write: an old txid would keep it unlogged.
    "INSERT INTO events (stream_id, version, event_id, type, schema_version, data, actor_id, "
    "actor_role, recorded_at, prev_hash, hash, txid) VALUES ('x', 1, gen_random_uuid(), 'x', "
    "1, '{}', 'a', 'b', now(), repeat('0', 64), repeat('0', 64), '3'::xid8)",
]

REFUSED_ON_LOG = [
    "INSERT INTO log_leaves (leaf_index, position, event_hash) VALUES (999, 999, repeat('0', 64))",
    "UPDATE log_leaves SET event_hash = repeat('0', 64)",
    "DELETE FROM log_leaves",
    "UPDATE log_head SET size = 0",
    "UPDATE log_tree SET size = 0",
    "DELETE FROM log_nodes",
    "UPDATE log_nodes SET hash = hash",
    "DELETE FROM log_checkpoints",
    "UPDATE log_checkpoints SET note = ''",
    "TRUNCATE log_tree",
    "ALTER FUNCTION log_sequence_committed() SECURITY INVOKER",
    "UPDATE log_head SET sequenced_below = '3'::xid8",
    "DELETE FROM schema_migrations",
]


async def test_application_role_appends_and_reads_but_cannot_rewrite(
    app_pool: asyncpg.Pool, postgres_server_url: str, roles: Roles
) -> None:
    from tests.integration.test_eventstore import new_event  # the store's own test event

    store = EventStore(app_pool)
    await store.append("plan-roles", 0, [new_event(1)])
    await store.append("plan-roles", 1, [new_event(2)])
    assert [e.version for e in await store.read("plan-roles")] == [1, 2]
    log = MerkleLog(app_pool)
    assert await log.sequence() == 2  # the sequencer ran with its owner's rights
    await log.integrate()
    assert await log.built_size() == 2

    async with app_pool.acquire() as conn:
        for statement in REFUSED_ON_EVENTS + REFUSED_ON_LOG:
            with pytest.raises(asyncpg.PostgresError) as refused:
                async with conn.transaction():
                    await conn.execute(statement)
            assert refused.value.sqlstate in {"42501", "TP001"}, (statement, refused.value)
    assert [e.version for e in await store.read("plan-roles")] == [1, 2]
    assert await log.sequenced_size() == 2

    auditor = await asyncpg.connect(as_role(postgres_server_url, roles.auditor, roles.events_db))
    try:
        assert await auditor.fetchval("SELECT count(*) FROM events") == 2
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await auditor.execute("INSERT INTO log_tree (only_row, size) VALUES (false, 0)")
        for table in ("access_tokens", "oidc_logins", "oidc_sessions"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await auditor.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await auditor.close()

    # A login's state is taken once and a session ends at logout: the application
    # deletes there, as the identity-provider login does (eventstore/oidc_sessions.py).
    async with app_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO oidc_logins (state_sha256, nonce, code_verifier, expires_at)"
            " VALUES ($1, $2, $3, now() + interval '5 minutes')",
            "a" * 64,
            "n" * 24,
            "v" * 43,
        )
        taken = await conn.fetchval(
            "DELETE FROM oidc_logins WHERE state_sha256 = $1 RETURNING 1", "a" * 64
        )
        assert taken == 1
        assert await conn.execute("DELETE FROM oidc_sessions WHERE person_id = 'x'") == "DELETE 0"


async def test_application_role_cannot_migrate(postgres_server_url: str, roles: Roles) -> None:
    fresh = f"{roles.events_db}_fresh"
    async with scratch_database(postgres_server_url, fresh, roles.owner.name) as admin:
        await admin.execute(f'GRANT CONNECT ON DATABASE "{fresh}" TO "{roles.app.name}"')
        conn = await asyncpg.connect(as_role(postgres_server_url, roles.app, fresh))
        try:
            with pytest.raises(MigrationError, match="owner role"):
                await migrate(conn)
        finally:
            await conn.close()


async def test_a_plan_runs_to_adoption_as_the_application_role(
    temporal_env: WorkflowEnvironment, app_pool: asyncpg.Pool, bodo: PlanDefinition
) -> None:
    definition = closable_early(unique(bodo))
    queue = f"roles-{uuid.uuid4()}"
    async with build_worker(temporal_env.client, app_pool, queue):
        driver = await started(temporal_env, queue, definition)

        async def hearing(status: PlanStatus) -> None:
            await send_hearing_responses(driver, 2, with_receipt=1)
            await driver.wait_for(lambda s: s.hearing_responses == 2)
            await close_early(driver)

        final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    stored = await EventStore(app_pool).read(definition.plan_id)
    assert stored[-1].recorded_at <= datetime.now(UTC)
    assert await MerkleLog(app_pool).sequence() == len(stored)


async def test_a_backup_restored_by_the_owner_keeps_the_roles_rights(
    app_pool: asyncpg.Pool, postgres_server_url: str, roles: Roles, tmp_path: Path
) -> None:
    """Backup and restore as the owner role: the restored database still lets the
    application append (the sequencer keeps its owner's rights) and still refuses it the
    rest."""
    from tests.integration.test_eventstore import new_event

    await EventStore(app_pool).append("plan-kept", 0, [new_event(1), new_event(2)])
    owner_url = as_role(postgres_server_url, roles.owner, roles.events_db)
    dump = tmp_path / "events.dump"
    await backup(owner_url, dump)

    restored = f"{roles.events_db}_restored"
    async with scratch_database(postgres_server_url, restored, roles.owner.name) as admin:
        await admin.execute(
            f'GRANT CONNECT ON DATABASE "{restored}" TO "{roles.app.name}", "{roles.auditor.name}"'
        )
        await restore(as_role(postgres_server_url, roles.owner, restored), dump)
        pool = await create_pool(as_role(postgres_server_url, roles.app, restored))
        try:
            store = EventStore(pool)
            await store.append("plan-kept", 2, [new_event(3)])
            assert [e.version for e in await store.read("plan-kept")] == [1, 2, 3]
            assert await MerkleLog(pool).sequence() == 3
            async with pool.acquire() as conn:
                for statement in ("DELETE FROM events", "UPDATE log_head SET size = 0"):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(statement)
        finally:
            await pool.close()
