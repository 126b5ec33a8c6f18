"""Personal access tokens and web sessions, kept in PostgreSQL as SHA-256 hashes only.

A token is ``tp_<token id>_<secret>``: the id (12 hex digits) names it in listings and
revocation without revealing it; the secret has 256 bits from ``secrets``. A slow
password hash is not needed for random tokens of that strength, and SHA-256 lets every
request find its token with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict

Kind = Literal["person", "admin", "auditor"]
TOKEN_PATTERN = re.compile(r"^tp_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
PERSON_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MUNICIPALITY_PATTERN = re.compile(r"^[0-9]{4}$")


class Principal(BaseModel):
    """Who a request acts as: exactly one person, whatever the request body says."""

    model_config = ConfigDict(frozen=True)

    person_id: str
    kind: Kind
    token_id: str
    # The municipalities (kommunenummer) the person belongs to; None: every municipality
    # on the deployment.
    municipalities: tuple[str, ...] | None = None
    # How the person was authenticated: "token", or "oidc <issuer>" for the identity
    # provider (token_id is then empty).
    authenticated_by: str = "token"

    def belongs_to(self, municipality: str) -> bool:
        return self.municipalities is None or municipality in self.municipalities

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    @property
    def reads_everything(self) -> bool:
        return self.kind in ("admin", "auditor")

    @property
    def may_change(self) -> bool:
        return self.kind != "auditor"


class TokenInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    token_id: str
    person_id: str
    kind: Kind
    municipalities: tuple[str, ...] | None
    label: str
    issued_by: str
    issued_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str  # shown once; only its hash is stored
    info: TokenInfo


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: asyncpg.Record) -> TokenInfo:
    return TokenInfo(**{k: row[k] for k in TokenInfo.model_fields})


def _principal(row: asyncpg.Record) -> Principal:
    found = row["municipalities"]
    return Principal(
        person_id=row["person_id"],
        kind=row["kind"],
        token_id=row["token_id"],
        municipalities=tuple(found) if found is not None else None,
        authenticated_by=f"token {row['token_id']}",
    )


def checked_municipalities(numbers: list[str] | tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Four-digit kommunenummer, each once, in order; None or empty: every municipality."""
    if not numbers:
        return None
    for number in numbers:
        if not MUNICIPALITY_PATTERN.fullmatch(number):
            raise ValueError(
                f"{number!r} is not a municipality: four digits, the kommunenummer (as '1804')"
            )
    return tuple(dict.fromkeys(numbers))


_COLUMNS = (
    "token_id, person_id, kind, municipalities, label, issued_by, issued_at, revoked_at,"
    " last_used_at"
)


class TokenStore:
    def __init__(self, pool: asyncpg.Pool, session_hours: int = 8) -> None:
        self._pool = pool
        self._session = timedelta(hours=session_hours)

    async def issue(
        self,
        person_id: str,
        kind: Kind = "person",
        label: str = "",
        issued_by: str = "cli",
        municipalities: list[str] | tuple[str, ...] | None = None,
    ) -> IssuedToken:
        """``municipalities``: the kommunenummer the person belongs to; none: every
        municipality on the deployment."""
        if not PERSON_PATTERN.fullmatch(person_id):
            raise ValueError(
                f"{person_id!r} is not a person id: letters, digits, '.', '_' or '-', "
                "as in the plan's participants"
            )
        belongs = checked_municipalities(municipalities)
        token_id = secrets.token_hex(6)
        token = f"tp_{token_id}_{secrets.token_urlsafe(32)}"
        row = await self._pool.fetchrow(
            "INSERT INTO access_tokens"
            " (token_id, person_id, kind, municipalities, token_sha256, label, issued_by)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
            token_id,
            person_id,
            kind,
            list(belongs) if belongs is not None else None,
            token_hash(token),
            label[:200],
            issued_by,
        )
        assert row is not None
        return IssuedToken(token=token, info=_info(row))

    async def authenticate(self, token: str) -> Principal | None:
        """The token's person, or None for a malformed, unknown or revoked token."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        row = await self._pool.fetchrow(
            "UPDATE access_tokens SET last_used_at = now() WHERE token_sha256 = $1"
            " AND revoked_at IS NULL RETURNING token_id, person_id, kind, municipalities",
            token_hash(token),
        )
        if row is None:
            return None
        return _principal(row)

    async def revoke(self, token_id: str) -> bool:
        revoked = await self._pool.fetchval(
            "UPDATE access_tokens SET revoked_at = now() WHERE token_id = $1"
            " AND revoked_at IS NULL RETURNING token_id",
            token_id,
        )
        if revoked is not None:
            await self._pool.execute("DELETE FROM web_sessions WHERE token_id = $1", token_id)
        return revoked is not None

    async def revoke_person(self, person_id: str) -> int:
        rows = await self._pool.fetch(
            "UPDATE access_tokens SET revoked_at = now() WHERE person_id = $1"
            " AND revoked_at IS NULL RETURNING token_id",
            person_id,
        )
        for row in rows:
            await self._pool.execute(
                "DELETE FROM web_sessions WHERE token_id = $1", row["token_id"]
            )
        return len(rows)

    async def list(self, person_id: str | None = None) -> list[TokenInfo]:
        rows = await self._pool.fetch(
            f"SELECT {_COLUMNS} FROM access_tokens WHERE ($1::text IS NULL OR person_id = $1)"
            " ORDER BY issued_at",
            person_id,
        )
        return [_info(r) for r in rows]

    async def any_admin(self) -> bool:
        return bool(
            await self._pool.fetchval(
                "SELECT EXISTS (SELECT 1 FROM access_tokens WHERE kind = 'admin'"
                " AND revoked_at IS NULL)"
            )
        )

    # --- web sessions ---------------------------------------------------------------

    async def open_session(self, principal: Principal) -> str:
        key = secrets.token_urlsafe(32)
        await self._pool.execute(
            "INSERT INTO web_sessions (session_sha256, token_id, expires_at) VALUES ($1, $2, $3)",
            token_hash(key),
            principal.token_id,
            datetime.now(UTC) + self._session,
        )
        return key

    async def session(self, key: str) -> Principal | None:
        if not key or len(key) > 100:
            return None
        row = await self._pool.fetchrow(
            "SELECT t.token_id, t.person_id, t.kind, t.municipalities FROM web_sessions s"
            " JOIN access_tokens t USING (token_id)"
            " WHERE s.session_sha256 = $1 AND s.expires_at > now() AND t.revoked_at IS NULL",
            token_hash(key),
        )
        if row is None:
            return None
        return _principal(row)

    async def close_session(self, key: str) -> None:
        await self._pool.execute(
            "DELETE FROM web_sessions WHERE session_sha256 = $1", token_hash(key)
        )
