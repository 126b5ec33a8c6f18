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

import asyncpg
from pydantic import BaseModel, ConfigDict

from eventstore import tokens
from eventstore.tokens import Kind, TokenHolder, TokenRow

__all__ = [
    "MUNICIPALITY_PATTERN",
    "PERSON_PATTERN",
    "TOKEN_PATTERN",
    "IssuedToken",
    "Kind",
    "Principal",
    "TokenInfo",
    "TokenStore",
    "checked_municipalities",
    "token_hash",
]

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


# A token as listed: the stored row itself (its hash never leaves the store).
TokenInfo = TokenRow


class IssuedToken(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str  # shown once; only its hash is stored
    info: TokenInfo


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal(holder: TokenHolder) -> Principal:
    return Principal(
        person_id=holder.person_id,
        kind=holder.kind,
        token_id=holder.token_id,
        municipalities=holder.municipalities,
        authenticated_by=f"token {holder.token_id}",
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
        row = await tokens.insert_token(
            self._pool,
            token_id=token_id,
            person_id=person_id,
            kind=kind,
            municipalities=belongs,
            token_sha256=token_hash(token),
            label=label[:200],
            issued_by=issued_by,
        )
        return IssuedToken(token=token, info=row)

    async def authenticate(self, token: str) -> Principal | None:
        """The token's person, or None for a malformed, unknown or revoked token."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        holder = await tokens.use_token(self._pool, token_hash(token))
        return _principal(holder) if holder is not None else None

    async def revoke(self, token_id: str) -> bool:
        return await tokens.revoke_token(self._pool, token_id)

    async def revoke_person(self, person_id: str) -> int:
        return await tokens.revoke_person_tokens(self._pool, person_id)

    async def list(self, person_id: str | None = None) -> list[TokenInfo]:
        return await tokens.list_tokens(self._pool, person_id)

    async def any_admin(self) -> bool:
        return await tokens.any_live_admin(self._pool)

    # --- web sessions ---------------------------------------------------------------

    async def open_session(self, principal: Principal) -> str:
        key = secrets.token_urlsafe(32)
        await tokens.insert_session(
            self._pool, token_hash(key), principal.token_id, datetime.now(UTC) + self._session
        )
        return key

    async def session(self, key: str) -> Principal | None:
        if not key or len(key) > 100:
            return None
        holder = await tokens.session_holder(self._pool, token_hash(key))
        return _principal(holder) if holder is not None else None

    async def close_session(self, key: str) -> None:
        await tokens.delete_session(self._pool, token_hash(key))
