"""A refused form on the round's page comes back as it was sent: the unit's measure
report, the leader's goal indicator, closing the round, the change proposal, concluding
and the steering group's review each show the refusal in bokmål beside the form, with
what the person typed still in it, as the plan page's decision forms do."""

from __future__ import annotations

import html
import re

import httpx
import pytest

import catalogue
from tests.integration.conftest import Servers, bearer, web_session
from tests.integration.test_web_change_proposal import _round_closed

pytestmark = pytest.mark.servers


def _part(page: str, start: str, end: str) -> str:
    """The page from the element that ``start`` opens to the first ``end`` after it."""
    at = page.index(start)
    return page[at : page.index(end, at)]


async def refused_form(
    api: httpx.AsyncClient,
    url: str,
    form: dict[str, str],
    headers: dict[str, str],
    status: int,
    start: str,
    end: str = "</form>",
) -> tuple[str, str]:
    """``form`` posted to ``url`` and answered with ``status``: the page, and its part
    from the element that ``start`` opens to the first ``end`` after it."""
    sent = await api.post(url, data=form, headers=headers)
    assert sent.status_code == status, sent.text
    return sent.text, _part(sent.text, start, end)


def _refusal(part: str) -> tuple[str, str]:
    """The refusal shown in a part of the page: its code and its message."""
    code = re.search(r'class="error" role="alert" id="error-summary" data-code="([^"]*)"', part)
    said = re.search(r"<p data-error-message>([^<]*)</p>", part)
    assert code, part
    assert said, part
    return code.group(1), html.unescape(said.group(1))


async def test_a_refused_revision_form_keeps_what_was_typed_and_says_why_beside_it(
    servers: Servers, api: httpx.AsyncClient
) -> None:
    definition, year = await servers.plan_with_open_round()
    plan_id = definition.plan_id
    page_url = f"/plans/{plan_id}/revisions/{year}"
    tor, tor_csrf = await web_session(servers.ctx, "tor.berg")  # Eiendomsavdelingen's measures
    kari, kari_csrf = await web_session(servers.ctx, "kari.nilsen")  # the project leader

    # The unit's report without a status: the comment and the value stay, the problem is
    # said in bokmål in the measure's own card; the other card is left as it was.
    comment = "Tomtebanken er i gang; «vedtak» kommer i juni."
    page, card = await refused_form(
        api,
        f"{page_url}/report",
        {
            "csrf": tor_csrf,
            "measure_id": "tiltak-1.1.2",
            "indicator_value": "31,5",
            "comment": comment,
        },
        tor,
        422,
        'id="report-tiltak-1.1.2"',
        "</section>",
    )
    assert _refusal(card) == ("ValidationError", catalogue.t("refusal.validation_error"))
    assert "velg ett av alternativene i skjemaet" in card
    assert 'value="31,5"' in card
    assert html.escape(comment) in card
    other = _part(page, 'id="report-tiltak-1.1.1"', "</section>")
    assert "error-summary" not in other
    assert html.escape(comment) not in other

    # The leader's goal indicator that is not a number: the goal and the text stay.
    assert definition.proposals is not None
    goal = next(g for g in definition.proposals.goals if g.indicator)
    _, form = await refused_form(
        api,
        f"{page_url}/act/goal-indicator",
        {"csrf": kari_csrf, "goal_id": goal.id, "value": "omtrent tolv"},
        kari,
        422,
        'data-action="goal-indicator"',
    )
    assert _refusal(form) == ("InvalidValue", catalogue.t("refusal.invalid_value"))
    assert 'value="omtrent tolv"' in form
    assert f'<option value="{goal.id}" selected>' in form

    # Closing with measures unreported: the API's refusal, in bokmål, in the close form.
    api_close = await api.post(
        f"/api/plans/{plan_id}/revisions/{year}/close",
        headers=await bearer(servers.ctx, "kari.nilsen"),
    )
    code = api_close.json()["error"]["code"]
    page, form = await refused_form(
        api,
        f"{page_url}/act/close",
        {"csrf": kari_csrf},
        kari,
        api_close.status_code,
        'data-action="close"',
    )
    code_said = _refusal(form)
    assert code_said[0] == code
    assert code_said[1] != api_close.json()["error"]["message"]  # bokmål, not the API's English
    assert page.count("error-summary") == 1

    # Concluding while the round is open: its form is not on the page, so the refusal
    # stands at the top of it.
    sent = await api.post(f"{page_url}/act/conclude", data={"csrf": kari_csrf}, headers=kari)
    assert sent.status_code >= 400
    assert 'data-refused="conclude"' in sent.text
    assert 'data-action="conclude"' not in sent.text

    # A change to a measure with a year that is no year: every field typed stays.
    await _round_closed(api, servers.ctx, plan_id, year)
    typed = {
        "change_kind": "change",
        "measure_id": "tiltak-1.1.1",
        "m_title": "Strategi for kommunale eiendommer, «revidert»",
        "m_due_year": "neste år",
        "m_investment_nok": "1 250 000",
        "m_basis": "must",
        "reason": "Fristen flyttes.",
    }
    _, form = await refused_form(
        api,
        f"{page_url}/act/changes",
        {"csrf": kari_csrf, **typed},
        kari,
        422,
        'data-action="changes"',
    )
    assert _refusal(form)[0] == "ValidationError"
    assert 'value="change" required checked' in form
    assert '<option value="tiltak-1.1.1" selected>' in form
    assert '<option value="must" selected>' in form
    for name in ("m_title", "m_due_year", "m_investment_nok"):
        assert f'name="{name}" ' in form
        assert f'value="{html.escape(typed[name])}"' in form, name
    assert ">Fristen flyttes.</textarea>" in form

    # The steering group's review of a proposal on a stale page: refused as the API
    # refuses it, the choice and the comment kept.
    proposed = await api.post(
        f"/api/plans/{plan_id}/revisions/{year}/changes",
        json={"changes": [{"kind": "retire", "measure_id": "tiltak-1.1.1", "reason": "Utført."}]},
        headers=await bearer(servers.ctx, "kari.nilsen"),
    )
    assert proposed.status_code == 200, proposed.text
    per, per_csrf = await web_session(servers.ctx, "per.olsen")
    pending = (
        await api.get(
            f"/api/plans/{plan_id}/revisions/{year}", headers=await bearer(servers.ctx, "per.olsen")
        )
    ).json()["pending_proposal"]
    _, review = await refused_form(
        api,
        f"{page_url}/review",
        {
            "csrf": per_csrf,
            "content_version": str(pending["content_version"]),
            "content_hash": "0" * 64,
            "decision": "reject",
            "comment": "Tiltaket er ikke utført ennå.",
        },
        per,
        409,
        'id="review"',
        "</section>",
    )
    assert _refusal(review) == ("StaleContent", catalogue.t("refusal.stale_content"))
    assert 'value="reject" checked' in review
    assert ">Tiltaket er ikke utført ennå.</textarea>" in review
