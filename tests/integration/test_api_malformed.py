"""No input makes the API answer 500: malformed bodies, paths, queries, tokens and forms
get a 4xx with a JSON error (or, on the web page, an error page)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.service import ApiContext
from domain.plan import PlanDefinition
from tests.integration.conftest import bearer, unique, web_session

pytestmark = pytest.mark.servers

PLAN_PATHS = (
    "/api/plans/{plan}",
    "/api/plans/{plan}/content",
    "/api/audit/plans/{plan}/history",
    "/api/audit/plans/{plan}/state",
    "/api/audit/plans/{plan}/verify",
    "/api/audit/plans/{plan}/export",
    "/api/public/plans/{plan}/hearing",
    "/api/plans/{plan}/schedule",
    "/api/plans/{plan}/revisions",
    "/api/plans/{plan}/revisions/2026",
    "/api/plans/{plan}/revisions/2026/scorecard",
)
POST_PATHS = (
    "/api/plans/{plan}/content",
    "/api/plans/{plan}/sign-offs",
    "/api/plans/{plan}/draft-steps",
    "/api/plans/{plan}/comments",
    "/api/plans/{plan}/hearing/close",
    "/api/plans/{plan}/hearing/summary",
    "/api/plans/{plan}/hearing/decision",
    "/api/plans/{plan}/council-decision",
    "/api/public/plans/{plan}/hearing/responses",
    "/api/plans/{plan}/schedule/pause",
    "/api/plans/{plan}/schedule/backfill",
    "/api/plans/{plan}/revisions/2026/reports",
    "/api/plans/{plan}/revisions/2026/goal-indicators",
    "/api/plans/{plan}/revisions/2026/close",
    "/api/plans/{plan}/revisions/2026/changes",
    "/api/plans/{plan}/revisions/2026/changes/review",
    "/api/plans/{plan}/revisions/2026/conclude",
)
BAD_PLAN_IDS = ("x", "1804-", "..%2F..%2Fetc", "1804-" + "a" * 300, "1804-ø", "%00", "1804-a%20b")
BAD_BODIES: tuple[bytes, ...] = (
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b'{"step_key": null}',
    b'{"content_version": "one", "content_hash": 5, "decision": "maybe"}',
    b'{"content_version": 99999999999999999999999}',
    b'{"phase": "nowhere", "content": {"goals": [{"id": "../x"}]}}',
    b'{"text": "' + b"\\ud800" + b'", "name": "x"}',
    b"\xff\xfe\x00",
    b'{"a": ' * 200 + b"1" + b"}" * 200,
)


async def test_nothing_answers_500(  # noqa: PLR0912 - one loop per kind of input
    api: httpx.AsyncClient, api_ctx: ApiContext, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    plan = definition.plan_id
    admin = await bearer(api_ctx, "kari.nilsen", "admin")
    auditor = await bearer(api_ctx, "revisjon", "auditor")
    started = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert started.status_code == 201
    answers: list[tuple[str, str, int]] = []

    async def call(method: str, url: str, **kwargs: Any) -> None:
        response = await api.request(method, url, **kwargs)
        answers.append((method, url, response.status_code))
        if url.startswith("/api"):
            assert response.headers["content-type"].startswith("application/json"), url
            assert response.json()["error"]["message"]

    for headers in (admin, auditor, {}, {"Authorization": "Bearer tp_000000000000_" + "A" * 43}):
        for template in PLAN_PATHS:
            for bad in BAD_PLAN_IDS:
                await call("GET", template.format(plan=bad), headers=headers)
        for template in POST_PATHS if headers is not auditor else ():
            for body in BAD_BODIES:
                await call(
                    "POST",
                    template.format(plan=plan),
                    content=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
    for body in BAD_BODIES:
        await call("POST", "/api/plans", content=body, headers=admin)
    for query in (
        "as_of=yesterday",
        "at_version=-1",
        "at_version=1&as_of=2026-01-01",
        "at_version=1e9",
        "as_of=2026-13-45T99:99",
    ):
        await call("GET", f"/api/audit/plans/{plan}/state?{query}", headers=auditor)
    for query in ("format=exe", "lang=de", "format=", "format=jsonl&format=csv&lang=" + "x" * 5000):
        await call("GET", f"/api/audit/plans/{plan}/export?{query}", headers=auditor)
    for query in ("since=never", "phase=" + "p" * 100, "until=2026-02-30"):
        await call("GET", f"/api/audit/plans/{plan}/history?{query}", headers=auditor)
    for year in ("abc", "-5", "1999", "99999999999999999999999", "2026.5", "%00"):
        await call("GET", f"/api/plans/{plan}/revisions/{year}", headers=admin)
        await call(
            "POST",
            f"/api/plans/{plan}/revisions/{year}/reports",
            json={"measure_id": "tiltak-1.1.1", "status": "done"},
            headers=admin,
        )
    for query in ("format=exe", "format=", "format=html&format=markdown"):
        await call("GET", f"/api/plans/{plan}/revisions/2026/scorecard?{query}", headers=admin)
    bodies: tuple[dict[str, object], ...] = (
        {"measure_id": "tiltak-1.1.1", "status": "done", "indicator_value": "x" * 41},
        {"measure_id": "", "status": "done"},
        {"measure_id": "tiltak-1.1.1", "status": "done", "indicator_value": [1]},
        {"goal_id": "mal-1", "value": None},
        {"changes": []},
        {"changes": [{"kind": "retire", "measure_id": "../x", "reason": "x"}]},
        {"changes": [{"kind": "add", "measure_id": "x", "reason": "x"}]},
        {"content_version": 0, "content_hash": "x", "approve": "maybe"},
    )
    for body_json in bodies:
        for path in ("reports", "goal-indicators", "changes", "changes/review"):
            await call(
                "POST", f"/api/plans/{plan}/revisions/2026/{path}", json=body_json, headers=admin
            )
    await call("GET", "/api/plans?phase=nowhere&municipality=abcd", headers=admin)
    await call("GET", f"/api/plans/{plan}/content?version=0", headers=admin)
    await call("GET", f"/api/plans/{plan}/content?version=7", headers=admin)
    for header in ("Basic abc", "Bearer", "Bearer " + "x" * 10_000, "Bearer tp_zz_zz"):
        await call("GET", "/api/me", headers={"Authorization": header})
    await call("PUT", "/api/plans", headers=admin)
    await call("DELETE", f"/api/plans/{plan}", headers=admin)
    await call("GET", "/api/nothing-here")
    await call(
        "POST",
        f"/api/public/plans/{plan}/hearing/responses",
        content=b"x",
        headers={"Content-Length": "not-a-number", "Content-Type": "application/json"},
    )
    # The web page's forms: no session, no CSRF field, garbage fields.
    for url in (
        "/login",
        "/logout",
        f"/plans/{plan}/decide",
        f"/hearing/{plan}",
        "/hearing/x",
        f"/plans/{plan}/revisions/2026/report",
        f"/plans/{plan}/revisions/abc/report",
        f"/plans/{plan}/revisions/2026/review",
    ):
        for form in ({}, {"token": "x" * 500}, {"kind": "sign_off", "content_version": "x"}):
            response = await api.post(url, data=form)
            answers.append(("POST", url, response.status_code))
    for url in (
        "/inbox",
        f"/plans/{plan}",
        "/plans/..",
        "/hearing/%00",
        f"/hearing/{plan}?lang=xx",
        f"/plans/{plan}/revisions/2026",
        f"/plans/{plan}/revisions/abc",
        "/plans/x/revisions/1",
    ):
        response = await api.get(url)
        answers.append(("GET", url, response.status_code))

    # The revision's forms with a session: no or a wrong CSRF field, garbage fields.
    session, csrf = await web_session(api_ctx, "tor.berg")
    for url in (
        f"/plans/{plan}/revisions/2026/report",
        f"/plans/{plan}/revisions/2026/review",
        f"/plans/{plan}/revisions/abc/report",
        "/plans/x/revisions/2026/report",
    ):
        for form in (
            {},
            {"csrf": "wrong"},
            {"csrf": csrf},
            {"csrf": csrf, "measure_id": "x" * 500, "status": "maybe", "indicator_value": "1,2"},
            {"csrf": csrf, "measure_id": "tiltak-1.1.1", "status": "done"},
            {"csrf": csrf, "content_version": "x", "content_hash": "y", "decision": "approve"},
        ):
            response = await api.post(url, data=form, headers=session)
            answers.append(("POST", url, response.status_code))
    for url in (f"/plans/{plan}/revisions/2026", f"/plans/{plan}/revisions/0", "/inbox"):
        response = await api.get(url, headers=session)
        answers.append(("GET", url, response.status_code))

    server_errors = [a for a in answers if a[2] >= 500]
    assert not server_errors, server_errors
    assert len(answers) > 400


async def test_openapi_and_docs_are_served_from_here(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    assert {
        "/api/plans",
        "/api/me/pending",
        "/api/public/plans/{plan_id}/hearing/responses",
    } <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    docs = await api.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert (await api.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
