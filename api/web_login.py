"""Logging in and out of the web page: with the personal token, or with the municipality's
identity provider (OpenID Connect), and the session cookie either way.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.errors import ApiError, not_allowed
from api.i18n import translator
from api.oidc import LoginRefused, OidcClient, UnknownPerson, identify
from api.service import ApiContext
from api.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    _ctx,
    _form,
    _principal,
    csrf_token,
    language,
    render,
)
from eventstore.oidc_sessions import OidcSession, OidcSessions, PendingLogin

router = APIRouter(include_in_schema=False)


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
    _set_session_cookie(response, key, ctx)
    return response


def _set_session_cookie(response: Response, key: str, ctx: ApiContext) -> None:
    """The session's key in the cookie, for as long as a session lasts; never sent to
    another site, nor read by scripts."""
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=ctx.settings.session_hours * 3600,
        httponly=True,
        secure=True,
        samesite="strict",
        path="/",
    )


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


def _oidc_refused(
    request: Request, key: str, status_code: int, *, detail: str = "", **values: str
) -> Response:
    """Why the login did not work, as the label ``key`` (``web.oidc_*``): in the page's
    language and in the other (nobody is logged in to have chosen one), with the
    provider's or the check's own message, if any, beside it."""
    lang = language(request)
    label = key.removeprefix("web.")
    said = [
        (code, translator(code)[label].format(**values))
        for code in (lang, "en" if lang == "nb" else "nb")
    ]
    response = render(
        request, "oidc_refused.html", status_code=status_code, said=said, detail=detail
    )
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc", secure=True, httponly=True)
    return response


def _provider(ctx: ApiContext) -> OidcClient:
    """The identity provider's client; without one configured, its pages are not here."""
    if ctx.oidc is None:
        raise ApiError(404, "NotFound", "no identity provider is configured here")
    return ctx.oidc


@router.get("/login/oidc")
async def oidc_login(request: Request) -> Response:
    ctx = _ctx(request)
    provider = _provider(ctx)
    try:
        begun = await provider.authorization(_redirect_uri(request), "openid profile email")
    except LoginRefused as exc:
        return _oidc_refused(request, "web.oidc_provider_silent", 503, detail=str(exc))
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
    provider = _provider(ctx)
    state = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    if request.query_params.get("error"):
        error = request.query_params.get("error", "")[:100]
        return _oidc_refused(request, "web.oidc_provider_declined", 401, detail=error)
    held = request.cookies.get(OIDC_COOKIE, "")
    pending = None
    if state and held and hmac.compare_digest(state, held):
        pending = await OidcSessions(ctx.pool).take(state)
    if pending is None or not code:
        return _oidc_refused(request, "web.oidc_expired", 400)
    try:
        claims, id_token = await provider.exchange(
            code,
            redirect_uri=_redirect_uri(request),
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
        person = identify(claims, ctx.settings, await ctx.plans.states())
    except LoginRefused as exc:
        return _oidc_refused(request, "web.oidc_login_refused", 401, detail=str(exc))
    except UnknownPerson as exc:
        return _oidc_refused(request, exc.key, 403, **exc.values)
    key = secrets.token_urlsafe(32)
    await OidcSessions(ctx.pool).open(
        key,
        OidcSession(person, id_token),
        datetime.now(UTC) + timedelta(hours=ctx.settings.session_hours),
    )
    # A page of ours that moves on to the inbox, rather than a redirect: the browser came
    # here from the provider's site, and a SameSite=Strict cookie is sent only on a
    # navigation that starts on ours.
    response = render(request, "oidc_done.html", principal=None)
    _set_session_cookie(response, key, ctx)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc", secure=True, httponly=True)
    return response
