"""The public's pages show nothing of a plan before its hearing, and the login form
carries a CSRF check of its own (there is no session yet to tie it to)."""

from __future__ import annotations

import re

import httpx
import pytest

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
