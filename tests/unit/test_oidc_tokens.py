"""The ID token checks of the identity-provider login, with tokens signed here by joserfc:
a wrong audience, an expired token, a bad signature, another login's nonce, another
issuer and an unsigned or HMAC token are each refused, saying why."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from api.oidc import LoginRefused, UnknownPerson, check_id_token, code_challenge, identify
from domain.plan import PlanDefinition
from domain.plan_state import PlanState
from runtime.planfile import load_plan_file
from runtime.settings import Settings
from tests.conftest import EXAMPLES

ISSUER, CLIENT, NONCE = "https://login.bodo.kommune.no", "temaplan-web", "n-0123456789abcdefghij"
PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
STRANGER_KEY = RSAKey.generate_key(2048, parameters={"kid": "provider-1"})
PUBLISHED = KeySet.import_key_set({"keys": [PROVIDER_KEY.as_dict(private=False)]})


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "subject-1",
        "aud": CLIENT,
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
        "email": "per.olsen@bodo.kommune.no",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], key: RSAKey = PROVIDER_KEY) -> str:
    return jwt.encode({"alg": "RS256", "kid": "provider-1"}, claims, key)


def _check(token: str) -> dict[str, Any]:
    return check_id_token(token, PUBLISHED, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def test_a_token_of_the_provider_for_us_and_this_login_is_accepted() -> None:
    assert _check(_signed(_claims()))["email"] == "per.olsen@bodo.kommune.no"
    several = _claims(aud=[CLIENT, "another-app"], azp=CLIENT)
    assert _check(_signed(several))["sub"] == "subject-1"


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (lambda: _signed(_claims(aud="another-app")), "aud"),
        (lambda: _signed(_claims(aud=[CLIENT, "another-app"])), "several audiences"),
        (lambda: _signed(_claims(exp=int(time.time()) - 3600)), "exp"),
        (lambda: _signed(_claims(), STRANGER_KEY), "signature"),
        (lambda: _signed(_claims(nonce="n-another-login-nonce-xyz")), "nonce"),
        (lambda: _signed(_claims(iss="https://evil.example")), "iss"),
        (lambda: _signed(_claims(nonce=None)), "nonce"),
        (
            lambda: jwt.encode({"alg": "HS256"}, _claims(), OctKey.import_key(b"k" * 32)),
            "signature",
        ),
    ],
    ids=[
        "wrong-audience",
        "several-audiences-not-to-us",
        "expired",
        "bad-signature",
        "other-nonce",
        "other-issuer",
        "no-nonce",
        "hmac",
    ],
)
def test_a_token_that_does_not_hold_is_refused(token: Any, said: str) -> None:
    with pytest.raises(LoginRefused, match=said):
        _check(token())


def test_a_tampered_token_is_refused() -> None:
    header, payload, signature = _signed(_claims()).split(".")
    other = _signed(_claims(email="kari.nilsen@bodo.kommune.no")).split(".")[1]
    with pytest.raises(LoginRefused, match="signature"):
        _check(f"{header}.{other}.{signature}")
    assert payload != other


def test_the_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() -> None:
    verifier = "a" * 43
    # sha256("a" * 43), written out, as bytes; base64url without padding (RFC 7636 4.2).
    digest = bytes.fromhex(hashlib.sha256(verifier.encode()).hexdigest())
    expected = base64.b64encode(digest).decode().replace("+", "-").replace("/", "_").rstrip("=")
    assert code_challenge(verifier) == expected
    assert len(expected) == 43


def _bodo() -> list[PlanState]:
    definition: PlanDefinition = load_plan_file(EXAMPLES / "bodo.yaml")
    return [PlanState(plan_id=definition.plan_id, definition=definition)]


def test_people_are_matched_to_participants_in_their_municipalities() -> None:
    states = _bodo()
    by_email = Settings(
        TEMAPLAN_OIDC_PERSON_CLAIM="email",
        TEMAPLAN_OIDC_MATCH="email",
        TEMAPLAN_OIDC_MUNICIPALITIES="1804",
    )
    person = identify(_claims(email="Per.Olsen@bodo.kommune.no"), by_email, states)
    assert (person.person_id, person.kind, person.municipalities) == (
        "per.olsen",
        "person",
        ("1804",),
    )
    assert person.issuer == ISSUER

    larvik = by_email.model_copy(update={"oidc_municipalities": "3805"})
    with pytest.raises(UnknownPerson, match="take part in no plan"):
        identify(_claims(), larvik, states)
    by_id = Settings(TEMAPLAN_OIDC_MUNICIPALITY_CLAIM="kommuner")
    with pytest.raises(UnknownPerson, match="which municipality"):
        identify(_claims(preferred_username="per.olsen"), by_id, states)
    admin = identify(
        _claims(preferred_username="it.drift", roles=["temaplan.admin"], kommuner="1804 1806"),
        by_id,
        states,
    )
    assert (admin.person_id, admin.kind, admin.municipalities) == (
        "it.drift",
        "admin",
        ("1804", "1806"),
    )
    with pytest.raises(UnknownPerson, match="did not send 'preferred_username'"):
        identify(_claims(kommuner=["1804"]), by_id, states)
