"""The typed client's name tables: each name is the update's name on the wire, and
every update of the workflow can be reached by name (the API's routes send by name)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from client.typed import PLAN_UPDATES, REVISION_UPDATES, PlanClient
from domain import commands as cmd
from workflows.plan_workflow import PlanWorkflow
from workflows.revision_workflow import RevisionWorkflow


def _updates(cls: type) -> set[str]:
    # The workflow's handlers may be written in its base classes (workflows.plan_core).
    return {name for c in cls.__mro__ for name, value in vars(c).items() if hasattr(value, "_defn")}


def test_each_name_is_the_method_sent_on_the_wire() -> None:
    for name, method in {**PLAN_UPDATES, **REVISION_UPDATES}.items():
        function: Callable[..., object] = method  # the decorated method, by its own name
        assert function.__name__ == name


def test_every_update_has_a_name() -> None:
    assert set(PLAN_UPDATES) == _updates(PlanWorkflow)
    assert set(REVISION_UPDATES) == _updates(RevisionWorkflow)


async def test_an_update_by_name_with_another_model_is_not_sent() -> None:
    """A call by name is not checked by mypy: the command must be the update's model."""
    sent: list[object] = []

    class Handle:
        async def execute_update(self, update: object, command: object) -> None:
            sent.append(command)

    plan = PlanClient(Handle())  # type: ignore[arg-type]
    comment = cmd.AddComment(actor_id="kari", content_version=1, text="Bra.")
    with pytest.raises(TypeError, match="sign_off takes"):
        await plan.update("sign_off", comment)
    assert sent == []
    await plan.update("comment", comment)
    assert sent == [comment]
