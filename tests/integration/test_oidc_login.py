"""Login with the municipality's identity provider, against a real OpenID Connect
provider (the certified `oidc-provider` package, run by Node.js from tests/oidc/) in the
real Chromium of the browser tests: log in, sign off, log out; an unknown person gets a
clear page; a state sent back a second time is refused."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client

from api.service import ApiContext
from domain.plan import PlanDefinition
from eventstore import EventStore
from eventstore.pool import create_pool
from runtime.settings import Settings
from tests.integration.browser import ARGS, CHROMIUM, chromium_available, serving
from tests.integration.conftest import driven, unique
from tests.ports import free_port

pytestmark = pytest.mark.servers

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID, CLIENT_SECRET = "temaplan-web", "test-secret-of-the-client"
ACCOUNTS = {
    # Bodø's per.olsen, known here by the email address in the plan file.
    "per": {
        "email": "per.olsen@bodo.kommune.no",
        "preferred_username": "per@bodo.kommune.no",
        "temaplan_municipalities": ["1804"],
    },
    # Logged in at the provider, but in no plan.
    "ukjent": {"email": "ukjent@bodo.kommune.no", "temaplan_municipalities": ["1804"]},
    # The same address, but the provider says Larvik: Bodø's plan is not theirs.
    "larvik": {"email": "per.olsen@bodo.kommune.no", "temaplan_municipalities": ["3805"]},
}


def _node_modules() -> None:
    """`npm ci` from the committed lock file, once per checkout."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail("npm is missing (apt-get install nodejs npm)")
        pytest.skip("Node.js and npm are not installed")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=600
    )


@dataclass
class Deployment:
    site: str
    issuer: str


@pytest.fixture
async def deployment(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, task_queue: str
) -> AsyncIterator[Deployment]:
    if not chromium_available():
        pytest.skip(f"{CHROMIUM} is not installed (CI installs Debian's chromium)")
    await asyncio.to_thread(_node_modules)
    api_port, provider_port = free_port(), free_port()
    site, issuer = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{provider_port}"
    provider = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node",
        str(PROVIDER_DIR / "provider.mjs"),
        cwd=PROVIDER_DIR,
        env={
            **os.environ,
            "OIDC_PORT": str(provider_port),
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URI": f"{site}/login/oidc/callback",
            "OIDC_POST_LOGOUT_URI": f"{site}/login",
            "OIDC_ACCOUNTS": json.dumps(ACCOUNTS),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert provider.stdout is not None
    line = await asyncio.wait_for(provider.stdout.readline(), timeout=30)
    assert line.decode().strip() == f"ready {issuer}", line
    secret_file = PROVIDER_DIR.parent / "artifacts" / f"oidc-secret-{provider_port}"
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret_file.write_text(CLIENT_SECRET + "\n")
    settings = Settings(
        TEMPORAL_TASK_QUEUE=task_queue,
        TEMAPLAN_OIDC_ISSUER=issuer,
        TEMAPLAN_OIDC_CLIENT_ID=CLIENT_ID,
        TEMAPLAN_OIDC_CLIENT_SECRET_FILE=str(secret_file),
        TEMAPLAN_OIDC_PERSON_CLAIM="email",
        TEMAPLAN_OIDC_MATCH="email",
        TEMAPLAN_OIDC_MUNICIPALITY_CLAIM="temaplan_municipalities",
    )
    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    ctx = ApiContext(client=plain_client, pool=pool, audit_pool=audit_pool, settings=settings)
    try:
        async with serving(ctx, api_port):
            yield Deployment(site=site, issuer=issuer)
    finally:
        await audit_pool.close()
        provider.terminate()
        await provider.wait()
        secret_file.unlink(missing_ok=True)


async def _log_in_at_provider(page: object, site: str, account: str) -> None:
    from playwright.async_api import Page

    assert isinstance(page, Page)
    await page.goto(f"{site}/login")
    await page.get_by_role("link", name="Logg inn med kommunens innlogging").click()
    # The provider's own pages: its login form, then its consent.
    await page.locator('input[name="login"]').fill(account)
    await page.locator('input[name="password"]').fill("any")
    await page.locator('button[type="submit"]').click()
    await page.locator('button[type="submit"]').click()


async def test_a_stakeholder_logs_in_signs_off_and_logs_out_with_the_identity_provider(
    deployment: Deployment,
    plain_client: Client,
    task_queue: str,
    pool: asyncpg.Pool,
    bodo: PlanDefinition,
    artifacts_dir: Path,
) -> None:
    from playwright.async_api import async_playwright, expect

    site = deployment.site
    shots = artifacts_dir / "web"
    shots.mkdir(parents=True, exist_ok=True)
    plan = unique(bodo)
    await driven(plain_client, task_queue, plan, lambda s: s.step_key == "goals.quality_assurance")
    store = EventStore(pool)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            member = await browser.new_context()
            page = await member.new_page()
            callbacks: list[str] = []
            page.on(
                "request",
                lambda r: callbacks.append(r.url) if "/login/oidc/callback" in r.url else None,
            )
            await _log_in_at_provider(page, site, "per")
            await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()
            await expect(page.locator("[data-person]")).to_have_attribute(
                "data-person", "per.olsen"
            )
            await expect(page.locator("[data-person]")).to_have_text("Per Olsen")
            await page.screenshot(path=shots / "oidc-inbox.png", full_page=True)

            item = page.locator(f'li.pending[data-plan="{plan.plan_id}"]')
            await item.get_by_role("link").click()
            await page.get_by_label("Godkjenn").check()
            await page.get_by_role("button", name="Send").click()
            await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
            version = int(await page.locator("[data-receipt-version]").inner_text())
            event = next(e for e in await store.read(plan.plan_id) if e.version == version)
            assert (event.type, event.actor_id) == ("sign_off_given", "per.olsen")
            # The record names the person as before, and says how they were authenticated.
            assert event.data["authenticated_by"] == f"oidc {deployment.issuer}"

            # The provider's answer sent again, with the state cookie put back: refused,
            # the state was taken by the first login.
            assert len(callbacks) == 1
            state = callbacks[0].split("state=")[1].split("&")[0]
            await member.add_cookies(
                [{"name": "temaplan_oidc", "value": state, "url": f"{site}/login/oidc/"}]
            )
            replayed = await page.goto(callbacks[0])
            assert replayed is not None
            assert replayed.status == 400
            await expect(page.locator('[data-code="LoginRefused"]')).to_contain_text(
                "allerede brukt"
            )

            # Logging out ends the session here and at the provider (its confirmation).
            await page.goto(f"{site}/inbox")
            await page.get_by_role("button", name="Logg ut").click()
            await page.locator('button[name="logout"]').click()
            await expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
            await page.goto(f"{site}/inbox")
            await expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
            # At the provider too: logging in again asks for the name again.
            await page.get_by_role("link", name="Logg inn med kommunens innlogging").click()
            await expect(page.locator('input[name="login"]')).to_be_visible()

            # Known to the provider, unknown here: a clear page in both languages.
            for account, said in (("ukjent", "ikke deltaker"), ("larvik", "ikke deltaker")):
                other = await browser.new_context()
                stranger = await other.new_page()
                await _log_in_at_provider(stranger, site, account)
                refusal = stranger.locator('[data-code="LoginRefused"]')
                await expect(refusal).to_contain_text(said)
                await expect(refusal).to_contain_text("take part in no plan")
                await stranger.goto(f"{site}/inbox")
                await expect(stranger.get_by_role("heading", name="Logg inn")).to_be_visible()
                await other.close()
        finally:
            await browser.close()
