"""Chromium for the browser tests: launched headless, and a person signed in by token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from tests.integration.conftest import CHROMIUM

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


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
    await page.get_by_label("Tilgangsnøkkel").fill(token)
    await page.get_by_role("button", name="Logg inn").click()
