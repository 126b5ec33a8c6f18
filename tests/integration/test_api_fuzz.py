"""Every route of the OpenAPI spec, fuzzed by schemathesis against the API served by
uvicorn (`temaplan api`) on a real plan: no 5xx, and no traceback in the server's log.

Bounded: a fixed number of examples per route and a time budget per token, with a fixed
seed so a failure can be run again (SCHEMATHESIS_SEED changes it). Run as three people at
once: the plan's project leader (whose decisions are parsed and checked), an
administrator and an auditor.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.tokens import TokenStore
from client.plans import start_plan
from domain.plan import PlanDefinition
from domain.roles import Role
from tests.integration.conftest import unique
from tests.ports import free_port

pytestmark = pytest.mark.servers

BIN = Path(sys.executable).parent
EXAMPLES_PER_ROUTE = 12
SECONDS_PER_TOKEN = 20


@pytest.fixture
async def served_api(
    temporal_env: WorkflowEnvironment, database_url: str, task_queue: str, tmp_path: Path
) -> AsyncIterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "api.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "TEMAPLAN_API_PORT": str(port),
        "LOG_FORMAT": "json",
    }
    with open(log, "wb") as out:  # noqa: ASYNC230 - once, before the server starts
        process = await asyncio.create_subprocess_exec(
            str(BIN / "temaplan"), "api", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the API did not start: {log.read_text()[-2000:]}")
        yield base, log
    finally:
        process.terminate()
        await process.wait()


async def schemathesis(base: str, token: str, config: Path, report: Path) -> tuple[int, str]:
    """Run in the config's folder: schemathesis keeps its cache in the working directory."""
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261204")
    process = await asyncio.create_subprocess_exec(
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(EXAMPLES_PER_ROUTE),
        "--max-time",
        str(SECONDS_PER_TOKEN),
        "--seed",
        seed,
        "--no-shrink",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        # One thread: hypothesis describes filters with ast.parse, which CPython 3.11
        # cannot run in two threads at once ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {token}",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--no-color",
        cwd=config.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=SECONDS_PER_TOKEN + 60)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_no_route_answers_5xx_to_generated_requests(
    served_api: tuple[str, Path],
    plain_client: Client,
    pool: asyncpg.Pool,
    task_queue: str,
    bodo: PlanDefinition,
    tmp_path: Path,
) -> None:
    base, log = served_api
    definition = unique(bodo)
    await start_plan(plain_client, definition, task_queue)
    tokens = TokenStore(pool)
    leader = definition.members(Role.PROJECT_LEADER)[0].id
    people = {
        "leader": (await tokens.issue(leader, "person")).token,
        "admin": (await tokens.issue("administrator", "admin")).token,
        "auditor": (await tokens.issue(definition.members(Role.AUDITOR)[0].id, "auditor")).token,
    }
    config = tmp_path / "schemathesis.toml"
    # Routes under a plan get the real plan (and this year's revision) most of the time;
    # unknown plans are covered by test_api_malformed.py.
    config.write_text(f'[parameters]\n"path.plan_id" = "{definition.plan_id}"\n')
    runs = await asyncio.gather(
        *(
            schemathesis(base, token, config, tmp_path / f"{who}.ndjson")
            for who, token in people.items()
        )
    )
    for (code, output), who in zip(runs, people, strict=True):
        assert code == 0, f"as {who}:\n{output[-6000:]}"
        assert "not_a_server_error" in output or "passed" in output.lower(), output[-2000:]
    served = log.read_text()
    assert "Traceback" not in served, served[-4000:]
    assert "unexpected error" not in served, served[-4000:]
    # The fuzzing reached the routes: requests were answered, decisions were parsed.
    assert '"status_code"' in (tmp_path / "leader.ndjson").read_text() or served.count("\n") > 10
