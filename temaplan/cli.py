"""`temaplan`: one front door for administrators, stakeholders, auditors and schedulers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from catalogue import LANGUAGES, Language, formats, phase_name, role_name, t
from domain import search_attributes as sa
from domain.problems import DomainValidationError
from eventstore import EventStore, EventStoreError
from runtime.database import migrated_pool
from runtime.formatting import OSLO, zoned
from runtime.logging import configure_logging
from runtime.planfile import load_plan_file
from runtime.progress import progress
from runtime.settings import Settings, load_settings
from runtime.temporal_client import release_runtime
from temaplan import audit_cli, log_cli, outbox_cli, schedule_cli, tokens_cli
from temaplan.cli_errors import OneLineParser, explain, fail, settings_problem

# Events from which `temaplan events` shows its progress while reading.
LARGE_STREAM = 2000


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="temaplan", description="Thematic housing plans from goals to adoption."
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default="nb",
        help="what the commands say: bokmål (default) or English; JSON and files stay as they are",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on embedded defaults")
    demo.add_argument("plan_file", nargs="?", type=Path, help="plan file (default: Bodø example)")
    sub.add_parser("migrate", help="apply database migrations")
    backup = sub.add_parser("backup", help="back up the event store (pg_dump, custom format)")
    backup.add_argument("--out", type=Path, required=True)
    restore = sub.add_parser("restore", help="restore a backup into an empty database")
    restore.add_argument("backup_file", type=Path)
    validate = sub.add_parser("validate", help="check a plan file and list every problem")
    validate.add_argument("plan_file", type=Path)
    events = sub.add_parser("events", help="print a plan's event stream")
    events.add_argument("plan_id")
    verify = sub.add_parser("verify", help="verify the hash chain of one plan or of all")
    verify.add_argument("plan_id", nargs="?")
    sub.add_parser("worker", help="run a Temporal worker (plan workflows and activities)")
    start = sub.add_parser("start", help="start a plan workflow from a plan file")
    start.add_argument("plan_file", type=Path)
    start.add_argument("--administrator", default="administrator", help="who starts the plan")
    plans = sub.add_parser("plans", help="list plans and where they stand")
    plans_sub = plans.add_subparsers(dest="plans_command", required=True)
    plans_list = plans_sub.add_parser("list", help="list plan workflows")
    plans_list.add_argument("--phase", help="only plans in this phase (e.g. hearing)")
    plans_list.add_argument("--municipality", help="only this kommunenummer")
    audit_cli.add_parser(sub, _when)
    tokens_cli.add_parser(sub)
    sub.add_parser("api", help="serve the HTTP API and the web page (TEMAPLAN_API_HOST/PORT)")
    up = sub.add_parser(
        "up", help="the whole stack on one machine: Temporal, PostgreSQL, worker, API/web page"
    )
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=8233, help="the Temporal Web UI")
    schedule_cli.add_parser(sub, _when)
    log_cli.add_parsers(sub)
    outbox_cli.add_parser(sub)
    return parser


def _when(text: str) -> datetime:
    """ISO 8601; a time without a zone is read as Europe/Oslo, as a Norwegian auditor
    would mean it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time; use ISO 8601, e.g. 2026-11-21, 2026-11-21T14:30 "
            "(Europe/Oslo) or 2026-11-21T13:30Z (UTC)"
        ) from exc
    return zoned(moment)


async def _migrate(settings: Settings, lang: Language) -> int:
    async with migrated_pool(settings):
        print(t("cli.migrated", lang))
    return 0


async def _backup(settings: Settings, out: Path, lang: Language) -> int:
    from runtime.database import database_url
    from temaplan.backup import BackupError, backup

    async with database_url(settings) as dsn:
        try:
            objects = await backup(dsn, out)
        except (BackupError, OSError) as exc:
            print(t("cli.backup_failed", lang, error=exc), file=sys.stderr)
            return 1
    print(t("cli.backup_written", lang, path=out, objects=formats.number(objects, lang)))
    return 0


async def _restore(settings: Settings, backup_file: Path, lang: Language) -> int:
    from temaplan.backup import BackupError, restore

    if not settings.database_url:
        print(t("cli.restore_needs_database", lang), file=sys.stderr)
        return 2
    if not await asyncio.to_thread(backup_file.is_file):
        print(t("cli.restore_no_file", lang, path=backup_file), file=sys.stderr)
        return 2
    try:
        await restore(settings.database_url, backup_file)
    except (BackupError, OSError) as exc:
        print(t("cli.restore_failed", lang, error=exc), file=sys.stderr)
        return 1
    print(t("cli.restored", lang, path=backup_file))
    return 0


async def _events(settings: Settings, plan_id: str, lang: Language) -> int:
    from temaplan.demo import render_stream

    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        total, _ = await store.head(plan_id)
        stored = []
        # A long stream takes a while to read: a bar on a terminal, gone before the table.
        bar = progress(
            t("cli.events_reading", lang, plan=plan_id),
            total,
            t("progress.events", lang),
            number=formats.counter(lang),
            transient=True,
        )
        with bar if total >= LARGE_STREAM else contextlib.nullcontext() as report:
            async for event in store.iter_stream(plan_id):
                stored.append(event)
                if report is not None and len(stored) % 500 == 0:
                    report(len(stored))
    if not stored:
        print(t("cli.events_none", lang, plan=plan_id), file=sys.stderr)
        return 1
    print(render_stream(stored, lang))
    return 0


async def _verify(settings: Settings, plan_id: str | None, lang: Language) -> int:
    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        streams = [plan_id] if plan_id else await store.stream_ids()
        failures = 0
        for result in await store.verify_streams(streams):
            if result.events_checked == 0:
                print(t("cli.verify_no_events", lang, plan=result.stream_id))
                failures += 1
            elif result.ok:
                count = formats.number(result.events_checked, lang)
                print(
                    t(
                        "cli.verify_ok",
                        lang,
                        plan=result.stream_id,
                        count=count,
                        hash=result.last_hash,
                    )
                )
            else:
                failures += 1
                broken = t(
                    "cli.verify_broken",
                    lang,
                    plan=result.stream_id,
                    version=result.broken_version,
                    problem=result.problem,
                )
                print(broken)
    return 1 if failures else 0


def _plan_row(workflow_id: str, phase: str, status: str, awaited: str) -> str:
    return f"{workflow_id:<44} {phase:<11} {status:<12} {awaited}"


async def _plans_list(
    settings: Settings, phase: str | None, municipality: str | None, lang: Language
) -> int:
    from runtime.temporal_client import connect

    client = await connect(settings)
    clauses = ['WorkflowType = "PlanWorkflow"']
    if phase:
        clauses.append(f'TemaplanPhase = "{phase}"')
    if municipality:
        clauses.append(f'TemaplanMunicipality = "{municipality}"')
    query = " AND ".join(clauses)
    header = (
        t(f"cli.plans_{column}", lang) for column in ("workflow", "phase", "status", "awaited")
    )
    print(_plan_row(*header))
    # In English the record's own names, as scripts have read them; in bokmål the words.
    named = lang != "en"
    count = 0
    async for execution in client.list_workflows(query):
        attributes = execution.typed_search_attributes
        phase_value = attributes.get(sa.PHASE)
        roles = attributes.get(sa.AWAITED_ROLES) or []
        status = execution.status.name.lower() if execution.status else None
        print(
            _plan_row(
                execution.id,
                (phase_name(phase_value, lang) if named else phase_value) or "-",
                (t(f"cli.status_{status}", lang) if named and status else status) or "-",
                ", ".join(role_name(r, lang) if named else r for r in roles) or "-",
            )
        )
        count += 1
    print(t("cli.plans_count", lang, count=formats.number(count, lang)))
    return 0


def _validate(plan_file: Path, settings: Settings, lang: Language) -> int:
    from domain.rules import period_problems

    definition = load_plan_file(plan_file)
    print(t("cli.valid", lang, file=plan_file, plan_id=definition.plan_id))
    # Not errors (a plan may be drafted ahead), but adoption will refuse them as they stand.
    revision_date = definition.settings.revision_date or settings.revision_date()
    for problem in period_problems(definition.period, revision_date, datetime.now(OSLO)):
        # The problem in the words the upload page also shows it in, in either language.
        print(t("cli.period_warning", lang, problem=problem.render(str(plan_file))))
    return 0


def _demo(settings: Settings, plan_file: Path | None, lang: Language) -> int:
    from temaplan.demo import EXAMPLE, run_demo

    if "LOG_LEVEL" not in os.environ:
        # The demo narrates on stdout; routine INFO lines would drown it.
        configure_logging(settings.log_format, "WARNING")
    return asyncio.run(run_demo(settings, plan_file or EXAMPLE, lang))


def _worker(settings: Settings) -> int:
    from temaplan.worker_service import run_worker

    asyncio.run(run_worker(settings))
    return 0


async def _start(settings: Settings, plan_file: Path, administrator: str, lang: Language) -> int:
    from client.plans import start_from_file

    # Checked here first, so a missing or bad file is reported as every command reports it.
    load_plan_file(plan_file)
    return await start_from_file(settings, plan_file, administrator, lang)


def _api(settings: Settings) -> int:
    import uvicorn

    from api.app import production_app
    from temaplan.up import http_config

    server = uvicorn.Server(http_config(production_app(settings), settings))
    server.run()
    # uvicorn.run's answer (its STARTUP_FAILURE) when the server never started: its
    # port taken, say.
    return 0 if server.started else 3


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from temaplan.up import run_up

    return asyncio.run(run_up(settings, args.temporal_port, args.ui_port, args.lang))


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    lang: Language = args.lang
    commands: dict[str, Callable[[], int]] = {
        "validate": lambda: _validate(args.plan_file, settings, lang),
        "demo": lambda: _demo(settings, args.plan_file, lang),
        "migrate": lambda: asyncio.run(_migrate(settings, lang)),
        "backup": lambda: asyncio.run(_backup(settings, args.out, lang)),
        "restore": lambda: asyncio.run(_restore(settings, args.backup_file, lang)),
        "events": lambda: asyncio.run(_events(settings, args.plan_id, lang)),
        "verify": lambda: asyncio.run(_verify(settings, args.plan_id, lang)),
        "worker": lambda: _worker(settings),
        "start": lambda: asyncio.run(_start(settings, args.plan_file, args.administrator, lang)),
        "plans": lambda: asyncio.run(_plans_list(settings, args.phase, args.municipality, lang)),
        "audit": lambda: asyncio.run(audit_cli.run(settings, args)),
        "tokens": lambda: asyncio.run(tokens_cli.run(settings, args)),
        "api": lambda: _api(settings),
        "up": lambda: _up(settings, args),
        "schedule": lambda: asyncio.run(schedule_cli.run(settings, args)),
        "keys": lambda: log_cli.generate_key(args),
        "checkpoint": lambda: asyncio.run(log_cli.sign_now(settings, lang)),
        "witness": lambda: log_cli.witness(args),
        "outbox": lambda: asyncio.run(outbox_cli.run(settings, args)),
    }
    return commands[args.command]()


def _explain_in_bokmal(exc: DomainValidationError, lang: Language) -> None:
    """A plan file the model refused, said in bokmål as the upload page says it, above the
    command's own lines (the API's words, which name the value given and what is allowed)."""
    cause = exc.__cause__
    if lang == "en" or not isinstance(cause, ValidationError):
        return
    from api.i18n import file_problems

    print(t("cli.plan_file_problems", lang, file=exc.source or "-"), file=sys.stderr)
    for line in file_problems(cause.errors(include_url=False), lang):
        print(f"  - {line}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as exc:
        return fail(args.command, settings_problem(exc, args.lang))
    configure_logging(settings.log_format, settings.log_level)
    try:
        return _dispatch(args, settings)
    except DomainValidationError as exc:
        _explain_in_bokmal(exc, args.lang)
        if len(exc.problems) == 1:  # e.g. a plan file that is not there: one line
            return fail(args.command, exc.problems[0].render(exc.source))
        print(exc.render(), file=sys.stderr)
        return 2
    except Exception as exc:
        # A server or file that is not there: one line and what to set, not a traceback.
        line = explain(exc, settings, args.lang)
        if line is not None:
            return fail(args.command, line)
        if isinstance(exc, EventStoreError):
            print(t("cli.event_store_error", args.lang, error=exc), file=sys.stderr)
            return 3
        raise
    finally:
        release_runtime()


if __name__ == "__main__":
    sys.exit(main())
