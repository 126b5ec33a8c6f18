"""Several municipalities on one deployment: a person of one municipality cannot read,
list, export or act on another's plans, through the API, the web page or the inbox, even
where the same person id is a participant in both (Bodø's plan, and the same plan file
under Larvik's kommunenummer, share every participant id)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from api.service import ApiContext
from api.tokens import Kind
from api.web import SESSION_COOKIE, csrf_token
from domain.plan import Municipality, PlanDefinition
from eventstore import EventStore
from temaplan.cli import main
from tests.integration.conftest import goals_submission, unique

pytestmark = pytest.mark.servers

BODO, LARVIK = "1804", "3805"


async def _bearer(
    ctx: ApiContext, person: str, municipalities: list[str], kind: Kind = "person"
) -> dict[str, str]:
    issued = await ctx.tokens.issue(person, kind, municipalities=municipalities)
    return {"Authorization": f"Bearer {issued.token}"}


async def _web(ctx: ApiContext, person: str, municipalities: list[str]) -> dict[str, str]:
    """A web session of the person, as logging in with such a token opens it."""
    issued = await ctx.tokens.issue(person, municipalities=municipalities)
    principal = await ctx.tokens.authenticate(issued.token)
    assert principal is not None
    key = await ctx.tokens.open_session(principal)
    return {"Cookie": f"{SESSION_COOKIE}={key}", "csrf": csrf_token(key)}


def _refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


async def _pending_step(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    pending = (await api.get("/api/me/pending", headers=headers)).json()
    assert len(pending) == 1, pending
    found: dict[str, Any] = pending[0]
    return found


async def test_a_person_of_one_municipality_sees_and_acts_only_on_its_plans(
    api: httpx.AsyncClient, api_ctx: ApiContext, bodo: PlanDefinition
) -> None:
    ours = unique(bodo)
    theirs = unique(bodo).model_copy(
        update={"municipality": Municipality(name="Larvik", number=LARVIK)}
    )
    bodo_admin = await _bearer(api_ctx, "kari.nilsen", [BODO], "admin")
    larvik_admin = await _bearer(api_ctx, "kari.nilsen", [LARVIK], "admin")

    # Administrators are per municipality: each starts only its own municipality's plans.
    refused = _refused(
        await api.post("/api/plans", content=theirs.model_dump_json(), headers=bodo_admin),
        403,
        "NotAllowed",
    )
    assert LARVIK in refused["message"]
    assert "nothing was started" in refused["message"]
    for definition, admin in ((ours, bodo_admin), (theirs, larvik_admin)):
        created = await api.post("/api/plans", content=definition.model_dump_json(), headers=admin)
        assert created.status_code == 201, created.text

    # Both leaders submit their goals, so a sign-off waits for per.olsen in each plan.
    for definition, admin in ((ours, bodo_admin), (theirs, larvik_admin)):
        submitted = await api.post(
            f"/api/plans/{definition.plan_id}/content", json=goals_submission(bodo), headers=admin
        )
        assert submitted.status_code == 200, submitted.text

    # Lists: each administrator and each per.olsen sees the own municipality's plan only.
    per_bodo = await _bearer(api_ctx, "per.olsen", [BODO])
    per_larvik = await _bearer(api_ctx, "per.olsen", [LARVIK])
    for headers, plan in (
        (bodo_admin, ours.plan_id),
        (larvik_admin, theirs.plan_id),
        (per_bodo, ours.plan_id),
        (per_larvik, theirs.plan_id),
    ):
        listed = [p["plan_id"] for p in (await api.get("/api/plans", headers=headers)).json()]
        assert listed == [plan]
        me = (await api.get("/api/me", headers=headers)).json()
        assert [p["plan_id"] for p in me["plans"]] == [plan]
    filtered = await api.get(f"/api/plans?municipality={LARVIK}", headers=bodo_admin)
    assert filtered.json() == []

    # Another municipality's plan is, to them, a plan that does not exist.
    other = theirs.plan_id
    for path in (
        f"/api/plans/{other}",
        f"/api/plans/{other}/content",
        f"/api/plans/{other}/schedule",
        f"/api/plans/{other}/revisions",
    ):
        for headers in (per_bodo, bodo_admin):
            _refused(await api.get(path, headers=headers), 404, "UnknownPlan")

    # The inbox: per.olsen of Bodø is awaited in Bodø's plan only.
    waiting = await _pending_step(api, per_bodo)
    assert waiting["plan_id"] == ours.plan_id
    larvik_waiting = await _pending_step(api, per_larvik)
    assert larvik_waiting["plan_id"] == theirs.plan_id
    sign = {
        "step_key": larvik_waiting["step_key"],
        "content_version": larvik_waiting["content_version"],
        "content_hash": larvik_waiting["content_hash"],
        "decision": "approve",
    }
    # Acting: his id is a participant in Larvik's plan, but his token is Bodø's.
    _refused(
        await api.post(f"/api/plans/{other}/sign-offs", json=sign, headers=per_bodo),
        404,
        "UnknownPlan",
    )
    _refused(
        await api.post(f"/api/plans/{other}/hearing/close", json={"reason": "x"}, headers=per_bodo),
        404,
        "UnknownPlan",
    )
    _refused(
        await api.post(f"/api/plans/{other}/schedule/trigger", json={}, headers=bodo_admin),
        404,
        "UnknownPlan",
    )
    # Larvik's own per.olsen signs there.
    signed = await api.post(f"/api/plans/{other}/sign-offs", json=sign, headers=per_larvik)
    assert signed.status_code == 200, signed.text
    token_id = per_larvik["Authorization"].split("_")[1]
    recorded = next(
        e
        for e in await EventStore(api_ctx.pool).read(other)
        if e.version == signed.json()["version"]
    )
    assert recorded.data["authenticated_by"] == f"token {token_id}"
    # The engine's own events say nothing of authentication.
    assert "authenticated_by" not in (await EventStore(api_ctx.pool).read(other))[0].data

    # Auditors: one municipality, or several.
    bodo_auditor = await _bearer(api_ctx, "revisjon.bodo", [BODO], "auditor")
    both = await _bearer(api_ctx, "kontrollutvalg", [BODO, LARVIK], "auditor")
    listed_ids = {p["plan_id"] for p in (await api.get("/api/plans", headers=both)).json()}
    assert listed_ids == {ours.plan_id, theirs.plan_id}
    for audit in ("history", "state?at_version=1", "verify", "export?format=jsonl"):
        _refused(
            await api.get(f"/api/audit/plans/{other}/{audit}", headers=bodo_auditor),
            404,
            "UnknownPlan",
        )
        for plan in (ours.plan_id, other):
            answer = await api.get(f"/api/audit/plans/{plan}/{audit}", headers=both)
            assert answer.status_code == 200, answer.text
    own = await api.get(f"/api/audit/plans/{ours.plan_id}/export?format=csv", headers=bodo_auditor)
    assert own.status_code == 200
    assert "content_submitted" in own.text

    # The web page and its inbox.
    web = await _web(api_ctx, "per.olsen", [BODO])
    cookie = {"Cookie": web["Cookie"]}
    inbox = await api.get("/inbox", headers=cookie)
    assert inbox.status_code == 200
    shown = set(re.findall(r'data-plan="([^"]+)"', inbox.text)) | set(
        re.findall(r'href="/plans/([^"/?#]+)', inbox.text)
    )
    assert shown == {ours.plan_id}, shown
    assert other not in inbox.text
    page = await api.get(f"/plans/{other}", headers=cookie)
    assert page.status_code == 404
    assert "Larvik" not in page.text  # the municipality of the plan it would have shown
    posted = await api.post(
        f"/plans/{other}/decide",
        data={"csrf": web["csrf"], "kind": "sign_off", **{k: str(v) for k, v in sign.items()}},
        headers=cookie,
    )
    assert posted.status_code == 404
    # Nothing of Bodø's person reached Larvik's record; Larvik's own sign-off did.
    history = (await api.get(f"/api/audit/plans/{other}/history", headers=both)).json()
    signers = [r["actor_id"] for r in history if r["type"] == "sign_off_given"]
    assert signers == ["per.olsen"]
    listed_tokens = [t.municipalities for t in await api_ctx.tokens.list("per.olsen")]
    assert sorted(m for m in listed_tokens if m is not None) == [(BODO,), (BODO,), (LARVIK,)]


async def test_a_token_names_only_real_municipalities(api_ctx: ApiContext) -> None:
    with pytest.raises(ValueError, match="four digits"):
        await api_ctx.tokens.issue("per.olsen", municipalities=["18O4"])
    issued = await api_ctx.tokens.issue("per.olsen", municipalities=[BODO, BODO, LARVIK])
    assert issued.info.municipalities == (BODO, LARVIK)
    everywhere = await api_ctx.tokens.issue("drift")
    assert everywhere.info.municipalities is None


def test_tokens_issue_names_the_municipalities(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    argv = ["tokens", "issue", "per.olsen", "--municipality", BODO, "--municipality", LARVIK]
    assert main(argv) == 0
    issued = capsys.readouterr()
    assert re.fullmatch(r"tp_[0-9a-f]{12}_\S{43}\n", issued.out)
    assert f"for per.olsen (person, kommunenummer {BODO}, {LARVIK}); vises bare" in issued.err
    assert main(["--lang", "en", *argv]) == 0
    assert f"(person, municipality {BODO}, {LARVIK}); shown once" in capsys.readouterr().err
    assert main(["tokens", "issue", "revisjon", "--auditor"]) == 0
    assert "(revisor, alle kommuner)" in capsys.readouterr().err
    assert main(["--lang", "en", "tokens", "issue", "revisjon", "--auditor"]) == 0
    assert "(auditor, every municipality)" in capsys.readouterr().err
    assert main(["tokens", "issue", "per.olsen", "--municipality", "18O4"]) == 2
    assert "four digits" in capsys.readouterr().err
    assert main(["tokens", "list"]) == 0
    header, *listed = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["nøkkel-id", "person", "type", "kommuner"]
    assert any("per.olsen" in line and f"{BODO},{LARVIK}" in line for line in listed)
    assert any("revisjon" in line and " revisor " in line and " alle " in line for line in listed)
    assert all(line.endswith(" aktiv") for line in listed)
    assert main(["--lang", "en", "tokens", "list"]) == 0
    header, *listed = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["token", "id", "person", "kind"]
    assert any("revisjon" in line and " auditor " in line and " all " in line for line in listed)
    assert all(line.endswith(" active") for line in listed)
    token_id = next(line for line in listed if "revisjon" in line).split()[0]
    assert main(["tokens", "revoke", token_id]) == 0
    assert capsys.readouterr().out == f"Tilgangsnøkkelen {token_id} er trukket tilbake\n"
    assert main(["--lang", "en", "tokens", "revoke", token_id]) == 1
    assert capsys.readouterr().err == f"no active token {token_id}\n"
    assert main(["tokens", "revoke", "--person", "per.olsen"]) == 0
    assert capsys.readouterr().out.startswith("Tilgangsnøkler til per.olsen trukket tilbake: 2;")
