"""Chromium for the browser tests: launched headless, a person signed in by token, and
the app served by uvicorn on a free port of this machine for it to open."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from api.app import create_app
from api.service import ApiContext
from tests.ports import free_port

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_available() -> bool:
    """Debian's chromium, for the browser tests; missing, it fails them where
    REQUIRE_CHROMIUM is set (CI installs it) and lets them skip elsewhere."""
    if os.access(CHROMIUM, os.X_OK):
        return True
    if os.environ.get("REQUIRE_CHROMIUM"):
        pytest.fail(f"REQUIRE_CHROMIUM is set but {CHROMIUM} is missing (apt-get install chromium)")
    return False


@asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Debian's Chromium, closed when the test is done with it, passed or failed."""
    # Imported here: without Chromium the tests skip, and so need no Playwright.
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def log_in(page: Page, site: str, token: str) -> None:
    """Sign in on the login page with an access token (tilgangsnøkkel)."""
    await page.goto(f"{site}/login")
    await give_token(page, token)


async def give_token(page: Page, token: str) -> None:
    """Sign in on the login page the browser is on."""
    await page.get_by_label("Tilgangsnøkkel").fill(token)
    await page.get_by_role("button", name="Logg inn").click()


async def log_in_as_another(page: Page, token: str) -> None:
    """Log out, which leads to the login page, and sign in there with ``token``."""
    await page.get_by_role("button", name="Logg ut").click()
    await give_token(page, token)


async def status_of(page: Page, url: str) -> int:
    """The HTTP status the page is answered with on opening ``url``."""
    response = await page.goto(url)
    assert response is not None
    return response.status


async def new_page(browser: Browser, width: int = 1200, height: int = 900, **options: Any) -> Page:
    """A page in a context of its own (its own cookies), ``width`` by ``height`` px;
    ``options`` are the context's others (bypass_csp, accept_downloads)."""
    context = await browser.new_context(viewport={"width": width, "height": height}, **options)
    return await context.new_page()


@asynccontextmanager
async def serving(ctx: ApiContext, port: int | None = None) -> AsyncIterator[str]:
    """The app on ``port`` (a free one unless given) of 127.0.0.1 until the block ends:
    its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
