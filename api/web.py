"""The stakeholders' web page: server-rendered HTML, no script, bokmål by default.

Logging in with the personal token opens a session: the cookie carries a random session
key (HTTP-only, Secure, SameSite=Strict) whose hash is stored beside the token, so
revoking the token ends the session. Every form that changes something carries a CSRF
field derived from the session key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from activities.scorecard_rendering import progress_svg
from api import requests as rq
from api import routes_plans, routes_revisions
from api.errors import ApiError, not_allowed
from api.i18n import LANGUAGES, Language, event_name, refusal_text, role_name, translator
from api.oidc import LoginRefused, UnknownPerson, identify
from api.revision_views import revision_view
from api.routes_plans import my_pending_decisions
from api.routes_public import client_address, hearing_view, on_hearing, respond
from api.routes_revisions import ReportRequest, ReviewRequest, find_revision
from api.service import (
    ApiContext,
    may_read,
    require_actor,
    require_auditor,
    require_reader,
    roles_of,
)
from api.tokens import Principal
from api.views import content_view, pending_for, people_names, summary, timeline
from api.web_deadlines import adoption_deadline
from api.web_hearing import mint_idempotency_key, queue_receipt, receipt_address
from domain import commands as cmd
from domain.gates import current_step, plan_status
from domain.phases import Phase, StepKind
from domain.plan import RevisionDate
from domain.plan_state import PlanState
from domain.problems import problems_from_pydantic
from domain.roles import Role
from eventstore import EventStore, StoredEvent
from eventstore.oidc_sessions import OidcSession, OidcSessions, PendingLogin
from runtime.formatting import OSLO
from runtime.logging import bind_context

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "temaplan_session"
LOGIN_COOKIE = "temaplan_login"
LANG_COOKIE = "temaplan_lang"
RETURNABLE = (Phase.GOALS, Phase.STRATEGIES, Phase.MEASURES, Phase.DRAFT, Phase.HEARING)

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _oslo_time(moment: datetime | date | None) -> str:
    if isinstance(moment, datetime):
        return moment.astimezone(OSLO).strftime("%d.%m.%Y %H:%M")
    # A day (the council's meeting): no time of day to show.
    return moment.strftime("%d.%m.%Y") if moment else "–"


def _number(value: Decimal | None, lang: Language = "nb") -> str:
    if value is None:
        return "–"
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    # Bokmål writes the decimal comma: 16,4.
    return text.replace(".", ",") if lang == "nb" else text


_templates.filters["oslo"] = _oslo_time
_templates.filters["number"] = jinja2.pass_context(
    lambda context, value: _number(value, context.get("lang", "nb"))
)

Names = dict[str, tuple[str, tuple[Role, ...]]]


def _who(lang: Language, names: Names) -> Any:
    """A person as the page shows them: name and role(s); the id when the plan file does
    not name them (the public, the system)."""

    def who(person_id: str, role: str | None = None) -> str:
        found = names.get(person_id)
        if found is None:
            return person_id if role is None else f"{person_id} ({role_name(lang, role)})"
        name, roles = found
        shown = [role] if role else [str(r) for r in roles]
        return f"{name} ({', '.join(role_name(lang, r) for r in shown)})" if shown else name

    return who


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def language(request: Request) -> Language:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "nb"
    return "en" if wanted == "en" else "nb"


def csrf_token(session_key: str) -> str:
    return hashlib.sha256(f"csrf:{session_key}".encode()).hexdigest()[:40]


def _own_name(request: Request, principal: Principal | None, names: Names) -> str:
    """The signed-in person's name from a plan file: the page's own plan, else any plan
    the server has read (the reader keeps them); the id when no plan names them."""
    if principal is None:
        return ""
    if principal.person_id in names:
        return names[principal.person_id][0]
    for state in list(_ctx(request).plans._states.values()):
        person = state.definition.participant(principal.person_id) if state.definition else None
        if person is not None:
            return str(person.name)
    return principal.person_id


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    principal: Principal | None = None,
    **values: Any,
) -> HTMLResponse:
    lang = language(request)
    session_key = request.cookies.get(SESSION_COOKIE, "")
    names: Names = values.pop("names", {})
    page = _templates.get_template(template).render(
        t=translator(lang),
        lang=lang,
        other_lang="en" if lang == "nb" else "nb",
        role_name=lambda role: role_name(lang, str(role)),
        event_name=lambda event_type: event_name(lang, event_type),
        who=_who(lang, names),
        name_of=lambda person_id: names[person_id][0] if person_id in names else person_id,
        me_name=_own_name(request, principal, names),
        path=request.url.path,
        me=principal,
        csrf=csrf_token(session_key) if principal else "",
        **values,
    )
    response = HTMLResponse(page, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def error_page(request: Request, error: ApiError) -> Response:
    if error.status == 401:
        return RedirectResponse("/login", status_code=303)
    said = refusal_text(language(request), error.code, error.message)
    return render(request, "error.html", status_code=error.status, error=error, said=said)


async def _principal(request: Request) -> Principal | None:
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    ctx = _ctx(request)
    principal = await ctx.tokens.session(key)
    if principal is None and ctx.oidc is not None and len(key) <= 100:
        found = await OidcSessions(ctx.pool).find(key)
        if found is not None:
            principal = _oidc_principal(found)
    if principal is not None:
        bind_context(actor=principal.person_id)
    return principal


def _oidc_principal(found: OidcSession) -> Principal:
    return Principal(
        person_id=found.person_id,
        kind=found.kind,
        token_id="",
        municipalities=found.municipalities,
        authenticated_by=f"oidc {found.issuer}",
    )


async def _signed_in(request: Request) -> Principal:
    principal = await _principal(request)
    if principal is None:
        raise ApiError(401, "NotAuthenticated", "log in first")
    return principal


async def _form(request: Request, principal: Principal) -> dict[str, str]:
    """The posted form as text fields, after its CSRF field is checked."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    expected = csrf_token(request.cookies.get(SESSION_COOKIE, ""))
    if not hmac.compare_digest(fields.pop("csrf", ""), expected):
        raise not_allowed("the form has expired; open the page again and resend it")
    return fields


def _problems(error: ApiError | None) -> list[tuple[str, str]]:
    """Each problem as (field, what is wrong); the page marks the detail as English
    where it is, rather than hide it from the person who must fix it."""
    return [(p.path, p.message) for p in error.problems] if error else []


def _invalid(error: ValidationError) -> ApiError:
    problems = problems_from_pydantic(error)
    return ApiError(422, "ValidationError", "; ".join(p.render() for p in problems), problems)


# --- logging in and out ---------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    signed_in = await _principal(request)
    return RedirectResponse("/inbox" if signed_in else "/login", status_code=303)


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request, failed=False)


def _login_page(request: Request, *, failed: bool, status_code: int = 200) -> Response:
    """The login form, with a CSRF field tied to a cookie of its own: there is no session
    yet, so another site could otherwise log a browser in with the attacker's token."""
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        failed=failed,
        login_csrf=csrf_token(f"login:{nonce}"),
        oidc=_ctx(request).oidc is not None,
    )
    response.set_cookie(
        LOGIN_COOKIE, nonce, httponly=True, secure=True, samesite="strict", path="/login"
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf", "")
    if not (
        nonce and isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(f"login:{nonce}"))
    ):
        raise not_allowed("the login form has expired; open the page again and log in")
    token = str(form.get("token", "")).strip()
    ctx = _ctx(request)
    principal = await ctx.tokens.authenticate(token) if token else None
    if principal is None:
        return _login_page(request, failed=True, status_code=401)
    key = await ctx.tokens.open_session(principal)
    response = RedirectResponse("/inbox", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=ctx.settings.session_hours * 3600,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends the session here; a session of the identity provider's is then ended there
    too (RP-initiated logout), which sends the browser back to the login page."""
    principal = await _principal(request)
    ctx = _ctx(request)
    key = request.cookies.get(SESSION_COOKIE, "")
    then = "/login"
    if principal is not None:
        await _form(request, principal)
        await ctx.tokens.close_session(key)
        if ctx.oidc is not None and principal.authenticated_by.startswith("oidc "):
            sessions = OidcSessions(ctx.pool)
            found = await sessions.find(key)
            await sessions.close(key)
            # The provider away: our session has ended all the same.
            if found is not None:
                with contextlib.suppress(LoginRefused):
                    then = (
                        await ctx.oidc.logout_url(found.id_token, f"{_base(request)}/login") or then
                    )
    response: Response = RedirectResponse(then, status_code=303)
    if then != "/login":
        # On to the provider by a page of ours: the Content-Security-Policy lets a form
        # (and the redirect that answers it) go to this site only.
        response = render(request, "oidc_logout.html", provider_logout=then)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


# --- logging in with the identity provider (OpenID Connect) ---------------------------

OIDC_COOKIE = "temaplan_oidc"
OIDC_LOGIN_SECONDS = 600


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _redirect_uri(request: Request) -> str:
    configured = _ctx(request).settings.oidc_redirect_url
    return configured or f"{_base(request)}/login/oidc/callback"


def _oidc_refused(request: Request, nb: str, en: str, status_code: int) -> Response:
    response = render(request, "oidc_refused.html", status_code=status_code, nb=nb, en=en)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc", secure=True, httponly=True)
    return response


@router.get("/login/oidc")
async def oidc_login(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.oidc is None:
        raise ApiError(404, "NotFound", "no identity provider is configured here")
    try:
        begun = await ctx.oidc.authorization(_redirect_uri(request), "openid profile email")
    except LoginRefused as exc:
        return _oidc_refused(
            request, "Identitetsleverandøren svarer ikke.", str(exc), status_code=503
        )
    await OidcSessions(ctx.pool).begin(
        begun.state,
        PendingLogin(nonce=begun.nonce, code_verifier=begun.code_verifier),
        datetime.now(UTC) + timedelta(seconds=OIDC_LOGIN_SECONDS),
    )
    response = RedirectResponse(begun.url, status_code=303)
    # Lax, not Strict: the provider sends the browser back with a top-level GET from its
    # own site. The state in the cookie ties the answer to this browser.
    response.set_cookie(
        OIDC_COOKIE,
        begun.state,
        max_age=OIDC_LOGIN_SECONDS,
        httponly=True,
        secure=True,
        samesite="lax",
        path="/login/oidc",
    )
    return response


@router.get("/login/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    ctx = _ctx(request)
    if ctx.oidc is None:
        raise ApiError(404, "NotFound", "no identity provider is configured here")
    state = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    if request.query_params.get("error"):
        return _oidc_refused(
            request,
            "Identitetsleverandøren logget deg ikke inn.",
            f"The identity provider did not log you in: "
            f"{request.query_params.get('error', '')[:100]}",
            status_code=401,
        )
    held = request.cookies.get(OIDC_COOKIE, "")
    pending = None
    if state and held and hmac.compare_digest(state, held):
        pending = await OidcSessions(ctx.pool).take(state)
    if pending is None or not code:
        return _oidc_refused(
            request,
            "Innloggingen er utløpt eller allerede brukt. Logg inn på nytt.",
            "This login has expired or was already used. Log in again.",
            status_code=400,
        )
    try:
        claims, id_token = await ctx.oidc.exchange(
            code,
            redirect_uri=_redirect_uri(request),
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
        person = identify(claims, ctx.settings, await ctx.plans.states())
    except LoginRefused as exc:
        return _oidc_refused(
            request, "Innloggingen ble avvist.", f"The login was refused: {exc}", 401
        )
    except UnknownPerson as exc:
        return _oidc_refused(request, exc.nb, exc.en, status_code=403)
    key = secrets.token_urlsafe(32)
    await OidcSessions(ctx.pool).open(
        key,
        OidcSession(
            person_id=person.person_id,
            kind=person.kind,
            municipalities=person.municipalities,
            issuer=person.issuer,
            subject=person.subject,
            id_token=id_token,
        ),
        datetime.now(UTC) + timedelta(hours=ctx.settings.session_hours),
    )
    # A page of ours that moves on to the inbox, rather than a redirect: the browser came
    # here from the provider's site, and a SameSite=Strict cookie is sent only on a
    # navigation that starts on ours.
    response = render(request, "oidc_done.html", principal=None)
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=ctx.settings.session_hours * 3600,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc", secure=True, httponly=True)
    return response


# --- the inbox and the plan page ------------------------------------------------------


@router.get("/inbox")
async def inbox(request: Request) -> Response:
    me = await _signed_in(request)
    states = [s for s in await _ctx(request).plans.states() if may_read(me, s)]
    plans = [plan_row(state, me, _ctx(request).settings.revision_date()) for state in states]
    pending = my_pending_decisions(me, states)
    return render(request, "inbox.html", principal=me, pending=pending, plans=plans)


def phase_deadline(state: PlanState, revision_date: RevisionDate) -> datetime | date | None:
    """The deadline of the phase the plan is in: the round's in a comment round, the
    hearing's in the hearing, the council's day in adoption (api/web_deadlines.py; the
    hearing's date is history there), none otherwise."""
    status = plan_status(state)
    if status.phase is Phase.ADOPTION:
        return adoption_deadline(state, revision_date)
    if status.step_kind is StepKind.COMMENT_ROUND:
        return status.comment_round_deadline
    if status.phase is Phase.HEARING:
        return status.hearing_deadline
    return None


def plan_row(state: PlanState, me: Principal, revision_date: RevisionDate) -> dict[str, Any]:
    status = plan_status(state)
    names = people_names(state)
    awaited = [
        (names[p][0] if p in names else p, str(a.role)) for a in status.awaited for p in a.people
    ]
    return {
        "summary": summary(state, roles_of(me, state)),
        "deadline": phase_deadline(state, revision_date),
        "awaited": awaited,
        "awaits_me": any(me.person_id in a.people for a in status.awaited),
    }


def event_detail(t: dict[str, str], event: StoredEvent) -> str:
    """What an event says, in the page's words: the phase, the choice, the report, or
    the person's own text."""
    data = event.data
    if event.type == "phase_started":
        return t.get(f"phase_{data.get('phase')}", "")
    if event.type in ("vote_cast", "hearing_decided", "council_decided"):
        parts = [t.get(f"choice_{data.get('outcome')}", "")]
        if data.get("return_to"):
            parts.append(f"→ {t.get('phase_' + str(data['return_to']), '')}")
        if data.get("reason"):
            parts.append(f"– {data['reason']}")
        return " ".join(p for p in parts if p)
    if event.type == "measure_reported":
        status = t.get(f"report_{data.get('status')}", "")
        return f"{data.get('measure_id')}: {status} {data.get('comment') or ''}".strip()
    for key in ("comment", "reason", "summary", "text", "note", "form"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value if len(value) <= 160 else value[:157] + "..."
    return ""


@router.get("/plans/{plan_id}")
async def plan_page(plan_id: str, request: Request) -> Response:
    me = await _signed_in(request)
    state = await _ctx(request).plans.state(plan_id)
    require_reader(me, state)
    return await _plan_page(request, me, state)


async def _plan_page(
    request: Request,
    me: Principal,
    state: PlanState,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The plan page; after a refused decision, with the refusal in the page's language
    beside the form, and the form filled in as it was sent."""
    ctx = _ctx(request)
    plan_id = state.plan_id or ""
    current = state.content() or state.content(state.adopted_version) or state.latest_content()
    stored = await EventStore(ctx.pool).read(plan_id)
    lang = language(request)
    return render(
        request,
        "plan.html",
        status_code=error.status if error else 200,
        principal=me,
        names=people_names(state),
        plan=summary(state, roles_of(me, state)),
        status=plan_status(state),
        timeline=timeline(state),
        deadline=phase_deadline(state, ctx.settings.revision_date()),
        content=content_view(state, current) if current else None,
        pending=pending_for(me.person_id, state) if me.may_change else [],
        history=[(e, event_detail(translator(lang), e)) for e in stored],
        revisions=[r.year for r in state.revisions],
        returnable=RETURNABLE,
        kinds=StepKind,
        withdrawable=me.may_change and _leads_a_vote(me.person_id, state),
        auditor=_audits(me, state),
        schedulable=me.may_change
        and state.status == "adopted"
        and Role.SCHEDULER in roles_of(me, state),
        error=refusal_text(lang, error.code, error.message) if error else None,
        error_code=error.code if error else "",
        error_problems=_problems(error),
        values=values or {},
    )


def _audits(me: Principal, state: PlanState) -> bool:
    try:
        require_auditor(me, state)
    except ApiError:
        return False
    return True


def _leads_a_vote(person_id: str, state: PlanState) -> bool:
    """The project leader, at a decision step: the item may be withdrawn from the vote."""
    person = state.definition.participant(person_id) if state.definition else None
    step = current_step(state)
    return (
        person is not None
        and Role.PROJECT_LEADER in person.roles
        and step is not None
        and step.kind is StepKind.DECISION
    )


# The API's route for each kind of form: the page builds the API's request model from
# the form and hands it to the same function the API runs, so the request-to-command
# mapping exists once, in api/routes_plans.py.
_ROUTES: dict[str, Any] = {
    "sign_off": routes_plans.sign_off,
    "draft_step": routes_plans.draft_step,
    "comment": routes_plans.comment,
    "summary": routes_plans.hearing_summary,
    "hearing_decision": routes_plans.hearing_decision,
    "council": routes_plans.council_decision,
    "withdraw_vote": routes_plans.withdraw_vote,
}


def _request(fields: dict[str, str]) -> tuple[Any, Any]:
    """The form as the API's request model, and the API's route that takes it."""
    kind = fields.get("kind", "")
    version = fields.get("content_version", "")
    route = _ROUTES.get(kind)
    if route is None:
        raise ApiError(422, "ValidationError", f"unknown kind of decision {kind[:40]!r}")
    body: Any
    if kind == "sign_off":
        body = rq.SignOffRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "content_version": version,
                "content_hash": fields.get("content_hash", ""),
                "decision": fields.get("decision", ""),
                "comment": fields.get("comment", ""),
                "role": fields.get("role") or None,
                "anchoring_form": fields.get("anchoring_form") or None,
            }
        )
    elif kind == "draft_step":
        body = rq.DraftStepRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "content_version": version,
                "note": fields.get("note", ""),
            }
        )
    elif kind == "comment":
        body = rq.CommentRequest.model_validate(
            {"content_version": version, "text": fields.get("text", "")}
        )
    elif kind == "summary":
        body = rq.HearingSummaryRequest.model_validate({"summary": fields.get("summary", "")})
    elif kind == "hearing_decision":
        body = rq.HearingDecisionRequest.model_validate(
            {
                "outcome": fields.get("outcome", ""),
                "reason": fields.get("reason", ""),
                "role": fields.get("role") or None,
                "meeting": _meeting(fields),
            }
        )
    elif kind == "council":
        body = rq.CouncilDecisionRequest.model_validate(
            {
                "outcome": fields.get("outcome", ""),
                "content_version": version,
                "content_hash": fields.get("content_hash", ""),
                "return_to": fields.get("return_to") or None,
                "reason": fields.get("reason", ""),
                "role": fields.get("role") or None,
                "meeting": _meeting(fields),
                "postponed_to": fields.get("postponed_to") or None,
                "amended_content": _json_field(fields, "amended_content"),
            }
        )
    else:
        body = rq.WithdrawVoteRequest.model_validate(
            {
                "step_key": fields.get("step_key", ""),
                "reason": fields.get("reason", ""),
                "return_to": fields.get("return_to") or None,
            }
        )
    return route, body


def _meeting(fields: dict[str, str]) -> dict[str, str] | None:
    """The meeting reference from the form: both fields or neither."""
    case, held = fields.get("case_number", "").strip(), fields.get("meeting_date", "").strip()
    return {"case_number": case, "meeting_date": held} if case or held else None


def _json_field(fields: dict[str, str], name: str) -> Any:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            422,
            "ValidationError",
            f"{name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
        ) from None


# The council's adoption cannot be undone: the page asks again before it is sent.
FINAL_OUTCOMES = ("adopted", "adopted_with_changes")


@router.post("/plans/{plan_id}/decide")
async def decide(plan_id: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    state = await ctx.plans.state(plan_id)
    require_actor(me, state)
    try:
        try:
            route, body = _request(fields)
        except ValidationError as exc:
            raise _invalid(exc) from None
        if (
            fields.get("kind") == "council"
            and fields.get("outcome") in FINAL_OUTCOMES
            and fields.get("confirmed") != "yes"
        ):
            return render(
                request,
                "confirm.html",
                principal=me,
                names=people_names(state),
                plan=summary(state),
                fields={k: v for k, v in fields.items() if k != "confirmed"},
            )
        receipt = await route(plan_id, body, ctx, me)
    except ApiError as refusal:
        if refusal.status in (401, 403) and refusal.code == "NotAuthenticated":
            raise
        return await _plan_page(request, me, state, error=refusal, values=fields)
    return _receipt_page(
        request,
        me,
        receipt=receipt,
        state=state,
        back=f"/plans/{plan_id}",
        names=people_names(state),
        decided=_decided(state, me, fields),
    )


def _decided(state: PlanState, me: Principal, fields: dict[str, str]) -> dict[str, Any]:
    """What the receipt says in words: which step, on which version, by whom, and the
    choice made."""
    status = plan_status(state)
    choice = fields.get("decision") or fields.get("outcome") or ""
    return {
        "step_nb": status.step_title_nb or "",
        "step_en": status.step_title_en or "",
        "content_version": fields.get("content_version") or status.content_version,
        "actor": me.person_id,
        "role": fields.get("role") or None,
        "choice": choice,
    }


# --- the yearly revision (rullering) ----------------------------------------------------


def _year(text: str) -> int:
    if not text.isdigit() or not 2000 <= int(text) <= 2200:
        raise ApiError(404, "UnknownRevision", f"no revision for the year {text[:20]!r}")
    return int(text)


def _typed_number(text: str) -> str | None:
    """A number as people type it in Norway: "12,5" and "1 200" mean 12.5 and 1200."""
    cleaned = "".join(text.split()).replace("\u00a0", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    return cleaned or None


@router.get("/plans/{plan_id}/revisions/{year}")
async def revision_page(plan_id: str, year: str, request: Request) -> Response:
    me = await _signed_in(request)
    ctx = _ctx(request)
    state = await ctx.plans.state(plan_id)
    require_reader(me, state)
    revision = revision_view(state, find_revision(state, _year(year)), me.person_id)
    lang = language(request)
    figure = (
        Markup(
            progress_svg(
                revision.scorecard.goals,
                "Andel tiltak utført per mål"
                if lang == "nb"
                else "Share of measures done per goal",
            )
        )
        if revision.scorecard
        else None
    )
    in_force = state.content(revision.content_version) if revision.content_version else None
    return render(
        request,
        "revision.html",
        principal=me,
        names=people_names(state),
        plan=summary(state, roles_of(me, state)),
        revision=revision,
        may_act=me.may_change,
        leads=me.may_change and Role.PROJECT_LEADER in roles_of(me, state),
        goals=in_force.content.goals if in_force else (),
        strategies=in_force.content.strategies if in_force else (),
        measures=in_force.content.measures if in_force else (),
        figure=figure,
    )


def _receipt_page(
    request: Request,
    me: Principal,
    *,
    receipt: cmd.Receipt,
    state: Any,
    back: str,
    **extra: Any,
) -> Response:
    """The receipt a signed-in actor gets for a command; `extra` is what a page
    adds to it (the names of people, what was decided)."""
    return render(
        request,
        "receipt.html",
        principal=me,
        plan=summary(state),
        receipt=receipt,
        receipt_number=f"{receipt.version}-{receipt.hash[:8].upper()}",
        public=False,
        back=back,
        **extra,
    )


@router.post("/plans/{plan_id}/revisions/{year}/report")
async def revision_report(plan_id: str, year: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    wanted = _year(year)
    state = await ctx.plans.state(plan_id)
    require_actor(me, state)
    try:
        body = ReportRequest.model_validate(
            {
                "measure_id": fields.get("measure_id", ""),
                "status": fields.get("status", ""),
                "comment": fields.get("comment", ""),
                "indicator_value": _typed_number(fields.get("indicator_value", "")),
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    # The API's own route: the request-to-command mapping exists once.
    receipt = await routes_revisions.report_measure(plan_id, wanted, body, ctx, me)
    return _receipt_page(
        request, me, receipt=receipt, state=state, back=f"/plans/{plan_id}/revisions/{wanted}"
    )


@router.post("/plans/{plan_id}/revisions/{year}/review")
async def revision_review(plan_id: str, year: str, request: Request) -> Response:
    me = await _signed_in(request)
    fields = await _form(request, me)
    ctx = _ctx(request)
    wanted = _year(year)
    state = await ctx.plans.state(plan_id)
    require_actor(me, state)
    try:
        body = ReviewRequest.model_validate(
            {
                "content_version": fields.get("content_version", ""),
                "content_hash": fields.get("content_hash", ""),
                "approve": fields.get("decision", "") == "approve",
                "comment": fields.get("comment", ""),
            }
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    receipt = await routes_revisions.review_changes(plan_id, wanted, body, ctx, me)
    return _receipt_page(
        request, me, receipt=receipt, state=state, back=f"/plans/{plan_id}/revisions/{wanted}"
    )


# --- the public hearing ----------------------------------------------------------------


@router.get("/hearing")
async def hearings(request: Request) -> Response:
    found = [hearing_view(s) for s in await _ctx(request).plans.states() if s.hearing_open]
    return render(request, "hearings.html", principal=await _principal(request), hearings=found)


@router.get("/hearing/{plan_id}")
async def hearing_page(plan_id: str, request: Request) -> Response:
    state = await on_hearing(_ctx(request), plan_id)
    return await _hearing_page(request, state)


async def _hearing_page(
    request: Request,
    state: PlanState,
    *,
    error: ApiError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The draft, what happens to a response, and the form; after a refusal the same
    page with the refusal in the page's language and what was typed."""
    lang = language(request)
    definition = state.definition
    assert definition is not None
    leaders = definition.members(Role.PROJECT_LEADER)
    return render(
        request,
        "hearing.html",
        status_code=error.status if error else 200,
        principal=await _principal(request),
        hearing=hearing_view(state),
        contact=leaders[0] if leaders else None,
        error=refusal_text(lang, error.code, error.message) if error else None,
        error_code=error.code if error else "",
        error_problems=_problems(error),
        values=values or {},
        # Kept across a refusal: the response was not recorded, the key is still unused.
        idempotency_key=(values or {}).get("idempotency_key") or mint_idempotency_key(),
        mail_receipt=bool(_ctx(request).settings.smtp_host),
    )


def _consent_missing() -> ApiError:
    return ApiError(
        422,
        "ConsentMissing",
        "confirm that you have read what happens to your name and response",
    )


@router.post("/hearing/{plan_id}")
async def hearing_respond(plan_id: str, request: Request) -> Response:
    ctx = _ctx(request)
    state = await on_hearing(ctx, plan_id)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        # The page publishes the name and the response: it takes them only from someone
        # who has been told so (the privacy notice above the form).
        try:
            body = rq.PublicResponseRequest.model_validate(
                {
                    "name": fields.get("name", ""),
                    "organisation": fields.get("organisation") or None,
                    "text": fields.get("text", ""),
                }
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        if fields.get("consent") != "yes":
            raise _consent_missing()
        address = receipt_address(fields) if ctx.settings.smtp_host else None
        key = fields.get("idempotency_key") or None
        receipt = await respond(ctx, plan_id, body, client_address(request), key)
    except ApiError as refusal:
        if refusal.status == 429:
            raise
        return await _hearing_page(
            request, await ctx.plans.state(plan_id), error=refusal, values=fields
        )
    state = await ctx.plans.state(plan_id)
    if address is not None:
        title = state.definition.title if state.definition else plan_id
        await queue_receipt(
            ctx.pool, plan_id=plan_id, title=title, address=address, receipt=receipt
        )
    return render(
        request,
        "receipt.html",
        principal=await _principal(request),
        plan=summary(state),
        receipt=receipt,
        receipt_number=receipt.receipt_number,
        public=True,
        mailed=address is not None,
        back=f"/hearing/{plan_id}",
    )
