"""docs/updates.md documents every Update's input, and says what the models say."""

from __future__ import annotations

from pathlib import Path

from temporalio import workflow

from temaplan.update_reference import UPDATE_INPUTS, render
from workflows.plan_workflow import PlanWorkflow
from workflows.revision_workflow import RevisionWorkflow

DOC = Path(__file__).resolve().parents[2] / "docs" / "updates.md"


def _definition(cls: type) -> workflow._Definition:
    """The workflow definition Temporal reads from ``cls``."""
    definition = workflow._Definition.from_class(cls)
    assert definition is not None
    return definition


def test_every_update_of_the_workflows_is_documented() -> None:
    documented = {name for updates in UPDATE_INPUTS.values() for name in updates}
    defined = {
        name for cls in (PlanWorkflow, RevisionWorkflow) for name in _definition(cls).updates
    }
    assert documented == defined


def test_the_reference_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m temaplan.update_reference > docs/updates.md"
    )
    assert "| `year` | integer | required |" in render()  # report_measure's year, for one


def test_each_update_is_documented_with_the_model_the_workflow_takes() -> None:
    takes = {
        name: defn.arg_types
        for cls in (PlanWorkflow, RevisionWorkflow)
        for name, defn in _definition(cls).updates.items()
    }
    documented = {
        name: [model] for updates in UPDATE_INPUTS.values() for name, model in updates.items()
    }
    assert takes == documented
