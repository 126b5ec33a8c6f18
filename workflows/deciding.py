"""What every workflow that records decisions shares: how a decision is passed around,
how a refusal reaches the caller, and the activity options for the event store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.decisions import NewId, Refusal
    from domain.events import EventBase
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


def refused(refusal: Refusal) -> ApplicationError:
    """A business rule said no: the caller's error, never retried."""
    return ApplicationError(refusal.message, type=refusal.code.value, non_retryable=True)
