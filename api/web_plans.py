"""The web page's plan list and an administrator's start of a plan from a plan file.

The upload is checked with the same parser and the same messages as `temaplan validate`;
the plan is started by the API's own function, so the page refuses what the API refuses.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.errors import ApiError, not_allowed
from api.i18n import file_problems
from api.routes_plans import start_definition
from api.service import may_read
from api.tokens import Principal
from api.web import _ctx, _form, _signed_in, language, render
from api.web_decisions import plan_row
from domain.phases import PHASE_ORDER
from domain.plan import PlanDefinition
from domain.planfile import parse_plan_text
from domain.problems import DomainValidationError, Problem
from domain.rules import period_problems
from runtime.formatting import OSLO
from runtime.settings import Settings

router = APIRouter(include_in_schema=False)
MAX_PLAN_FILE = 512 * 1024
SORTS = ("plan_id", "municipality", "phase", "deadline")


@router.get("/plans")
async def plan_list(request: Request) -> Response:
    me = await _signed_in(request)
    query = request.query_params
    ctx = _ctx(request)
    revision_date = ctx.settings.revision_date()
    rows = [plan_row(s, me, revision_date) for s in await ctx.plans.states() if may_read(me, s)]
    municipalities = sorted(
        {(r["summary"].municipality_number, r["summary"].municipality) for r in rows}
    )
    wanted_municipality = query.get("municipality", "")
    wanted_phase = query.get("phase", "")
    text = query.get("q", "").strip().lower()
    mine = query.get("mine") == "yes"
    shown = [
        r
        for r in rows
        if (not wanted_municipality or r["summary"].municipality_number == wanted_municipality)
        and (not wanted_phase or (r["summary"].phase and r["summary"].phase.value == wanted_phase))
        and (not text or text in r["summary"].title.lower() or text in r["summary"].plan_id.lower())
        and (not mine or r["awaits_me"])
    ]
    sort = query.get("sort", "plan_id")
    sort = sort if sort in SORTS else "plan_id"
    shown.sort(key=lambda r: _sort_key(r, sort))
    return render(
        request,
        "plans.html",
        principal=me,
        rows=shown,
        total=len(rows),
        municipalities=municipalities,
        phases=PHASE_ORDER,
        chosen={
            "municipality": wanted_municipality,
            "phase": wanted_phase,
            "q": query.get("q", ""),
            "mine": mine,
            "sort": sort,
        },
        sorts=SORTS,
    )


def _sort_key(row: dict[str, Any], sort: str) -> tuple[Any, ...]:
    plan = row["summary"]
    if sort == "municipality":
        return (plan.municipality, plan.plan_id)
    if sort == "phase":
        return (plan.phase.order if plan.phase else 99, plan.plan_id)
    if sort == "deadline":
        # Plans without a deadline last.
        deadline = row["deadline"]
        if isinstance(deadline, date) and not isinstance(deadline, datetime):
            # The council's day (adoption) sorts as the end of that day in Oslo.
            deadline = datetime.combine(deadline, time.max, OSLO)
        return (deadline is None, deadline.timestamp() if deadline else 0, plan.plan_id)
    return (plan.plan_id,)


# --- an administrator starts a plan -----------------------------------------------------


def _admin(me: Principal) -> None:
    if not me.is_admin:
        raise not_allowed("only administrators start plans (a token issued with --admin)")


@router.get("/plans/new")
async def new_plan(request: Request) -> Response:
    me = await _signed_in(request)
    _admin(me)
    return render(request, "plan_new.html", principal=me, checked=None)


def _check(
    text: str, filename: str, settings: Settings
) -> tuple[PlanDefinition | None, list[str], list[str], list[Any]]:
    """The file as `temaplan validate` reads it: the definition, or every problem, with
    the command's own lines; the command's warnings; and the model's errors, from which
    the page says the problems in its own language."""
    try:
        definition = parse_plan_text(text, filename)
    except DomainValidationError as exc:
        cause = exc.__cause__
        errors = cause.errors(include_url=False) if isinstance(cause, ValidationError) else []
        return None, [p.render(filename) for p in exc.problems], [], list(errors)
    revision_date = definition.settings.revision_date or settings.revision_date()
    warnings = [
        f"{p.render(filename)} (adoption would be refused)"
        for p in period_problems(definition.period, revision_date, datetime.now(OSLO))
    ]
    return definition, [], warnings, []


async def _file_text(fields: Any) -> tuple[str, str] | Problem:
    upload = fields.get("plan_file")
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_PLAN_FILE + 1)
        name = upload.filename.rsplit("/", 1)[-1][:100]
    else:
        raw = str(fields.get("plan_text", "")).encode()
        name = str(fields.get("filename", "")) or "plan.json"
    if not raw:
        return Problem(path="plan_file", message="choose a plan file (YAML or JSON)")
    if len(raw) > MAX_PLAN_FILE:
        return Problem(path="plan_file", message=f"the file is larger than {MAX_PLAN_FILE} bytes")
    if not name.endswith((".yaml", ".yml", ".json")):
        return Problem(path="plan_file", message="the file's name must end in .yaml, .yml or .json")
    try:
        return raw.decode("utf-8"), name
    except UnicodeDecodeError as exc:
        return Problem(path="plan_file", message=f"the file is not UTF-8 text (byte {exc.start})")


@router.post("/plans/new")
async def check_or_start(request: Request) -> Response:
    me = await _signed_in(request)
    _admin(me)
    form = await request.form()
    await _form(request, me)  # the CSRF field
    got = await _file_text(form)
    if isinstance(got, Problem):
        return render(
            request,
            "plan_new.html",
            status_code=422,
            principal=me,
            checked={"name": "", "problems": [got.render()], "warnings": [], "definition": None},
        )
    text, name = got
    definition, problems, warnings, errors = _check(text, name, _ctx(request).settings)
    lang = language(request)
    checked: dict[str, Any] = {
        # In bokmål too, what the model refused; the command's own lines stay below it.
        "explained": file_problems(errors, lang) if lang != "en" else [],
        "name": name,
        "problems": problems,
        "warnings": warnings,
        "definition": definition,
        "text": text,
    }
    if definition is None or form.get("start") != "yes":
        return render(
            request,
            "plan_new.html",
            status_code=422 if problems else 200,
            principal=me,
            checked=checked,
        )
    try:
        started = await start_definition(_ctx(request), me, definition)
    except ApiError as refusal:
        checked["refusal"] = refusal
        return render(
            request, "plan_new.html", status_code=refusal.status, principal=me, checked=checked
        )
    return RedirectResponse(f"/plans/{started.plan_id}", status_code=303)
