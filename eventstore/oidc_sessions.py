"""Logins with the identity provider under way, and the web sessions they open.

Only hashes of the state and of the session key are kept; a login's state is taken
once (DELETE ... RETURNING), so a state sent back again, or after it expired, finds
nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from eventstore.tokens import Kind


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class PendingLogin:
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class OidcPerson:
    """Whom the identity provider logged in, as the participant they are here."""

    person_id: str
    kind: Kind
    municipalities: tuple[str, ...] | None
    issuer: str
    subject: str


@dataclass(frozen=True)
class OidcSession:
    """A web session a login opened; its ID token logs the person out at the provider."""

    person: OidcPerson
    id_token: str


class OidcSessions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def begin(self, state: str, login: PendingLogin, expires_at: datetime) -> None:
        await self._pool.execute(
            "DELETE FROM oidc_logins WHERE expires_at < now() - interval '1 hour'"
        )
        await self._pool.execute(
            "INSERT INTO oidc_logins (state_sha256, nonce, code_verifier, expires_at)"
            " VALUES ($1, $2, $3, $4)",
            _sha256(state),
            login.nonce,
            login.code_verifier,
            expires_at,
        )

    async def take(self, state: str) -> PendingLogin | None:
        """The login of this state, once; None when unknown, already taken or expired."""
        row = await self._pool.fetchrow(
            "DELETE FROM oidc_logins WHERE state_sha256 = $1"
            " RETURNING nonce, code_verifier, expires_at > now() AS live",
            _sha256(state),
        )
        if row is None or not row["live"]:
            return None
        return PendingLogin(nonce=row["nonce"], code_verifier=row["code_verifier"])

    async def open(self, key: str, session: OidcSession, expires_at: datetime) -> None:
        person = session.person
        await self._pool.execute(
            "INSERT INTO oidc_sessions (session_sha256, person_id, kind, municipalities,"
            " issuer, subject, id_token, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            _sha256(key),
            person.person_id,
            person.kind,
            list(person.municipalities) if person.municipalities is not None else None,
            person.issuer,
            person.subject,
            session.id_token,
            expires_at,
        )

    async def find(self, key: str) -> OidcSession | None:
        row = await self._pool.fetchrow(
            "SELECT person_id, kind, municipalities, issuer, subject, id_token"
            " FROM oidc_sessions WHERE session_sha256 = $1 AND expires_at > now()",
            _sha256(key),
        )
        if row is None:
            return None
        found = row["municipalities"]
        person = OidcPerson(
            person_id=row["person_id"],
            kind=row["kind"],
            municipalities=tuple(found) if found is not None else None,
            issuer=row["issuer"],
            subject=row["subject"],
        )
        return OidcSession(person, row["id_token"])

    async def close_person(self, person_id: str) -> int:
        """Ends every session of the person (as revoking their tokens does)."""
        rows = await self._pool.fetch(
            "DELETE FROM oidc_sessions WHERE person_id = $1 RETURNING 1", person_id
        )
        return len(rows)

    async def close(self, key: str) -> None:
        await self._pool.execute(
            "DELETE FROM oidc_sessions WHERE session_sha256 = $1", _sha256(key)
        )
