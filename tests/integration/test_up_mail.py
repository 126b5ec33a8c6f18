"""`temaplan up` and notifications: with TEMAPLAN_SMTP_* set, the person awaited at the
first gate gets one mail linking to the plan's page; without a mail server, the log says
so and the person's web inbox still shows the plan."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from pathlib import Path

import httpx
import pytest

from api.web import LOGIN_COOKIE, SESSION_COOKIE
from domain.plan import PlanDefinition
from tests.integration.conftest import unique
from tests.integration.test_mail_relay import smtp_server
from tests.integration.test_up import TEMAPLAN, _issue, up_env
from tests.ports import free_port

pytestmark = pytest.mark.servers


async def _up(env: dict[str, str], stderr: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        TEMAPLAN,
        "--lang",
        "en",
        "up",
        "--temporal-port",
        str(free_port()),
        "--ui-port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr.open("wb"),
    )
    assert process.stdout is not None
    async with asyncio.timeout(90):
        while True:
            raw = await process.stdout.readline()
            assert raw, "temaplan up ended early"
            if raw.decode().startswith("temaplan is up"):
                return process


async def _down(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGINT)
    assert process.stdout is not None
    async with asyncio.timeout(60):
        await process.stdout.read()
        assert await process.wait() == 0


async def _start_plan(site: str, env: dict[str, str], definition: PlanDefinition) -> None:
    issued = await asyncio.create_subprocess_exec(
        TEMAPLAN,
        "tokens",
        "issue",
        "admin.up",
        "--admin",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await issued.communicate()
    admin = {"Authorization": f"Bearer {out.decode().strip()}"}
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        created = await http.post(
            "/api/plans",
            content=definition.model_dump_json(),
            headers={**admin, "Content-Type": "application/json"},
        )
        assert created.status_code == 201, created.text


async def test_up_mails_the_person_awaited_at_the_first_gate(
    tmp_path: Path, database_url: str, bodo: PlanDefinition
) -> None:
    smtp_port, api_port = free_port(), free_port()
    site = f"http://127.0.0.1:{api_port}"
    env = up_env(
        tmp_path,
        database_url,
        api_port,
        TEMAPLAN_SMTP_HOST="127.0.0.1",
        TEMAPLAN_SMTP_PORT=str(smtp_port),
        TEMAPLAN_SMTP_STARTTLS="false",
        TEMAPLAN_PUBLIC_URL=site,
    )
    definition = unique(bodo)
    leader = next(p for p in definition.participants if p.id == "kari.nilsen")
    with smtp_server(smtp_port) as mailbox:
        process = await _up(env, tmp_path / "up.log")
        try:
            await _start_plan(site, env, definition)
            for _ in range(150):
                if mailbox.to(leader.email):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(6)  # another round of the relay: still one mail
        finally:
            await _down(process)
    [mail] = mailbox.to(leader.email)
    assert mail["Subject"].startswith(definition.title)
    assert f"{site}/plans/{definition.plan_id}" in mail.get_content()


async def test_up_without_a_mail_server_logs_it_and_the_inbox_shows_the_plan(
    tmp_path: Path, database_url: str, bodo: PlanDefinition
) -> None:
    api_port = free_port()
    site = f"http://127.0.0.1:{api_port}"
    env = up_env(tmp_path, database_url, api_port)
    definition = unique(bodo)
    log = tmp_path / "up.log"
    process = await _up(env, log)
    try:
        await _start_plan(site, env, definition)
        token = (await _issue(env, "kari.nilsen"))["Authorization"].removeprefix("Bearer ")
        async with httpx.AsyncClient(base_url=site, timeout=30) as http:
            page = await http.get("/login")
            nonce = re.search(rf"{LOGIN_COOKIE}=([^;]+)", page.headers["set-cookie"])
            field = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
            assert nonce
            assert field
            login = await http.post(
                "/login",
                data={"token": token, "csrf": field.group(1)},
                headers={"Cookie": f"{LOGIN_COOKIE}={nonce.group(1)}"},
            )
            session = re.search(rf"{SESSION_COOKIE}=([^;]+)", login.headers["set-cookie"])
            assert session
            inbox = await http.get(
                "/inbox", headers={"Cookie": f"{SESSION_COOKIE}={session.group(1)}"}
            )
        assert inbox.status_code == 200
        assert definition.plan_id in inbox.text
    finally:
        await _down(process)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any("TEMAPLAN_SMTP_HOST is not set" in line.get("event", "") for line in lines)
