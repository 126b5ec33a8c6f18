"""In the adoption phase the plan list's deadline column, the plan page and the council's
inbox item show the adoption phase's own deadline (api/web_deadlines.py), not the
hearing's: the pages in a real Chromium with axe-core on both, the inbox over HTTP.
Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from api.service import ApiContext
from client.plans import start_plan
from client.simulation import PlanDriver
from domain.phases import Phase
from domain.plan import PlanDefinition
from runtime.formatting import OSLO
from tests.integration.browser import launched, log_in, new_page
from tests.integration.conftest import (
    Servers,
    Web,
    bearer,
    closable_early,
    closing_early,
    web_session,
)
from tests.integration.test_web_accessibility import _axe, _violations

pytestmark = pytest.mark.servers


async def _at_adoption(servers: Servers) -> PlanDefinition:
    """Bodø's plan in the adoption phase, its hearing closed early."""
    plan = servers.plan()
    handle = await start_plan(servers.client, closable_early(plan), servers.task_queue)
    driver = PlanDriver(handle, plan)
    await driver.run_until(lambda s: s.phase is Phase.ADOPTION, closing_early(driver))
    return plan


def _last_day(plan: PlanDefinition, ctx: ApiContext) -> date:
    """The day before the period's last yearly revision date (api/web_deadlines.py)."""
    revision = plan.settings.revision_date or ctx.settings.revision_date()
    return date(plan.period.to_year, revision.month, revision.day) - timedelta(days=1)


async def test_the_adoption_phase_shows_its_own_deadline(web: Web) -> None:
    from playwright.async_api import expect

    site, shots = web.site, web.shots
    axe = await asyncio.to_thread(_axe)
    plan = await _at_adoption(web)
    state = await web.ctx.plans.state(plan.plan_id)
    assert state.phase is Phase.ADOPTION
    assert state.hearing_deadline is not None
    shown = _last_day(plan, web.ctx).strftime("%d.%m.%Y")
    hearing_shown = state.hearing_deadline.astimezone(OSLO).strftime("%d.%m.%Y %H:%M")
    admin = await web.token("kari.nilsen", "admin")

    async with launched() as browser:
        page = await new_page(browser, bypass_csp=True)
        await log_in(page, site, admin)
        await page.goto(f"{site}/plans?q={plan.plan_id}")
        cell = page.locator("[data-deadline]")
        await expect(cell).to_have_count(1)
        await expect(cell).to_have_text(shown)
        listed = await _violations(page, axe)
        await page.screenshot(path=shots / "plans-adoption-deadline.png", full_page=True)

        await page.goto(f"{site}/plans/{plan.plan_id}")
        deadline = page.locator("[data-adoption-deadline]")
        await expect(deadline).to_contain_text("Frist for vedtak i kommunestyret")
        await expect(deadline).to_contain_text(shown)
        await expect(deadline).to_contain_text("første årlige rullering")
        assert hearing_shown not in await page.locator("main").inner_text()
        planned = await _violations(page, axe)
        await page.screenshot(path=shots / "plan-adoption-deadline.png", full_page=True)

    assert (listed, planned) == ([], [])


async def test_the_councils_inbox_item_shows_the_adoption_deadline(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    """The council's vote waits in its members' inbox with the day it must be taken by, as
    the plan page shows it; the API's pending list gives the same day."""
    plan = await _at_adoption(servers)
    last_day = _last_day(plan, servers.ctx)
    member = "siri.andreassen"  # ordfører, in the municipal council

    pending = await api.get("/api/me/pending", headers=await bearer(servers.ctx, member))
    assert pending.status_code == 200, pending.text
    [item] = [p for p in pending.json() if p["plan_id"] == plan.plan_id]
    assert (item["role"], item["deadline"]) == ("municipal_council", last_day.isoformat())

    cookie, _csrf = await web_session(servers.ctx, member)
    inbox = await api.get("/inbox", headers=cookie)
    assert inbox.status_code == 200
    card = inbox.text[inbox.text.index(f'data-plan="{plan.plan_id}"') :]
    card = card[: card.index("</li>")]
    assert f"<dt>Frist</dt><dd>{last_day.strftime('%d.%m.%Y')}</dd>" in card
