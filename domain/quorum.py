"""When a body has signed enough at a step: read by the fold (a step completes) and by the
gates (who is still awaited). A module of its own so that neither imports the other."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from domain.phases import GateStep
from domain.plan import PlanDefinition
from domain.roles import Role


class _SignOff(Protocol):
    @property
    def step_key(self) -> str: ...
    @property
    def content_version(self) -> int: ...
    @property
    def actor_id(self) -> str: ...
    @property
    def body(self) -> Role: ...


S = TypeVar("S", bound=_SignOff)


def counted_sign_offs(
    sign_offs: Iterable[S], under_review: int | None, step_key: str, body: Role
) -> tuple[S, ...]:
    """Sign-offs that count toward ``body``'s quorum at ``step_key`` on the version now
    under review; one per person."""
    seen: set[str] = set()
    counted: list[S] = []
    for sign_off in sign_offs:
        if (
            sign_off.step_key == step_key
            and sign_off.body is body
            and sign_off.content_version == under_review
            and under_review is not None
            and sign_off.actor_id not in seen
        ):
            seen.add(sign_off.actor_id)
            counted.append(sign_off)
    return tuple(counted)


def body_needs(definition: PlanDefinition, body: Role) -> int:
    members = len(definition.members(body))
    return definition.settings.quorum_for(body).required(members)


def quorum_reached(
    definition: PlanDefinition,
    sign_offs: Iterable[_SignOff],
    under_review: int | None,
    step: GateStep,
) -> bool:
    given = tuple(sign_offs)
    return all(
        len(counted_sign_offs(given, under_review, step.key, body)) >= body_needs(definition, body)
        for body in step.roles
    )
