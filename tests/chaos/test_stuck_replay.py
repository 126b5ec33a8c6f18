"""A plan history from the chaos test's long form (`make chaos`) that the workflow code
cannot replay: in one workflow task the plan upserted its search attributes, scheduled
an activity and accepted a person's update (events 66-69). Replayed, as after a worker
is killed or a plan leaves the worker's cache, it fails with TMPRL1100 "Update machine
does not handle this event: UpsertWorkflowSearchAttributes", and the plan is stuck for
good. Strict xfail: when the workflow (or the SDK) replays it, this test fails and the
mark goes, and the history joins tests/integration/histories.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.workflow import NondeterminismError

from audit.temporal_history import replay_histories
from worker import WORKFLOWS

HISTORY = Path(__file__).parent / "histories" / "update_accepted_after_upsert_in_one_task.json"


@pytest.mark.xfail(
    strict=True,
    raises=NondeterminismError,
    reason="TMPRL1100 on replay: an update accepted after an upsert in one task",
)
async def test_a_plan_that_accepted_an_update_after_an_upsert_replays() -> None:
    history = WorkflowHistory.from_json("temaplan-1804-c0308ddb7f", json.loads(HISTORY.read_text()))
    await replay_histories([history], WORKFLOWS)
