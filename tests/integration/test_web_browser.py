"""The stakeholders' web page in a real headless Chromium (Debian's package, driven by
Playwright with executable_path; no browser is downloaded), served by uvicorn on a real
port, with a worker on the dev server and a fresh database.

Screenshots of the main pages go to tests/artifacts/web/.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from api.revision_views import revision_view
from domain import revision_commands as rc
from domain.commands import Receipt
from domain.ids import revision_workflow_id
from tests.integration.browser import give_token, launched, log_in, new_page
from tests.integration.conftest import Web, at_quality_assurance, on_hearing

pytestmark = pytest.mark.servers


async def test_stakeholders_decide_and_the_public_responds_in_a_browser(web: Web) -> None:
    from playwright.async_api import expect

    site, shots, store = web.site, web.shots, web.store
    plan, hearing_plan = web.plan(), web.plan()
    driver, hearing_driver = await asyncio.gather(
        web.driven(plan, at_quality_assurance), web.driven(hearing_plan, on_hearing)
    )
    per = await web.token("per.olsen")
    marte = await web.token("marte.karlsen")
    before = len(await store.read(plan.plan_id))

    async with launched() as browser:
        requested: list[str] = []
        # A steering-group member logs in, finds the strategies in the inbox, approves.
        page = await new_page(browser)
        page.on("request", lambda request: requested.append(request.url))
        await page.goto(f"{site}/")
        await expect(page.get_by_role("heading", name="Logg inn")).to_be_visible()
        await page.screenshot(path=shots / "login.png", full_page=True)
        await give_token(page, per)
        await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()
        cookie = next(c for c in await page.context.cookies() if c["name"] == "temaplan_session")
        assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (
            True,
            True,
            "Strict",
        )
        item = page.locator(f'li.pending[data-plan="{plan.plan_id}"]')
        await expect(item).to_contain_text("Styringsgruppen kvalitetssikrer")
        await page.screenshot(path=shots / "inbox.png", full_page=True)
        await item.get_by_role("link").click()
        await expect(page.get_by_role("heading", name=plan.title)).to_be_visible()
        await expect(page.locator('.timeline li[aria-current="step"]')).to_have_attribute(
            "data-phase", "strategies"
        )
        strategies = page.locator("li.strategy")
        assert plan.proposals is not None
        assert await strategies.count() == len(plan.proposals.strategies)
        await page.screenshot(path=shots / "plan.png", full_page=True)
        # The content comes before the form, and no choice is made for the person.
        order = await page.evaluate(
            "[...document.querySelectorAll('#content-h, #decision')].map(e => e.id)"
        )
        assert order == ["content-h", "decision"], order
        await expect(page.locator("#decision input[type=radio]:checked")).to_have_count(0)
        # Asking for changes without a comment: refused in bokmål on the same page,
        # with the choice and the form kept.
        await page.get_by_label("Be om endringer").check()
        await page.get_by_label("Kommentar").fill("   ")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("[data-error-message]")).to_contain_text("Skriv en kommentar")
        assert await page.locator("html").get_attribute("lang") == "nb"
        await expect(page.get_by_label("Be om endringer")).to_be_checked()
        await page.screenshot(path=shots / "plan-refused.png", full_page=True)
        await page.get_by_label("Godkjenn").check()
        await page.get_by_label("Kommentar").fill("Strategiene er kvalitetssikret.")
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        # The receipt in words: what, by whom (by name and role), not the event's type.
        await expect(page.locator("[data-receipt-type]")).to_have_text("Godkjent")
        await expect(page.locator("[data-receipt-actor]")).to_have_text(
            "Per Olsen (styringsgruppen)"
        )
        assert "sign_off_given" not in await page.locator("main").inner_text()
        version = int(await page.locator("[data-receipt-version]").inner_text())
        shown_hash = await page.locator("[data-receipt-hash]").inner_text()
        await page.screenshot(path=shots / "receipt.png", full_page=True)
        event = next(e for e in await store.read(plan.plan_id) if e.version == version)
        assert event.type == "sign_off_given"
        assert event.actor_id == "per.olsen"
        assert event.hash == shown_hash
        assert event.data["step_key"] == "strategies.quality_assurance"
        assert event.data["comment"] == "Strategiene er kvalitetssikret."
        # English on request; the plan page on a phone.
        await page.goto(f"{site}/plans/{plan.plan_id}?lang=en")
        await expect(page.get_by_role("heading", name="Decision history")).to_be_visible()
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(path=shots / "plan-phone-en.png", full_page=True)
        await page.get_by_role("button", name="Log out").click()
        await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        await page.goto(f"{site}/inbox")
        await expect(page.get_by_role("heading", name="Log in")).to_be_visible()

        # A reference-group member sees no decision form, and cannot submit one.
        await page.goto(f"{site}/login?lang=nb")
        await give_token(page, marte)
        await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()
        await expect(page.locator(f'li.pending[data-plan="{plan.plan_id}"]')).to_have_count(0)
        await page.goto(f"{site}/plans/{plan.plan_id}")
        await expect(page.locator("form[action$='/decide']")).to_have_count(0)
        status = await driver.status()
        csrf = await page.locator("form.logout input[name=csrf]").get_attribute("value")
        forged = await page.request.post(
            f"{site}/plans/{plan.plan_id}/decide",
            form={
                "csrf": csrf or "",
                "kind": "sign_off",
                "step_key": status.step_key or "",
                "content_version": str(status.content_version),
                "content_hash": status.content_hash or "",
                "decision": "approve",
            },
        )
        assert forged.status == 403
        assert "WrongRole" in await forged.text()
        await page.set_content(await forged.text())
        await page.screenshot(path=shots / "wrong-role.png", full_page=True)
        after = await store.read(plan.plan_id)
        assert [e for e in after[before:] if e.actor_id == "marte.karlsen"] == []

        # Anyone reads the draft on hearing and sends a response, with a receipt.
        citizen = await new_page(browser, 390, 844)
        citizen.on("request", lambda request: requested.append(request.url))
        await citizen.goto(f"{site}/hearing")
        await citizen.get_by_role("link", name=hearing_plan.title).click()
        await expect(citizen.get_by_role("heading", level=1)).to_contain_text("Offentlig høring")
        await citizen.screenshot(path=shots / "hearing.png", full_page=True)
        # The draft first, then what happens to a response, then the form.
        order = await citizen.evaluate(
            "[...document.querySelectorAll('#draft-h, #privacy-h, #respond-h')].map(e => e.id)"
        )
        assert order == ["draft-h", "privacy-h", "respond-h"], order
        privacy = citizen.locator("#privacy")
        await expect(privacy).to_contain_text("offentlige etter offentleglova")
        await expect(privacy).to_contain_text("arkivlova")
        await expect(privacy).to_contain_text(f"{hearing_plan.municipality.name} kommune")
        await expect(privacy.locator("[data-contact]")).to_contain_text("@")
        # Sent without the consent (a form from elsewhere): refused in bokmål, with
        # what was typed kept.
        refused = await citizen.request.post(
            f"{site}/hearing/{hearing_plan.plan_id}",
            form={"name": "Kari Nordmann", "text": "Uten samtykke."},
        )
        assert refused.status == 422
        await citizen.set_content(await refused.text())
        await expect(citizen.locator("[data-error-message]")).to_contain_text("Kryss av")
        await expect(citizen.get_by_label("Navn", exact=True)).to_have_value("Kari Nordmann")
        await citizen.goto(f"{site}/hearing/{hearing_plan.plan_id}")
        await citizen.get_by_label("Navn", exact=True).fill("Ola Nordmann")
        await citizen.get_by_label("Organisasjon (valgfritt)").fill("Velforeningen")
        await citizen.get_by_label("Uttalelse", exact=True).fill(
            "Bygg flere utleieboliger <nær> sentrum."
        )
        await citizen.get_by_label("Jeg har lest dette").check()
        await citizen.get_by_role("button", name="Send").click()
        await expect(citizen.get_by_role("heading", name="Kvittering")).to_be_visible()
        number = await citizen.locator("[data-receipt-number]").inner_text()
        version = int(await citizen.locator("[data-receipt-version]").inner_text())
        assert number.startswith(f"{version}-")
        await citizen.screenshot(path=shots / "hearing-receipt.png", full_page=True)
        response = next(e for e in await store.read(hearing_plan.plan_id) if e.version == version)
        assert response.type == "hearing_response_received"
        assert response.data["text"] == "Bygg flere utleieboliger <nær> sentrum."
        assert (await hearing_driver.status()).hearing_responses == 1
    # Nothing was fetched from anywhere but the site itself.
    assert requested
    assert [url for url in requested if not url.startswith(site)] == []


async def test_a_unit_reports_its_measure_in_the_yearly_revision_in_a_browser(web: Web) -> None:
    from playwright.async_api import expect

    site, shots, store, api_ctx = web.site, web.shots, web.store, web.ctx
    definition, year = await web.plan_with_open_round()
    plan_id = definition.plan_id
    tor = await web.token("tor.berg")  # Eiendomsavdelingen

    async with launched() as browser:
        requested: list[str] = []
        page = await new_page(browser)
        page.on("request", lambda request: requested.append(request.url))
        await log_in(page, site, tor)
        await expect(page.get_by_role("heading", name="Venter på deg")).to_be_visible()
        # The measure waits in the inbox, with the round's deadline.
        item = page.locator(f'li.pending[data-plan="{plan_id}"][data-measure="tiltak-1.1.2"]')
        await expect(item).to_contain_text(f"Rullering {year}: rapporter tiltak tiltak-1.1.2")
        await expect(item.locator("dt", has_text="Frist")).to_be_visible()
        await page.screenshot(path=shots / "inbox-revision.png", full_page=True)
        await item.get_by_role("link").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(
            f"Rullering {year}: {definition.title}"
        )
        form = page.locator("#report-tiltak-1\\.1\\.2")
        await expect(form.get_by_role("heading", level=3)).to_contain_text("tiltak-1.1.2")
        # The indicator's field says what it measures, in which unit.
        value = form.get_by_label("Nåverdi")
        await expect(value).to_have_attribute("inputmode", "decimal")
        assert "(dekar)" in (await form.locator("label[for^=value-]").inner_text())
        # Keyboard: the status radios are reached and chosen without a mouse.
        await form.get_by_label("Utført", exact=True).focus()
        await page.keyboard.press("Space")
        await expect(form.get_by_label("Utført", exact=True)).to_be_checked()
        await value.fill("20,5")
        await form.get_by_label("Kommentar").fill("Regulert tomtereserve i Hunstad.")
        await page.screenshot(path=shots / "revision.png", full_page=True)
        await form.get_by_role("button", name="Send rapport").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        version = int(await page.locator("[data-receipt-version]").inner_text())
        shown_hash = await page.locator("[data-receipt-hash]").inner_text()
        await expect(page.locator("[data-receipt-type]")).to_have_attribute(
            "data-receipt-type", "measure_reported"
        )
        await expect(page.locator("[data-receipt-type]")).to_contain_text("Tiltak rapportert")
        await page.screenshot(path=shots / "revision-receipt.png", full_page=True)
        event = next(e for e in await store.read(plan_id) if e.version == version)
        assert (event.type, event.actor_id, event.hash) == (
            "measure_reported",
            "tor.berg",
            shown_hash,
        )
        assert event.data["measure_id"] == "tiltak-1.1.2"
        assert event.data["status"] == "done"
        assert Decimal(str(event.data["indicator_value"])) == Decimal("20.5")
        assert event.data["comment"] == "Regulert tomtereserve i Hunstad."
        await page.get_by_role("link", name="Tilbake til rulleringen").click()
        row = page.locator('table.measures tr[data-measure="tiltak-1.1.2"]')
        await expect(row).to_contain_text("Utført")
        await expect(row).to_contain_text("20,5 dekar")
        await page.goto(f"{site}/inbox")
        await expect(
            page.locator(f'li.pending[data-measure="tiltak-1.1.2"][data-plan="{plan_id}"]')
        ).to_have_count(0)

        # The others report through the workflow, the project leader closes the round,
        # and the page shows the scorecard with its figure (in English, on a phone).
        handle = web.client.get_workflow_handle(revision_workflow_id(plan_id, year))
        state = await api_ctx.plans.state(plan_id)
        revision = state.revision(year)
        assert revision is not None
        for line in revision_view(state, revision, "tor.berg").measures:
            if line.report is None:
                await handle.execute_update(
                    "report_measure",
                    rc.ReportMeasure(
                        actor_id=line.reporters[0],
                        year=year,
                        measure_id=line.measure_id,
                        status="done",
                        indicator_value="65" if line.indicator_name else None,
                    ),
                    result_type=Receipt,
                )
        await handle.execute_update(
            "close_round",
            rc.CloseReportingRound(actor_id="kari.nilsen", year=year),
            result_type=Receipt,
        )
        for _ in range(200):
            found = (await api_ctx.plans.state(plan_id)).revision(year)
            if found is not None and found.scorecard is not None:
                break
            await asyncio.sleep(0.1)
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(f"{site}/plans/{plan_id}/revisions/{year}?lang=en")
        await expect(page.get_by_role("heading", name=f"Scorecard {year}")).to_be_visible()
        await expect(page.locator("[data-scorecard-done]")).to_have_text("Measures done: 10 of 10")
        await expect(
            page.get_by_role("img", name="Share of measures done per goal")
        ).to_be_visible()
        await expect(page.locator("[data-round=closed]")).to_be_visible()
        await expect(page.locator("form[action$='/report']")).to_have_count(0)
        # Nothing is wider than the phone's screen.
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        await page.screenshot(path=shots / "revision-scorecard-phone-en.png", full_page=True)
        await page.goto(f"{site}/plans/{plan_id}?lang=nb")
        await expect(page.get_by_role("link", name=f"Rullering {year}")).to_be_visible()
    assert requested
    assert [url for url in requested if not url.startswith(site)] == []
