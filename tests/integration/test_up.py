"""`temaplan up`: one command brings up a persistent Temporal dev server, the worker and
the API/web page; Ctrl-C stops it cleanly; plans and tokens survive a restart."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from domain.plan import PlanDefinition
from tests.integration.conftest import goals_submission, unique
from tests.ports import free_port

pytestmark = pytest.mark.servers
TEMAPLAN = str(Path(sys.executable).parent / "temaplan")


async def _up(
    env: dict[str, str], temporal_port: int, ui_port: int
) -> tuple[asyncio.subprocess.Process, list[str]]:
    process = await asyncio.create_subprocess_exec(
        TEMAPLAN,
        "up",
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    lines: list[str] = []
    assert process.stdout is not None
    async with asyncio.timeout(90):
        while True:
            raw = await process.stdout.readline()
            assert raw, f"temaplan up ended early: {lines}"
            lines.append(raw.decode().strip())
            if lines[-1].startswith("temaplan kjører: nettsiden og API-et http://"):
                return process, lines


async def _down(process: asyncio.subprocess.Process) -> list[str]:
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    async with asyncio.timeout(60):
        rest = (await process.stdout.read()).decode().splitlines()
        assert await process.wait() == 0
    return rest


def up_env(tmp_path: Path, database_url: str, api_port: int, **extra: str) -> dict[str, str]:
    """The environment `temaplan up` runs in for a test: this machine's, without its own
    Temporal address or mail server, with the test's database, data directory and port."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TEMAPLAN_SMTP_")},
        "DATABASE_URL": database_url,
        "TEMAPLAN_DATA_DIR": str(tmp_path / "data"),
        "TEMAPLAN_API_PORT": str(api_port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    env.pop("TEMPORAL_ADDRESS", None)
    return env


async def test_up_runs_the_stack_and_keeps_the_data(
    tmp_path: Path, database_url: str, bodo: PlanDefinition
) -> None:
    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = up_env(tmp_path, database_url, api_port)
    definition = unique(bodo)
    site = f"http://127.0.0.1:{api_port}"

    process, lines = await _up(env, temporal_port, ui_port)
    try:
        token = next(line for line in lines if line.startswith("tp_"))
        assert any(line.startswith("Tilgangsnøkkel for en administrator (vises") for line in lines)
        admin = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=site, timeout=30) as http:
            assert (await http.get("/api/me", headers=admin)).json()["kind"] == "admin"
            created = await http.post(
                "/api/plans", content=definition.model_dump_json(), headers=admin
            )
            assert created.status_code == 201, created.text
            assert (await http.get("/login")).status_code == 200
            assert (await http.get("/docs")).status_code == 200
    finally:
        rest = await _down(process)
    assert rest[-1] == "temaplan er stoppet; dataene beholdes til neste start"
    assert (tmp_path / "data" / "temporal" / "temporal.db").exists()

    # Again: no new admin token, the plan is there, and its workflow still waits for it.
    process, lines = await _up(env, temporal_port, ui_port)
    try:
        assert not [line for line in lines if re.match(r"^\s*tp_", line)]
        leader = await _issue(env, "kari.nilsen")
        async with httpx.AsyncClient(base_url=site, timeout=30) as http:
            plans = (await http.get("/api/plans", headers=admin)).json()
            assert [p["plan_id"] for p in plans] == [definition.plan_id]
            submitted = await http.post(
                f"/api/plans/{definition.plan_id}/content",
                json=goals_submission(bodo),
                headers=leader,
            )
            assert submitted.status_code == 200, submitted.text
            assert submitted.json()["event_type"] == "content_submitted"
    finally:
        await _down(process)


async def _issue(env: dict[str, str], person: str) -> dict[str, str]:
    process = await asyncio.create_subprocess_exec(
        TEMAPLAN,
        "tokens",
        "issue",
        person,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    return {"Authorization": f"Bearer {out.decode().strip()}"}


async def test_up_on_the_embedded_database_serves_as_the_application_role(
    tmp_path: Path,
) -> None:
    """Without DATABASE_URL: the roles made by eventstore/roles.sql, the tables owned by
    temaplan_owner, and every connection of the worker and the API as temaplan_app."""
    import asyncpg

    api_port, temporal_port, ui_port = free_port(), free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "TEMAPLAN_DATA_DIR": str(tmp_path / "data"),
        "TEMAPLAN_API_PORT": str(api_port),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TEMPORAL_ADDRESS", None)
    process, lines = await _up(env, temporal_port, ui_port)
    try:
        token = next(line for line in lines if line.startswith("tp_"))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api_port}") as http:
            me = await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["kind"] == "admin"
        socket_dir = (tmp_path / "data" / "postgres" / "pgdata").resolve()
        conn = await asyncpg.connect(f"postgresql://postgres@/temaplan_events?host={socket_dir}")
        try:
            owner = await conn.fetchval(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'events'"
            )
            users = await conn.fetch(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'temaplan_events' "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        assert owner == "temaplan_owner"
        assert [r["usename"] for r in users] == ["temaplan_app"]
    finally:
        await _down(process)
