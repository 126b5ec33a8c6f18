"""A plan worker in a process of its own, for tests that kill it with SIGKILL.

It runs the real worker, except that append_events, once it has committed the first
sign-off it is given, writes ``marker`` and hangs: the event is in the record, the
workflow task that decided it has not completed. The test kills the process there.

    python -m tests.integration.killable_worker ADDRESS NAMESPACE DATABASE_URL QUEUE MARKER
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from activities.models import AppendEventsInput, AppendEventsOutput
from activities.plan_activities import PlanActivities
from activities.schedule_activities import ScheduleActivities
from eventstore.pool import create_pool
from runtime.payload_converter import data_converter
from workflows.registry import DEFAULT_REVISION_DATE, WORKFLOWS, workflow_runner


class HangsAfterCommit(PlanActivities):
    def __init__(self, pool: object, marker: Path) -> None:
        super().__init__(pool)
        self.marker = marker

    @activity.defn(name="append_events")
    async def append_events(self, request: AppendEventsInput) -> AppendEventsOutput:
        result = await super().append_events(request)
        if request.events[0].type == "sign_off_given" and not self.marker.exists():
            self.marker.write_text(result.model_dump_json(), encoding="utf-8")
            await asyncio.sleep(3600)  # killed here
        return result


async def main(address: str, namespace: str, database_url: str, queue: str, marker: str) -> None:
    client = await Client.connect(address, namespace=namespace, data_converter=data_converter)
    pool = await create_pool(database_url, max_size=4)
    activities = HangsAfterCommit(pool, Path(marker))
    worker = Worker(
        client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        activities=[
            *activities.all(),
            *ScheduleActivities(client, queue, DEFAULT_REVISION_DATE).all(),
        ],
    )
    print("ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
