"""The plan workflow's updates where a body decides by its members' votes: the steering
group after the hearing, the council on adoption, and the project leader's withdrawal of
an item from the vote. One group of PlanWorkflow's handlers (see workflows.plan_core)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import commands as cmd
    from domain import council_decisions, hearing_decisions, vote_decisions
    from domain.roles import Role
    from workflows.deciding import Decide, using
    from workflows.plan_core import Once, PlanCore


class PlanVoting(PlanCore):
    async def _vote(
        self, step_key: str, command: cmd.HearingDecision | cmd.CouncilDecision, decide: Decide
    ) -> cmd.Receipt:
        """A member's vote, once per (person, step, version, role): the same vote sent
        again is answered with its original receipt. Before DECISION_VOTES one member
        decided for the body, and no vote had an identity."""
        if not self._votes_patched():
            return await self._decide_update(decide, command)
        actor_id, role = command.actor_id, command.role
        if self._once_patched():
            return await self._decide_update(
                decide, command, self._vote_once(step_key, actor_id, role)
            )
        key = vote_decisions.vote_identity(self._state, step_key, actor_id, role)
        if key is not None and key in self._receipts:
            self._updates_in_run += 1
            return self._receipts[key].model_copy(update={"duplicate": True})
        receipt = await self._decide_update(decide, command)
        if key is not None:
            self._receipts[key] = receipt
        return receipt

    def _vote_once(self, step_key: str, actor_id: str, role: Role | None) -> Once:
        def identity() -> str | None:
            return vote_decisions.vote_identity(self._state, step_key, actor_id, role)

        def original() -> cmd.Receipt | None:
            key = identity()
            return None if key is None else self._receipts.get(key)

        def remember(receipt: cmd.Receipt) -> None:
            if (key := identity()) is not None:
                self._receipts[key] = receipt

        return Once(original=original, remember=remember)

    def _validate_vote(
        self,
        update: str,
        step_key: str,
        command: cmd.HearingDecision | cmd.CouncilDecision,
        decide: Decide,
    ) -> None:
        self._attest(update, command)
        self._not_handing_over()
        key = vote_decisions.vote_identity(self._state, step_key, command.actor_id, command.role)
        if self._votes_patched() and key is not None and key in self._receipts:
            return  # answered with the original receipt
        self._check(decide)

    def _hearing_decide(self, command: cmd.HearingDecision) -> Decide:
        if self._votes_patched():
            return using(vote_decisions.hearing_vote, command)
        return using(hearing_decisions.hearing_decision_alone, command)

    def _council_decide(self, command: cmd.CouncilDecision) -> Decide:
        if self._votes_patched():
            return using(council_decisions.council_vote, command)
        return using(council_decisions.council_decision_alone, command)

    @workflow.update
    async def decide_after_hearing(self, command: cmd.HearingDecision) -> cmd.Receipt:
        return await self._vote("hearing.decision", command, self._hearing_decide(command))

    @decide_after_hearing.validator
    def _validate_hearing_decision(self, command: cmd.HearingDecision) -> None:
        self._validate_vote(
            "decide_after_hearing", "hearing.decision", command, self._hearing_decide(command)
        )

    @workflow.update
    async def council_decision(self, command: cmd.CouncilDecision) -> cmd.Receipt:
        return await self._vote("adoption.council", command, self._council_decide(command))

    @council_decision.validator
    def _validate_council(self, command: cmd.CouncilDecision) -> None:
        self._validate_vote(
            "council_decision", "adoption.council", command, self._council_decide(command)
        )

    @workflow.update
    async def withdraw_vote(self, command: cmd.WithdrawVote) -> cmd.Receipt:
        return await self._decide_update(using(vote_decisions.withdraw_vote, command), command)

    @withdraw_vote.validator
    def _validate_withdraw_vote(self, command: cmd.WithdrawVote) -> None:
        self._validate_decision(
            "withdraw_vote", using(vote_decisions.withdraw_vote, command), command
        )
