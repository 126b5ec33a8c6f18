"""Starting a plan workflow from a plan definition or a plan file."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import WorkflowAlreadyStartedError

from catalogue import Language, t
from domain import search_attributes as sa
from domain.plan import PlanDefinition
from domain.problems import DomainValidationError
from runtime.planfile import load_plan_file
from runtime.settings import Settings
from runtime.temporal_client import connect
from workflows.plan_models import PlanInput, PlanResult, workflow_id_for
from workflows.plan_workflow import PlanWorkflow


async def start_plan(
    client: Client,
    definition: PlanDefinition,
    task_queue: str,
    administrator: str = "administrator",
) -> WorkflowHandle[PlanWorkflow, PlanResult]:
    return await client.start_workflow(
        PlanWorkflow.run,
        PlanInput(definition=definition, administrator=administrator),
        id=workflow_id_for(definition.plan_id),
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.PHASE, "goals"),
                SearchAttributePair(sa.MUNICIPALITY, definition.municipality.number),
            ]
        ),
        memo={"title": definition.title, "municipality": definition.municipality.name},
    )


async def start_from_file(
    settings: Settings, plan_file: Path, administrator: str, lang: Language = "en"
) -> int:
    try:
        definition = load_plan_file(plan_file)
    except DomainValidationError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    client = await connect(settings)
    try:
        handle = await start_plan(client, definition, settings.temporal_task_queue, administrator)
    except WorkflowAlreadyStartedError:
        workflow = workflow_id_for(definition.plan_id)
        print(
            t("cli.start_running", lang, plan_id=definition.plan_id, workflow=workflow),
            file=sys.stderr,
        )
        return 1
    print(t("cli.started", lang, plan_id=definition.plan_id, workflow=handle.id))
    return 0
