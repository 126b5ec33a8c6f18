"""`temaplan outbox`: what the mail relay has sent, is still trying, or gave up on."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from eventstore.outbox import Outbox, Status
from runtime.database import migrated_pool
from runtime.formatting import oslo
from runtime.settings import Settings


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


async def run(settings: Settings, args: argparse.Namespace) -> int:
    async with migrated_pool(settings) as pool:
        outbox = Outbox(pool)
        if args.retry is not None:
            if args.retry != "all" and not args.retry.isdigit():
                print(
                    f"--retry takes a notification id or nothing, not '{args.retry}'",
                    file=sys.stderr,
                )
                return 2
            count = await outbox.retry_failed(None if args.retry == "all" else int(args.retry))
            print(f"{count} failed notification(s) pending again")
            return 0 if count else 1
        status: Status | None = args.status
        rows = await outbox.rows(status, args.plan, args.limit)
    print(
        f"{'id':>6} {'status':<8} {'attempts':>8} {'recipient':<32} {'when (Oslo)':<25} plan / last error"
    )
    for row in rows:
        when = row.sent_at or row.failed_at or row.next_attempt_at
        print(
            f"{row.id:>6} {row.status:<8} {row.attempts:>8} {row.recipient_email[:32]:<32} "
            f"{oslo(when):<25} {row.plan_id}"
        )
        if row.last_error and row.status != "sent":
            print(f"{'':>6} last error: {row.last_error}")
    counts = {s: sum(1 for r in rows if r.status == s) for s in ("pending", "sent", "failed")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" (of {len(rows)} shown)")
    return 0
