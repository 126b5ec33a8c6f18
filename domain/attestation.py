"""Attested actors: the front door (API, web page) vouches for who sent a decision.

An attestation is self-contained, so that an auditor can check it from the record
alone with the front door's published key: it names the update, the plan, the person,
the role they named (empty when the workflow works it out), the step (empty for a
decision without one), the SHA-256 of the command as sent (its canonical JSON without
the attestation) and a request id; the signature is Ed25519 over ``message()``
(docs/audit-format.md "Attested actors"). The workflow's update validator checks it
against the command before the update reaches history.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ATTESTATION_CONTEXT = "temaplan-attestation/v1"


class Attestation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(max_length=300)  # the front door's verifier key name and id
    update: str = Field(max_length=100)
    plan_id: str = Field(max_length=200)
    actor_id: str = Field(max_length=200)
    role: str = Field(default="", max_length=100)
    step: str = Field(default="", max_length=200)
    command_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    request_id: str = Field(max_length=100)
    signature: str = Field(max_length=200)  # base64 of the 64-byte Ed25519 signature

    def message(self) -> bytes:
        """What is signed: one line per field, in this order, after a context line."""
        lines = (
            ATTESTATION_CONTEXT,
            self.key,
            self.update,
            self.plan_id,
            self.actor_id,
            self.role,
            self.step,
            self.command_sha256,
            self.request_id,
        )
        return ("\n".join(lines) + "\n").encode("utf-8")


def command_sha256(command: BaseModel) -> str:
    """SHA-256 of the command's canonical JSON (sorted keys, no spaces, UTF-8), the
    attestation left out."""
    body = command.model_dump(mode="json", exclude={"attestation"})
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claims(update: str, plan_id: str, command: BaseModel) -> dict[str, str]:
    """The fields an attestation of this command must carry."""
    role = getattr(command, "role", None)
    return {
        "update": update,
        "plan_id": plan_id,
        "actor_id": str(getattr(command, "actor_id", "")),
        "role": str(getattr(role, "value", role or "")),
        "step": str(getattr(command, "step_key", "") or ""),
        "command_sha256": command_sha256(command),
    }


ActorKind = Literal["attested", "unattested", "system", "public"]


def actor_kind(actor_role: str, data: Mapping[str, Any]) -> ActorKind:
    """How far the record vouches for who decided: the front door attested it; a
    person's decision it did not attest (sent past it, e.g. with the raw `temporal`
    CLI, or recorded before attestation existed); the engine's own step; a member of
    the public's statement (a hearing response, anonymous by design)."""
    if data.get("attestation") is not None:
        return "attested"
    if actor_role == "system":
        return "system"
    if actor_role == "public":
        return "public"
    return "unattested"
