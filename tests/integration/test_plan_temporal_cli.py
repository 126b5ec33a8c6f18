"""The official ``temporal`` CLI can read where a plan stands and sign off at its gate.

Nothing of ours is needed on the operator's machine but the CLI: the plan's models are
plain JSON on the wire (pydantic data converter, ``json/plain``). These command lines
work (ADDR is the server's gRPC address, e.g. ``localhost:7233``; leave out
``--address`` for the default):

Where the plan stands (the ``status`` query)::

    temporal workflow query \\
        --workflow-id temaplan-1804-boligplan-2026 \\
        --name status \\
        --address ADDR -o json

Sign off at the gate (the ``sign_off`` update; it waits for, and prints, the receipt)::

    temporal workflow update execute \\
        --workflow-id temaplan-1804-boligplan-2026 \\
        --name sign_off \\
        --input '{"actor_id": "per.olsen", "step_key": "goals.quality_assurance",
                  "content_version": 1, "content_hash": "<content_hash from the status>",
                  "role": "steering_group"}' \\
        --address ADDR

It prints ``Result map[... hash:<hash> ... version:4]``; with ``-o json`` it prints
``{"name": "sign_off", "updateId": ..., "result": {"plan_id": ..., "event_id": ...,
"version": 4, "hash": ..., "recorded_at": ..., "event_type": "sign_off_given",
"duplicate": false}}``. Sending the same sign-off again answers with the original
receipt and ``"duplicate": true``; nothing new is recorded.

A refused sign-off (here an unknown person) exits with status 1 and prints the refusal::

    Error: unable to update workflow: 'nobody' is not a participant in plan 1804-...
    (type: UnknownParticipant, retryable: false)

The CLI renders an empty list in the status JSON (``signed`` before anyone signed,
``unknown_costs``) as ``null``; the workflow itself answers ``[]``.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import pytest

from domain.gates import PlanStatus
from domain.roles import Role
from temaplan.temporal_server import temporal_binary
from tests.integration.conftest import Engine
from tests.integration.replay import settle

pytestmark = pytest.mark.servers


async def temporal_cli(*args: str) -> tuple[int, str, str]:
    """Run the CLI without blocking the event loop (the worker runs on it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    process = await asyncio.create_subprocess_exec(
        temporal_binary(),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def queried_status(workflow_id: str, address: str) -> dict[str, Any]:
    """The plan's status query answered through the CLI, as its JSON."""
    code, out, err = await temporal_cli(
        "workflow", "query", "--workflow-id", workflow_id, "--name", "status",
        "--address", address, "-o", "json",
    )  # fmt: skip
    assert code == 0, err
    [status_json] = json.loads(out)["queryResult"]
    return dict(status_json)


def sign_off_input(actor_id: str, status: PlanStatus) -> str:
    return json.dumps(
        {
            "actor_id": actor_id,
            "step_key": "goals.quality_assurance",
            "content_version": status.content_version,
            "content_hash": status.content_hash,
            "role": "steering_group",
        }
    )


async def sign_off_through_the_cli(
    workflow_id: str, address: str, actor_id: str, status: PlanStatus, *extra: str
) -> tuple[int, str, str]:
    """``actor_id``'s sign-off of the goals sent by the CLI as an update: its exit code,
    output and errors."""
    return await temporal_cli(
        "workflow", "update", "execute", "--workflow-id", workflow_id,
        "--name", "sign_off", "--input", sign_off_input(actor_id, status),
        "--address", address, *extra,
    )  # fmt: skip


async def test_the_temporal_cli_reads_the_status_and_signs_off(engine: Engine) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    handle = driver.handle
    store = engine.store
    address = engine.env.client.service_client.config.target_host

    submit = await driver.wait_for(lambda s: s.step_key == "goals.submit")
    await driver.act_once(submit, hearing=None)  # type: ignore[arg-type]
    await driver.wait_for(lambda s: s.step_key == "goals.quality_assurance")
    await settle(handle)  # nothing in flight: see tests/integration/replay.py

    # --- the status query -------------------------------------------------------------
    status_json = await queried_status(handle.id, address)
    assert status_json["step_key"] == "goals.quality_assurance"
    assert status_json["phase"] == "goals"
    assert status_json["content_version"] == 1
    assert status_json["events_recorded"] == 3
    [awaited] = status_json["awaited"]
    assert awaited["role"] == "steering_group"
    assert (awaited["needed"], awaited["given"]) == (2, 0)  # majority of three
    # The CLI's JSON is the query's own answer, field for field.
    # (The CLI prints empty lists as null.)
    empty = {
        name: status_json[name] or () for name in ("signed", "tallies", "votes", "unknown_costs")
    }
    status = PlanStatus.model_validate({**status_json, **empty})
    assert status == await driver.status()
    members = [p.id for p in definition.members(Role.STEERING_GROUP)]
    assert list(awaited["people"]) == members

    async def sign(actor_id: str, *extra: str) -> tuple[int, str, str]:
        return await sign_off_through_the_cli(handle.id, address, actor_id, status, *extra)

    # --- a refusal: nothing recorded, a non-zero exit and the reason --------------------
    code, out, err = await sign("nobody")
    assert code != 0
    assert f"'nobody' is not a participant in plan {definition.plan_id}" in err
    assert "UnknownParticipant" in err
    assert (await store.head(definition.plan_id))[0] == 3

    # --- the first sign-off, text output ------------------------------------------------
    first, second = members[: awaited["needed"]]
    code, out, err = await sign(first)
    assert code == 0, err
    stored = {e.version: e for e in await store.read(definition.plan_id)}
    assert len(stored) == 4
    assert stored[4].type == "sign_off_given"
    assert stored[4].actor_id == first
    assert f"hash:{stored[4].hash}" in out
    assert "version:4" in out
    assert "event_type:sign_off_given" in out
    after_first = await driver.wait_for(lambda s: len(s.signed) == 1)
    assert after_first.step_key == "goals.quality_assurance"
    assert after_first.awaited[0].given == 1

    # --- the same sign-off again: the original receipt, nothing new ---------------------
    code, out, err = await sign(first, "-o", "json")
    assert code == 0, err
    again: dict[str, Any] = json.loads(out)["result"]
    assert again["duplicate"] is True
    assert (again["version"], again["hash"]) == (4, stored[4].hash)
    assert (await store.head(definition.plan_id))[0] == 4

    # --- the second sign-off reaches the majority; the plan moves on --------------------
    code, out, err = await sign(second, "-o", "json")
    assert code == 0, err
    receipt: dict[str, Any] = json.loads(out)["result"]
    assert receipt["duplicate"] is False
    assert receipt["version"] == 5
    assert receipt["event_type"] == "sign_off_given"
    assert receipt["plan_id"] == definition.plan_id
    stored = {e.version: e for e in await store.read(definition.plan_id)}
    assert receipt["hash"] == stored[5].hash
    assert receipt["event_id"] == str(stored[5].event_id)

    moved = await driver.wait_for(lambda s: s.step_key == "strategies.submit")
    assert moved.phase == "strategies"
    status_json = await queried_status(handle.id, address)
    assert status_json["step_key"] == "strategies.submit"
    assert status_json["phase"] == "strategies"

    # --- a late sign-off: the gate has closed -------------------------------------------
    code, out, err = await sign(members[2])
    assert code != 0
    assert "'goals.quality_assurance' is not open" in err
    assert "GateNotOpen" in err
    assert (await store.verify(definition.plan_id)).ok
    await handle.terminate("test done")


async def test_a_malformed_update_from_the_temporal_cli_is_refused_for_good_naming_the_field(
    engine: Engine,
) -> None:
    definition = engine.plan()
    driver = await engine.started(definition)
    handle = driver.handle
    await driver.wait_for(lambda s: s.step_key == "goals.submit")
    address = engine.env.client.service_client.config.target_host
    before = await engine.store.head(definition.plan_id)

    async def update(name: str, body: dict[str, Any]) -> tuple[int, str]:
        code, _out, err = await temporal_cli(
            "workflow", "update", "execute", "--workflow-id", handle.id,
            "--name", name, "--input", json.dumps(body), "--address", address,
        )  # fmt: skip
        return code, err

    # A sign-off without its content version, and one with a version that is not a number.
    code, err = await update(
        "sign_off",
        {"actor_id": "per.olsen", "step_key": "goals.quality_assurance", "content_hash": "x"},
    )
    assert code != 0
    assert "malformed SignOff: content_version: is required but missing" in err
    assert "InvalidInput" in err
    assert "retryable: false" in err
    assert "Failed decoding arguments" not in err
    code, err = await update(
        "sign_off",
        {
            "actor_id": "per.olsen",
            "step_key": "goals.quality_assurance",
            "content_version": "first",
            "content_hash": "x",
        },
    )
    assert code != 0
    assert "content_version" in err
    assert "(got 'first')" in err
    assert "retryable: false" in err
    assert await engine.store.head(definition.plan_id) == before
    await handle.terminate("test done")
