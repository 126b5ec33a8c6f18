"""The plan workflow: six phases, each ending at a gate that waits for people.

Its state is the fold of the events it has recorded (domain.state.evolve), and where it
waits is derived from that state (domain.gates), so the status query and an auditor's
fold of the stored events agree by construction. Every change goes through ``_record``:
decide (pure, domain.decisions) -> append through an activity -> fold.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from datetime import datetime
from uuid import UUID

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from activities.attestation import attested, check, policy_for
    from activities.models import (
        AppendEventsInput,
        AppendEventsOutput,
        CompileContentInput,
        EnsureScheduleInput,
        EventsAfterInput,
        ReceiptAtInput,
        RenderDraftInput,
        SealHearingInput,
    )
    from activities.plan_activities import PlanActivities
    from activities.schedule_activities import ScheduleActivities
    from domain import commands as cmd
    from domain import decisions, revision_decisions
    from domain import search_attributes as sa
    from domain.decisions import NewId, Refusal
    from domain.events import Event
    from domain.gates import PlanStatus, awaited, current_step, plan_status
    from domain.ids import event_id
    from domain.phases import GateStep, StepKind
    from domain.plan_state import PlanState
    from domain.roles import Role
    from domain.state import evolve
    from workflows.deciding import (
        ACTIVITY_TIMEOUT,
        STORE_RETRY,
        Decide,
        adopted,
        authenticated,
        caught_up,
        decoded,
        refused,
        using,
    )
    from workflows.notify import notify_people
    from workflows.plan_models import (
        Carried,
        PendingResponse,
        PlanInput,
        PlanResult,
        PublicResponsesCount,
        pack_responses,
        unpack_responses,
    )

# Patch id: a person's decision is appended by a local activity (workflow.patched keeps
# older histories replaying through the regular activity they were recorded with).
LOCAL_APPEND = "append-decision-local-activity"
# Patch id, asked once at the start of each run (where its marker costs no one a wait):
# people's decisions go straight to the local activity without asking LOCAL_APPEND at
# the first of them, and the search attributes are not upserted for the moment between
# a phase's last step and the engine opening the next phase. Runs recorded without it
# replay as before.
RUN_START = "plan-run-decided-at-start"
# Patch id: on adoption the plan gets its yearly revision schedule (rullering).
REVISION_SCHEDULE = "revision-schedule-on-adoption"
# Patch id, asked once at the start of each run: a body decides after the hearing and in
# the council by its members' votes and its quorum rule, and a sign-off is identified by
# (person, step, version, role). Runs recorded without it keep the one-member decision
# and the sign-off identity without the role they were recorded with.
DECISION_VOTES = "decisions-by-vote"
# Patch id, asked once at the start of each run: the worker runs a person's update after
# the other jobs of the same activation (workflows.registry._UpdatesLast), so that an update the
# worker received after a query had brought the plan up to date replays as it ran.
# Runs recorded without it replay as they ran (the update first).
UPDATES_LAST = "updates-after-other-jobs"
# The attribute the worker's runner reads to know a run asked UPDATES_LAST.
UPDATES_LAST_ATTRIBUTE = "updates_last"
# Patch id: public hearing responses are appended to the record by the API itself
# (eventstore/hearing_inbox.py); before the close the workflow seals the hearing's fence
# and folds the responses it reads back from the record. Runs recorded without it close
# as before (a response the API appended meanwhile is caught up with on the close's
# append, patch catch-up-with-record).
DIRECT_RESPONSES = "hearing-responses-direct"
RESPONSE_BATCH = 200
# Events read back per events_after call when the hearing closes.
READ_PAGE = 500


def _hearing_response(raw: RawValue) -> cmd.HearingResponse | None:
    payload = raw.payload
    try:
        if payload.metadata.get("encoding") == b"json/plain":
            return cmd.HearingResponse.model_validate_json(payload.data)
        converted: cmd.HearingResponse = workflow.payload_converter().from_payload(
            payload, cmd.HearingResponse
        )
        return converted
    except (ValidationError, ValueError, TypeError) as exc:
        workflow.logger.warning("hearing response not readable, left out: %s", exc)
        return None


@workflow.defn(name="PlanWorkflow")
class PlanWorkflow:
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

    # --- the run ----------------------------------------------------------------------

    @workflow.run
    async def run(self, plan: PlanInput) -> PlanResult:
        self._run_start_patched()
        self._votes_patched()
        self.updates_last = workflow.patched(UPDATES_LAST)
        if plan.carried is None:
            await self._record(
                lambda _s, at, ids: decisions.start_plan(
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
                await self._record(decisions.advance_phase)
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
        await self._record(
            lambda state, at, ids: revision_decisions.schedule_created(
                state,
                schedule_id=created.schedule_id,
                month=created.month,
                day=created.day,
                hour=created.hour,
                time_zone=created.time_zone,
                end_at=created.end_at,
                already_existed=created.already_existed,
                at=at,
                new_id=ids,
            )
        )

    async def _comment_round(self) -> None:
        if self._state.comment_round_deadline is None:
            await self._record(decisions.open_comment_round)
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
        await self._record(decisions.close_comment_round)

    async def _hearing(self, plan: PlanInput) -> None:
        if not self._state.hearing_open:
            await self._record(decisions.open_hearing)
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

    async def _close_hearing(self) -> None:
        # Responses received before the deadline are recorded before the close.
        await self._flush_responses()
        if workflow.patched(DIRECT_RESPONSES):
            await self._read_public_responses()
        closed_by = self._close_requested_by or decisions.ENGINE
        reason = self._close_reason if self._close_requested_by else ""
        [closed] = await self._record(
            attested(
                lambda s, at, ids: decisions.close_hearing(s, at, ids, closed_by, reason),
                self._close_attestation if self._close_requested_by else None,
            )
        )
        self._receipts["hearing_closed"] = closed
        self._close_requested_by = None
        self._close_reason = ""
        self._close_attestation = None

    async def _read_public_responses(self) -> None:
        """Seal the hearing (no response is taken after this; one being written is waited
        for), then fold what the API recorded, page by page, so the close counts it."""
        opened = self._state.hearing_opened_version
        if opened is not None:
            await workflow.execute_activity_method(
                PlanActivities.seal_hearing,
                SealHearingInput(stream_id=self._plan_id, hearing_version=opened),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
        while True:
            found = await workflow.execute_activity_method(
                PlanActivities.events_after,
                EventsAfterInput(
                    stream_id=self._plan_id, after_version=self._version, limit=READ_PAGE
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=STORE_RETRY,
            )
            if not found.events:
                return
            self._fold_stored(list(found.events))

    async def _flush_responses(self) -> None:
        """Record what is queued now (not what keeps arriving meanwhile, so that a
        hand-over to a new run is not put off by a steady stream)."""
        todo = len(self._pending)
        while todo > 0:
            batch = self._pending[: min(RESPONSE_BATCH, todo)]
            todo -= len(batch)

            def decide(
                state: PlanState, _at: datetime, ids: NewId, batch: list[PendingResponse] = batch
            ) -> list[Event]:
                events: list[Event] = []
                for item in batch:
                    events += decisions.hearing_response(
                        state, item.response, item.received_at, ids, item.response_id
                    )
                return events

            receipts = await self._record(decide)
            for item, receipt in zip(batch, receipts, strict=True):
                self._recorded_responses[item.response_id] = receipt.version
                self._queued_responses.discard(item.response_id)
                if item.response_id in self._awaiting_receipt:
                    self._receipts[f"response/{item.response_id}"] = receipt
            del self._pending[: len(batch)]

    # --- recording ----------------------------------------------------------------------

    def _ids(self) -> NewId:
        """Event ids from the version each event will take: the same decision gets the same
        id on every retry and replay, and no two events can share one."""
        counter = itertools.count(self._version + 1)

        def new_id() -> UUID:
            return event_id(self._plan_id, "v", next(counter))

        return new_id

    async def _record(self, decide: Decide, *, local: bool = False) -> list[cmd.Receipt]:
        """``local``: append in this workflow task (a local activity), for a person's
        decision that someone is waiting for; the engine's own steps, hearing batches and
        the hand-over keep the regular activity."""
        async with self._lock:
            while True:
                try:
                    events = decide(self._state, workflow.now(), self._ids())
                except Refusal as refusal:
                    raise refused(refusal) from None
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
                for event in adopted(events, result):
                    self._state = evolve(self._state, event)
                self._version += len(events)
                return result.receipts

    async def _append(self, request: AppendEventsInput, local: bool) -> AppendEventsOutput:
        if local and (self._run_start_patched() or workflow.patched(LOCAL_APPEND)):
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
        try:
            decide(self._state, workflow.now(), self._ids())
        except Refusal as refusal:
            raise refused(refusal) from None

    # --- what people see ----------------------------------------------------------------

    async def _publish(self, step: GateStep | None) -> None:
        """Keep the search attributes current and tell the people a newly opened step
        waits for. Both only when something changed: each costs history."""
        status = plan_status(self._state)
        attributes = (
            self._state.phase.value
            if self._state.status == "active" and self._state.phase
            else self._state.status,
            tuple(status.awaited_roles),
        )
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
        phase_starts = sum(1 for d in self._state.decisions if d.event_type == "phase_started")
        key = f"{step.key}/{status.content_version}/{len(self._state.changes_requested)}/{phase_starts}"
        # A vote withdrawn or postponed opens a new vote: its members are told again.
        reopened = sum(
            1
            for d in self._state.decisions
            if d.event_type == "vote_withdrawn"
            or (d.event_type == "council_decided" and d.outcome == "postponed")
        )
        if reopened:
            key += f"/vote{reopened}"
        if status.deadlocked:
            key += "/deadlocked"  # the project leader is told to withdraw the item
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
                "step": step.title_nb,
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
        status = plan_status(self._state)
        told = self._told
        if not self._state.hearing_open or told.hearing_version != (
            self._state.hearing_opened_version
        ):
            return status
        # Responses the API recorded that the workflow has not read yet (it reads them
        # when the hearing closes).
        read = sum(
            1 for r in self._state.current_hearing_responses() if r.response_id[:4] == "api-"
        )
        unread = max(0, told.count - read)
        if not unread:
            return status
        return status.model_copy(update={"hearing_responses": status.hearing_responses + unread})

    @workflow.signal
    def public_responses(self, raw: RawValue) -> None:
        """The API's count of the public responses it has recorded (eventstore/
        hearing_inbox.py): only the count, for the status; the responses themselves are
        read from the record when the hearing closes."""
        try:
            told = decoded(PublicResponsesCount, raw)
        except ApplicationError as exc:
            workflow.logger.warning("response count not readable, left out: %s", exc)
            return
        if told.hearing_version > self._told.hearing_version or (
            told.hearing_version == self._told.hearing_version and told.count > self._told.count
        ):
            self._told = told

    @workflow.query
    def state(self) -> PlanState:
        return self._state

    # --- continue-as-new ----------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        return (
            workflow.info().is_continue_as_new_suggested()
            or self._updates_in_run >= self._max_updates
        )

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
        state, packed = pack_responses(self._state)
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

    # --- updates: people's decisions, each with a receipt ------------------------------

    async def _decide_update(self, decide: Decide) -> cmd.Receipt:
        self._updates_in_run += 1
        receipts = await self._record(decide, local=True)
        return receipts[0]

    @workflow.update
    async def submit_content(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.SubmitContent, raw)
        self._updates_in_run += 1
        await workflow.execute_activity_method(
            PlanActivities.compile_content,
            CompileContentInput(
                definition=self._definition, phase=command.phase, content=command.content
            ),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        receipts = await self._record(
            attested(using(decisions.submit_content, command), command.attestation)
        )
        return receipts[0]

    @submit_content.validator
    def _validate_submit_content(self, raw: RawValue) -> None:
        command = decoded(cmd.SubmitContent, raw)
        self._attest("submit_content", command)
        self._check(using(decisions.submit_content, command))

    @workflow.update
    async def comment(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.AddComment, raw)
        return await self._decide_update(
            attested(using(decisions.add_comment, command), command.attestation)
        )

    @comment.validator
    def _validate_comment(self, raw: RawValue) -> None:
        command = decoded(cmd.AddComment, raw)
        self._attest("comment", command)
        self._check(using(decisions.add_comment, command))

    @staticmethod
    def _sign_off_keys(command: cmd.SignOff, role: str) -> tuple[str, str]:
        """A sign-off is (person, step, version, role); receipts kept before the role was
        part of it are found under the key without it."""
        kind = "sign_off" if command.approve else "changes"
        older = f"sign_off/{command.step_key}/{command.content_version}/{command.actor_id}"
        return f"{kind}/{command.step_key}/{command.content_version}/{command.actor_id}/{role}", (
            older if command.approve else ""
        )

    def _original_receipt(self, command: cmd.SignOff) -> cmd.Receipt | None:
        """The receipt of this (person, step, version, role) decision, when it was made.
        (Runs from before DECISION_VOTES: of this person's approval in any role.)"""
        by_role = self._votes_patched()
        if not (
            decisions.existing_sign_off(self._state, command, by_role=by_role)
            or (by_role and decisions.existing_change_request(self._state, command))
        ):
            return None
        key, older = self._sign_off_keys(command, decisions.signing_role(self._state, command))
        if not by_role:
            return self._receipts.get(older)
        return self._receipts.get(key) or self._receipts.get(older)

    def _decide_sign_off(self, command: cmd.SignOff) -> Decide:
        by_role = self._votes_patched()
        return lambda state, at, ids: authenticated(
            decisions.sign_off(state, command, at, ids, one_decision_per_role=by_role), command
        )

    @workflow.update
    async def sign_off(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.SignOff, raw)
        original = self._original_receipt(command)
        if original is not None:
            self._updates_in_run += 1
            return original.model_copy(update={"duplicate": True})
        key, older = self._sign_off_keys(command, decisions.signing_role(self._state, command))
        receipt = await self._decide_update(
            attested(self._decide_sign_off(command), command.attestation)
        )
        if self._votes_patched():
            self._receipts[key] = receipt
        elif command.approve:
            self._receipts[older] = receipt
        return receipt

    @sign_off.validator
    def _validate_sign_off(self, raw: RawValue) -> None:
        command = decoded(cmd.SignOff, raw)
        self._attest("sign_off", command)
        self._not_handing_over()
        if self._original_receipt(command) is not None:
            return  # answered with the original receipt
        self._check(self._decide_sign_off(command))

    @workflow.update
    async def complete_draft_step(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.CompleteDraftStep, raw)
        return await self._decide_update(
            attested(using(decisions.complete_draft_step, command), command.attestation)
        )

    @complete_draft_step.validator
    def _validate_draft_step(self, raw: RawValue) -> None:
        command = decoded(cmd.CompleteDraftStep, raw)
        self._attest("complete_draft_step", command)
        self._check(using(decisions.complete_draft_step, command))

    @workflow.signal
    def hearing_response(self, raw: RawValue) -> None:
        """Fire-and-forget from the public: a cmd.HearingResponse. A late or duplicate
        response cannot be refused to a signal's sender, so it is logged and left out of
        the record.

        Taken raw and decoded here with the model's own JSON validator: thousands of
        signals can arrive in one workflow task, and through the generic converter each
        costs several times as much, enough on a busy machine to exceed the SDK's
        two-second limit on one activation (and then fail the task on every retry)."""
        response = _hearing_response(raw)
        if response is None:
            return
        response_id = response.response_id or str(workflow.uuid4())
        if self._response_known(response_id):
            return
        try:
            decisions.check_hearing_open(self._state, workflow.now())
        except Refusal as refusal:
            workflow.logger.warning("hearing response not accepted: %s", refusal.message)
            return
        self._queue_response(response_id, response)

    def _queue_response(self, response_id: str, response: cmd.HearingResponse) -> None:
        self._pending.append(
            PendingResponse(response_id=response_id, received_at=workflow.now(), response=response)
        )
        self._queued_responses.add(response_id)

    @workflow.update
    async def respond_to_hearing(self, raw: RawValue) -> cmd.Receipt:
        response = decoded(cmd.HearingResponse, raw)
        self._updates_in_run += 1
        response_id = response.response_id or str(workflow.uuid4())
        key = f"response/{response_id}"
        self._awaiting_receipt.add(response_id)
        if not self._response_known(response_id):
            self._queue_response(response_id, response)
        try:
            await workflow.wait_condition(
                lambda: key in self._receipts or response_id in self._recorded_responses
            )
            receipt = self._receipts.pop(key, None)
            if receipt is None:
                # Recorded before this request (a retry): fetch the original receipt.
                receipt = await workflow.execute_activity_method(
                    PlanActivities.receipt_at,
                    ReceiptAtInput(
                        stream_id=self._plan_id, version=self._recorded_responses[response_id]
                    ),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=STORE_RETRY,
                )
                receipt = receipt.model_copy(update={"duplicate": True})
            return receipt
        finally:
            self._awaiting_receipt.discard(response_id)

    @respond_to_hearing.validator
    def _validate_response(self, raw: RawValue) -> None:
        response = decoded(cmd.HearingResponse, raw)
        self._not_handing_over()
        if response.response_id and self._response_known(response.response_id):
            return  # a retry: answered with the original receipt
        self._check(
            lambda s, at, ids: decisions.hearing_response(
                s, response, at, ids, response.response_id or "new"
            )
        )

    def _response_known(self, response_id: str) -> bool:
        return response_id in self._recorded_responses or response_id in self._queued_responses

    @workflow.update
    async def close_hearing(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.CloseHearing, raw)
        self._updates_in_run += 1
        self._close_requested_by = command.actor_id
        self._close_reason = command.reason
        self._close_attestation = command.attestation
        seen = self._version
        await workflow.wait_condition(
            lambda: (
                "hearing_closed" in self._receipts
                and self._receipts["hearing_closed"].version > seen
            )
        )
        return self._receipts["hearing_closed"]

    @close_hearing.validator
    def _validate_close_hearing(self, raw: RawValue) -> None:
        command = decoded(cmd.CloseHearing, raw)
        self._attest("close_hearing", command)
        self._not_handing_over()
        try:
            decisions.request_hearing_close(self._state, command, workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None

    @workflow.update
    async def submit_hearing_summary(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.HearingSummary, raw)
        return await self._decide_update(
            attested(using(decisions.hearing_summary, command), command.attestation)
        )

    @submit_hearing_summary.validator
    def _validate_summary(self, raw: RawValue) -> None:
        command = decoded(cmd.HearingSummary, raw)
        self._attest("submit_hearing_summary", command)
        self._check(using(decisions.hearing_summary, command))

    async def _vote(
        self, step_key: str, actor_id: str, role: Role | None, decide: Decide
    ) -> cmd.Receipt:
        """A member's vote, once per (person, step, version, role): the same vote sent
        again is answered with its original receipt."""
        key = decisions.vote_identity(self._state, step_key, actor_id, role)
        if key is not None and key in self._receipts:
            self._updates_in_run += 1
            return self._receipts[key].model_copy(update={"duplicate": True})
        receipt = await self._decide_update(decide)
        if key is not None:
            self._receipts[key] = receipt
        return receipt

    def _check_vote(
        self, step_key: str, command: cmd.HearingDecision | cmd.CouncilDecision
    ) -> None:
        self._not_handing_over()
        key = decisions.vote_identity(self._state, step_key, command.actor_id, command.role)
        if self._votes_patched() and key is not None and key in self._receipts:
            return  # answered with the original receipt
        if isinstance(command, cmd.HearingDecision):
            self._check(self._hearing_decide(command))
        else:
            self._check(self._council_decide(command))

    def _hearing_decide(self, command: cmd.HearingDecision) -> Decide:
        if self._votes_patched():
            return using(decisions.hearing_vote, command)
        return using(decisions.hearing_decision_alone, command)

    def _council_decide(self, command: cmd.CouncilDecision) -> Decide:
        if self._votes_patched():
            return using(decisions.council_vote, command)
        return using(decisions.council_decision_alone, command)

    @workflow.update
    async def decide_after_hearing(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.HearingDecision, raw)
        if not self._votes_patched():
            return await self._decide_update(
                attested(self._hearing_decide(command), command.attestation)
            )
        return await self._vote(
            "hearing.decision",
            command.actor_id,
            command.role,
            attested(self._hearing_decide(command), command.attestation),
        )

    @decide_after_hearing.validator
    def _validate_hearing_decision(self, raw: RawValue) -> None:
        command = decoded(cmd.HearingDecision, raw)
        self._attest("decide_after_hearing", command)
        self._check_vote("hearing.decision", command)

    @workflow.update
    async def council_decision(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.CouncilDecision, raw)
        if not self._votes_patched():
            return await self._decide_update(
                attested(self._council_decide(command), command.attestation)
            )
        return await self._vote(
            "adoption.council",
            command.actor_id,
            command.role,
            attested(self._council_decide(command), command.attestation),
        )

    @council_decision.validator
    def _validate_council(self, raw: RawValue) -> None:
        command = decoded(cmd.CouncilDecision, raw)
        self._attest("council_decision", command)
        self._check_vote("adoption.council", command)

    @workflow.update
    async def withdraw_vote(self, raw: RawValue) -> cmd.Receipt:
        command = decoded(cmd.WithdrawVote, raw)
        return await self._decide_update(
            attested(using(decisions.withdraw_vote, command), command.attestation)
        )

    @withdraw_vote.validator
    def _validate_withdraw_vote(self, raw: RawValue) -> None:
        command = decoded(cmd.WithdrawVote, raw)
        self._attest("withdraw_vote", command)
        self._check(using(decisions.withdraw_vote, command))
