"""The notification outbox: the workflows' activities queue rows, the mail relay claims
due rows for a lease and marks one sent or failed in the same row, and an operator lists
them.

Exactly once across relays and restarts rests on the row: a claim is an UPDATE of rows
that are due and not under another relay's live lease (FOR UPDATE SKIP LOCKED, so two
relays never take the same row), and the mark is conditional on still holding that
claim. A relay that dies between sending and marking leaves a row whose lease runs out;
the next claim sends it again with the same Message-ID, so the receiving side can tell
the copy from a new message. All times are the database's, so relays on machines with
different clocks agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import asyncpg

Status = Literal["pending", "sent", "failed"]

# A key already queued is skipped: a retried activity or a replayed step queues nothing twice.
_ENQUEUE = """
INSERT INTO notification_outbox
       (dedupe_key, plan_id, recipient_id, recipient_email, subject, body)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""

_CLAIM = """
UPDATE notification_outbox AS o
   SET claimed_by = $1, claimed_until = now() + $2::interval, attempts = o.attempts + 1
 WHERE o.id IN (
        SELECT id FROM notification_outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
           AND (claimed_until IS NULL OR claimed_until < now())
         ORDER BY next_attempt_at, id
         LIMIT $3
           FOR UPDATE SKIP LOCKED)
RETURNING o.id, o.dedupe_key, o.plan_id, o.recipient_id, o.recipient_email, o.subject,
          o.body, o.attempts, o.created_at
"""

_SENT = """
UPDATE notification_outbox
   SET sent_at = now(), message_id = $3, claimed_by = NULL, claimed_until = NULL,
       last_error = NULL,
       recipient_email = CASE WHEN recipient_id LIKE 'public:%' THEN '' ELSE recipient_email END
 WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL
"""

# Back-off doubles from the base up to the cap; the last allowed attempt fails the row.
# A member of the public's address (a hearing receipt, recipient 'public:...') is kept
# only until the receipt is sent or given up: then it is blanked in the row.
_FAILED = """
UPDATE notification_outbox
   SET claimed_by = NULL, claimed_until = NULL, last_error = $3,
       next_attempt_at = now() + least($4::interval * power(2, attempts - 1), $5::interval),
       failed_at = CASE WHEN attempts >= $6 THEN now() END,
       recipient_email = CASE WHEN attempts >= $6 AND recipient_id LIKE 'public:%' THEN ''
                              ELSE recipient_email END
 WHERE id = $1 AND claimed_by = $2 AND sent_at IS NULL
RETURNING failed_at IS NOT NULL, next_attempt_at
"""

_LIST = """
SELECT id, plan_id, recipient_id, recipient_email, subject, attempts, last_error,
       created_at, sent_at, failed_at, next_attempt_at, message_id,
       CASE WHEN sent_at IS NOT NULL THEN 'sent'
            WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END AS status
  FROM notification_outbox
 WHERE ($1::text IS NULL OR CASE WHEN sent_at IS NOT NULL THEN 'sent'
            WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'pending' END = $1)
   AND ($2::text IS NULL OR plan_id = $2)
 ORDER BY id
 LIMIT $3
"""


@dataclass(frozen=True)
class NewNotification:
    dedupe_key: str
    plan_id: str
    recipient_id: str
    recipient_email: str
    subject: str
    body: str


@dataclass(frozen=True)
class Claimed(NewNotification):
    """A queued notification as a relay claims it: what was queued, and its delivery so far."""

    id: int
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Failure:
    failed: bool
    next_attempt_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    id: int
    plan_id: str
    recipient_id: str
    recipient_email: str
    subject: str
    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    next_attempt_at: datetime
    message_id: str | None


class Outbox:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def enqueue(self, notifications: Sequence[NewNotification]) -> int:
        """Queue the notifications whose keys are new; returns how many were queued."""
        columns = (
            [n.dedupe_key for n in notifications],
            [n.plan_id for n in notifications],
            [n.recipient_id for n in notifications],
            [n.recipient_email for n in notifications],
            [n.subject for n in notifications],
            [n.body for n in notifications],
        )
        return len(await self._pool.fetch(_ENQUEUE, *columns))

    async def claim(self, relay: str, lease: timedelta, limit: int = 20) -> list[Claimed]:
        """Due rows for ``relay`` alone until the lease runs out; each claim counts as an
        attempt, so a relay that crashes mid-send still moves a row towards failed."""
        rows = await self._pool.fetch(_CLAIM, relay, lease, limit)
        return sorted((Claimed(**dict(r)) for r in rows), key=lambda c: c.id)

    async def mark_sent(self, row_id: int, relay: str, message_id: str) -> bool:
        """False when the claim was lost (the lease ran out and another relay took it)."""
        status: str = await self._pool.execute(_SENT, row_id, relay, message_id)
        return status.endswith(" 1")

    async def mark_failed(
        self,
        row_id: int,
        relay: str,
        error: str,
        *,
        backoff: timedelta,
        backoff_cap: timedelta,
        max_attempts: int,
    ) -> Failure | None:
        row = await self._pool.fetchrow(
            _FAILED, row_id, relay, error[:1000], backoff, backoff_cap, max_attempts
        )
        return None if row is None else Failure(failed=row[0], next_attempt_at=row[1])

    async def rows(
        self, status: Status | None = None, plan_id: str | None = None, limit: int = 200
    ) -> list[OutboxRow]:
        return [OutboxRow(**dict(r)) for r in await self._pool.fetch(_LIST, status, plan_id, limit)]

    async def retry_failed(self, row_id: int | None = None) -> int:
        """An operator's second chance for failed rows (after fixing the mail server):
        pending again, with a fresh count of attempts; not a receipt whose address is
        already blanked."""
        status = await self._pool.execute(
            """UPDATE notification_outbox
                  SET failed_at = NULL, attempts = 0, next_attempt_at = now()
                WHERE failed_at IS NOT NULL AND sent_at IS NULL AND recipient_email <> ''
                  AND ($1::bigint IS NULL OR id = $1)""",
            row_id,
        )
        return int(status.rsplit(" ", 1)[1])
