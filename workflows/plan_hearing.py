"""The plan workflow's handlers for the public hearing: responses sent as signals or as
updates (queued, then recorded in batches), the count the API tells of the responses it
recorded itself, the early close and the summary. One group of PlanWorkflow's handlers
(see workflows.plan_core)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.attestation import attested
    from activities.models import EventsAfterInput, ReceiptAtInput, SealHearingInput
    from activities.plan_activities import PlanActivities
    from domain import commands as cmd
    from domain import engine_decisions, hearing_decisions
    from domain.refusals import ENGINE, Refusal
    from workflows.deciding import ACTIVITY_TIMEOUT, STORE_RETRY, refused, using
    from workflows.plan_core import PlanCore
    from workflows.plan_models import PendingResponse, PublicResponsesCount
    from workflows.plan_patches import DIRECT_RESPONSES
    from workflows.plan_steps import responses_decision


RESPONSE_BATCH = 200
# Events read back per events_after call when the hearing closes.
READ_PAGE = 500


class PlanHearing(PlanCore):
    async def _close_hearing(self) -> None:
        # Responses received before the deadline are recorded before the close.
        await self._flush_responses()
        if workflow.patched(DIRECT_RESPONSES):
            await self._read_public_responses()
        closed_by = self._close_requested_by or ENGINE
        reason = self._close_reason if self._close_requested_by else ""
        [closed] = await self._record(
            attested(
                lambda s, at, ids: engine_decisions.close_hearing(s, at, ids, closed_by, reason),
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

            receipts = await self._record(responses_decision(batch))
            for item, receipt in zip(batch, receipts, strict=True):
                self._recorded_responses[item.response_id] = receipt.version
                self._queued_responses.discard(item.response_id)
                if item.response_id in self._awaiting_receipt:
                    self._receipts[f"response/{item.response_id}"] = receipt
            del self._pending[: len(batch)]

    @workflow.signal
    def public_responses(self, told: PublicResponsesCount) -> None:
        """The API's count of the public responses it has recorded (eventstore/
        hearing_inbox.py): only the count, for the status; the responses themselves are
        read from the record when the hearing closes. One that does not decode is logged
        and dropped by the SDK."""
        if told.hearing_version > self._told.hearing_version or (
            told.hearing_version == self._told.hearing_version and told.count > self._told.count
        ):
            self._told = told

    @workflow.signal
    def hearing_response(self, response: cmd.HearingResponse) -> None:
        """Fire-and-forget from the public. A late or duplicate response cannot be refused
        to a signal's sender, so it is logged and left out of the record; one that does
        not decode is logged and dropped by the SDK."""
        response_id = response.response_id or str(workflow.uuid4())
        if self._response_known(response_id):
            return
        try:
            hearing_decisions.check_hearing_open(self._state, workflow.now())
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
    async def respond_to_hearing(self, response: cmd.HearingResponse) -> cmd.Receipt:
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
    def _validate_response(self, response: cmd.HearingResponse) -> None:
        self._not_handing_over()
        if response.response_id and self._response_known(response.response_id):
            return  # a retry: answered with the original receipt
        self._check(
            lambda s, at, ids: hearing_decisions.hearing_response(
                s, response, at, ids, response.response_id or "new"
            )
        )

    def _response_known(self, response_id: str) -> bool:
        return response_id in self._recorded_responses or response_id in self._queued_responses

    @workflow.update
    async def close_hearing(self, command: cmd.CloseHearing) -> cmd.Receipt:
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
    def _validate_close_hearing(self, command: cmd.CloseHearing) -> None:
        self._attest("close_hearing", command)
        self._not_handing_over()
        try:
            hearing_decisions.request_hearing_close(self._state, command, workflow.now())
        except Refusal as refusal:
            raise refused(refusal) from None

    @workflow.update
    async def submit_hearing_summary(self, command: cmd.HearingSummary) -> cmd.Receipt:
        return await self._decide_update(using(hearing_decisions.hearing_summary, command), command)

    @submit_hearing_summary.validator
    def _validate_summary(self, command: cmd.HearingSummary) -> None:
        self._validate_decision(
            "submit_hearing_summary", using(hearing_decisions.hearing_summary, command), command
        )
