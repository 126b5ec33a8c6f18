"""The plan workflow's state and how it records: what its run and every group of its
handlers share. PlanWorkflow (workflows.plan_workflow) is the workflow; its handlers are
grouped by the decisions they take (workflows.plan_review, workflows.plan_hearing,
workflows.plan_voting), each a base class of it over this one, and Temporal collects a
workflow's handlers from its base classes too. Every change goes through ``_record``:
decide (pure, domain.*_decisions) -> append through an activity -> fold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.attestation import attested, check, policy_for
    from activities.models import AppendEventsInput, AppendEventsOutput
    from activities.plan_activities import PlanActivities
    from domain import commands as cmd
    from domain.events import Event
    from domain.plan_state import PlanState
    from domain.refusals import NewId
    from domain.state import evolve
    from workflows.deciding import (
        ACTIVITY_TIMEOUT,
        STORE_RETRY,
        Decide,
        adopted,
        caught_up,
        decided,
    )
    from workflows.plan_models import (
        Carried,
        PendingResponse,
        PlanInput,
        PublicResponsesCount,
        unpack_responses,
    )
    from workflows.plan_patches import DECISION_ONCE, DECISION_VOTES, LOCAL_APPEND, RUN_START
    from workflows.plan_steps import event_ids


@dataclass(frozen=True)
class Once:
    """A decision a person makes once: ``original`` finds its receipt when it was made
    before; ``remember`` keeps the receipt of a new one. Both run under the record's lock,
    ``remember`` on the state the decision was made on."""

    original: Callable[[], cmd.Receipt | None]
    remember: Callable[[cmd.Receipt], None]


class PlanCore:
    """Not a workflow itself: the state every handler of PlanWorkflow reads, and the one
    way it changes."""

    @workflow.init
    def __init__(self, plan: PlanInput) -> None:
        self._definition = plan.definition
        self._plan_id = plan.definition.plan_id
        carried = plan.carried or Carried(state=PlanState(), stream_version=0)
        self._state = unpack_responses(carried.state, carried.packed_responses)
        self._version = carried.stream_version
        self._receipts: dict[str, cmd.Receipt] = dict(carried.receipts)
        self._pending: list[PendingResponse] = list(carried.pending_responses)
        self._close_requested_by = carried.close_requested_by
        self._close_reason = carried.close_reason
        self._close_attestation = carried.close_attestation
        self._rendered: set[int] = set(carried.rendered_versions)
        self._announced: set[str] = set(carried.announced)
        self._lock = asyncio.Lock()
        self._updates_in_run = 0
        self._max_updates = plan.max_updates_per_run
        self._published: tuple[str, tuple[str, ...]] | None = None
        self._handing_over = False
        self._run_start_patch: bool | None = None
        self._votes_patch: bool | None = None
        self._once_patch: bool | None = None
        self.updates_last = False
        # Responses sent as Updates whose senders wait for their receipts.
        self._awaiting_receipt: set[str] = set()
        # Response ids recorded or queued: duplicates are dropped, retries answered.
        self._recorded_responses: dict[str, int] = {
            r.response_id: r.version for r in self._state.hearing_responses
        }
        self._queued_responses: set[str] = {p.response_id for p in self._pending}
        # What the API last told of the responses it recorded: (hearing version, count).
        self._told = PublicResponsesCount(hearing_version=1, count=0)

    # --- recording ----------------------------------------------------------------------

    def _ids(self) -> NewId:
        return event_ids(self._plan_id, self._version)

    async def _record(
        self, decide: Decide, *, local: bool = False, once: Once | None = None
    ) -> list[cmd.Receipt]:
        """``local``: a person's decision that someone is waiting for (in runs from before
        DECISION_ONCE appended in this workflow task, by a local activity). ``once``: the
        decision is answered with its original receipt when it was made before."""
        async with self._lock:
            if once is not None and (found := once.original()) is not None:
                return [found.model_copy(update={"duplicate": True})]
            while True:
                events = decided(decide, self._state, self._ids())
                if not events:
                    return []
                request = AppendEventsInput(
                    stream_id=self._plan_id, expected_version=self._version, events=events
                )
                try:
                    result = await self._append(request, local)
                except (ActivityError, ApplicationError) as error:
                    if await caught_up(error, self._plan_id, self._version, self._fold_stored):
                        continue  # decide again, on the state the record holds
                    raise
                if once is not None:
                    once.remember(result.receipts[0])
                for event in adopted(events, result):
                    self._state = evolve(self._state, event)
                self._version += len(events)
                return result.receipts

    async def _append(self, request: AppendEventsInput, local: bool) -> AppendEventsOutput:
        if (
            local
            and not self._once_patched()
            and (self._run_start_patched() or workflow.patched(LOCAL_APPEND))
        ):
            # One workflow task instead of two plus an activity dispatch. A retry after a
            # commit whose answer was lost is safe as before (deterministic ids), and so
            # is one after the worker died mid-append (the store keeps the first
            # occurred_at, which the workflow adopts).
            return await workflow.execute_local_activity_method(
                PlanActivities.append_events,
                request,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        return await workflow.execute_activity_method(
            PlanActivities.append_events,
            request,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    def _fold_stored(self, events: list[Event]) -> None:
        for event in events:
            self._state = evolve(self._state, event)
        self._version += len(events)

    def _run_start_patched(self) -> bool:
        """RUN_START, asked in the run's first workflow task (run() asks before anything
        else; a handler in that same task may ask first) and remembered for the run."""
        if self._run_start_patch is None:
            self._run_start_patch = workflow.patched(RUN_START)
        return self._run_start_patch

    def _once_patched(self) -> bool:
        """DECISION_ONCE, asked in the run's first workflow task and remembered (as
        RUN_START is): a handler asking it later in a run recorded without it would be
        told yes while the run is not replaying."""
        if self._once_patch is None:
            self._once_patch = workflow.patched(DECISION_ONCE)
        return self._once_patch

    def _votes_patched(self) -> bool:
        """DECISION_VOTES, asked in the run's first workflow task and remembered. A
        validator in that task may come before run() asks: it cannot ask (validators are
        read-only), and needs not, for validators run only on new requests, which a
        brand-new run (where the answer is yes) is the only one not to have asked yet."""
        if self._votes_patch is None:
            if workflow.unsafe.is_read_only():
                return True
            self._votes_patch = workflow.patched(DECISION_VOTES)
        return self._votes_patch

    def _not_handing_over(self) -> None:
        """While the run hands over to the next, new requests are turned away with a
        retryable error; the same request sent again reaches the new run (sign-offs and
        responses are recognised when repeated, so retrying is always safe)."""
        if self._handing_over or self._should_continue_as_new():
            raise ApplicationError(
                "the plan is moving to a new run; send the same request again",
                type="HandingOver",
            )

    def _attest(self, update: str, command: BaseModel) -> None:
        """For validators: the front door's signature on who sent it (activities/attestation.py)."""
        check(policy_for(workflow.info().task_queue), update, self._plan_id, command)

    def _check(self, decide: Decide) -> None:
        """For validators: refuse now, before the update is admitted to history."""
        self._not_handing_over()
        decided(decide, self._state, self._ids())

    def _validate_decision(self, update: str, decide: Decide, command: cmd.PersonCommand) -> None:
        """The validator of an update that is one person's decision: who sent it, then
        whether the decision is refused."""
        self._attest(update, command)
        self._check(decide)

    # --- continue-as-new ----------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self._updates_in_run >= self._max_updates
        )

    # --- updates: people's decisions, each with a receipt ------------------------------

    async def _decide_update(
        self, decide: Decide, command: cmd.PersonCommand, once: Once | None = None
    ) -> cmd.Receipt:
        """One person's decision, its events carrying the attestation it was sent with."""
        self._updates_in_run += 1
        receipts = await self._record(attested(decide, command.attestation), local=True, once=once)
        return receipts[0]
