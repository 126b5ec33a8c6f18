"""What every workflow that records decisions shares: how a decision is passed around,
how a refusal reaches the caller, and the activity options for the event store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import AppendEventsInput, AppendEventsOutput, EventsAfterInput
    from activities.plan_activities import PlanActivities
    from domain.events import Event
    from domain.plan_state import PlanState
    from domain.refusals import NewId, Refusal

Decide = Callable[[PlanState, datetime, NewId], list[Event]]

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    # Unlimited attempts: a database outage delays a plan, it never fails one.
    non_retryable_error_types=[
        "ConcurrencyConflict",
        "EventIdConflict",
        "CanonicalFormError",
        "DataRefused",
        "InvalidContent",
    ],
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)


def using(decide: Callable[[PlanState, Any, datetime, NewId], list[Event]], command: Any) -> Decide:
    """One person's command, ready to be recorded or checked."""
    return lambda state, at, ids: authenticated(decide(state, command, at, ids), command)


def authenticated(events: list[Event], command: Any) -> list[Event]:
    """The command's actor's events carry how the actor was authenticated. A command
    without it (every one sent before it was kept) leaves the events as they were, so
    histories replay unchanged."""
    how = getattr(command, "authenticated_by", None)
    actor = getattr(command, "actor_id", None)
    if how is None:
        return events
    return [
        e.model_copy(update={"authenticated_by": how}) if e.actor_id == actor else e for e in events
    ]


def refused(refusal: Refusal) -> ApplicationError:
    """A business rule said no: the caller's error, never retried."""
    return ApplicationError(refusal.message, type=refusal.code.value, non_retryable=True)


def decided(decide: Decide, state: PlanState, ids: NewId) -> list[Event]:
    """The events ``decide`` records now on ``state``; a refusal is the caller's error."""
    try:
        return decide(state, workflow.now(), ids)
    except Refusal as refusal:
        raise refused(refusal) from None


async def append_at_end(stream_id: str, events: list[Event]) -> AppendEventsOutput:
    """Events recorded at the next versions of the stream, whichever those are."""
    return await workflow.execute_activity_method(
        PlanActivities.append_events,
        AppendEventsInput(stream_id=stream_id, expected_version=0, events=events, at_end=True),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=STORE_RETRY,
    )


# Patch id: a workflow whose append finds the record ahead of it folds the stored events
# it lacks and decides again, instead of failing every later step.
CATCH_UP = "catch-up-with-record"
# What an append answers when the stream holds more than the workflow has folded: the
# version taken (ConcurrencyConflict), or the event id the workflow gives its next event,
# since plan event ids follow the version (EventIdConflict).
_AHEAD = ("ConcurrencyConflict", "EventIdConflict")


def adopted(events: Sequence[Event], result: AppendEventsOutput) -> list[Event]:
    """The events as the record holds them: when an earlier attempt stored them (its
    worker died before the workflow saw the result), with the occurred_at stored then,
    the one value a retry may have chosen differently."""
    if result.occurred_at is None:
        return list(events)
    return [
        event.model_copy(update={"occurred_at": at})
        for event, at in zip(events, result.occurred_at, strict=True)
    ]


async def caught_up(
    error: ActivityError | ApplicationError,
    stream_id: str,
    version: int,
    fold: Callable[[list[Event]], None],
) -> bool:
    """After an append refused because the stream moved on: read what the record holds
    beyond ``version`` and fold it. False when there is nothing to catch up with (the
    refusal stands)."""
    # A regular activity's failure wraps the activity's error; a local one's is that error.
    cause = error.cause if isinstance(error, ActivityError) else error
    if not (
        isinstance(cause, ApplicationError) and cause.type in _AHEAD and workflow.patched(CATCH_UP)
    ):
        return False
    found = await workflow.execute_activity_method(
        PlanActivities.events_after,
        EventsAfterInput(stream_id=stream_id, after_version=version),
        start_to_close_timeout=ACTIVITY_TIMEOUT,
        retry_policy=STORE_RETRY,
    )
    if not found.events:
        return False
    workflow.logger.warning(
        "the record of %s was %d events ahead of the workflow; caught up",
        stream_id,
        len(found.events),
    )
    fold(list(found.events))
    return True
