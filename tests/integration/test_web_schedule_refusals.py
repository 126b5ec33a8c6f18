"""A refused schedule form on the plan page comes back as it was sent: trigger, pause with
a reason, unpause and backfill each show the refusal in bokmål beside the form, with what
the scheduler typed still in it, as the round's forms do."""

from __future__ import annotations

import html

import httpx
import pytest

import catalogue
from tests.integration.conftest import Servers, bearer, web_session
from tests.integration.test_web_revision_refusals import _part, _refusal, refused_form

pytestmark = pytest.mark.servers


async def test_a_refused_schedule_form_keeps_what_was_typed_and_says_why_beside_it(
    api: httpx.AsyncClient, servers: Servers
) -> None:
    definition, _year = await servers.plan_with_open_round()
    plan_id = definition.plan_id
    espen, espen_csrf = await web_session(servers.ctx, "espen.moe")  # the scheduler
    scheduler = await bearer(servers.ctx, "espen.moe")

    # A pause without a reason: refused as the API refuses it, said in bokmål in the
    # pause form, and nowhere else on the page.
    api_pause = await api.post(
        f"/api/plans/{plan_id}/schedule/pause", json={"reason": " "}, headers=scheduler
    )
    assert api_pause.status_code >= 400, api_pause.text
    page, form = await refused_form(
        api,
        f"/plans/{plan_id}/schedule/pause",
        {"csrf": espen_csrf, "reason": " "},
        espen,
        api_pause.status_code,
        'data-action="pause"',
    )
    said = _refusal(form)
    assert said == (api_pause.json()["error"]["code"], catalogue.t("refusal.pause_reason_needed"))
    assert said[1] == "Skriv en begrunnelse for å stoppe påminnelsene."
    assert 'data-refused="schedule-pause"' in form
    assert page.count("error-summary") == 1
    assert '<html lang="nb"' in page

    # A backfill whose end comes before its start: both times and the reason stay.
    typed = {
        "backfill_from": "2027-03-01T09:00",
        "backfill_to": "2027-02-01T09:00",
        "reason": "Påminnelsen for «mars» ble ikke sendt.",
    }
    page, form = await refused_form(
        api,
        f"/plans/{plan_id}/schedule/backfill",
        {"csrf": espen_csrf, **typed},
        espen,
        422,
        'data-action="backfill"',
    )
    assert _refusal(form) == ("InvalidDecision", catalogue.t("refusal.backfill_range_needed"))
    assert 'value="2027-03-01T09:00"' in form
    assert 'value="2027-02-01T09:00"' in form
    assert f">{html.escape(typed['reason'])}</textarea>" in form
    assert page.count("error-summary") == 1
    # The other schedule forms are left empty.
    pause = _part(page, 'data-action="pause"', "</form>")
    assert "error-summary" not in pause
    assert html.escape(typed["reason"]) not in pause

    # A time that is no time: the form's problem, the text typed kept to correct.
    _, form = await refused_form(
        api,
        f"/plans/{plan_id}/schedule/backfill",
        {**typed, "csrf": espen_csrf, "backfill_from": "første mars"},
        espen,
        422,
        'data-action="backfill"',
    )
    assert _refusal(form) == ("ValidationError", catalogue.t("refusal.validation_error"))
    assert 'value="første mars"' in form

    # Unpausing a schedule that runs: the reason typed stays in the unpause form.
    _, form = await refused_form(
        api,
        f"/plans/{plan_id}/schedule/unpause",
        {"csrf": espen_csrf, "reason": "Møtet er holdt."},
        espen,
        422,
        'data-action="unpause"',
    )
    assert _refusal(form) == ("InvalidDecision", catalogue.t("refusal.invalid_decision"))
    assert ">Møtet er holdt.</textarea>" in form

    # Someone who is not the scheduler has no schedule forms: the refusal stands at the
    # top of the page.
    kari, kari_csrf = await web_session(servers.ctx, "kari.nilsen")
    sent = await api.post(
        f"/plans/{plan_id}/schedule/trigger", data={"csrf": kari_csrf}, headers=kari
    )
    assert sent.status_code == 403, sent.text
    assert 'data-refused="schedule-trigger"' in sent.text
    assert 'data-action="trigger"' not in sent.text
    assert sent.text.count("error-summary") == 1
