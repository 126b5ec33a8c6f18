"""What every workflow that records decisions shares: how a decision is passed around,
how a refusal reaches the caller, and the activity options for the event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from domain.decisions import NewId, Refusal
    from domain.events import EventBase
    from domain.problems import problems_from_pydantic
    from domain.state import PlanState

Decide = Callable[[PlanState, datetime, NewId], list[EventBase]]

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    # Unlimited attempts: a database outage delays a plan, it never fails one.
    non_retryable_error_types=[
        "ConcurrencyConflict",
        "EventIdConflict",
        "CanonicalFormError",
        "InvalidContent",
    ],
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)


def using(
    decide: Callable[[PlanState, Any, datetime, NewId], list[EventBase]], command: Any
) -> Decide:
    """One person's command, ready to be recorded or checked."""
    return lambda state, at, ids: decide(state, command, at, ids)


Model = TypeVar("Model", bound=BaseModel)


def decoded(model: type[Model], raw: RawValue) -> Model:
    """An update's input, decoded here rather than by the SDK: a malformed one (e.g. sent
    with the `temporal` CLI without a required field) is refused for good, naming the
    field, instead of failing as a retryable 'Failed decoding arguments'. Updates take a
    RawValue for this; the input on the wire is the model's JSON as before."""
    payload = raw.payload
    try:
        if payload.metadata.get("encoding") == b"json/plain":
            return model.model_validate_json(payload.data)
        converted: Model = workflow.payload_converter().from_payload(payload, model)
        return converted
    except ValidationError as exc:
        problems = "; ".join(p.render() for p in problems_from_pydantic(exc, model=model))
        raise ApplicationError(
            f"malformed {model.__name__}: {problems}", type="InvalidInput", non_retryable=True
        ) from None
    except (ValueError, TypeError) as exc:
        raise ApplicationError(
            f"malformed {model.__name__}: {exc}", type="InvalidInput", non_retryable=True
        ) from None


def refused(refusal: Refusal) -> ApplicationError:
    """A business rule said no: the caller's error, never retried."""
    return ApplicationError(refusal.message, type=refusal.code.value, non_retryable=True)
