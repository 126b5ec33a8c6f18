"""The front door's attestation: the API signs, for every decision a logged-in person
sends, who sent it (domain/attestation.py); the workflow's validator checks it.

The key is the API's alone (TEMAPLAN_FRONT_DOOR_KEY_FILE or TEMAPLAN_FRONT_DOOR_KEY);
the worker holds only its verifier key (TEMAPLAN_FRONT_DOOR_VKEYS), published with the
deployment so that auditors can check every attestation in an export."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from activities.attestation import key_name
from domain.attestation import Attestation, claims
from domain.checkpoints import SigningKey, configured_signing_key, kept_signing_key
from runtime.settings import Settings


def front_door_key(settings: Settings) -> SigningKey | None:
    return configured_signing_key(
        settings.front_door_key, settings.front_door_key_file, "TEMAPLAN_FRONT_DOOR_KEY"
    )


def dev_front_door_key(settings: Settings) -> SigningKey:
    """`temaplan up`'s key: the configured one, else one kept in the data directory."""
    configured = front_door_key(settings)
    if configured is not None:
        return configured
    path = settings.data_dir / "keys" / "front-door.key"
    return kept_signing_key(path, "temaplan.localhost/front-door")[0]


def attest(command: Any, update: str, plan_id: str, key: SigningKey | None) -> Any:
    """The command with the front door's attestation (a plan's decision, a revision's, a
    scheduler's action); unchanged without a key or for a command that carries none."""
    if key is None or "attestation" not in type(command).model_fields:
        return command
    fields = claims(update, plan_id, command)
    unsigned = Attestation(
        key=key_name(key.verifier),
        request_id=str(uuid.uuid4()),
        signature="",
        **fields,
    )
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    attestation = unsigned.model_copy(update={"signature": signature})
    return command.model_copy(update={"attestation": attestation})
