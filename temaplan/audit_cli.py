"""`temaplan audit ...`: the auditors' commands on the decision record and the log."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalogue import t
from eventstore import EventStore
from runtime.formatting import TIME_FORMATS
from runtime.settings import Settings
from temaplan import log_cli

LANG_HELP = "what it says in bokmål (default) or English"
# Given here or before the command (`temaplan --lang en audit ...`): not given here, the
# main parser's value stands rather than being reset to bokmål.
SAME_AS_MAIN = argparse.SUPPRESS


def add_parser(sub: Any, when: Callable[[str], Any]) -> None:
    audit = sub.add_parser("audit", help="auditors: history, state, verify, replay, export")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    history = audit_sub.add_parser("history", help="every event in order")
    history.add_argument("plan_id")
    history.add_argument("--phase")
    history.add_argument("--actor")
    history.add_argument("--type")
    history.add_argument(
        "--since", type=when, metavar="TIME", help=f"recorded at or after TIME. {TIME_FORMATS}"
    )
    history.add_argument(
        "--until", type=when, metavar="TIME", help=f"recorded at or before TIME. {TIME_FORMATS}"
    )
    history.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    history.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=SAME_AS_MAIN,
        help="the table in bokmål words (default) or with the record's English names",
    )
    state = audit_sub.add_parser("state", help="the plan rebuilt as of a time or version")
    state.add_argument("plan_id")
    point = state.add_mutually_exclusive_group()
    point.add_argument(
        "--as-of",
        type=when,
        dest="as_of",
        metavar="TIME",
        help=f"the plan as it stood at TIME. {TIME_FORMATS}",
    )
    point.add_argument("--at-version", type=int, dest="at_version")
    state.add_argument("--json", action="store_true")
    state.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=SAME_AS_MAIN,
        help="in bokmål words (default) or with the record's English names",
    )
    verify = audit_sub.add_parser(
        "verify", help="hash chain and numbering; cross-check with the Temporal history"
    )
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("plan_id", nargs="?")
    which.add_argument("--all", action="store_true")
    verify.add_argument("--lang", choices=("nb", "en"), default=SAME_AS_MAIN, help=LANG_HELP)
    replay = audit_sub.add_parser("replay", help="replay the history against the current code")
    replay.add_argument("plan_id")
    replay.add_argument("--lang", choices=("nb", "en"), default=SAME_AS_MAIN, help=LANG_HELP)
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
    export.add_argument(
        "--lang",
        choices=("nb", "en"),
        default=SAME_AS_MAIN,
        help="what it says, and the words of html and pdf: bokmål (default) or English",
    )
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
    report.add_argument("--lang", choices=("nb", "en"), default=SAME_AS_MAIN)
    log_cli.add_audit_parsers(audit_sub)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.audit_command in log_cli.AUDIT_COMMANDS:
        return await log_cli.audit(settings, args)
    return await _audit(settings, args)


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from audit import commands
    from audit.history import HistoryFilter
    from runtime.database import read_only_pool
    from runtime.temporal_client import connect

    command = args.audit_command
    client = await connect(settings) if settings.temporal_address else None
    if command == "replay":
        if client is None:
            print(t("replay.needs_temporal", args.lang), file=sys.stderr)
            return 2
        return await commands.replay(client, args.plan_id, language=args.lang)
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
                language=args.lang,
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
                language=args.lang,
            )
        # `audit report` is the export of the report: HTML, or PDF with --pdf.
        report = command == "report"
        fmt = ("pdf" if args.pdf else "html") if report else args.format
        exporting = (
            commands.export_all(
                store, fmt, args.out, log=log, bundle=args.bundle, language=args.lang
            )
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
