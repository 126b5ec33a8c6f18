"""The project's payload converter: the pydantic converter's bytes, and an Update's input
that does not decode refused for good, naming the field."""

from __future__ import annotations

import contextvars
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError

from domain import commands as cmd
from runtime.payload_converter import PayloadConverter, data_converter

SIGN_OFF = cmd.SignOff(
    actor_id="per.olsen", step_key="goals.quality_assurance", content_version=1, content_hash="x"
)


def _json(body: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=body.encode())


def _in_update(decode: Any) -> Any:
    """``decode()`` as the SDK runs it for an Update's input: in the update's own task,
    where the update's info is set."""

    def run() -> Any:
        workflow._set_current_update_info(workflow.UpdateInfo(id="u1", name="sign_off"))
        return decode()

    return contextvars.copy_context().run(run)


def test_the_bytes_on_the_wire_are_the_pydantic_converters() -> None:
    ours = data_converter.payload_converter.to_payloads([SIGN_OFF, {"a": [1, 2]}, None, "x"])
    theirs = pydantic_data_converter.payload_converter.to_payloads(
        [SIGN_OFF, {"a": [1, 2]}, None, "x"]
    )
    assert ours == theirs
    assert data_converter.payload_converter.from_payloads(ours[:1], [cmd.SignOff]) == [SIGN_OFF]
    assert data_converter.payload_converter.from_payloads(ours[1:]) == [{"a": [1, 2]}, None, "x"]


def test_a_malformed_update_input_is_refused_for_good_naming_the_field() -> None:
    converter = PayloadConverter()
    body = SIGN_OFF.model_dump_json(exclude={"content_version"})
    with pytest.raises(ApplicationError) as refused:
        _in_update(lambda: converter.from_payloads([_json(body)], [cmd.SignOff]))
    assert refused.value.message == "malformed SignOff: content_version: is required but missing"
    assert refused.value.type == "InvalidInput"
    assert refused.value.non_retryable
    with pytest.raises(ApplicationError) as refused:
        _in_update(lambda: converter.from_payloads([_json("[1]")], [cmd.SignOff]))
    assert refused.value.message == "malformed SignOff: (top level): Input should be an object"


def test_outside_an_update_a_malformed_value_fails_as_before() -> None:
    """An activity's result or a workflow's input that does not decode must stay a failed
    workflow task, retried until a fixed worker reads it: raised as a FailureError the SDK
    would fail the whole workflow instead."""
    body = SIGN_OFF.model_dump_json(exclude={"content_version"})
    with pytest.raises(ValidationError):
        PayloadConverter().from_payloads([_json(body)], [cmd.SignOff])


def test_a_value_without_a_model_decodes_as_the_pydantic_converter_decodes_it() -> None:
    payloads = pydantic_data_converter.payload_converter.to_payloads([SIGN_OFF])
    assert _in_update(lambda: PayloadConverter().from_payloads(payloads, None)) == [
        SIGN_OFF.model_dump(mode="json")
    ]
