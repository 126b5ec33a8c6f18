"""Shared fixtures for the pure-domain unit tests: the example plans, a helper that
expects a plan to be refused, and the record of the audit format's worked example."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
import yaml

from domain.canonical import chain_record
from domain.events import Event, PhaseStarted, PlanCreated
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.planfile import parse_plan_data
from domain.problems import DomainValidationError
from domain.roles import Role
from tests.conftest import read_example


def opened(plan: PlanDefinition, phase: Phase, at: datetime) -> list[Event]:
    """A plan's record as it opens: the plan created, then ``phase`` started, both by the
    system at ``at``."""
    system = {"actor_id": "temaplan", "actor_role": Role.SYSTEM}
    return [
        PlanCreated(
            event_id=UUID(int=1), occurred_at=at, plan_id=plan.plan_id, definition=plan, **system
        ),
        phase_started(2, phase, at),
    ]


def phase_started(n: int, phase: Phase, at: datetime) -> PhaseStarted:
    """Event ``n`` of a record: ``phase`` started by the system at ``at``."""
    return PhaseStarted(
        event_id=UUID(int=n),
        occurred_at=at,
        actor_id="temaplan",
        actor_role=Role.SYSTEM,
        phase=phase,
    )


def worked_example_record() -> dict[str, Any]:
    """The record of the worked example in docs/audit-format.md (its first event)."""
    return chain_record(
        stream_id="1804-boligplan-2026",
        version=1,
        event_id="00000000-0000-4000-8000-000000000001",
        event_type="comment_recorded",
        schema_version=1,
        data={"n": 1, "text": "merknad – ø"},
        actor_id="kari.nilsen",
        actor_role="steering_group",
        recorded_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
    )


def example_data(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of the example plan ``name`` as decoded YAML."""
    data: dict[str, Any] = yaml.safe_load(read_example(name))
    return data


@pytest.fixture
def bodo_text() -> str:
    return read_example("bodo.yaml")


@pytest.fixture
def bodo_data() -> dict[str, Any]:
    return example_data("bodo.yaml")


@pytest.fixture
def larvik_data() -> dict[str, Any]:
    return example_data("larvik.yaml")


Refuse = Callable[..., DomainValidationError]


@pytest.fixture
def refuse() -> Refuse:
    """Parse decoded plan data and return the error it must raise."""

    def _refuse(data: Any, source: str = "plan.yaml") -> DomainValidationError:
        with pytest.raises(DomainValidationError) as info:
            parse_plan_data(data, source)
        return info.value

    return _refuse
