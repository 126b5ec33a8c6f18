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
from typing import Any

from pydantic import ValidationError

from domain import search_attributes as sa
from domain.problems import DomainValidationError
from eventstore import EventStore, EventStoreError
from runtime.database import migrated_pool
from runtime.formatting import OSLO, TIME_FORMATS, oslo
from runtime.logging import configure_logging
from runtime.planfile import load_plan_file
from runtime.progress import progress
from runtime.settings import Settings, load_settings
from runtime.temporal_client import release_runtime
from temaplan import log_cli, outbox_cli, schedule_cli
from temaplan.cli_errors import OneLineParser, explain, fail, settings_problem

# Events from which `temaplan events` shows its progress while reading.
LARGE_STREAM = 2000


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="temaplan", description="Thematic housing plans from goals to adoption."
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
    _audit_parser(sub)
    _tokens_parser(sub)
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


def _tokens_parser(sub: Any) -> None:
    tokens = sub.add_parser("tokens", help="administrators: personal access tokens")
    tokens_sub = tokens.add_subparsers(dest="tokens_command", required=True)
    issue = tokens_sub.add_parser(
        "issue", help="issue a token for a person (a participant id in the plans)"
    )
    issue.add_argument("person_id")
    kind = issue.add_mutually_exclusive_group()
    kind.add_argument(
        "--admin", action="store_true", help="an administrator: also starts plans, sees all"
    )
    kind.add_argument("--auditor", action="store_true", help="reads every plan, changes nothing")
    issue.add_argument("--label", default="", help="what the token is for")
    issue.add_argument(
        "--municipality",
        action="append",
        metavar="NNNN",
        help="a municipality (kommunenummer) the person belongs to, repeatable; "
        "without it the token holds for every municipality on this deployment",
    )
    revoke = tokens_sub.add_parser("revoke", help="revoke a token, or every token of a person")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("token_id", nargs="?", help="the 12-digit id shown by `tokens list`")
    which.add_argument("--person", help="revoke all of this person's tokens")
    listing = tokens_sub.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.add_argument("--person")


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
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _audit_parser(sub: Any) -> None:
    audit = sub.add_parser("audit", help="auditors: history, state, verify, replay, export")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    history = audit_sub.add_parser("history", help="every event in order")
    history.add_argument("plan_id")
    history.add_argument("--phase")
    history.add_argument("--actor")
    history.add_argument("--type")
    history.add_argument(
        "--since", type=_when, metavar="TIME", help=f"recorded at or after TIME. {TIME_FORMATS}"
    )
    history.add_argument(
        "--until", type=_when, metavar="TIME", help=f"recorded at or before TIME. {TIME_FORMATS}"
    )
    history.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    history.add_argument(
        "--lang",
        choices=("nb", "en"),
        default="nb",
        help="the table in bokmål words (default) or with the record's English names",
    )
    state = audit_sub.add_parser("state", help="the plan rebuilt as of a time or version")
    state.add_argument("plan_id")
    point = state.add_mutually_exclusive_group()
    point.add_argument(
        "--as-of",
        type=_when,
        dest="as_of",
        metavar="TIME",
        help=f"the plan as it stood at TIME. {TIME_FORMATS}",
    )
    point.add_argument("--at-version", type=int, dest="at_version")
    state.add_argument("--json", action="store_true")
    verify = audit_sub.add_parser(
        "verify", help="hash chain and numbering; cross-check with the Temporal history"
    )
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("plan_id", nargs="?")
    which.add_argument("--all", action="store_true")
    replay = audit_sub.add_parser("replay", help="replay the history against the current code")
    replay.add_argument("plan_id")
    export = audit_sub.add_parser("export", help="export the decision record")
    plans = export.add_mutually_exclusive_group(required=True)
    plans.add_argument("plan_id", nargs="?")
    plans.add_argument(
        "--all", action="store_true", help="every plan, jsonl only; --out is a directory"
    )
    export.add_argument(
        "--format",
        choices=("jsonl", "csv", "html", "pdf"),
        required=True,
        help="jsonl (the evidence), csv (for spreadsheets), html or pdf (the audit report)",
    )
    export.add_argument("--out", type=Path, required=True)
    export.add_argument(
        "--bundle",
        action="store_true",
        help="with --all: --out is one tar file holding every plan's files (faster)",
    )
    export.add_argument("--lang", choices=("nb", "en"), default="nb", help="for html and pdf")
    export.add_argument(
        "--separator",
        choices=("semicolon", "comma"),
        default="semicolon",
        help="for csv: semicolon (default, what Norwegian Excel opens) or comma",
    )
    report = audit_sub.add_parser(
        "report", help="the auditors' report of one plan: HTML, or PDF with --pdf"
    )
    report.add_argument("plan_id")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--pdf", action="store_true", help="a PDF (WeasyPrint) instead of HTML")
    report.add_argument("--lang", choices=("nb", "en"), default="nb")
    log_cli.add_audit_parsers(audit_sub)


async def _migrate(settings: Settings) -> int:
    async with migrated_pool(settings):
        print("database is up to date")
    return 0


async def _backup(settings: Settings, out: Path) -> int:
    from runtime.database import database_url
    from temaplan.backup import BackupError, backup

    async with database_url(settings) as dsn:
        try:
            objects = await backup(dsn, out)
        except (BackupError, OSError) as exc:
            print(f"backup failed: {exc}", file=sys.stderr)
            return 1
    print(f"backup written to {out} ({objects} objects); check it with `temaplan restore`")
    return 0


async def _restore(settings: Settings, backup_file: Path) -> int:
    from temaplan.backup import BackupError, restore

    if not settings.database_url:
        print("set DATABASE_URL to the empty database to restore into", file=sys.stderr)
        return 2
    if not await asyncio.to_thread(backup_file.is_file):
        print(f"temaplan restore: {backup_file}: no such backup file", file=sys.stderr)
        return 2
    try:
        await restore(settings.database_url, backup_file)
    except (BackupError, OSError) as exc:
        print(f"restore failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"restored {backup_file}; now run `temaplan audit verify --all` and "
        "`temaplan audit verify-log --log-key KEY --checkpoint HELD`"
    )
    return 0


async def _events(settings: Settings, plan_id: str) -> int:
    from temaplan.demo import render_stream

    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        total, _ = await store.head(plan_id)
        stored = []
        # A long stream takes a while to read: a bar on a terminal, gone before the table.
        bar = progress(f"reading {plan_id}", total, transient=True)
        with bar if total >= LARGE_STREAM else contextlib.nullcontext() as report:
            async for event in store.iter_stream(plan_id):
                stored.append(event)
                if report is not None and len(stored) % 500 == 0:
                    report(len(stored))
    if not stored:
        print(f"no events for plan '{plan_id}'", file=sys.stderr)
        return 1
    print(render_stream(stored))
    return 0


async def _verify(settings: Settings, plan_id: str | None) -> int:
    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        streams = [plan_id] if plan_id else await store.stream_ids()
        failures = 0
        for result in await store.verify_streams(streams):
            if result.events_checked == 0:
                print(f"{result.stream_id}: no events")
                failures += 1
            elif result.ok:
                print(
                    f"{result.stream_id}: OK, {result.events_checked} events, last hash {result.last_hash}"
                )
            else:
                failures += 1
                print(
                    f"{result.stream_id}: BROKEN at version {result.broken_version}: {result.problem}"
                )
    return 1 if failures else 0


async def _plans_list(settings: Settings, phase: str | None, municipality: str | None) -> int:
    from runtime.temporal_client import connect

    client = await connect(settings)
    clauses = ['WorkflowType = "PlanWorkflow"']
    if phase:
        clauses.append(f'TemaplanPhase = "{phase}"')
    if municipality:
        clauses.append(f'TemaplanMunicipality = "{municipality}"')
    query = " AND ".join(clauses)
    print(f"{'workflow id':<44} {'phase':<11} {'status':<10} awaited roles")
    count = 0
    async for execution in client.list_workflows(query):
        attributes = execution.typed_search_attributes
        phase_value = attributes.get(sa.PHASE) or "-"
        awaited = ", ".join(attributes.get(sa.AWAITED_ROLES) or []) or "-"
        status = execution.status.name.lower() if execution.status else "-"
        print(f"{execution.id:<44} {phase_value:<11} {status:<10} {awaited}")
        count += 1
    print(f"{count} plan(s)")
    return 0


def _validate(plan_file: Path, settings: Settings) -> int:
    from domain.rules import period_problems

    definition = load_plan_file(plan_file)
    print(f"{plan_file}: valid; plan id {definition.plan_id}")
    # Not errors (a plan may be drafted ahead), but adoption will refuse them as they stand.
    revision_date = definition.settings.revision_date or settings.revision_date()
    for problem in period_problems(definition.period, revision_date, datetime.now(OSLO)):
        print(f"warning: {problem.render(str(plan_file))} (adoption would be refused)")
    return 0


def _demo(settings: Settings, plan_file: Path | None) -> int:
    from temaplan.demo import EXAMPLE, run_demo

    if "LOG_LEVEL" not in os.environ:
        # The demo narrates on stdout; routine INFO lines would drown it.
        configure_logging(settings.log_format, "WARNING")
    return asyncio.run(run_demo(settings, plan_file or EXAMPLE))


def _worker(settings: Settings) -> int:
    from temaplan.worker_service import run_worker

    asyncio.run(run_worker(settings))
    return 0


async def _start(settings: Settings, plan_file: Path, administrator: str) -> int:
    from client.plans import start_from_file

    # Checked here first, so a missing or bad file is reported as every command reports it.
    load_plan_file(plan_file)
    return await start_from_file(settings, plan_file, administrator)


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from audit import commands
    from audit.history import HistoryFilter
    from runtime.database import read_only_pool
    from runtime.temporal_client import connect

    command = args.audit_command
    client = await connect(settings) if settings.temporal_address else None
    if command == "replay":
        if client is None:
            print("replay needs Temporal: set TEMPORAL_ADDRESS", file=sys.stderr)
            return 2
        return await commands.replay(client, args.plan_id)
    async with read_only_pool(settings) as pool:
        store = EventStore(pool)
        log = None
        if command in {"state", "verify", "export", "report"}:
            from audit.log_check import check_log

            witnesses = settings.witness_keys.replace(",", " ").split()
            log = await check_log(pool, settings.log_vkey, witnesses)
        if command == "history":
            where = HistoryFilter(
                phase=args.phase,
                actor=args.actor,
                type=args.type,
                since=args.since,
                until=args.until,
            )
            return await commands.show_history(
                store, args.plan_id, where, args.json, language=args.lang
            )
        if command == "state":
            return await commands.show_state(
                store,
                args.plan_id,
                as_of=args.as_of,
                at_version=args.at_version,
                as_json=args.json,
                log=log,
            )
        if command == "verify":
            plans = await store.stream_ids() if args.all else [args.plan_id]
            return await commands.verify(
                store,
                client,
                plans,
                all_plans=args.all,
                task_queue=settings.temporal_task_queue,
                log=log,
            )
        # `audit report` is the export of the report: HTML, or PDF with --pdf.
        report = command == "report"
        fmt = ("pdf" if args.pdf else "html") if report else args.format
        exporting = (
            commands.export_all(store, fmt, args.out, log=log, bundle=args.bundle)
            if getattr(args, "all", False)
            else commands.export(
                store,
                args.plan_id,
                fmt,
                args.out,
                args.lang,
                log=log,
                separator="semicolon" if report else args.separator,
                bundle=getattr(args, "bundle", False),
            )
        )
        return await exporting


async def _tokens(settings: Settings, args: argparse.Namespace) -> int:
    from api.tokens import Kind, TokenStore

    async with migrated_pool(settings) as pool:
        store = TokenStore(pool)
        if args.tokens_command == "issue":
            kind: Kind = "admin" if args.admin else "auditor" if args.auditor else "person"
            try:
                issued = await store.issue(
                    args.person_id,
                    kind,
                    args.label,
                    os.environ.get("USER", "cli"),
                    municipalities=args.municipality,
                )
            except ValueError as exc:
                print(exc, file=sys.stderr)
                return 2
            print(
                f"token {issued.info.token_id} for {issued.info.person_id} ({kind}, "
                f"{_municipalities(issued.info.municipalities)}); "
                "shown once, only its hash is kept:",
                file=sys.stderr,
            )
            print(issued.token)
            return 0
        if args.tokens_command == "revoke":
            if args.person:
                from eventstore.oidc_sessions import OidcSessions

                count = await store.revoke_person(args.person)
                ended = await OidcSessions(pool).close_person(args.person)
                print(
                    f"revoked {count} token(s) of {args.person}; ended {ended} session(s) "
                    "opened with the identity provider"
                )
                return 0 if count or ended else 1
            if await store.revoke(args.token_id):
                print(f"revoked token {args.token_id}")
                return 0
            print(f"no active token {args.token_id}", file=sys.stderr)
            return 1
        print(
            f"{'token id':<13} {'person':<24} {'kind':<8} {'municipalities':<20} "
            f"{'issued (Europe/Oslo)':<25} state"
        )
        for info in await store.list(args.person):
            state = f"revoked {oslo(info.revoked_at)}" if info.revoked_at else "active"
            print(
                f"{info.token_id:<13} {info.person_id:<24} {info.kind:<8} "
                f"{','.join(info.municipalities or ('all',)):<20} "
                f"{oslo(info.issued_at):<25} {state}"
            )
        return 0


def _municipalities(numbers: tuple[str, ...] | None) -> str:
    return "municipality " + ", ".join(numbers) if numbers else "every municipality"


def _api(settings: Settings) -> int:
    import uvicorn

    from api.app import production_app

    uvicorn.run(
        production_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        # X-Forwarded-For is read by the app, from TEMAPLAN_TRUSTED_PROXIES only.
        proxy_headers=False,
    )
    return 0


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from temaplan.up import run_up

    return asyncio.run(run_up(settings, args.temporal_port, args.ui_port))


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    commands: dict[str, Callable[[], int]] = {
        "validate": lambda: _validate(args.plan_file, settings),
        "demo": lambda: _demo(settings, args.plan_file),
        "migrate": lambda: asyncio.run(_migrate(settings)),
        "backup": lambda: asyncio.run(_backup(settings, args.out)),
        "restore": lambda: asyncio.run(_restore(settings, args.backup_file)),
        "events": lambda: asyncio.run(_events(settings, args.plan_id)),
        "verify": lambda: asyncio.run(_verify(settings, args.plan_id)),
        "worker": lambda: _worker(settings),
        "start": lambda: asyncio.run(_start(settings, args.plan_file, args.administrator)),
        "plans": lambda: asyncio.run(_plans_list(settings, args.phase, args.municipality)),
        "audit": lambda: asyncio.run(
            log_cli.audit(settings, args)
            if args.audit_command in log_cli.AUDIT_COMMANDS
            else _audit(settings, args)
        ),
        "tokens": lambda: asyncio.run(_tokens(settings, args)),
        "api": lambda: _api(settings),
        "up": lambda: _up(settings, args),
        "schedule": lambda: asyncio.run(schedule_cli.run(settings, args)),
        "keys": lambda: log_cli.generate_key(args),
        "checkpoint": lambda: asyncio.run(log_cli.sign_now(settings)),
        "witness": lambda: log_cli.witness(args),
        "outbox": lambda: asyncio.run(outbox_cli.run(settings, args)),
    }
    return commands[args.command]()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValidationError as exc:
        return fail(args.command, settings_problem(exc))
    configure_logging(settings.log_format, settings.log_level)
    try:
        return _dispatch(args, settings)
    except DomainValidationError as exc:
        if len(exc.problems) == 1:  # e.g. a plan file that is not there: one line
            return fail(args.command, exc.problems[0].render(exc.source))
        print(exc.render(), file=sys.stderr)
        return 2
    except Exception as exc:
        # A server or file that is not there: one line and what to set, not a traceback.
        line = explain(exc, settings)
        if line is not None:
            return fail(args.command, line)
        if isinstance(exc, EventStoreError):
            print(f"event store: {exc}", file=sys.stderr)
            return 3
        raise
    finally:
        release_runtime()


if __name__ == "__main__":
    sys.exit(main())
