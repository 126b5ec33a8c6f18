"""Numbers of every form, deep nesting, and an outsider sending any of it: a 4xx with a
message, never a 500; an outsider is refused for who they are (403) before what they
sent is read."""

from __future__ import annotations

import httpx
import pytest

from api.service import ApiContext
from domain.plan import PlanDefinition
from tests.integration.conftest import bearer, unique

pytestmark = pytest.mark.servers

FIGURES = (b"1e-50", b"1e-60", b"-0.0", b"-0", b"1e60", b"1E+2", b"1e400", b"9" * 5000)


async def test_numbers_and_nesting_never_answer_500_and_outsiders_get_403(
    api: httpx.AsyncClient, api_ctx: ApiContext, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    plan = definition.plan_id
    admin = await bearer(api_ctx, "kari.nilsen", "admin")
    member = await bearer(api_ctx, "per.olsen")
    outsider = await bearer(api_ctx, "nobody")
    created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
    assert created.status_code == 201, created.text
    json_header = {"Content-Type": "application/json"}

    # Deep nesting in a plan definition: 422 with the limit; not an administrator: 403.
    deep = b'{"title": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    answer = await api.post("/api/plans", content=deep, headers={**admin, **json_header})
    assert answer.status_code == 422, answer.text
    assert "nested more than 32 levels deep" in answer.json()["error"]["message"]
    answer = await api.post("/api/plans", content=deep, headers={**member, **json_header})
    assert answer.status_code == 403

    # Figures in a plan definition's indicators.
    for figure in FIGURES:
        body = definition.model_dump_json().encode()
        body = body.replace(b'"baseline":"', b'"baseline":' + figure + b',"x":"', 1)
        answer = await api.post("/api/plans", content=body, headers={**admin, **json_header})
        assert answer.status_code in (409, 422), (figure, answer.text)

    # Indicator values in the yearly revision: an outsider gets 403 whatever the value;
    # a participant a 4xx that says what is wrong.
    for figure in (*FIGURES, b'"1e-50"', b"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"):
        body = b'{"measure_id": "tiltak-1.1.1", "status": "done", "indicator_value": ' + figure
        body += b"}"
        for path in ("reports", "goal-indicators"):
            url = f"/api/plans/{plan}/revisions/2026/{path}"
            content = body if path == "reports" else body.replace(b"measure_id", b"goal_id")
            answer = await api.post(url, content=content, headers={**outsider, **json_header})
            # A body Python's JSON reader cannot hold (5000 digits) is refused as such
            # before anything else; everything readable waits for the permission check.
            unreadable = len(figure) > 4300
            assert answer.status_code == (400 if unreadable else 403), (figure, path, answer.text)
            answer = await api.post(url, content=content, headers={**admin, **json_header})
            assert 400 <= answer.status_code < 500, (figure, path, answer.text)
    # Deep nesting in any other body: a 4xx (the JSON reader gives up: 400).
    deep_body = b'{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    for headers, allowed in ((outsider, {400, 403}), (admin, {400, 422})):
        answer = await api.post(
            f"/api/plans/{plan}/comments", content=deep_body, headers={**headers, **json_header}
        )
        assert answer.status_code in allowed, answer.text
