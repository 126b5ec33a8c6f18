"""An administrator starts a plan from a plan file on the web page, in a real Chromium:
every problem shown with the messages of `temaplan validate`, then the plan started and
found in the plan list (filtered and sorted). Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from api.service import ApiContext
from domain.problems import DomainValidationError
from runtime.planfile import load_plan_file
from tests.conftest import EXAMPLES
from tests.integration.browser import launched, log_in, log_in_as_another, new_page, status_of

pytestmark = pytest.mark.servers


async def test_an_administrator_uploads_checks_and_starts_a_plan(
    site: str,
    api_ctx: ApiContext,
    tmp_path: Path,
    shots: Path,
) -> None:
    from playwright.async_api import expect

    slug = f"t{uuid.uuid4().hex[:10]}"
    good = tmp_path / "bodo.yaml"
    good.write_text(
        (EXAMPLES / "bodo.yaml")
        .read_text(encoding="utf-8")
        .replace("slug: boligplan-2026", f"slug: {slug}"),
        encoding="utf-8",
    )
    plan_id = load_plan_file(good).plan_id
    # Two mistakes: the command's own lines are what the page must show.
    bad = tmp_path / "feil.yaml"
    bad.write_text(
        good.read_text(encoding="utf-8")
        .replace("number: '1804'", "number: 1804")
        .replace("email: kari.nilsen@bodo.kommune.no", "email: kari.nilsen"),
        encoding="utf-8",
    )
    with pytest.raises(DomainValidationError) as found:
        load_plan_file(bad)
    expected = [p.render(bad.name) for p in found.value.problems]
    assert len(expected) >= 2
    admin = (await api_ctx.tokens.issue("kari.nilsen", "admin")).token
    member = (await api_ctx.tokens.issue("per.olsen")).token

    async with launched() as browser:
        page = await new_page(browser)
        # A person who is not an administrator is not offered, and cannot open, the form.
        await log_in(page, site, member)
        await page.goto(f"{site}/plans")
        await expect(page.get_by_role("link", name="Start en ny plan")).to_have_count(0)
        assert await status_of(page, f"{site}/plans/new") == 403
        await page.goto(f"{site}/plans")
        await log_in_as_another(page, admin)
        await page.goto(f"{site}/plans")
        await page.get_by_role("link", name="Start en ny plan").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Start en ny plan")
        await page.get_by_label("Planfil", exact=True).set_input_files(str(bad))
        await page.get_by_role("button", name="Kontroller filen").click()
        problems = page.locator("#problems [data-validate] li")
        await expect(problems).to_have_count(len(expected))
        assert await problems.all_inner_texts() == expected
        # Above the command's lines, the same problems in bokmål.
        explained = await page.locator("#problems [data-explained] li").all_inner_texts()
        assert "participants[0].email: må være en e-postadresse som navn@kommune.no" in explained
        await expect(page.locator("[data-valid-plan]")).to_have_count(0)
        await page.screenshot(path=shots / "admin-plan-file-problems.png", full_page=True)

        await page.get_by_label("Planfil", exact=True).set_input_files(str(good))
        await page.get_by_role("button", name="Kontroller filen").click()
        await expect(page.locator("[data-valid-plan]")).to_have_attribute(
            "data-valid-plan", plan_id
        )
        await page.screenshot(path=shots / "admin-plan-file-valid.png", full_page=True)
        await page.get_by_role("button", name="Start planen").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(load_plan_file(good).title)
        assert page.url.endswith(f"/plans/{plan_id}")
        # Started once: the same file again is refused as the API refuses it.
        await page.goto(f"{site}/plans/new")
        await page.get_by_label("Planfil", exact=True).set_input_files(str(good))
        await page.get_by_role("button", name="Kontroller filen").click()
        await page.get_by_role("button", name="Start planen").click()
        await expect(page.locator("#refusal")).to_have_attribute("data-code", "PlanExists")

        # The list: filtered by text, the plan with its id, municipality and awaited.
        await page.goto(f"{site}/plans")
        await page.get_by_label("Søk i tittel eller plan-id").fill(slug)
        await page.get_by_label("Sorter etter").select_option("deadline")
        await page.get_by_role("button", name="Filtrer").click()
        rows = page.locator("table.plans tbody tr")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_have_attribute("data-plan", plan_id)
        await expect(rows.first).to_contain_text("Bodø kommune")
        await expect(rows.first.locator("[data-awaited]")).to_contain_text(
            "Kari Nilsen (prosjektleder)"
        )
        await page.screenshot(path=shots / "plans-list.png", full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        await page.screenshot(path=shots / "plans-list-phone.png", full_page=True)
