"""The mail relay: the notification outbox delivered by e-mail over SMTP (aiosmtplib).

Each round claims the due rows (eventstore.outbox), sends them over one connection and
marks each sent, or records the error and backs off (30 s doubling to 1 h, then failed
after TEMAPLAN_SMTP_MAX_ATTEMPTS). Without TEMAPLAN_SMTP_HOST the relay does not run: the
outbox keeps the rows and the web inbox shows what waits for each person.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote, urlsplit

import aiosmtplib
import asyncpg
import structlog

import catalogue
from catalogue import DEFAULT_LANGUAGE, Language
from eventstore.outbox import Claimed, Outbox
from runtime.settings import Settings

log = structlog.get_logger(__name__)

BACKOFF = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
# Longer than any send of a batch; a relay that dies holding rows frees them after this.
LEASE = timedelta(minutes=5)


def action_path(row: Claimed) -> str:
    """The page where the person acts, from the outbox row's key: the workflows key a
    hearing's notice `PLAN/hearing/...` (and the API a hearing receipt
    `PLAN/receipt/...`), a revision's `PLAN/revision/YEAR/...`, and a
    gate's `PLAN/STEP/...`."""
    plan = quote(row.plan_id, safe="")
    rest = row.dedupe_key.removeprefix(f"{row.plan_id}/").split("/")
    if rest[0] in ("hearing", "receipt"):
        return f"/hearing/{plan}"
    if rest[0] == "revision" and len(rest) > 1 and rest[1].isdigit():
        return f"/plans/{plan}/revisions/{rest[1]}"
    return f"/plans/{plan}"


def message_id(row: Claimed, web_url: str) -> str:
    """Derived from the notification alone, so a resend after a crash between sending and
    marking carries the same Message-ID as the first copy."""
    digest = hashlib.sha256(row.dedupe_key.encode()).hexdigest()[:20]
    host = urlsplit(web_url).hostname or "temaplan.invalid"
    return f"<temaplan.{row.id}.{digest}@{host}>"


def compose(
    row: Claimed, settings: Settings, language: Language = DEFAULT_LANGUAGE
) -> EmailMessage:
    """The e-mail of one notification: its subject and notice as the outbox holds them,
    in the catalogue's words around them, with the link to the page where the person acts."""
    web = settings.web_url()
    link = web + action_path(row)
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = settings.mail_sender()
    message["To"] = row.recipient_email
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = message_id(row, web)
    message["Auto-Submitted"] = "auto-generated"
    # A hearing receipt to a member of the public has nothing to log in to or act on.
    frame = "mail.body_public" if row.recipient_id.startswith("public:") else "mail.body"
    message.set_content(catalogue.t(frame, language, notice=row.body, link=link))
    # After set_content, which replaces every Content-* header.
    message["Content-Language"] = language
    return message


@dataclass(frozen=True)
class Round:
    sent: int
    retrying: int
    failed: int


class MailRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: Settings,
        *,
        name: str | None = None,
        backoff: timedelta = BACKOFF,
        backoff_cap: timedelta = BACKOFF_CAP,
        lease: timedelta = LEASE,
        timeout: float = 30.0,
    ) -> None:
        if not settings.smtp_host:
            raise ValueError("the mail relay needs TEMAPLAN_SMTP_HOST")
        self._outbox = Outbox(pool)
        self._settings = settings
        # Unique per process and start: a restarted relay does not hold the old claims.
        self.name = name or f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self._backoff = backoff
        self._backoff_cap = backoff_cap
        self._lease = lease
        self._timeout = timeout

    async def run_once(self) -> Round:
        claimed = await self._outbox.claim(self.name, self._lease)
        if not claimed:
            return Round(0, 0, 0)
        s = self._settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password,
            timeout=self._timeout,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = f"cannot reach {s.smtp_host}:{s.smtp_port}: {_describe(exc)}"
            return await self._fail_all(claimed, error)
        sent = retrying = failed = 0
        try:
            for row in claimed:
                message = compose(row, s)
                try:
                    await smtp.send_message(message)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    gave_up = await self._fail(row, _describe(exc))
                    failed += gave_up
                    retrying += not gave_up
                    continue
                if await self._outbox.mark_sent(row.id, self.name, message["Message-ID"]):
                    sent += 1
                    log.info(
                        "notification mailed",
                        notification=row.id,
                        plan_id=row.plan_id,
                        recipient=row.recipient_id,
                        attempt=row.attempts,
                    )
                else:
                    log.warning("notification mailed after its claim ran out", notification=row.id)
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.quit()
        return Round(sent, retrying, failed)

    async def _fail_all(self, claimed: list[Claimed], error: str) -> Round:
        gave_up = [await self._fail(row, error) for row in claimed]
        return Round(0, gave_up.count(False), gave_up.count(True))

    async def _fail(self, row: Claimed, error: str) -> bool:
        outcome = await self._outbox.mark_failed(
            row.id,
            self.name,
            error,
            backoff=self._backoff,
            backoff_cap=self._backoff_cap,
            max_attempts=self._settings.smtp_max_attempts,
        )
        if outcome is None:
            return False
        if outcome.failed:
            log.error(
                "notification failed; see `temaplan outbox --status failed`",
                notification=row.id,
                recipient=row.recipient_id,
                attempts=row.attempts,
                error=error,
            )
        else:
            log.warning(
                "notification not mailed; trying again later",
                notification=row.id,
                attempt=row.attempts,
                next_attempt_at=outcome.next_attempt_at.isoformat(),
                error=error,
            )
        return outcome.failed

    async def run(self, stop: asyncio.Event, poll: float = 5.0) -> None:
        """Rounds until ``stop``; a full batch goes on at once, otherwise it waits."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("mail relay: the database did not answer", error=_describe(exc))
                done = Round(0, 0, 0)
            except Exception:
                # The relay outlives one bad round; rows it held come free with their lease.
                log.exception("mail relay: a round failed; trying again")
                done = Round(0, 0, 0)
            if done.sent + done.retrying + done.failed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)


@contextlib.asynccontextmanager
async def running_relay(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[None]:
    """The relay beside the worker and the API; without a mail server, a line in the log."""
    if not settings.smtp_host:
        log.warning(
            "TEMAPLAN_SMTP_HOST is not set: notifications are not mailed; "
            "each person's web inbox still shows what waits for them"
        )
        yield
        return
    relay = MailRelay(pool, settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    log.info("mail relay started", smtp=f"{settings.smtp_host}:{settings.smtp_port}")
    try:
        yield
    finally:
        stop.set()
        await task


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")
