"""The public hearing form's two additions: an Idempotency-Key minted with the form, and
the receipt sent by e-mail when the person gives an address (on the form, or as
``email`` in the API's request: routes_public.respond does both the same way).

Where the address lives: only in the notification outbox row that carries the receipt
(``notification_outbox.recipient_email``), never in the plan's record, which is public
and hash-chained and cannot be changed. The relay blanks the address in that row once
the receipt is sent, or once it gives up on it (eventstore/outbox.py), so the address is
kept no longer than it takes to deliver one e-mail. The form offers the field only where
a mail server is configured (``TEMAPLAN_SMTP_HOST``): without a relay nobody would send
the receipt, nor blank the address.
"""

from __future__ import annotations

import re
import secrets

import asyncpg

import catalogue
from api.errors import ApiError
from api.views import HearingReceipt
from catalogue import Language
from catalogue.formats import moment
from eventstore.outbox import NewNotification, Outbox

# The outbox row's recipient id for a member of the public: the relay knows by this
# prefix that the address is to be blanked once the receipt is out. Participant ids in a
# plan file cannot contain a colon.
PUBLIC_RECIPIENT = "public:"
MAX_EMAIL = 254
# One address, no display name, no spaces or control characters (so nothing can be
# smuggled into a mail header).
_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f<>,;\"]+@[^@\s\x00-\x1f\x7f<>,;\"]+\.[^@\s\x00-\x1f\x7f<>,;\"]+$"
)


def mint_idempotency_key() -> str:
    """A key for one rendering of the form: sent twice (a double click, a reload after a
    lost answer), the response is recorded once and the same receipt comes back."""
    return "web-" + secrets.token_urlsafe(24)


def receipt_address(given: str | None) -> str | None:
    """The address the person asked the receipt to be sent to, or None; refused before
    anything is recorded when it is not one e-mail address."""
    address = (given or "").strip()
    if not address:
        return None
    if len(address) > MAX_EMAIL or not _EMAIL.fullmatch(address):
        raise ApiError(
            422,
            "InvalidEmail",
            "email: not an e-mail address (name@example.no); leave it empty for no e-mail",
        )
    return address


def receipt_dedupe_key(plan_id: str, response_id: str) -> str:
    """One receipt per recorded response, however often the form is sent."""
    return f"{plan_id}/receipt/{response_id}"


def receipt_body(title: str, receipt: HearingReceipt, language: Language = "nb") -> str:
    recorded = moment(receipt.recorded_at, language)
    return catalogue.t(
        "mail.receipt_body",
        language,
        title=title,
        recorded=recorded,
        number=receipt.receipt_number,
        hash=receipt.hash,
    )


async def queue_receipt(
    pool: asyncpg.Pool, *, plan_id: str, title: str, address: str, receipt: HearingReceipt
) -> bool:
    """Queues the receipt in the notification outbox; False when it was queued before
    (the same response sent again)."""
    queued = await Outbox(pool).enqueue(
        [
            NewNotification(
                dedupe_key=receipt_dedupe_key(plan_id, receipt.response_id),
                plan_id=plan_id,
                recipient_id=PUBLIC_RECIPIENT + receipt.response_id,
                recipient_email=address,
                subject=catalogue.t("mail.receipt_subject", "nb", title=title)[:200],
                body=receipt_body(title, receipt),
            )
        ]
    )
    return queued > 0
