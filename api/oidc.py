"""Login with the municipality's identity provider: OpenID Connect, authorization code
flow with PKCE (S256), a confidential client.

The provider is found by discovery (``<issuer>/.well-known/openid-configuration``, whose
``issuer`` must be the configured one). The ID token is checked with joserfc: its
signature against the provider's published key set (fetched again once when a key is
unknown, as after a rotation), an asymmetric algorithm only, the issuer, our client id
among its audiences (and as ``azp`` where there are several), not expired, and the nonce
of this login. The person is then named by a configured claim and matched to the plans'
participants (``api.web`` does that with the plans at hand).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

import catalogue
from api.tokens import PERSON_PATTERN, Kind, checked_municipalities
from domain.plan_state import PlanState
from eventstore.oidc_sessions import OidcPerson
from runtime.settings import Settings

# Asymmetric only: "none" and HMAC with the client secret are refused.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
CLOCK_LEEWAY = 60  # seconds between the provider's clock and ours


class LoginRefused(Exception):
    """The provider's answer is not a login we accept; the message says why."""


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_id_token(
    id_token: str,
    keys: KeySet,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims, once its signature and claims hold (OpenID Connect Core
    3.1.3.7); LoginRefused says which did not."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise LoginRefused(f"the ID token's signature does not hold ({exc.error})") from None
    except ValueError as exc:
        raise LoginRefused(f"the ID token is malformed ({exc})") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise LoginRefused(f"the ID token is not for this login ({exc.description})") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise LoginRefused("the ID token names several audiences and was not issued to us")
    return claims


class OidcClient:
    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("TEMAPLAN_OIDC_ISSUER needs TEMAPLAN_OIDC_CLIENT_ID beside it")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_secret()
        self._http = http or httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            found = await self._get(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise LoginRefused(
                    f"the provider at {self.issuer} calls itself {found.get('issuer')!r}"
                )
            self._metadata = found
        return self._metadata

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoginRefused(f"the identity provider did not answer ({url}: {exc})") from None
        return body

    async def keys(self, *, fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            meta = await self.metadata()
            self._keys = KeySet.import_key_set(await self._get(meta["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys

    async def authorization(self, redirect_uri: str, scope: str) -> AuthorizationRequest:
        meta = await self.metadata()
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return AuthorizationRequest(
            url=f"{meta['authorization_endpoint']}?{query}",
            state=state,
            nonce=nonce,
            code_verifier=verifier,
        )

    async def exchange(
        self, code: str, *, redirect_uri: str, code_verifier: str, nonce: str
    ) -> tuple[dict[str, Any], str]:
        """The checked ID token's claims, and the token itself (the logout hint)."""
        meta = await self.metadata()
        try:
            response = await self._http.post(
                meta["token_endpoint"],
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": code_verifier,
                },
                auth=(self.client_id, self._secret or ""),
            )
        except httpx.HTTPError as exc:
            raise LoginRefused(f"the identity provider did not answer ({exc})") from None
        if response.status_code != 200:
            raise LoginRefused(
                f"the identity provider refused the code ({response.status_code}: "
                f"{response.text[:200]})"
            )
        id_token = str(response.json().get("id_token", ""))
        if not id_token:
            raise LoginRefused("the identity provider sent no ID token")
        keys = await self.keys()
        try:
            claims = check_id_token(
                id_token, keys, issuer=self.issuer, client_id=self.client_id, nonce=nonce
            )
        except LoginRefused as exc:
            if "signature" not in str(exc):
                raise
            # A key the provider has rotated in since we fetched the set: fetch it once.
            claims = check_id_token(
                id_token,
                await self.keys(fresh=True),
                issuer=self.issuer,
                client_id=self.client_id,
                nonce=nonce,
            )
        return claims, id_token

    async def logout_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        meta = await self.metadata()
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            return None
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": post_logout_redirect_uri,
                "client_id": self.client_id,
            }
        )
        return f"{endpoint}?{query}"


# --- who the provider's person is here ------------------------------------------------

ADMIN_ROLE, AUDITOR_ROLE = "temaplan.admin", "temaplan.auditor"


class UnknownPerson(Exception):
    """Logged in at the provider, but nobody here: why, as a label of the catalogue
    (``web.oidc_*``) and its values (the page says it in bokmål and in English)."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(catalogue.t(key, "en", **values))
        self.key = key
        self.values = values


def _values(claim: object) -> list[str]:
    """A claim as a list of strings: a JSON list, or text separated by spaces or commas."""
    if isinstance(claim, list):
        return [str(v) for v in claim]
    if isinstance(claim, str):
        return claim.replace(",", " ").split()
    return []


def identify(claims: dict[str, Any], settings: Settings, states: list[PlanState]) -> OidcPerson:
    """The person the checked claims name, matched to the plans' participants in their
    municipalities by the configured claim; UnknownPerson when that finds nobody."""
    claim = settings.oidc_person_claim
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise UnknownPerson("web.oidc_no_claim", claim=claim)
    value = value.strip()
    roles = set(_values(claims.get(settings.oidc_roles_claim)))
    kind: Kind = (
        "admin" if ADMIN_ROLE in roles else "auditor" if AUDITOR_ROLE in roles else "person"
    )
    municipalities = _municipalities(claims, settings)
    within = [
        s
        for s in states
        if s.definition is not None
        and (municipalities is None or s.definition.municipality.number in municipalities)
    ]
    if settings.oidc_match == "email":
        wanted = value.casefold()
        ids = {
            p.id
            for s in within
            for p in s.definition.participants  # type: ignore[union-attr]
            if p.email.casefold() == wanted
        }
    else:
        ids = {
            p.id
            for s in within
            for p in s.definition.participants  # type: ignore[union-attr]
            if p.id == value
        }
    if len(ids) > 1:
        listed = ", ".join(sorted(ids))
        raise UnknownPerson("web.oidc_several", value=value, listed=listed)
    if ids:
        person_id = ids.pop()
    elif kind != "person" and settings.oidc_match == "id" and PERSON_PATTERN.fullmatch(value):
        person_id = value  # an administrator or auditor who takes part in no plan yet
    else:
        raise UnknownPerson("web.oidc_not_participant", value=value)
    return OidcPerson(
        person_id=person_id,
        kind=kind,
        municipalities=municipalities,
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
    )


def _municipalities(claims: dict[str, Any], settings: Settings) -> tuple[str, ...] | None:
    if settings.oidc_municipality_claim:
        found = _values(claims.get(settings.oidc_municipality_claim))
        try:
            checked = checked_municipalities(found)
        except ValueError:
            checked = None
        if checked is None:
            raise UnknownPerson("web.oidc_no_municipality")
        return checked
    fixed = _values(settings.oidc_municipalities)
    return checked_municipalities(fixed) if fixed else None
