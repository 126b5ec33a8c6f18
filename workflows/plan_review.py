"""The plan workflow's updates on the content under review: the project leader submits
it, the reference group comments, the bodies sign it off (or ask for changes), and the
draft steps are completed. One group of PlanWorkflow's handlers (see workflows.plan_core).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.attestation import attested
    from activities.models import CompileContentInput
    from activities.plan_activities import PlanActivities
    from domain import commands as cmd
    from domain import review_decisions
    from workflows.deciding import (
        ACTIVITY_TIMEOUT,
        STORE_RETRY,
        Decide,
        authenticated,
        using,
    )
    from workflows.plan_core import Once, PlanCore
    from workflows.plan_steps import original_sign_off_receipt, sign_off_keys


class PlanReview(PlanCore):
    @workflow.update
    async def submit_content(self, command: cmd.SubmitContent) -> cmd.Receipt:
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
            attested(using(review_decisions.submit_content, command), command.attestation)
        )
        return receipts[0]

    @submit_content.validator
    def _validate_submit_content(self, command: cmd.SubmitContent) -> None:
        self._validate_decision(
            "submit_content", using(review_decisions.submit_content, command), command
        )

    @workflow.update
    async def comment(self, command: cmd.AddComment) -> cmd.Receipt:
        return await self._decide_update(using(review_decisions.add_comment, command), command)

    @comment.validator
    def _validate_comment(self, command: cmd.AddComment) -> None:
        self._validate_decision("comment", using(review_decisions.add_comment, command), command)

    def _original_receipt(self, command: cmd.SignOff) -> cmd.Receipt | None:
        """The receipt of this (person, step, version, role) decision, when it was made.
        (Runs from before DECISION_VOTES: of this person's approval in any role.)"""
        return original_sign_off_receipt(
            self._state, self._receipts, command, by_role=self._votes_patched()
        )

    def _decide_sign_off(self, command: cmd.SignOff) -> Decide:
        by_role = self._votes_patched()
        return lambda state, at, ids: authenticated(
            review_decisions.sign_off(state, command, at, ids, one_decision_per_role=by_role),
            command,
        )

    @workflow.update
    async def sign_off(self, command: cmd.SignOff) -> cmd.Receipt:
        decide = self._decide_sign_off(command)
        if self._once_patched():
            return await self._decide_update(decide, command, self._sign_off_once(command))
        original = self._original_receipt(command)
        if original is not None:
            self._updates_in_run += 1
            return original.model_copy(update={"duplicate": True})
        key, older = sign_off_keys(command, review_decisions.signing_role(self._state, command))
        receipt = await self._decide_update(decide, command)
        if self._votes_patched():
            self._receipts[key] = receipt
        elif command.approve:
            self._receipts[older] = receipt
        return receipt

    def _sign_off_once(self, command: cmd.SignOff) -> Once:
        def remember(receipt: cmd.Receipt) -> None:
            key, _ = sign_off_keys(command, review_decisions.signing_role(self._state, command))
            self._receipts[key] = receipt

        return Once(original=lambda: self._original_receipt(command), remember=remember)

    @sign_off.validator
    def _validate_sign_off(self, command: cmd.SignOff) -> None:
        self._attest("sign_off", command)
        self._not_handing_over()
        if self._original_receipt(command) is not None:
            return  # answered with the original receipt
        self._check(self._decide_sign_off(command))

    @workflow.update
    async def complete_draft_step(self, command: cmd.CompleteDraftStep) -> cmd.Receipt:
        return await self._decide_update(
            using(review_decisions.complete_draft_step, command), command
        )

    @complete_draft_step.validator
    def _validate_draft_step(self, command: cmd.CompleteDraftStep) -> None:
        self._validate_decision(
            "complete_draft_step", using(review_decisions.complete_draft_step, command), command
        )
