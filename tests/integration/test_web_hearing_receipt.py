"""The public hearing form in a real Chromium: the receipt sent by e-mail when the person
gives an address (through the notification outbox and the mail relay, to a real SMTP
server in this process), the address never in the plan's record and blanked in the
outbox once sent, and the form's Idempotency-Key: the same form sent twice gives the same
receipt and one response. Screenshots go to tests/artifacts/web/."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.service import ApiContext
from eventstore.hearing_inbox import request_key
from temaplan.mail_relay import MailRelay
from tests.integration.browser import launched, new_page, serving
from tests.integration.conftest import Servers, on_hearing
from tests.integration.test_mail_relay import settings_for, smtp_server
from tests.integration.test_web_accessibility import _axe, _violations
from tests.ports import free_port

pytestmark = pytest.mark.servers
ADDRESS = "ola.nordmann@example.no"


async def test_the_receipt_is_mailed_once_and_the_address_is_not_kept(
    servers: Servers, shots: Path
) -> None:
    from playwright.async_api import expect

    axe = await asyncio.to_thread(_axe)
    plan = servers.plan()
    await servers.driven(plan, on_hearing)
    smtp_port = free_port()
    settings = settings_for(smtp_port).model_copy(
        update={
            "temporal_task_queue": servers.ctx.settings.temporal_task_queue,
            "public_rate_per_minute": 20,
        }
    )
    ctx = ApiContext(
        client=servers.ctx.client,
        pool=servers.pool,
        audit_pool=servers.ctx.audit_pool,
        settings=settings,
    )
    store = servers.store
    checked: dict[str, list[dict[str, Any]]] = {}

    async with serving(ctx) as site, launched() as browser:
        page = await new_page(browser, bypass_csp=True)

        async def check(name: str) -> None:
            checked[name] = await _violations(page, axe)
            await page.screenshot(path=shots / f"hearing-mail-{name}.png", full_page=True)

        await page.goto(f"{site}/hearing/{plan.plan_id}")
        await expect(page.locator("[data-privacy-email]")).to_contain_text("bare til å sende")
        await expect(page.locator("[data-privacy-email]")).to_contain_text("slettes")
        key = await page.locator('input[name="idempotency_key"]').input_value()
        assert key.startswith("web-")
        await check("form")

        # Not an address: refused before anything is recorded, in bokmål, what was typed kept.
        before = len(await store.read(plan.plan_id))
        await page.get_by_label("Navn", exact=True).fill("Ola Nordmann")
        await page.get_by_label("E-post for kvittering (valgfritt)", exact=True).fill("ola på nett")
        await page.get_by_label("Uttalelse", exact=True).fill(
            "Flere utleieboliger i sentrum, takk."
        )
        await page.locator("#consent").check()
        # The browser's own check of type=email would stop it before the server does.
        await page.locator("form").evaluate("f => f.noValidate = true")
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#error-summary")).to_have_attribute("data-code", "InvalidEmail")
        await expect(page.locator("[data-error-message]")).to_contain_text("E-postadressen")
        await expect(page.get_by_label("Uttalelse", exact=True)).to_have_value(
            "Flere utleieboliger i sentrum, takk."
        )
        assert await page.locator('input[name="idempotency_key"]').input_value() == key
        assert len(await store.read(plan.plan_id)) == before
        await check("refused")

        await page.get_by_label("E-post for kvittering (valgfritt)", exact=True).fill(ADDRESS)
        fields = {
            name: await page.locator(f'[name="{name}"]').input_value()
            for name in ("idempotency_key", "name", "organisation", "email", "text")
        }
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_role("heading", name="Kvittering")).to_be_visible()
        await expect(page.locator("[data-receipt-mailed]")).to_be_visible()
        number = await page.locator("[data-receipt-number]").inner_text()
        digest = await page.locator("[data-receipt-hash]").inner_text()
        await check("receipt")

    # The same form sent again (a double click, a reload after a lost answer): the same
    # receipt, one response in the record, one receipt in the outbox.
    async with serving(ctx) as site, httpx.AsyncClient() as http:
        again = await http.post(f"{site}/hearing/{plan.plan_id}", data={**fields, "consent": "yes"})
    assert again.status_code == 200, again.text
    assert number in again.text
    assert digest in again.text
    events = await store.read(plan.plan_id)
    responses = [e for e in events if e.type == "hearing_response_received"]
    assert [e.hash for e in responses] == [digest]
    # Recorded under the form's key, not under its content: an edited resend of the same
    # form is the same request, not a second response.
    assert request_key(fields["idempotency_key"], "", None, "") in json.dumps(responses[0].data)
    assert len(events) == before + 1

    # The address is nowhere in the plan's record.
    assert not [e.version for e in events if ADDRESS in json.dumps(e.data)]
    assert (
        await servers.pool.fetchval(
            "SELECT count(*) FROM events WHERE stream_id = $1 AND data::text LIKE '%example.no%'",
            plan.plan_id,
        )
        == 0
    )
    rows = await servers.pool.fetch(
        "SELECT recipient_id, recipient_email, sent_at FROM notification_outbox "
        "WHERE plan_id = $1 AND dedupe_key LIKE '%/receipt/%'",
        plan.plan_id,
    )
    assert [(r["recipient_email"], r["sent_at"]) for r in rows] == [(ADDRESS, None)]

    with smtp_server(smtp_port) as mailbox:
        relay = MailRelay(servers.pool, settings)
        # The plan's own notifications are in the outbox too; a round takes 20 at most.
        rounds = [await relay.run_once() for _ in range(10)]
        # A restarted relay has nothing left to send.
        restarted = await MailRelay(servers.pool, settings).run_once()
    assert rounds[0].sent >= 1
    assert rounds[-1].sent == restarted.sent == 0
    mails = mailbox.to(ADDRESS)
    assert len(mails) == 1
    mail = mails[0]
    assert plan.title in mail["Subject"]
    body = mail.get_content()
    assert number in body
    assert digest in body
    assert f"https://plan.kommune.example/hearing/{plan.plan_id}" in body
    assert "Logg inn" not in body

    # Sent: the address is blanked in the outbox row, the only place it was kept.
    row = await servers.pool.fetchrow(
        "SELECT recipient_email, sent_at FROM notification_outbox "
        "WHERE plan_id = $1 AND dedupe_key LIKE '%/receipt/%'",
        plan.plan_id,
    )
    assert row is not None
    assert row["sent_at"] is not None
    assert row["recipient_email"] == ""
    assert (
        await servers.pool.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE recipient_email = $1", ADDRESS
        )
        == 0
    )

    print("axe:", {name: len(found) for name, found in checked.items()})
    assert checked == {name: [] for name in checked}, checked


async def test_without_a_mail_server_the_form_asks_for_no_address(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    plan = servers.plan()
    await servers.driven(plan, on_hearing)
    page = await api.get(f"/hearing/{plan.plan_id}")
    assert page.status_code == 200
    assert 'name="email"' not in page.text
    assert "Vi ber ikke om e-post" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    sent = await api.post(
        f"/hearing/{plan.plan_id}",
        data={
            "idempotency_key": key.group(1),
            "name": "Kari",
            "text": "Bra plan.",
            "email": ADDRESS,
            "consent": "yes",
        },
    )
    assert sent.status_code == 200, sent.text
    assert "data-receipt-mailed" not in sent.text
    # Nobody would send it, nor blank it: the address is not taken at all.
    assert (
        await servers.pool.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE recipient_email = $1", ADDRESS
        )
        == 0
    )


async def test_the_public_api_sends_the_receipt_by_e_mail_as_the_form_does(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    """`email` in the API's request: checked as the form checks it, the receipt queued in
    the outbox and sent by the relay, the address never in the record; documented in the
    route's OpenAPI description."""
    plan = servers.plan()
    await servers.driven(plan, on_hearing)
    store = servers.store
    url = f"/api/public/plans/{plan.plan_id}/hearing/responses"
    body = {"name": "Ola Nordmann", "text": "Flere utleieboliger i sentrum."}
    before = len(await store.read(plan.plan_id))

    # Where no mail server is configured, an address is refused, not silently dropped.
    refused = await api.post(url, json={**body, "email": ADDRESS})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "EmailUnavailable"

    smtp_port = free_port()
    settings = settings_for(smtp_port).model_copy(
        update={"temporal_task_queue": servers.ctx.settings.temporal_task_queue}
    )
    ctx = ApiContext(
        client=servers.ctx.client,
        pool=servers.pool,
        audit_pool=servers.ctx.audit_pool,
        settings=settings,
    )
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as mailing:
        spec = (await mailing.get("/openapi.json")).json()
        documented = spec["paths"]["/api/public/plans/{plan_id}/hearing/responses"]["post"]
        assert "Receipt by e-mail" in documented["description"]
        assert "InvalidEmail" in documented["description"]
        schema = spec["components"]["schemas"]["PublicResponseRequest"]["properties"]
        assert "not stored in the plan's record" in schema["email"]["description"]

        # The same check as the form's, with the same code, before anything is recorded.
        bad = await mailing.post(url, json={**body, "email": "ola.nordmann@"})
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"]["code"] == "InvalidEmail"
        form = await mailing.post(
            f"/hearing/{plan.plan_id}", data={**body, "email": "ola.nordmann@", "consent": "yes"}
        )
        assert form.status_code == 422
        assert 'data-code="InvalidEmail"' in form.text
        assert len(await store.read(plan.plan_id)) == before

        key = {"Idempotency-Key": "api-receipt-1"}
        sent = await mailing.post(url, json={**body, "email": ADDRESS}, headers=key)
        assert sent.status_code == 201, sent.text
        receipt = sent.json()
        assert receipt["emailed"] is True
        again = await mailing.post(url, json={**body, "email": ADDRESS}, headers=key)
        assert again.status_code == 201, again.text
        assert again.json()["duplicate"] is True
        assert again.json()["receipt_number"] == receipt["receipt_number"]
        plain = await mailing.post(url, json={**body, "text": "Og flere omsorgsboliger."})
        assert plain.status_code == 201, plain.text
        assert plain.json()["emailed"] is False

    events = await store.read(plan.plan_id)
    assert len(events) == before + 2
    assert not [e.version for e in events if ADDRESS in json.dumps(e.data)]
    rows = await servers.pool.fetch(
        "SELECT recipient_id, recipient_email FROM notification_outbox "
        "WHERE plan_id = $1 AND dedupe_key LIKE '%/receipt/%'",
        plan.plan_id,
    )
    assert [(r["recipient_id"], r["recipient_email"]) for r in rows] == [
        (f"public:{receipt['response_id']}", ADDRESS)
    ]

    # The relay sends it as it sends the form's receipts, and blanks the address.
    with smtp_server(smtp_port) as mailbox:
        relay = MailRelay(servers.pool, settings)
        for _ in range(10):
            await relay.run_once()
    [mail] = mailbox.to(ADDRESS)
    assert plan.title in mail["Subject"]
    assert receipt["receipt_number"] in mail.get_content()
    assert receipt["hash"] in mail.get_content()
    assert (
        await servers.pool.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE recipient_email = $1", ADDRESS
        )
        == 0
    )
