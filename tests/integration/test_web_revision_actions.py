"""The project leader's revision actions and the schedule's actions through the web
page's forms, in a real Chromium: each form reaches the API's own function, so what the
API refuses the page refuses with the same code, and what it takes is recorded with a
receipt. Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.browser import launched, log_in, log_in_as_another, new_page
from tests.integration.conftest import Web, bearer
from tests.integration.test_web_accessibility import _axe, _violations

pytestmark = pytest.mark.servers


async def test_the_leader_acts_on_the_revision_and_the_schedule_on_the_page(
    web: Web, api: httpx.AsyncClient
) -> None:
    from playwright.async_api import expect

    site, shots, store = web.site, web.shots, web.store
    definition, year = await web.plan_with_open_round()
    plan_id = definition.plan_id
    kari = await web.token("kari.nilsen")
    espen = await web.token("espen.moe")  # the scheduler
    leader = await bearer(web.ctx, "kari.nilsen")
    scheduler = await bearer(web.ctx, "espen.moe")
    # What the API answers to closing a round with measures unreported.
    api_close = await api.post(f"/api/plans/{plan_id}/revisions/{year}/close", headers=leader)
    assert api_close.status_code >= 400, api_close.text
    api_code = api_close.json()["error"]["code"]
    assert definition.proposals is not None
    goal = next(g for g in definition.proposals.goals if g.indicator)

    async with launched() as browser:
        page = await new_page(browser, bypass_csp=True)
        axe = await asyncio.to_thread(_axe)
        await log_in(page, site, kari)
        await page.goto(f"{site}/plans/{plan_id}/revisions/{year}")
        leader_forms = page.locator("#leader")
        await expect(leader_forms).to_be_visible()
        await page.screenshot(path=shots / "revision-leader.png", full_page=True)
        assert await _violations(page, axe) == []

        # The goal indicator, typed with a decimal comma.
        form = page.locator('form[data-action="goal-indicator"]')
        await form.get_by_label("Mål").select_option(goal.id)
        await form.get_by_label("Nåverdi").fill("12,5")
        await form.get_by_role("button").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        version = int(await page.locator("[data-receipt-version]").inner_text())
        event = next(e for e in await store.read(plan_id) if e.version == version)
        assert (event.type, event.actor_id) == ("goal_indicator_reported", "kari.nilsen")
        assert event.data["goal_id"] == goal.id
        assert str(event.data["value"]) == "12.5"

        # Closing with measures unreported: the API's refusal, on the page.
        await page.goto(f"{site}/plans/{plan_id}/revisions/{year}")
        await page.locator('form[data-action="close"]').get_by_role("button").click()
        await expect(page.locator("[data-code]")).to_have_attribute("data-code", api_code)
        assert await page.locator("html").get_attribute("lang") == "nb"
        await page.screenshot(path=shots / "revision-close-refused.png", full_page=True)

        # The schedule: a pause without a reason is refused as the API refuses it.
        api_pause = await api.post(
            f"/api/plans/{plan_id}/schedule/pause", json={}, headers=scheduler
        )
        assert api_pause.status_code >= 400, api_pause.text
        await page.goto(f"{site}/plans/{plan_id}")
        await expect(page.locator("#schedule")).to_have_count(0)  # not the leader's
        await log_in_as_another(page, espen)
        await page.goto(f"{site}/plans/{plan_id}")
        await expect(page.locator("#schedule")).to_be_visible()
        assert await _violations(page, axe) == []
        csrf = await page.locator("form.logout input[name=csrf]").get_attribute("value")
        refused = await page.request.post(
            f"{site}/plans/{plan_id}/schedule/pause", form={"csrf": csrf or "", "reason": ""}
        )
        assert refused.status == api_pause.status_code
        assert f'data-code="{api_pause.json()["error"]["code"]}"' in await refused.text()
        pause = page.locator('form[data-action="pause"]')
        await pause.get_by_label("Begrunnelse").fill("Rulleringen tas i høstens møte.")
        await pause.get_by_role("button").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        await page.screenshot(path=shots / "schedule-paused.png", full_page=True)
        await page.goto(f"{site}/plans/{plan_id}")
        await page.locator('form[data-action="unpause"]').get_by_role("button").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        changed = [
            e.data.get("action")
            for e in await store.read(plan_id)
            if e.type == "revision_schedule_changed"
        ]
        assert changed[-2:] == ["pause", "unpause"], changed
