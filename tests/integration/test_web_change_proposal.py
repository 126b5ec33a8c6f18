"""A change proposal for next year's action part through the web page's fields (what
changes, which measure, the measure's parts), in a real Chromium: a change keeps what is
left empty from the measure in force, and what the API refuses the page refuses with the
same code. Screenshots go to tests/artifacts/web/, axe-core on the form."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from api.service import ApiContext
from tests.integration.browser import launched, log_in, new_page
from tests.integration.conftest import Web, bearer
from tests.integration.test_web_accessibility import _axe, _violations

pytestmark = pytest.mark.servers


async def _round_closed(api: httpx.AsyncClient, ctx: ApiContext, plan_id: str, year: int) -> None:
    """Every measure reported by its unit, the round closed, the scorecard made."""
    base = f"/api/plans/{plan_id}/revisions/{year}"
    leader = await bearer(ctx, "kari.nilsen")
    revision = (await api.get(f"{base}", headers=leader)).json()
    for line in revision["measures"]:
        body: dict[str, Any] = {"measure_id": line["measure_id"], "status": "done"}
        if line["indicator_name"]:
            body["indicator_value"] = "65"
        answer = await api.post(
            f"{base}/reports", json=body, headers=await bearer(ctx, line["reporters"][0])
        )
        assert answer.status_code == 200, answer.text
    closed = await api.post(f"{base}/close", headers=leader)
    assert closed.status_code == 200, closed.text
    for _ in range(200):
        if (await api.get(f"{base}/scorecard", headers=leader)).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no scorecard")


async def test_the_leader_proposes_a_change_with_the_forms_fields(
    web: Web, api: httpx.AsyncClient
) -> None:
    from playwright.async_api import expect

    site, shots, store, api_ctx = web.site, web.shots, web.store, web.ctx
    definition, year = await web.plan_with_open_round()
    plan_id = definition.plan_id
    await _round_closed(api, api_ctx, plan_id, year)
    state = await api_ctx.plans.state(plan_id)
    in_force = state.content(state.in_force_version)
    assert in_force is not None
    measure = in_force.content.measures[0]
    # What the API answers to a retirement that names no measure.
    api_refusal = await api.post(
        f"/api/plans/{plan_id}/revisions/{year}/changes",
        json={"changes": [{"kind": "retire", "reason": "Utført."}]},
        headers=await bearer(api_ctx, "kari.nilsen"),
    )
    assert api_refusal.status_code == 422, api_refusal.text
    api_code = api_refusal.json()["error"]["code"]
    kari = await web.token("kari.nilsen")
    axe = await asyncio.to_thread(_axe)

    async with launched() as browser:
        page = await new_page(browser, bypass_csp=True)
        await log_in(page, site, kari)
        await page.goto(f"{site}/plans/{plan_id}/revisions/{year}")
        form = page.locator('form[data-action="changes"]')
        await expect(form).to_be_visible()
        assert await form.locator("textarea[name=changes]").count() == 0
        violations = await _violations(page, axe)
        await page.screenshot(path=shots / "revision-change-form.png", full_page=True)
        assert violations == []

        # A retirement without the measure: refused as the API refuses it.
        head = await store.head(plan_id)
        await form.get_by_label("tiltak utgår").check()
        await form.get_by_label("Begrunnelse for endringen").fill("Utført.")
        await form.get_by_role("button").click()
        await expect(page.locator("[data-code]")).to_have_attribute("data-code", api_code)
        assert await store.head(plan_id) == head
        await page.screenshot(path=shots / "revision-change-refused.png", full_page=True)

        # A change of one measure's title and cost: the rest as in force.
        await page.goto(f"{site}/plans/{plan_id}/revisions/{year}")
        form = page.locator('form[data-action="changes"]')
        await form.get_by_label("endret tiltak").check()
        await form.get_by_label("Tiltaket som endres eller utgår").select_option(measure.id)
        await form.get_by_label("Tittel", exact=True).fill("Kjøpe tomter til flere boliger")
        await form.get_by_label("Investering i kroner").fill("1 250 000")
        await form.get_by_label("Begrunnelse for endringen").fill("Større behov enn ventet.")
        await form.get_by_role("button").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        version = int(await page.locator("[data-receipt-version]").inner_text())
        await page.screenshot(path=shots / "revision-change-receipt.png", full_page=True)

    event = next(e for e in await store.read(plan_id) if e.version == version)
    assert (event.type, event.actor_id) == ("measure_changes_proposed", "kari.nilsen")
    (change,) = event.data["changes"]
    assert change["kind"] == "change"
    assert change["reason"] == "Større behov enn ventet."
    proposed = change["measure"]
    assert proposed["title"] == "Kjøpe tomter til flere boliger"
    assert proposed["costs"]["investment_nok"] == 1_250_000
    kept = measure.model_dump(mode="json")
    for name in ("id", "strategy_id", "completion_criterion", "responsible_unit", "due_year"):
        assert proposed[name] == kept[name], name
