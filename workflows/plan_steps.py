"""The plan workflow's helpers that issue no command: event ids, receipt keys, what the
search attributes and the status show, and when the people a step waits for are told
again. Moving code here cannot change a history.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.models import EnsureScheduleOutput
    from domain import commands as cmd
    from domain import hearing_decisions, review_decisions, revision_decisions
    from domain.events import Event
    from domain.gates import PlanStatus
    from domain.ids import event_id
    from domain.phases import GateStep
    from domain.plan_state import PlanState
    from domain.refusals import NewId
    from workflows.deciding import Decide
    from workflows.plan_models import (
        PUBLIC_API_RESPONSE,
        PendingResponse,
        PublicResponsesCount,
    )


def event_ids(plan_id: str, version: int) -> NewId:
    """Event ids from the version each event will take: the same decision gets the same
    id on every retry and replay, and no two events can share one."""
    counter = itertools.count(version + 1)

    def new_id() -> UUID:
        return event_id(plan_id, "v", next(counter))

    return new_id


def sign_off_keys(command: cmd.SignOff, role: str) -> tuple[str, str]:
    """A sign-off is (person, step, version, role); receipts kept before the role was
    part of it are found under the key without it."""
    kind = "sign_off" if command.approve else "changes"
    older = f"sign_off/{command.step_key}/{command.content_version}/{command.actor_id}"
    return f"{kind}/{command.step_key}/{command.content_version}/{command.actor_id}/{role}", (
        older if command.approve else ""
    )


def schedule_decision(created: EnsureScheduleOutput) -> Decide:
    """The revision schedule the activity made (or found), recorded as the plan's."""
    return lambda state, at, ids: revision_decisions.schedule_created(state, created, at, ids)


def original_sign_off_receipt(
    state: PlanState, receipts: Mapping[str, cmd.Receipt], command: cmd.SignOff, *, by_role: bool
) -> cmd.Receipt | None:
    """The receipt of this (person, step, version, role) decision, when it was made.
    ``by_role=False`` (runs from before DECISION_VOTES): of this person's approval in any
    role."""
    if not (
        review_decisions.existing_sign_off(state, command, by_role=by_role)
        or (by_role and review_decisions.existing_change_request(state, command))
    ):
        return None
    key, older = sign_off_keys(command, review_decisions.signing_role(state, command))
    if not by_role:
        return receipts.get(older)
    return receipts.get(key) or receipts.get(older)


def responses_decision(batch: list[PendingResponse]) -> Decide:
    """A batch of queued public responses, recorded in one append, each at the time it
    was received."""

    def decide(state: PlanState, _at: datetime, ids: NewId) -> list[Event]:
        events: list[Event] = []
        for item in batch:
            events += hearing_decisions.hearing_response(
                state, item.response, item.received_at, ids, item.response_id
            )
        return events

    return decide


def published_attributes(state: PlanState, status: PlanStatus) -> tuple[str, tuple[str, ...]]:
    """What the search attributes show: the phase (the status once the plan is no longer
    active) and the roles awaited."""
    return (
        state.phase.value if state.status == "active" and state.phase else state.status,
        tuple(status.awaited_roles),
    )


def announcement_key(state: PlanState, step: GateStep, status: PlanStatus) -> str:
    """Which opening of a step the people it waits for were told of: a step opened again
    (a new version, a new phase start, a new vote, a deadlock) is told again."""
    phase_starts = sum(1 for d in state.decisions if d.event_type == "phase_started")
    key = f"{step.key}/{status.content_version}/{len(state.changes_requested)}/{phase_starts}"
    # A vote withdrawn or postponed opens a new vote: its members are told again.
    reopened = sum(
        1
        for d in state.decisions
        if d.event_type == "vote_withdrawn"
        or (d.event_type == "council_decided" and d.outcome == "postponed")
    )
    if reopened:
        key += f"/vote{reopened}"
    if status.deadlocked:
        key += "/deadlocked"  # the project leader is told to withdraw the item
    return key


def with_unread_responses(
    state: PlanState, status: PlanStatus, told: PublicResponsesCount
) -> PlanStatus:
    """The status counting also the responses the API recorded that the workflow has not
    read yet (it reads them when the hearing closes)."""
    if not state.hearing_open or told.hearing_version != state.hearing_opened_version:
        return status
    read = sum(
        1
        for r in state.current_hearing_responses()
        if r.response_id.startswith(PUBLIC_API_RESPONSE)
    )
    unread = max(0, told.count - read)
    if not unread:
        return status
    return status.model_copy(update={"hearing_responses": status.hearing_responses + unread})
