"""Deterministic ids: the same decision always gets the same id, so retries are harmless."""

from __future__ import annotations

from uuid import UUID, uuid5

# Fixed for the life of the project: changing it would change every future event id.
TEMAPLAN_NAMESPACE = UUID("6f1c1d2e-7a55-4c1e-9b0e-2f6a3c9d8e71")


def event_id(plan_id: str, *parts: str | int) -> UUID:
    """An event id derived from the plan and what makes the decision unique, e.g.
    ``event_id(plan, "sign_off", "goals.quality_assurance", 3, "kari")``."""
    key = "/".join([plan_id, *(str(p) for p in parts)])
    return uuid5(TEMAPLAN_NAMESPACE, key)
