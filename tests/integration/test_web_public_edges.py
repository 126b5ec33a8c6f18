"""The public's pages show nothing of a plan before its hearing, and the login form
carries a CSRF check of its own (there is no session yet to tie it to)."""

from __future__ import annotations

import html
import re

import httpx
import pytest

import catalogue
from api.app import create_app
from api.oidc import UnknownPerson
from api.service import ApiContext
from api.web import LOGIN_COOKIE, SESSION_COOKIE
from domain.plan import PlanDefinition
from tests.integration.conftest import bearer, unique

pytestmark = pytest.mark.servers


async def test_a_plan_not_on_hearing_is_not_shown_to_the_public(
    api: httpx.AsyncClient, api_ctx: ApiContext, bodo: PlanDefinition
) -> None:
    definition = unique(bodo).model_copy(update={"title": "Hemmelig boligplan før høring"})
    plan = definition.plan_id
    admin = await bearer(api_ctx, "kari.nilsen", "admin")
    created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert created.status_code == 201, created.text

    unknown = await api.get("/hearing/1804-finnes-ikke")
    for answer in (
        await api.get(f"/hearing/{plan}"),
        await api.post(f"/hearing/{plan}", data={"name": "Ola", "text": "Ja."}),
        await api.get(f"/api/public/plans/{plan}/hearing"),
    ):
        assert answer.status_code == 404 == unknown.status_code, answer.text
        assert "Hemmelig" not in answer.text
        assert "boligplan" not in answer.text.lower().replace(plan, "")
    api_answer = await api.get(f"/api/public/plans/{plan}/hearing")
    assert api_answer.json()["error"]["code"] == "NotOnHearing"
    assert (await api.get("/api/public/plans/1804-finnes-ikke/hearing")).json()["error"][
        "code"
    ] == "NotOnHearing"


def _cookie(response: httpx.Response, name: str) -> str:
    found = re.search(rf"{name}=([^;]+)", response.headers.get("set-cookie", ""))
    assert found, response.headers
    return found.group(1)


async def test_login_needs_the_csrf_field_of_its_own_form(
    api: httpx.AsyncClient, api_ctx: ApiContext
) -> None:
    token = (await api_ctx.tokens.issue("kari.nilsen")).token

    # A login posted from elsewhere (no form of ours, so no field and no cookie): refused.
    forged = await api.post("/login", data={"token": token})
    assert forged.status_code == 403
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")

    page = await api.get("/login")
    assert page.status_code == 200
    nonce = _cookie(page, LOGIN_COOKIE)
    field = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert field
    cookie = {"Cookie": f"{LOGIN_COOKIE}={nonce}"}
    # The field without its cookie, the cookie with another field: refused.
    assert (
        await api.post("/login", data={"token": token, "csrf": field.group(1)})
    ).status_code == 403
    wrong = await api.post("/login", data={"token": token, "csrf": "0" * 40}, headers=cookie)
    assert wrong.status_code == 403
    # From our own form: a session.
    ok = await api.post("/login", data={"token": token, "csrf": field.group(1)}, headers=cookie)
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == "/inbox"
    assert _cookie(ok, SESSION_COOKIE)
    # A wrong token from our own form: the form again, saying so.
    failed = await api.post(
        "/login", data={"token": "tp_x", "csrf": field.group(1)}, headers=cookie
    )
    assert failed.status_code == 401


async def test_a_refused_login_with_the_identity_provider_says_why_from_the_catalogue(
    api_ctx: ApiContext,
) -> None:
    """The refusal in the page's language first and the other beside it, both from the
    catalogue; the provider's own message apart, as a technical detail."""
    settings = api_ctx.settings.model_copy(
        update={"oidc_issuer": "http://127.0.0.1:9", "oidc_client_id": "temaplan"}
    )
    ctx = ApiContext(
        client=api_ctx.client, pool=api_ctx.pool, audit_pool=api_ctx.audit_pool, settings=settings
    )
    assert ctx.oidc is not None
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:

        def said(page: httpx.Response) -> list[tuple[str, str]]:
            found = re.findall(r'<p lang="(nb|en)">([^<]*)</p>', page.text)
            return [(code, html.unescape(text)) for code, text in found]

        def both(key: str, first: catalogue.Language = "nb") -> list[tuple[str, str]]:
            second: catalogue.Language = "en" if first == "nb" else "nb"
            return [(first, catalogue.t(key, first)), (second, catalogue.t(key, second))]

        declined = await web.get("/login/oidc/callback?error=access_denied")
        assert declined.status_code == 401
        assert said(declined) == both("web.oidc_provider_declined")
        assert said(declined)[0] == ("nb", "Identitetsleverandøren logget deg ikke inn.")
        assert 'Teknisk melding: <code lang="en">access_denied</code>' in declined.text

        expired = await web.get("/login/oidc/callback?state=s&code=c&lang=en")
        assert expired.status_code == 400
        assert said(expired) == both("web.oidc_expired", "en")
        assert "Technical message" not in expired.text

        silent = await web.get("/login/oidc")
        assert silent.status_code == 503
        assert said(silent) == both("web.oidc_provider_silent", "en")
        assert "did not answer" in silent.text

    # Nobody here: the catalogue's words, with the person's name in them.
    unknown = UnknownPerson("web.oidc_not_participant", value="ola")
    assert str(unknown) == catalogue.t("web.oidc_not_participant", "en", value="ola")
    assert "«ola», men du er ikke deltaker" in catalogue.t(
        "web.oidc_not_participant", "nb", value="ola"
    )
