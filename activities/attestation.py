"""Which front-door keys a worker accepts, and whether it refuses unattested decisions.

Set once when the worker is built (workflows.registry.build_worker, from TEMAPLAN_FRONT_DOOR_VKEYS
and TEMAPLAN_REQUIRE_ATTESTATION) and keyed by task queue, so that workers of different
deployments in one process (tests) keep their own. Workflows read it only in update
validators, and a scheduler's action through an activity
(activities/schedule_activities.py), whose answer is in its history: validators run for
new requests and never on replay, so a history replays
the same whatever keys the replaying worker holds, and rotating the key changes no
recorded command. The update handlers record the attestation as it was sent and
validated; they never read this.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from domain.attestation import Attestation, claims
from domain.checkpoints import ED25519, VerifierKey
from domain.events import Event
from domain.plan_state import PlanState
from domain.refusals import NewId

# What a scheduler's action is attested as (its command names the action itself).
SCHEDULE_ACTION = "schedule_action"

# As workflows/deciding.py's Decide, without importing the workflow side here.
Decide = Callable[[PlanState, datetime, NewId], list[Event]]


@dataclass(frozen=True)
class AttestationPolicy:
    keys: tuple[VerifierKey, ...] = ()
    require: bool = False
    by_name: dict[str, VerifierKey] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {key_name(k): k for k in self.keys})


def key_name(key: VerifierKey) -> str:
    """How an attestation names the key that signed it: <name>+<hex key id>."""
    return f"{key.name}+{key.key_id.hex()}"


def parse_keys(text: str) -> tuple[VerifierKey, ...]:
    """Verifier keys separated by spaces or commas: every one Ed25519 (type 0x01)."""
    keys = tuple(VerifierKey.parse(v) for v in text.replace(",", " ").split())
    for key in keys:
        if key.kind != ED25519:
            raise ValueError(f"front-door key {key.name} is not an Ed25519 signing key")
    return keys


_POLICIES: dict[str, AttestationPolicy] = {}


def configure(task_queue: str, policy: AttestationPolicy) -> None:
    _POLICIES[task_queue] = policy


def policy_for(task_queue: str) -> AttestationPolicy:
    return _POLICIES.get(task_queue, AttestationPolicy())


def check(policy: AttestationPolicy, update: str, plan_id: str, command: BaseModel) -> None:
    """Refuse (non-retryable) a forged, altered or foreign attestation, and an
    unattested decision where the deployment requires attestation."""
    attestation: Attestation | None = getattr(command, "attestation", None)
    if attestation is None:
        if policy.require:
            raise ApplicationError(
                "this deployment records only attested decisions: send it through the "
                "temaplan API or web page with your own login or token (a scheduler "
                "also `temaplan schedule ... --token`)",
                type="Unattested",
                non_retryable=True,
            )
        return
    key = policy.by_name.get(attestation.key)
    if key is None:
        raise _invalid(f"it is signed by {attestation.key}, not a front-door key of this plan")
    expected = claims(update, plan_id, command)
    for name, value in expected.items():
        given = getattr(attestation, name)
        if given != value:
            raise _invalid(f"its {name} is {given!r}, the decision's is {value!r}")
    try:
        signature = base64.b64decode(attestation.signature, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid("its signature is not base64") from None
    if not key.verify(attestation.message(), signature):
        raise _invalid("its signature does not verify with the front door's key")


def _invalid(why: str) -> ApplicationError:
    return ApplicationError(
        f"the attestation of this decision is refused: {why}",
        type="AttestationInvalid",
        non_retryable=True,
    )


def attested(decide: Decide, attestation: Attestation | None) -> Decide:
    """The decision with the person's events carrying the attestation they were sent with
    (the engine's events that follow from it, a phase closing, carry none)."""
    if attestation is None:
        return decide

    def with_attestation(state: PlanState, at: datetime, ids: NewId) -> list[Event]:
        return [
            event.model_copy(update={"attestation": attestation})
            if event.actor_id == attestation.actor_id
            else event
            for event in decide(state, at, ids)
        ]

    return with_attestation
