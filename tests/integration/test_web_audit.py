"""An auditor's work on the web page, in a real Chromium: the history in words with
people's names, the plan as it stood at a chosen time, the verification with the
checkpoint status, and the exports downloaded. Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import catalogue
from tests.integration.browser import launched, log_in, log_in_as_another, new_page, status_of
from tests.integration.conftest import Web, at_quality_assurance

pytestmark = pytest.mark.servers
OSLO = ZoneInfo("Europe/Oslo")


async def test_an_auditor_reads_verifies_and_exports_on_the_page(web: Web) -> None:
    from playwright.async_api import expect

    site, shots = web.site, web.shots
    plan = web.plan()
    await web.driven(plan, at_quality_assurance)
    events = await web.store.read(plan.plan_id)
    early = events[2]
    randi = await web.token("randi.solberg")
    per = await web.token("per.olsen")

    async with launched() as browser:
        page = await new_page(browser, accept_downloads=True)
        # A steering-group member is no auditor: no link, and the page refuses.
        await log_in(page, site, per)
        await page.goto(f"{site}/plans/{plan.plan_id}")
        await expect(page.locator("[data-audit-link]")).to_have_count(0)
        assert await status_of(page, f"{site}/plans/{plan.plan_id}/audit") == 403
        await page.goto(f"{site}/inbox")
        await log_in_as_another(page, randi)
        await page.goto(f"{site}/plans/{plan.plan_id}")
        await page.locator("[data-audit-link]").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Revisjon")
        rows = page.locator("table.history tbody tr")
        await expect(rows).to_have_count(len(events))
        # In words: no event's type name, people by name with the id beside it.
        text = await page.locator("table.history").inner_text()
        assert not [e.type for e in events if e.type in text]
        for e in events:
            assert catalogue.event_name(e.type, "nb") in text
        submitted = page.locator('tr[data-type="content_submitted"]').first
        await expect(submitted).to_contain_text("Kari Nilsen (prosjektleder)")
        await expect(submitted.locator("code").first).to_have_text("kari.nilsen")
        await page.screenshot(path=shots / "audit.png", full_page=True)

        await page.get_by_role("button", name="Kontroller nå").click()
        await expect(page.locator("[data-verified]")).to_have_attribute("data-verified", "ok")
        await expect(page.locator("[data-events-checked]")).to_have_text(str(len(events)))
        await expect(page.locator("[data-cross-check]")).to_have_attribute("data-cross-check", "ok")
        await expect(page.locator("[data-checkpoint]")).to_be_visible()
        await page.screenshot(path=shots / "audit-verified.png", full_page=True)

        # As of a moment just after the third event (to the millisecond, Oslo time).
        typed = (
            (early.recorded_at + timedelta(milliseconds=1))
            .astimezone(OSLO)
            .strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        )
        moment = datetime.fromisoformat(typed).replace(tzinfo=OSLO)
        later = [e for e in events if e.recorded_at <= moment]
        assert 3 <= len(later) < len(events)
        await page.get_by_label("Dato og klokkeslett").fill(typed)
        await page.get_by_role("button", name="Vis").click()
        await expect(page.locator("[data-events-folded]")).to_have_text(
            f"{len(later)} av {len(events)}"
        )
        await page.screenshot(path=shots / "audit-as-of.png", full_page=True)

        for fmt, suffix in (("csv", ".csv"), ("html", ".html"), ("jsonl", ".zip")):
            async with page.expect_download() as info:
                await page.locator(f'[data-export="{fmt}"]').click()
            download = await info.value
            assert download.suggested_filename.endswith(suffix), fmt
            failure = await download.failure()
            assert failure is None, (fmt, failure)
