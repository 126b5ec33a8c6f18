"""One plan's revision (rullering) for one year: the reminder, the reporting round, the
scorecard, and the steering group's approval of next year's changes.

Like the plan workflow, its state is the fold of the plan's events (loaded from the store
when it starts, then its own), and every change goes decide -> append -> fold. After
adoption a plan's stream has more than one writer, so this workflow appends after the
current head with event ids derived from its own identity (plan, year, sequence): a retry
finds its events wherever they landed and never writes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.attestation import attested, check, policy_for
    from activities.models import (
        LoadPlanInput,
        RenderScorecardInput,
    )
    from activities.plan_activities import PlanActivities
    from domain import commands as cmd
    from domain import revision_changes, revision_reports
    from domain import revision_commands as rc
    from domain import revision_decisions as rd
    from domain.hierarchy import PlanContent
    from domain.ids import event_id
    from domain.plan_state import PlanState, RevisionRound
    from domain.refusals import NewId
    from domain.state import evolve
    from workflows.deciding import (
        ACTIVITY_TIMEOUT,
        STORE_RETRY,
        Decide,
        adopted,
        append_at_end,
        authenticated,
        decided,
        using,
    )
    from workflows.notify import notify_people
    from workflows.revision_models import RevisionInput, RevisionResult, RevisionStatus


# Patch id: the reporting round's deadline counts from the reminder's scheduled time.
DEADLINE_FROM_SCHEDULED = "reporting-deadline-from-scheduled-time"


@workflow.defn(name="RevisionWorkflow")
class RevisionWorkflow:
    @workflow.init
    def __init__(self, revision: RevisionInput) -> None:
        self._plan_id = revision.plan_id
        self._year = revision.year
        self._state = PlanState()
        self._loaded = False
        self._sequence = 0
        self._lock = asyncio.Lock()
        self._close_requested = False
        self._events_seen = 0

    @workflow.run
    async def run(self, revision: RevisionInput) -> RevisionResult:
        loaded = await workflow.execute_activity_method(
            PlanActivities.load_plan,
            LoadPlanInput(plan_id=self._plan_id),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )
        self._state = loaded.state
        self._loaded = True
        # Histories recorded before DEADLINE_FROM_SCHEDULED counted from the opening.
        deadline_from = revision.scheduled_at if workflow.patched(DEADLINE_FROM_SCHEDULED) else None
        await self._record(
            lambda state, at, ids: rd.open_revision(
                state,
                year=self._year,
                workflow_id=workflow.info().workflow_id,
                scheduled_at=revision.scheduled_at,
                at=at,
                new_id=ids,
                deadline_from=deadline_from,
            )
        )
        await self._notify_round_opened()

        deadline = self._round().deadline
        assert deadline is not None
        remaining = (deadline - workflow.now()).total_seconds()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: not self._round().round_open, timeout=remaining
                )
        if self._round().round_open:
            await self._record(lambda s, at, ids: rd.close_reporting_round(s, self._year, at, ids))
            await self._notify_unreported()

        await self._record(lambda s, at, ids: rd.record_scorecard(s, self._year, at, ids))
        scorecard = self._round().scorecard
        assert scorecard is not None
        assert self._state.definition is not None
        await workflow.execute_activity_method(
            PlanActivities.render_scorecard,
            RenderScorecardInput(definition=self._state.definition, scorecard=scorecard),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

        # Next year's changes: proposed by the project leader within the window, then
        # approved by the steering group (a proposal under review is waited for).
        window_ends = workflow.now() + timedelta(days=self._state.definition.settings.proposal_days)
        while self._round().outcome is None:
            pending = self._round().pending_proposal() is not None
            remaining = (window_ends - workflow.now()).total_seconds()
            if not pending and remaining <= 0:
                await self._record(
                    lambda s, at, ids: revision_changes.conclude_revision(
                        s, None, self._year, at, ids
                    )
                )
                break
            seen = self._events_seen
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda seen=seen: self._events_seen != seen,  # type: ignore[misc]
                    timeout=None if pending else remaining,
                )
        await workflow.wait_condition(workflow.all_handlers_finished)
        final = self._round()
        assert final.outcome is not None
        assert self._state.in_force_version is not None
        return RevisionResult(
            plan_id=self._plan_id,
            year=self._year,
            outcome=final.outcome,
            content_version=self._state.in_force_version,
            scorecard=final.scorecard,
        )

    # --- recording ----------------------------------------------------------------------

    def _round(self) -> RevisionRound:
        found = self._state.revision(self._year)
        assert found is not None
        return found

    def _ids(self) -> NewId:
        counter = iter(range(self._sequence + 1, 1_000_000))

        def new_id() -> UUID:
            return event_id(self._plan_id, "revision", self._year, next(counter))

        return new_id

    async def _record(self, decide: Decide) -> list[cmd.Receipt]:
        async with self._lock:
            events = decided(decide, self._state, self._ids())
            if not events:
                return []
            result = await append_at_end(self._plan_id, events)
            for event, receipt in zip(adopted(events, result), result.receipts, strict=True):
                # Fold at the version the store gave it: receipts and reports agree.
                self._state = evolve(
                    self._state.model_copy(update={"events_folded": receipt.version - 1}),
                    event,
                )
            self._sequence += len(events)
            self._events_seen += 1
            return result.receipts

    def _validate(self, update: str, decide: Decide, command: rc.YearCommand) -> None:
        """An update's validator: the front door's signature on who sent it, as for the
        plan's decisions (activities/attestation.py), then the decision on the current
        state. Validators never run on replay, so a revision recorded before its updates
        were attested replays as it was; the handlers only copy the attestation that came
        with the update onto its events."""
        check(policy_for(workflow.info().task_queue), update, self._plan_id, command)
        if command.year != self._year:
            raise ApplicationError(
                f"this is the revision for {self._year}, not {command.year}",
                type="GateNotOpen",
                non_retryable=True,
            )
        if not self._loaded:
            raise ApplicationError(
                "the revision is starting; send the same request again", type="Starting"
            )
        decided(decide, self._state, self._ids())

    # --- notifications ------------------------------------------------------------------

    async def _notify(
        self, key: str, people: tuple[str, ...], notice: str, values: dict[str, str]
    ) -> None:
        definition = self._state.definition
        assert definition is not None
        await notify_people(
            definition,
            people,
            dedupe_prefix=f"{self._plan_id}/revision/{self._year}/{key}",
            notice=notice,
            values=values,
            timeout=ACTIVITY_TIMEOUT,
            retry_policy=STORE_RETRY,
        )

    async def _notify_round_opened(self) -> None:
        definition = self._state.definition
        assert definition is not None
        opened = self._round()
        deadline = opened.deadline.isoformat() if opened.deadline else ""
        recipients = rd.revision_recipients(definition, self._in_force())
        await self._notify(
            "opened",
            recipients,
            "round_opened",
            {"title": definition.title, "year": str(self._year), "deadline": deadline},
        )

    async def _notify_unreported(self) -> None:
        definition = self._state.definition
        assert definition is not None
        unreported = self._round().unreported
        if not unreported:
            return
        await self._notify(
            "unreported",
            rd.reporters_of(definition, self._in_force(), unreported),
            "unreported",
            {"title": definition.title, "year": str(self._year), "measures": ", ".join(unreported)},
        )

    def _in_force(self) -> PlanContent:
        return rd.round_content(self._state, self._round())

    # --- queries and updates -------------------------------------------------------------

    @workflow.query
    def status(self) -> RevisionStatus:
        revision = self._state.revision(self._year)
        definition = self._state.definition
        if revision is None or definition is None:
            return RevisionStatus(
                plan_id=self._plan_id,
                year=self._year,
                round_open=False,
                deadline=None,
                reported=[],
                awaited={},
                scorecard=None,
                pending_proposal_version=None,
                pending_proposal_hash=None,
                outcome=None,
            )
        reported = revision.latest_reports()
        awaited = {
            m.id: [p.id for p in rd.reporters_for(definition, m)]
            for m in self._in_force().measures
            if m.id in revision.measure_ids and m.id not in reported and revision.round_open
        }
        pending = revision.pending_proposal()
        return RevisionStatus(
            plan_id=self._plan_id,
            year=self._year,
            round_open=revision.round_open,
            deadline=revision.deadline,
            reported=sorted(reported),
            awaited=awaited,
            scorecard=revision.scorecard,
            pending_proposal_version=pending.content_version if pending else None,
            pending_proposal_hash=pending.content_hash if pending else None,
            outcome=revision.outcome,
        )

    @workflow.query
    def state(self) -> PlanState:
        return self._state

    async def _decide(self, decide: Decide, command: rc.YearCommand) -> cmd.Receipt:
        """An update's handler: the decision recorded with the attestation it was sent with."""
        receipts = await self._record(attested(decide, command.attestation))
        return receipts[0]

    @workflow.update
    async def report_measure(self, command: rc.ReportMeasure) -> cmd.Receipt:
        return await self._decide(using(revision_reports.report_measure, command), command)

    @report_measure.validator
    def _validate_report(self, command: rc.ReportMeasure) -> None:
        self._validate("report_measure", using(revision_reports.report_measure, command), command)

    @workflow.update
    async def report_goal_indicator(self, command: rc.ReportGoalIndicator) -> cmd.Receipt:
        return await self._decide(using(revision_reports.report_goal_indicator, command), command)

    @report_goal_indicator.validator
    def _validate_goal_indicator(self, command: rc.ReportGoalIndicator) -> None:
        self._validate(
            "report_goal_indicator", using(revision_reports.report_goal_indicator, command), command
        )

    @workflow.update
    async def close_round(self, command: rc.CloseReportingRound) -> cmd.Receipt:
        return await self._decide(using(revision_reports.close_round_early, command), command)

    @close_round.validator
    def _validate_close_round(self, command: rc.CloseReportingRound) -> None:
        self._validate("close_round", using(revision_reports.close_round_early, command), command)

    @workflow.update
    async def propose_changes(self, command: rc.ProposeChanges) -> cmd.Receipt:
        return await self._decide(using(revision_changes.propose_changes, command), command)

    @propose_changes.validator
    def _validate_proposal(self, command: rc.ProposeChanges) -> None:
        self._validate("propose_changes", using(revision_changes.propose_changes, command), command)

    @workflow.update
    async def review_changes(self, command: rc.ReviewChanges) -> cmd.Receipt:
        return await self._decide(using(revision_changes.review_changes, command), command)

    @review_changes.validator
    def _validate_review(self, command: rc.ReviewChanges) -> None:
        self._validate("review_changes", using(revision_changes.review_changes, command), command)

    @workflow.update
    async def conclude(self, command: rc.ConcludeRevision) -> cmd.Receipt:
        return await self._decide(self._concluding(command), command)

    @conclude.validator
    def _validate_conclude(self, command: rc.ConcludeRevision) -> None:
        self._validate("conclude", self._concluding(command), command)

    def _concluding(self, command: rc.ConcludeRevision) -> Decide:
        return lambda s, at, ids: authenticated(
            revision_changes.conclude_revision(s, command.actor_id, command.year, at, ids), command
        )
