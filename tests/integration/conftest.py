"""Fixtures for workflow tests: a worker on the real dev server with a fresh database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.plan import PlanDefinition
from temaplan.planfile import load_plan_file
from worker import build_worker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
async def task_queue(temporal_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[str]:
    queue = f"plans-{uuid.uuid4()}"
    async with build_worker(temporal_env.client, pool, queue):
        yield queue


@pytest.fixture
def bodo() -> PlanDefinition:
    return load_plan_file(EXAMPLES / "bodo.yaml")


@pytest.fixture
def larvik() -> PlanDefinition:
    return load_plan_file(EXAMPLES / "larvik.yaml")


def unique(definition: PlanDefinition) -> PlanDefinition:
    """Same plan, a slug of its own: workflow ids never collide between tests."""
    return definition.model_copy(update={"slug": f"t{uuid.uuid4().hex[:10]}"})
