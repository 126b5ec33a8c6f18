"""The stakeholders' web page: server-rendered HTML, no script, bokmål by default.

Logging in with the personal token opens a session: the cookie carries a random session
key (HTTP-only, Secure, SameSite=Strict) whose hash is stored beside the token, so
revoking the token ends the session. Every form that changes something carries a CSRF
field derived from the session key.

This module holds what every page shares (rendering, the session, the form's CSRF field,
the receipt); the pages are in ``web_login`` (logging in and out), ``web_decisions`` (the
inbox, the plan page and its decisions), ``web_revision`` and ``web_actions`` (the yearly
revision), ``web_hearing`` (the public hearing), ``web_plans`` (the plan list and a new
plan) and ``web_audit`` (the auditor's page).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

import catalogue
from api.errors import ApiError, not_allowed
from api.i18n import (
    LANGUAGES,
    Language,
    event_name,
    form_problems,
    refusal_text,
    role_name,
    translator,
)
from api.service import (
    ApiContext,
    roles_of,
)
from api.tokens import Principal
from api.views import people_names, summary
from domain import commands as cmd
from domain.plan_state import PlanState
from domain.problems import problems_from_pydantic
from domain.roles import Role
from eventstore import StoredEvent
from eventstore.oidc_sessions import OidcSession, OidcSessions
from runtime.formatting import OSLO
from runtime.logging import bind_context

router = APIRouter(include_in_schema=False)
SESSION_COOKIE = "temaplan_session"
LOGIN_COOKIE = "temaplan_login"
LANG_COOKIE = "temaplan_lang"

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
        step_title=lambda step_key: catalogue.step_title(step_key, lang),
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


def render_plan(
    request: Request,
    template: str,
    me: Principal,
    state: PlanState,
    *,
    with_my_roles: bool = False,
    **values: Any,
) -> HTMLResponse:
    """A page about one plan for the signed-in person: the plan's summary (with the
    person's roles in it, where the page shows them) and its people by name."""
    return render(
        request,
        template,
        principal=me,
        names=people_names(state),
        plan=summary(state, roles_of(me, state) if with_my_roles else ()),
        **values,
    )


def error_page(request: Request, error: ApiError) -> Response:
    if error.status == 401:
        return RedirectResponse("/login", status_code=303)
    lang = language(request)
    said = refusal_text(lang, error.code, error.message)
    return render(
        request,
        "error.html",
        status_code=error.status,
        error=error,
        said=said,
        # The API's English message beside the page's words, unless the problems below
        # already say it in the page's language.
        detail="" if said == error.message or isinstance(error, FormInvalid) else error.message,
        problems=_problems(error, lang),
    )


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
    person = found.person
    return Principal(
        person_id=person.person_id,
        kind=person.kind,
        token_id="",
        municipalities=person.municipalities,
        authenticated_by=f"oidc {person.issuer}",
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


class FormInvalid(ApiError):
    """A form that its request model refuses: the API's 422 with its English problems,
    and pydantic's errors, from which the page says each problem in its own language."""

    def __init__(self, error: ValidationError) -> None:
        problems = problems_from_pydantic(error)
        super().__init__(422, "ValidationError", "; ".join(p.render() for p in problems), problems)
        self.errors = error.errors(include_url=False)


def _problems(error: ApiError | None, lang: Language) -> list[tuple[str, str, bool]]:
    """Each problem as (field, what is wrong, whether it is English): a form's in the
    page's language; any other (a query's) as the API says it, marked as English rather
    than hidden from the person who must fix it."""
    if isinstance(error, FormInvalid):
        return [(field, said, False) for field, said in form_problems(error.errors, lang)]
    return [(p.path, p.message, lang != "en") for p in error.problems] if error else []


def _invalid(error: ValidationError) -> ApiError:
    return FormInvalid(error)


def shown_beside_the_form(refusal: ApiError) -> bool:
    """A refusal the page says beside the form that was sent; not an expired session,
    which goes to the login page (``error_page``)."""
    return not (refusal.status in (401, 403) and refusal.code == "NotAuthenticated")


def refused_form(
    request: Request, error: ApiError | None, values: dict[str, str] | None = None
) -> dict[str, Any]:
    """What a page with forms needs to show one of them refused: the status, the refusal
    in the page's language, each problem with its field, and the form's fields as they
    were sent (``values``), so what the person typed is there to correct. Without an
    error, the page as it is (every form empty)."""
    lang = language(request)
    return {
        "status_code": error.status if error else 200,
        "error": refusal_text(lang, error.code, error.message) if error else None,
        "error_code": error.code if error else "",
        "error_problems": _problems(error, lang),
        "values": values or {},
    }


@router.get("/")
async def home(request: Request) -> Response:
    signed_in = await _principal(request)
    return RedirectResponse("/inbox" if signed_in else "/login", status_code=303)


def event_detail(t: Mapping[str, str], event: StoredEvent) -> str:
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
