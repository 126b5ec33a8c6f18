"""The plan workflow: six phases, each ending at a gate that waits for people.

Its state is the fold of the events it has recorded (domain.state.evolve), and where it
waits is derived from that state (domain.gates), so the status query and an auditor's
fold of the stored events agree by construction. This class is the run: the phases'
steps, the engine's own decisions, what people see, and the hand-over to a new run. Its
handlers for people's decisions are written in its base classes, one family each
(workflows.plan_review, workflows.plan_hearing, workflows.plan_voting), over
workflows.plan_core: the state, and ``_record`` through which every change goes: decide
(pure, domain.*_decisions) -> append through an activity -> fold.
"""

from __future__ import annotations

import contextlib

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.models import EnsureScheduleInput, RenderDraftInput
    from activities.plan_activities import PlanActivities
    from activities.schedule_activities import ScheduleActivities
    from domain import engine_decisions
    from domain import search_attributes as sa
    from domain.gates import PlanStatus, awaited, current_step, plan_status
    from domain.phases import GateStep, StepKind
    from domain.plan_state import PlanState
    from workflows.deciding import ACTIVITY_TIMEOUT, STORE_RETRY
    from workflows.notify import notify_people
    from workflows.plan_hearing import PlanHearing
    from workflows.plan_models import (
        Carried,
        PlanInput,
        PlanResult,
        carried_responses,
        pack_responses,
    )
    from workflows.plan_patches import REVISION_SCHEDULE, UPDATES_LAST
    from workflows.plan_review import PlanReview
    from workflows.plan_steps import (
        announcement_key,
        published_attributes,
        schedule_decision,
        with_unread_responses,
    )
    from workflows.plan_voting import PlanVoting


@workflow.defn(name="PlanWorkflow")
class PlanWorkflow(PlanReview, PlanHearing, PlanVoting):
    # --- the run ----------------------------------------------------------------------

    @workflow.run
    async def run(self, plan: PlanInput) -> PlanResult:
        self._run_start_patched()
        self._votes_patched()
        self._once_patched()
        self.updates_last = workflow.patched(UPDATES_LAST)
        if plan.carried is None:
            await self._record(
                lambda _s, at, ids: engine_decisions.start_plan(
                    self._definition, at, ids, plan.administrator
                )
            )
        while self._state.status == "active":
            if self._should_continue_as_new():
                await self._continue_as_new(plan)
            # Taken before anything is awaited: a decision recorded while the step is
            # being announced must still wake the loop.
            seen = self._version
            step = current_step(self._state)
            if step is not None or not self._run_start_patched():
                await self._publish(step)
            if step is None:
                await self._record(engine_decisions.advance_phase)
            elif step.kind is StepKind.COMMENT_ROUND:
                await self._comment_round()
            elif step.kind is StepKind.HEARING:
                await self._hearing(plan)
            else:
                if step.kind is StepKind.DRAFT_STEP:
                    await self._render_draft()
                await workflow.wait_condition(
                    lambda seen=seen: self._version != seen or self._should_continue_as_new()  # type: ignore[misc]
                )
        if self._state.status == "adopted" and workflow.patched(REVISION_SCHEDULE):
            await self._create_revision_schedule()
        await self._publish(None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return PlanResult(
            plan_id=self._plan_id,
            status=self._state.status,
            adopted_version=self._state.adopted_version,
            adopted_hash=self._state.adopted_hash,
            events_recorded=self._version,
        )

    async def _create_revision_schedule(self) -> None:
        """The yearly revision reminder. The activity is idempotent (the schedule's id is
        the plan's), so a retry never makes a second schedule."""
        created = await workflow.execute_activity_method(
            ScheduleActivities.ensure_revision_schedule,
            EnsureScheduleInput(plan_id=self._plan_id, definition=self._definition),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        await self._record(schedule_decision(created))

    async def _comment_round(self) -> None:
        if self._state.comment_round_deadline is None:
            await self._record(engine_decisions.open_comment_round)
        deadline = self._state.comment_round_deadline
        assert deadline is not None
        step = current_step(self._state)
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining > 0:
            # Closes early once every member of the reference group has commented.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: not any(a.people for a in awaited(self._state, step)),
                    timeout=remaining,
                )
        await self._record(engine_decisions.close_comment_round)

    async def _hearing(self, plan: PlanInput) -> None:
        if not self._state.hearing_open:
            await self._record(engine_decisions.open_hearing)
            await self._announce_hearing()
        deadline = self._state.hearing_deadline
        assert deadline is not None
        while self._close_requested_by is None:
            remaining = (deadline - workflow.now()).total_seconds()
            if remaining <= 0:
                break
            try:
                await workflow.wait_condition(
                    lambda: (
                        bool(self._pending)
                        or self._close_requested_by is not None
                        or self._should_continue_as_new()
                    ),
                    timeout=remaining,
                )
            except TimeoutError:
                break
            await self._flush_responses()
            if self._should_continue_as_new() and self._close_requested_by is None:
                await self._continue_as_new(plan)
        await self._close_hearing()

    # --- what people see ----------------------------------------------------------------

    async def _publish(self, step: GateStep | None) -> None:
        """Keep the search attributes current and tell the people a newly opened step
        waits for. Both only when something changed: each costs history."""
        status = plan_status(self._state)
        attributes = published_attributes(self._state, status)
        if attributes != self._published:
            self._published = attributes
            workflow.upsert_search_attributes(
                [
                    sa.PHASE.value_set(attributes[0]),
                    sa.MUNICIPALITY.value_set(self._definition.municipality.number),
                    sa.AWAITED_ROLES.value_set(list(attributes[1])),
                ]
            )
        if step is None:
            return
        key = announcement_key(self._state, step, status)
        if key in self._announced:
            return
        self._announced.add(key)
        await notify_people(
            self._definition,
            {pid for a in status.awaited for pid in a.people},
            dedupe_prefix=f"{self._plan_id}/{key}",
            notice="gate",
            values={
                "title": self._definition.title,
                "plan_id": self._plan_id,
                # The activity writes the step's title out from the catalogue.
                "step_key": step.key,
                "version": str(status.content_version or "-"),
            },
            timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _announce_hearing(self) -> None:
        deadline = self._state.hearing_deadline
        await notify_people(
            self._definition,
            None,
            dedupe_prefix=f"{self._plan_id}/hearing/{self._version}",
            notice="hearing",
            values={
                "title": self._definition.title,
                "deadline": deadline.isoformat() if deadline else "",
            },
            timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _render_draft(self) -> None:
        current = self._state.content()
        if current is None or current.version in self._rendered:
            return
        await workflow.execute_activity_method(
            PlanActivities.render_draft,
            RenderDraftInput(
                definition=self._definition,
                content=current.content,
                content_version=current.version,
                content_hash=current.content_hash,
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._rendered.add(current.version)

    @workflow.query
    def status(self) -> PlanStatus:
        return with_unread_responses(self._state, plan_status(self._state), self._told)

    @workflow.query
    def state(self) -> PlanState:
        return self._state

    # --- continue-as-new ----------------------------------------------------------------

    async def _continue_as_new(self, plan: PlanInput) -> None:
        # Handlers waiting for their responses to be recorded (or for the hearing to
        # close) finish once we do that work, so keep at it until every handler is done.
        self._handing_over = True
        while not workflow.all_handlers_finished():
            await self._flush_responses()
            if self._close_requested_by is not None and self._state.hearing_open:
                await self._close_hearing()
            await workflow.wait_condition(
                lambda: (
                    bool(self._pending)
                    or (self._close_requested_by is not None and self._state.hearing_open)
                    or workflow.all_handlers_finished()
                )
            )
        await self._flush_responses()
        state, packed = pack_responses(carried_responses(self._state))
        workflow.continue_as_new(
            PlanInput(
                definition=self._definition,
                administrator=plan.administrator,
                max_updates_per_run=plan.max_updates_per_run,
                carried=Carried(
                    state=state,
                    packed_responses=packed,
                    stream_version=self._version,
                    receipts=self._receipts,
                    pending_responses=self._pending,
                    close_requested_by=self._close_requested_by,
                    close_reason=self._close_reason,
                    close_attestation=self._close_attestation,
                    rendered_versions=sorted(self._rendered),
                    announced=sorted(self._announced),
                ),
            )
        )
