"""A decision's receipt, as the update answers it, names the event's leaf in the Merkle
log, and its inclusion proof holds against the next checkpoint."""

from __future__ import annotations

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from audit.checkpointer import Checkpointer
from audit.proofs import check_inclusion, inclusion_document
from client.plans import start_plan
from client.simulation import PlanDriver, content_for
from domain import checkpoints as cp
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from domain.roles import Role
from eventstore.log import MerkleLog
from tests.integration.conftest import unique

pytestmark = pytest.mark.servers


async def test_the_receipt_carries_the_leaf_and_its_proof_holds(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> None:
    definition = unique(bodo)
    handle = await start_plan(temporal_env.client, definition, task_queue)
    driver = PlanDriver(handle, definition)
    status = await driver.wait_for(lambda s: s.step_kind is not None)
    assert isinstance(status, PlanStatus)
    assert status.phase is not None
    receipt = await driver.update(
        "submit_content",
        cmd.SubmitContent(
            actor_id=driver.person(Role.PROJECT_LEADER),
            phase=status.phase,
            content=content_for(status.phase, driver.proposals),
        ),
    )
    assert receipt.leaf_index is not None
    leaf = await MerkleLog(pool).leaf_of_event(receipt.event_id)
    assert leaf is not None
    assert leaf.leaf_index == receipt.leaf_index
    key = cp.SigningKey.generate("bolig.kommune.example/temaplan")
    await Checkpointer(pool, key).checkpoint_now()
    proof = await inclusion_document(MerkleLog(pool), receipt.event_id)
    assert proof["event_hash"] == receipt.hash
    assert f"is leaf {receipt.leaf_index} " in check_inclusion(proof, key.verifier)
