"""The project's payload converter: the pydantic one, except that an Update whose input
does not decode (e.g. sent with the `temporal` CLI without a required field) is refused
for good, naming the field, instead of failing as a retryable 'Failed decoding
arguments'. The bytes on the wire are the pydantic converter's, so histories recorded
with it replay unchanged.

The SDK passes a ``FailureError`` raised while decoding an Update's arguments on to the
caller as the rejection (``_convert_payloads`` in temporalio's workflow instance). Only
an Update's input is refused this way: the same error while decoding an activity's
result or a workflow's input would fail the workflow itself, where an undecodable value
must stay a failed workflow task, retried until a fixed worker reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from domain.problems import problems_from_pydantic

_JSON = b"json/plain"


class PayloadConverter(PydanticPayloadConverter):
    """Nullary, as the SDK makes one for each workflow run (inside its sandbox)."""

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        hints: list[type | None] = list(type_hints or [])
        hints += [None] * (len(payloads) - len(hints))
        return [self._one(payload, hint) for payload, hint in zip(payloads, hints, strict=False)]

    def _one(self, payload: Payload, hint: type | None) -> Any:
        model = hint if isinstance(hint, type) and issubclass(hint, BaseModel) else None
        try:
            # The model's own JSON validator: thousands of hearing responses can arrive in
            # one workflow task, and this is the cheapest way to read each.
            if model is not None and payload.metadata.get("encoding") == _JSON:
                return model.model_validate_json(payload.data)
            [value] = super().from_payloads([payload], None if hint is None else [hint])
            return value
        except (ValueError, TypeError) as exc:
            if model is None or workflow.current_update_info() is None:
                raise
            raise malformed(model, exc) from None


def malformed(model: type[BaseModel], error: ValueError | TypeError) -> ApplicationError:
    """The refusal of an input that does not decode as ``model``, naming each problem."""
    if isinstance(error, ValidationError):
        problems = "; ".join(p.render() for p in problems_from_pydantic(error, model=model))
    else:
        problems = str(error)
    return ApplicationError(
        f"malformed {model.__name__}: {problems}", type="InvalidInput", non_retryable=True
    )


data_converter = DataConverter(payload_converter_class=PayloadConverter)
