"""Who takes part in making a temaplan (DOMAIN.md, "Who takes part")."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PROJECT_LEADER = "project_leader"
    PROJECT_GROUP = "project_group"
    STEERING_GROUP = "steering_group"
    REFERENCE_GROUP = "reference_group"
    POLITICAL_LEADERSHIP = "political_leadership"
    ADMINISTRATIVE_LEADERSHIP = "administrative_leadership"
    FINANCE_OFFICE = "finance_office"
    MUNICIPAL_COUNCIL = "municipal_council"
    PUBLIC = "public"
    AUDITOR = "auditor"
    SCHEDULER = "scheduler"
    # The engine itself: phase transitions and deadlines are decided by the process,
    # not by a person, and the audit trail says so instead of inventing an actor.
    SYSTEM = "system"


# Bodies that decide together at a gate; each has its own quorum rule.
DECIDING_BODIES: tuple[Role, ...] = (
    Role.STEERING_GROUP,
    Role.POLITICAL_LEADERSHIP,
    Role.ADMINISTRATIVE_LEADERSHIP,
    Role.MUNICIPAL_COUNCIL,
)

# Roles a participant in a plan file may hold: the engine's own role is not one.
PARTICIPANT_ROLES: tuple[Role, ...] = tuple(r for r in Role if r is not Role.SYSTEM)
