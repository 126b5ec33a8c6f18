"""`temaplan outbox`: what the mail relay has sent, is still trying, or gave up on."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from catalogue import Language, t
from eventstore.outbox import Outbox, Status
from runtime.database import migrated_pool
from runtime.settings import Settings
from temaplan.cli_words import moment


def add_parser(sub: Any) -> None:
    outbox = sub.add_parser(
        "outbox",
        help="operators: notifications pending, sent or failed, with attempts and last error",
        description="The notification outbox as the mail relay works through it. The time "
        "is when a notification was sent, when it failed, or when its next attempt is due, "
        "in Europe/Oslo time with the offset.",
    )
    outbox.add_argument("--status", choices=("pending", "sent", "failed"))
    outbox.add_argument("--plan", help="only this plan id")
    outbox.add_argument("--limit", type=int, default=200, help="at most this many rows")
    outbox.add_argument(
        "--retry",
        nargs="?",
        const="all",
        metavar="ID",
        help="make failed notifications pending again (one by id, or all), e.g. after "
        "the mail server's settings were fixed",
    )


def _row(*cells: str) -> str:
    """Id, status, attempts, recipient, when, plan."""
    number, status, attempts, recipient, when, plan = cells
    return f"{number:>6} {status:<8} {attempts:>8} {recipient:<32} {when:<26} {plan}"


async def run(settings: Settings, args: argparse.Namespace) -> int:
    lang: Language = args.lang
    async with migrated_pool(settings) as pool:
        outbox = Outbox(pool)
        if args.retry is not None:
            if args.retry != "all" and not args.retry.isdigit():
                print(t("cli.outbox_retry_what", lang, value=args.retry), file=sys.stderr)
                return 2
            count = await outbox.retry_failed(None if args.retry == "all" else int(args.retry))
            print(t("cli.outbox_retried", lang, count=count))
            return 0 if count else 1
        status: Status | None = args.status
        rows = await outbox.rows(status, args.plan, args.limit)
    columns = ("id", "status", "attempts", "recipient", "when", "plan")
    print(_row(*(t(f"cli.outbox_{column}", lang) for column in columns)))
    for row in rows:
        when = row.sent_at or row.failed_at or row.next_attempt_at
        said = t(f"cli.outbox_{row.status}", lang)
        recipient = row.recipient_email[:32]
        print(
            _row(str(row.id), said, str(row.attempts), recipient, moment(when, lang), row.plan_id)
        )
        if row.last_error and row.status != "sent":
            print(f"{'':>6} {t('cli.outbox_last_error', lang, error=row.last_error)}")
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("pending", "sent", "failed")}
    print(t("cli.outbox_counts", lang, shown=len(rows), **counts))
    return 0
