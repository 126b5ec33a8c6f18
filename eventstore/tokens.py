"""The access tokens and web sessions tables (migrations 0004 and 0040).

Only hashes are stored: the callers hash a token or a session key before it reaches
these functions, so neither a secret nor a session key is ever an argument here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Self

import asyncpg

from eventstore.rows import from_row

Kind = Literal["person", "admin", "auditor"]

_COLUMNS = (
    "token_id, person_id, kind, municipalities, label, issued_by, issued_at, revoked_at,"
    " last_used_at"
)


@dataclass(frozen=True)
class TokenHolder:
    """Whom a live token or session stands for."""

    token_id: str
    person_id: str
    kind: Kind
    municipalities: tuple[str, ...] | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Self:
        """The holder, or the fuller row of a subclass; municipalities come back from
        the array column as a tuple."""
        found = row["municipalities"]
        return from_row(cls, row, municipalities=tuple(found) if found is not None else None)


@dataclass(frozen=True)
class TokenRow(TokenHolder):
    """A token as the administrators' list shows it."""

    label: str
    issued_by: str
    issued_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


async def insert_token(
    pool: asyncpg.Pool,
    *,
    token_id: str,
    person_id: str,
    kind: Kind,
    municipalities: tuple[str, ...] | None,
    token_sha256: str,
    label: str,
    issued_by: str,
) -> TokenRow:
    row = await pool.fetchrow(
        "INSERT INTO access_tokens"
        " (token_id, person_id, kind, municipalities, token_sha256, label, issued_by)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        token_id,
        person_id,
        kind,
        list(municipalities) if municipalities is not None else None,
        token_sha256,
        label,
        issued_by,
    )
    assert row is not None  # INSERT ... RETURNING returns the row or raises
    return TokenRow.from_row(row)


async def use_token(pool: asyncpg.Pool, token_sha256: str) -> TokenHolder | None:
    """The holder of a live token, noting its use; None for an unknown or revoked one."""
    row = await pool.fetchrow(
        "UPDATE access_tokens SET last_used_at = now() WHERE token_sha256 = $1"
        " AND revoked_at IS NULL RETURNING token_id, person_id, kind, municipalities",
        token_sha256,
    )
    return TokenHolder.from_row(row) if row is not None else None


# One statement each, so a token is never revoked with its web sessions left open (or
# the other way round) by a connection lost between two statements.
_REVOKE = (
    "WITH revoked AS (UPDATE access_tokens SET revoked_at = now() WHERE {which}"
    " AND revoked_at IS NULL RETURNING token_id),"
    " closed AS (DELETE FROM web_sessions WHERE token_id IN (SELECT token_id FROM revoked))"
    " SELECT count(*) FROM revoked"
)


async def revoke_token(pool: asyncpg.Pool, token_id: str) -> bool:
    """Revoke one live token and close its web sessions; False if none was live."""
    return bool(await pool.fetchval(_REVOKE.format(which="token_id = $1"), token_id))


async def revoke_person_tokens(pool: asyncpg.Pool, person_id: str) -> int:
    """Revoke every live token of a person and close their web sessions; how many."""
    revoked: int = await pool.fetchval(_REVOKE.format(which="person_id = $1"), person_id)
    return revoked


async def list_tokens(pool: asyncpg.Pool, person_id: str | None = None) -> list[TokenRow]:
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM access_tokens WHERE ($1::text IS NULL OR person_id = $1)"
        " ORDER BY issued_at",
        person_id,
    )
    return [TokenRow.from_row(r) for r in rows]


async def any_live_admin(pool: asyncpg.Pool) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT EXISTS (SELECT 1 FROM access_tokens WHERE kind = 'admin'"
            " AND revoked_at IS NULL)"
        )
    )


async def insert_session(
    pool: asyncpg.Pool, session_sha256: str, token_id: str, expires_at: datetime
) -> None:
    await pool.execute(
        "INSERT INTO web_sessions (session_sha256, token_id, expires_at) VALUES ($1, $2, $3)",
        session_sha256,
        token_id,
        expires_at,
    )


async def session_holder(pool: asyncpg.Pool, session_sha256: str) -> TokenHolder | None:
    """The holder of an unexpired session whose token is live, else None."""
    row = await pool.fetchrow(
        "SELECT t.token_id, t.person_id, t.kind, t.municipalities FROM web_sessions s"
        " JOIN access_tokens t USING (token_id)"
        " WHERE s.session_sha256 = $1 AND s.expires_at > now() AND t.revoked_at IS NULL",
        session_sha256,
    )
    return TokenHolder.from_row(row) if row is not None else None


async def delete_session(pool: asyncpg.Pool, session_sha256: str) -> None:
    await pool.execute("DELETE FROM web_sessions WHERE session_sha256 = $1", session_sha256)
