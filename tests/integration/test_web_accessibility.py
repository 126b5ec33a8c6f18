"""Every page of the web site checked for WCAG 2.1 AA with axe-core (the npm package,
installed with `npm ci` from tests/axe/package-lock.json) in the real Chromium of the
browser tests: 0 violations on each, the pages listed in the output and in
tests/artifacts/web/axe.json. A keyboard-only run completes a sign-off and a hearing
response; on a 390 px wide phone the tables reflow into cards or scroll in their frame.
Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from api.tokens import Kind
from tests.integration.browser import give_token, launched, log_in, new_page
from tests.integration.conftest import Web, at_quality_assurance, on_hearing

pytestmark = pytest.mark.servers
AXE_DIR = Path(__file__).resolve().parents[1] / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _axe() -> Path:
    """`npm ci` from the committed lock file, once per checkout."""
    if AXE.is_file():
        return AXE
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("REQUIRE_CHROMIUM"):
            pytest.fail("npm is missing (apt-get install nodejs npm)")
        pytest.skip("Node.js and npm are not installed")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, check=True, timeout=600)
    return AXE


async def _violations(page: Any, axe: Path) -> list[dict[str, Any]]:
    await page.add_script_tag(path=str(axe))
    result = await page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_AA
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
    ]


async def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Moves the focus with the Tab key alone until it is on the element."""
    for _ in range(limit):
        if await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reached with the Tab key")


async def _tab_and_type(page: Any, selector: str, text: str) -> None:
    """Reaches the element with the Tab key alone and types ``text`` into it."""
    await _tab_to(page, selector)
    await page.keyboard.type(text)


async def _tab_and_press(page: Any, selector: str, key: str) -> None:
    """Reaches the element with the Tab key alone and presses ``key`` on it."""
    await _tab_to(page, selector)
    await page.keyboard.press(key)


async def test_every_page_passes_axe_and_works_by_keyboard_and_on_a_phone(web: Web) -> None:
    from playwright.async_api import expect

    site, shots, store = web.site, web.shots, web.store
    axe = await asyncio.to_thread(_axe)
    plan, hearing_plan = web.plan(), web.plan()
    await asyncio.gather(
        web.driven(plan, at_quality_assurance), web.driven(hearing_plan, on_hearing)
    )
    people: tuple[tuple[str, Kind], ...] = (
        ("per.olsen", "person"),
        ("kari.nilsen", "admin"),
        ("randi.solberg", "person"),
    )
    tokens = {person: await web.token(person, kind) for person, kind in people}
    checked: dict[str, list[dict[str, Any]]] = {}

    async with launched() as browser:
        # The site's Content-Security-Policy forbids scripts; the checker is let in.
        page = await new_page(browser, bypass_csp=True)

        async def check(name: str) -> None:
            checked[name] = await _violations(page, axe)
            await page.screenshot(path=shots / f"axe-{name}.png", full_page=True)

        async def login(person: str) -> None:
            await page.goto(f"{site}/login?lang=nb")
            await give_token(page, tokens[person])
            await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()

        async def check_pages(*pages: tuple[str, str]) -> None:
            """Open each page's path and check it under the page's name."""
            for name, path in pages:
                await page.goto(f"{site}{path}")
                await check(name)

        # The checker finds a violation when there is one: an image without a text.
        await page.goto(f"{site}/login")
        await page.evaluate("document.querySelector('main').append(new Image(1, 1))")
        assert "image-alt" in [v["id"] for v in await _violations(page, axe)]
        await check_pages(
            ("login", "/login"),
            ("hearings", "/hearing"),
            ("hearing", f"/hearing/{hearing_plan.plan_id}"),
            ("hearing-en", f"/hearing/{hearing_plan.plan_id}?lang=en"),
            ("error-404", "/hearing/1804-finnes-ikke?lang=nb"),
        )

        await login("kari.nilsen")
        await check("inbox")
        await check_pages(
            ("plans", "/plans"),
            ("plan-new", "/plans/new"),
            ("plan-project-leader", f"/plans/{plan.plan_id}"),
        )
        await page.get_by_role("button", name="Logg ut").click()

        await login("per.olsen")
        await check("inbox-with-items")
        await check_pages(("plan-decision", f"/plans/{plan.plan_id}"))
        await page.get_by_label("Be om endringer").check()
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("[data-error-message]")).to_be_visible()
        await check("plan-refused")
        await check_pages(("plan-en", f"/plans/{plan.plan_id}?lang=en"))
        await page.goto(f"{site}/plans/{plan.plan_id}?lang=nb")
        await page.get_by_role("button", name="Logg ut").click()

        await login("randi.solberg")
        await check_pages(("audit-verified", f"/plans/{plan.plan_id}/audit?verify=1"))
        await page.get_by_label("Dato og klokkeslett").fill("2026-01-01T12:00")
        await page.get_by_role("button", name="Vis").click()
        await check("audit-as-of")
        await page.get_by_role("button", name="Logg ut").click()

        # Keyboard only: the member signs off, from the login to the receipt.
        await page.goto(f"{site}/login")
        await _tab_and_type(page, "#token", tokens["per.olsen"])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()
        await _tab_and_press(page, f'li.pending[data-plan="{plan.plan_id}"] a', "Enter")
        await expect(page.get_by_role("heading", name=plan.title)).to_be_visible()
        await _tab_and_press(page, "#decision input[value=approve]", "Space")
        await _tab_and_type(page, "#decision textarea[name=comment]", "Godkjent med tastaturet.")
        await _tab_and_press(page, "#decision button[type=submit]", "Enter")
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        await check("receipt")
        version = int(await page.locator("[data-receipt-version]").inner_text())
        signed = next(e for e in await store.read(plan.plan_id) if e.version == version)
        assert (signed.type, signed.actor_id) == ("sign_off_given", "per.olsen")
        assert signed.data["comment"] == "Godkjent med tastaturet."

        # Keyboard only: a member of the public responds to the hearing.
        page = await new_page(browser, 390, 844, bypass_csp=True)
        await page.goto(f"{site}/hearing/{hearing_plan.plan_id}")
        await _tab_and_type(page, "#name", "Ola Tastatur")
        await _tab_and_type(page, "#text", "Flere boliger for unge.")
        await _tab_and_press(page, "#consent", "Space")
        await _tab_and_press(page, "form button[type=submit]", "Enter")
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        await expect(page.locator("[data-receipt-number]")).not_to_be_empty()
        await check("hearing-receipt-phone")

        # A phone, 390 px: nothing wider than the screen; the plan list as cards, the
        # history table scrolling inside its own frame.
        page = await new_page(browser, 390, 844, bypass_csp=True)
        await log_in(page, site, tokens["kari.nilsen"])
        for name, path in (
            ("plans-phone", "/plans"),
            ("plan-phone", f"/plans/{plan.plan_id}"),
            ("inbox-phone", "/inbox"),
        ):
            await page.goto(f"{site}{path}")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (name, width)
            await check(name)
        await page.goto(f"{site}/plans")
        cell = page.locator("table.plans td").first
        assert await cell.evaluate("e => getComputedStyle(e).display") == "block"
        await page.goto(f"{site}/plans/{plan.plan_id}")
        frame = page.locator("table.history").locator("xpath=..")
        assert await frame.evaluate("e => getComputedStyle(e).overflowX") == "auto"
        assert await frame.get_attribute("tabindex") == "0"

    (shots / "axe.json").write_text(
        json.dumps(checked, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    print(f"\naxe-core {WCAG_AA} checked {len(checked)} pages:")
    for name, violations in checked.items():
        print(f"  {name}: {len(violations)} violations")
    print(f"screenshots: {shots}")
    failing = {name: v for name, v in checked.items() if v}
    assert not failing, json.dumps(failing, indent=2, ensure_ascii=False)


async def test_a_council_vote_to_adopt_is_asked_again_and_both_pages_pass_axe(
    web: Web, temporal_env: Any
) -> None:
    from playwright.async_api import expect

    from tests.integration.test_council import at_council

    site, shots, store = web.site, web.shots, web.store
    axe = await asyncio.to_thread(_axe)
    plan = web.plan()
    await at_council(temporal_env, web.task_queue, plan)
    siri = await web.token("siri.andreassen")
    before = len(await store.read(plan.plan_id))

    async with launched() as browser:
        page = await new_page(browser, bypass_csp=True)
        await log_in(page, site, siri)
        await page.goto(f"{site}/plans/{plan.plan_id}")
        await expect(page.locator("#decision input[type=radio]:checked")).to_have_count(0)
        assert await _violations(page, axe) == []
        await page.screenshot(path=shots / "axe-plan-council.png", full_page=True)
        await page.get_by_label("Vedta planen").check()
        await page.get_by_role("button", name="Send").click()
        # Asked again; nothing recorded yet.
        await expect(page.get_by_role("heading", name="Bekreft vedtaket")).to_be_visible()
        assert len(await store.read(plan.plan_id)) == before
        assert await _violations(page, axe) == []
        await page.screenshot(path=shots / "axe-confirm-adoption.png", full_page=True)
        await page.get_by_role("button", name="Ja, send stemmen").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        await expect(page.locator("[data-receipt-type]")).to_contain_text("Vedta planen")
        assert await _violations(page, axe) == []
        await page.screenshot(path=shots / "axe-receipt-vote.png", full_page=True)
    votes = [
        e for e in (await store.read(plan.plan_id))[before:] if e.actor_id == "siri.andreassen"
    ]
    assert [e.data.get("outcome") for e in votes] == ["adopted"]
