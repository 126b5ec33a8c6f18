"""The mail relay against a real SMTP server in this process (aiosmtpd) and a real
plan on the Temporal dev server: one mail per notification, later when the server was
down, and nothing twice across relays and restarts."""

from __future__ import annotations

import asyncio
import email
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import asyncpg
import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from domain.plan import PlanDefinition
from eventstore.outbox import Outbox
from runtime.settings import Settings
from temaplan.mail_relay import MailRelay, compose
from tests.integration.conftest import started, unique
from tests.ports import free_port

pytestmark = pytest.mark.servers

FAST = timedelta(milliseconds=200)


@dataclass
class Mailbox:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.original_content, policy=policy.default),
            )
        )
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpts, m in self.messages if address in rcpts]


@contextmanager
def smtp_server(port: int) -> Iterator[Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def settings_for(port: int) -> Settings:
    return Settings(
        TEMAPLAN_SMTP_HOST="127.0.0.1",
        TEMAPLAN_SMTP_PORT=port,
        TEMAPLAN_SMTP_STARTTLS=False,
        TEMAPLAN_SMTP_FROM="Temaplan <temaplan@kommune.example>",
        TEMAPLAN_PUBLIC_URL="https://plan.kommune.example/",
        TEMAPLAN_SMTP_MAX_ATTEMPTS=3,
    )


async def queue(pool: asyncpg.Pool, count: int, plan_id: str = "plan-x") -> None:
    for i in range(count):
        await pool.execute(
            """INSERT INTO notification_outbox
                   (dedupe_key, plan_id, recipient_id, recipient_email, subject, body)
               VALUES ($1, $2, $3, $4, 'Boligplan: Kvalitetssikring', 'Planen venter på deg.')""",
            f"{plan_id}/goals.quality_assurance/1/0/1/p{i}",
            plan_id,
            f"p{i}",
            f"p{i}@kommune.example",
        )


async def test_a_person_awaited_at_a_gate_gets_exactly_one_mail(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    driver = await started(temporal_env, task_queue, definition)
    status = await driver.wait_for(lambda s: bool(s.awaited))
    awaited = {p for a in status.awaited for p in a.people}
    emails = {p.id: p.email for p in definition.participants}
    for _ in range(100):
        queued = await pool.fetchval(
            "SELECT count(*) FROM notification_outbox WHERE plan_id = $1", definition.plan_id
        )
        if queued >= len(awaited):
            break
        await asyncio.sleep(0.1)
    port = free_port()
    with smtp_server(port) as mailbox:
        relay = MailRelay(pool, settings_for(port))
        first = await relay.run_once()
        again = await relay.run_once()
    assert first.sent == queued
    assert again.sent == 0
    for person in awaited:
        mails = mailbox.to(emails[person])
        assert len(mails) == 1, person
        mail = mails[0]
        assert mail["Subject"].startswith(definition.title)
        assert mail["Content-Language"] == "nb"
        body = mail.get_content()
        assert "venter på deg" in body
        assert f"https://plan.kommune.example/plans/{definition.plan_id}" in body
    assert len(mailbox.messages) == queued
    rows = await Outbox(pool).rows(plan_id=definition.plan_id)
    assert {r.status for r in rows} == {"sent"}
    assert {r.attempts for r in rows} == {1}


async def test_a_server_that_is_down_at_first_gets_the_mail_later(pool: asyncpg.Pool) -> None:
    await queue(pool, 2)
    port = free_port()  # nothing listens here yet
    relay = MailRelay(pool, settings_for(port), backoff=FAST)
    down = await relay.run_once()
    assert (down.sent, down.retrying, down.failed) == (0, 2, 0)
    rows = await Outbox(pool).rows()
    assert [r.status for r in rows] == ["pending", "pending"]
    assert all(r.attempts == 1 and "cannot reach" in (r.last_error or "") for r in rows)
    # Backing off: a round at once finds nothing due.
    assert (await relay.run_once()).retrying == 0
    with smtp_server(port) as mailbox:
        await asyncio.sleep(FAST.total_seconds() * 1.5)
        up = await relay.run_once()
    assert up.sent == 2
    assert sorted(r for rcpts, _ in mailbox.messages for r in rcpts) == [
        "p0@kommune.example",
        "p1@kommune.example",
    ]
    rows = await Outbox(pool).rows()
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("sent", 2, None)] * 2


async def test_a_server_down_for_good_fails_the_notification_after_the_last_attempt(
    pool: asyncpg.Pool,
) -> None:
    await queue(pool, 1)
    relay = MailRelay(pool, settings_for(free_port()), backoff=FAST, backoff_cap=FAST)
    rounds = []
    for _ in range(3):
        rounds.append(await relay.run_once())
        await asyncio.sleep(FAST.total_seconds() * 1.5)
    assert [(r.retrying, r.failed) for r in rounds] == [(1, 0), (1, 0), (0, 1)]
    [row] = await Outbox(pool).rows(status="failed")
    assert row.attempts == 3
    assert row.last_error
    assert (await relay.run_once()).failed == 0  # failed rows are left for an operator
    assert await Outbox(pool).retry_failed() == 1
    assert [r.status for r in await Outbox(pool).rows()] == ["pending"]


async def test_a_restarted_relay_and_a_second_relay_send_nothing_twice(pool: asyncpg.Pool) -> None:
    await queue(pool, 30)
    port = free_port()
    settings = settings_for(port)
    with smtp_server(port) as mailbox:
        # Two relays at once, each rounds until the outbox is empty.
        async def drain(relay: MailRelay) -> int:
            total = 0
            while (done := await relay.run_once()).sent:
                total += done.sent
            return total

        a, b = MailRelay(pool, settings), MailRelay(pool, settings)
        sent = await asyncio.gather(drain(a), drain(b))
        restarted = MailRelay(pool, settings)
        assert (await restarted.run_once()).sent == 0
    assert sum(sent) == 30
    recipients = [r for rcpts, _ in mailbox.messages for r in rcpts]
    assert len(recipients) == len(set(recipients)) == 30


async def test_a_resend_after_a_crash_between_send_and_mark_has_the_same_message_id(
    pool: asyncpg.Pool,
) -> None:
    """A relay that sent and died before marking: its lease runs out, the next relay
    sends again, and the copy says it is the same message."""
    await queue(pool, 1)
    port = free_port()
    settings = settings_for(port)
    outbox = Outbox(pool)
    with smtp_server(port) as mailbox:
        crashed = MailRelay(pool, settings, lease=FAST)
        [row] = await outbox.claim(crashed.name, FAST)
        await aiosmtplib.send(compose(row, settings), hostname="127.0.0.1", port=port)
        await asyncio.sleep(FAST.total_seconds() * 1.5)
        assert (await MailRelay(pool, settings).run_once()).sent == 1
        # The crashed relay's late mark is refused: the row is another relay's now.
        assert not await outbox.mark_sent(row.id, crashed.name, "<late@x>")
    first, second = (m for _, m in mailbox.messages)
    assert first["Message-ID"] == second["Message-ID"]
    [sent] = await outbox.rows()
    assert sent.message_id == first["Message-ID"]
    assert sent.attempts == 2


def temaplan_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "temaplan.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_an_operator_sees_attempts_and_the_last_error_and_retries_a_failed_one(
    pool: asyncpg.Pool, database_url: str
) -> None:
    await queue(pool, 2)
    port = free_port()
    with smtp_server(port):
        assert (await MailRelay(pool, settings_for(port)).run_once()).sent == 2
    await queue(pool, 1, plan_id="plan-y")
    relay = MailRelay(pool, settings_for(free_port()), backoff=FAST, backoff_cap=FAST)
    for _ in range(3):
        await relay.run_once()
        await asyncio.sleep(FAST.total_seconds() * 1.5)

    listing = await asyncio.to_thread(temaplan_cli, database_url, "outbox")
    assert listing.returncode == 0, listing.stderr
    # In bokmål by default, times as Norwegians write them.
    lines = listing.stdout.splitlines()
    assert lines[0].split()[:4] == ["id", "status", "forsøk", "mottaker"]
    failed = next(line for line in lines if " feilet " in line)
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d\.\d\d\.\d\d \+0[12]:00", failed)
    assert "siste feil: cannot reach 127.0.0.1:" in listing.stdout
    assert lines[-1] == "venter: 0, sendt: 2, feilet: 1 (av 3 viste)"
    listing = await asyncio.to_thread(temaplan_cli, database_url, "--lang", "en", "outbox")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert "attempts" in lines[0]
    failed = next(line for line in lines if " failed " in line)
    assert "p0@kommune.example" in failed
    assert "plan-y" in failed
    assert " 3 " in failed
    assert "last error: cannot reach 127.0.0.1:" in listing.stdout
    # Oslo time with its offset (+01:00 in winter, +02:00 in summer).
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0[12]:00", failed)
    assert lines[-1] == "0 pending, 2 sent, 1 failed (of 3 shown)"

    only_failed = await asyncio.to_thread(
        temaplan_cli, database_url, "--lang", "en", "outbox", "--status", "failed"
    )
    assert only_failed.stdout.splitlines()[-1] == "0 pending, 0 sent, 1 failed (of 1 shown)"
    retried = await asyncio.to_thread(temaplan_cli, database_url, "outbox", "--retry")
    assert retried.returncode == 0
    assert retried.stdout == "Mislykkede varsler som venter igjen: 1\n"
    assert [r.status for r in await Outbox(pool).rows(plan_id="plan-y")] == ["pending"]
