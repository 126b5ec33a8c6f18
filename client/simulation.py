"""Simulated participants who carry a plan from goals to adoption through the real
workflow: the demo, the tests and the benchmark drive plans with this."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from catalogue import Language, phase_name, role_name, step_title, t
from client.typed import PlanClient
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.hierarchy import PlanContent
from domain.phases import Phase, StepKind
from domain.plan import PlanDefinition
from domain.roles import Role

Progress = Callable[[str], None]
FastForward = Callable[[timedelta], Awaitable[None]]


def content_for(phase: Phase, proposals: PlanContent) -> PlanContent:
    """What the project leader submits in each phase: the hierarchy grows level by level."""
    if phase is Phase.GOALS:
        return PlanContent(goals=proposals.goals)
    if phase is Phase.STRATEGIES:
        return PlanContent(goals=proposals.goals, strategies=proposals.strategies)
    if phase is Phase.MEASURES:
        return proposals.model_copy(update={"analysis": ""})
    return proposals


async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 30.0) -> None:
    """Wait until the workflow has nothing in flight: no activity, no workflow task.

    A decision that lands while the engine is still announcing a step (the notify
    activity) is waited past, and a plan whose next step is the engine's own stalls
    (tests/integration/test_plan_resilience.py::
    test_a_decision_made_while_the_step_is_announced_is_not_waited_past). Acting only on
    a settled plan avoids that race; timing only a settled plan keeps a hand-over out of
    what is measured.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.pending_activities and not raw.HasField("pending_workflow_task"):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"workflow {handle.id} did not settle")
        await asyncio.sleep(0.01)


@dataclass
class PlanDriver:
    handle: WorkflowHandle[Any, Any]
    definition: PlanDefinition
    progress: Progress = lambda _line: None
    receipts: list[cmd.Receipt] = field(default_factory=list)
    # What the progress lines say: the record's own names in English, words in bokmål.
    lang: Language = "en"

    def _say(self, key: str, **values: object) -> None:
        self.progress(t(f"cli.demo_{key}", self.lang, **values))

    def _phase(self, phase: Phase | None) -> str:
        return phase_name(phase.value, self.lang) if self.lang != "en" and phase else f"{phase}"

    def _step(self, step: str | None) -> str:
        return step_title(step, self.lang) if self.lang != "en" else f"{step}"

    def _role(self, role: Role) -> str:
        return role_name(role.value, self.lang) if self.lang != "en" else role.value

    @property
    def proposals(self) -> PlanContent:
        if self.definition.proposals is None:
            raise ValueError("the plan file has no proposals to submit")
        return self.definition.proposals

    def person(self, role: Role, skip: set[str] | None = None) -> str:
        for p in self.definition.members(role):
            if not skip or p.id not in skip:
                return p.id
        raise LookupError(f"nobody left with role {role.value}")

    async def status(self) -> PlanStatus:
        return await self.plan.status()

    async def wait_for(
        self, predicate: Callable[[PlanStatus], bool], timeout: float = 30.0
    ) -> PlanStatus:
        """Poll the status query until the workflow has moved on."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status()
            if predicate(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"plan did not move on; it waits at {status.step_key}")
            await asyncio.sleep(0.02)

    @property
    def plan(self) -> PlanClient:
        return PlanClient(self.handle)

    async def update(self, name: str, command: BaseModel) -> cmd.Receipt:
        while True:
            try:
                receipt = await self.plan.update(name, command)
                break
            except WorkflowUpdateFailedError as exc:
                # The plan is moving to a new run: the same request, sent again, is safe.
                cause = exc.cause
                if not (isinstance(cause, ApplicationError) and cause.type == "HandingOver"):
                    raise
                await asyncio.sleep(0.05)
        self.receipts.append(receipt)
        return receipt

    async def vote(
        self, name: str, make: Callable[[str, Role], BaseModel], count: int | None = None
    ) -> list[cmd.Receipt]:
        """Votes at the current decision step from as many members as the body's quorum
        still needs (or ``count`` of them), each made by ``make(person, body)``."""
        return await self._votes(await self.status(), name, make, count)

    async def _votes(
        self,
        status: PlanStatus,
        name: str,
        make: Callable[[str, Role], BaseModel],
        count: int | None = None,
    ) -> list[cmd.Receipt]:
        """The votes ``vote`` sends, at the step ``status`` shows."""
        receipts = []
        for waiting in status.awaited:
            wanted = waiting.needed - waiting.given if count is None else count
            for person in waiting.people[:wanted]:
                receipts.append(await self.update(name, make(person, waiting.role)))
        return receipts

    async def act_once(  # noqa: PLR0912 - one branch per kind of step
        self, status: PlanStatus, hearing: Callable[[PlanStatus], Awaitable[None]]
    ) -> None:
        """Do what the current step waits for, as the right people."""
        kind, step = status.step_kind, status.step_key
        leader = self.person(Role.PROJECT_LEADER)
        # The step shows a moment before the engine opens the round or the hearing;
        # people can only act once it is open (the next status change).
        if kind is StepKind.COMMENT_ROUND and status.comment_round_deadline is None:
            return
        if kind is StepKind.HEARING and not status.hearing_open:
            return
        if kind is StepKind.SUBMIT:
            assert status.phase is not None
            content = content_for(status.phase, self.proposals)
            r = await self.update(
                "submit_content",
                cmd.SubmitContent(actor_id=leader, phase=status.phase, content=content),
            )
            self._say(
                "submitted",
                phase=self._phase(status.phase),
                leader=leader,
                version=r.version,
                hash=r.hash[:12],
            )
        elif kind is StepKind.COMMENT_ROUND:
            for person in status.awaited[0].people:
                await self.update(
                    "comment",
                    cmd.AddComment(
                        actor_id=person,
                        content_version=status.content_version or 0,
                        text="Referansegruppen støtter forslaget, men ber om mer vekt på bostedsløse.",
                    ),
                )
            self._say("commented", phase=self._phase(status.phase))
        elif kind in (StepKind.SIGN_OFF, StepKind.ANCHORING):
            for waiting in status.awaited:
                for person in waiting.people[: waiting.needed - waiting.given]:
                    await self.update(
                        "sign_off",
                        cmd.SignOff(
                            actor_id=person,
                            step_key=step or "",
                            content_version=status.content_version or 0,
                            content_hash=status.content_hash or "",
                            role=waiting.role,
                            anchoring_form="orientering i formannskapet"
                            if kind is StepKind.ANCHORING
                            else None,
                        ),
                    )
                self._say(
                    "signed",
                    step=self._step(step),
                    role=self._role(waiting.role),
                    needed=waiting.needed,
                )
        elif kind is StepKind.DRAFT_STEP:
            role = status.awaited[0].role
            await self.update(
                "complete_draft_step",
                cmd.CompleteDraftStep(
                    actor_id=status.awaited[0].people[0],
                    step_key=step or "",
                    content_version=status.content_version or 0,
                    note="utført",
                ),
            )
            self._say("completed", step=self._step(step), role=self._role(role))
        elif kind is StepKind.HEARING:
            await hearing(status)
        elif kind is StepKind.SUMMARY:
            await self.update(
                "submit_hearing_summary",
                cmd.HearingSummary(
                    actor_id=leader,
                    summary=f"{status.hearing_responses} uttalelser; innspill om bostedsløse er tatt inn i tiltak.",
                ),
            )
            self._say("summarised")
        elif kind is StepKind.DECISION and step == "hearing.decision":
            receipts = await self._votes(
                status,
                "decide_after_hearing",
                lambda person, role: cmd.HearingDecision(
                    actor_id=person, outcome="to_council", role=role
                ),
            )
            self._say("to_council", votes=len(receipts))
        elif kind is StepKind.DECISION and step == "adoption.council":
            receipts = await self._votes(
                status,
                "council_decision",
                lambda person, role: cmd.CouncilDecision(
                    actor_id=person,
                    outcome="adopted",
                    content_version=status.content_version or 0,
                    content_hash=status.content_hash or "",
                    role=role,
                ),
            )
            self._say("adopted", votes=len(receipts))

    async def run_until(
        self,
        stop: Callable[[PlanStatus], bool],
        hearing: Callable[[PlanStatus], Awaitable[None]],
    ) -> PlanStatus:
        """Act as each step's people until ``stop`` holds (or the plan leaves 'active')."""
        status = await self.wait_for(
            lambda s: s.status != "not_started" and (s.step_key is not None or s.status != "active")
        )
        while status.status == "active" and not stop(status):
            marker = (status.step_key, status.events_recorded)
            await self.act_once(status, hearing)
            status = await self.wait_for(
                lambda s, marker=marker: (
                    (s.step_key, s.events_recorded) != marker  # type: ignore[misc]
                    and (s.step_key is not None or s.status != "active")
                )
            )
        return status

    async def run_to_adoption(self, hearing: Callable[[PlanStatus], Awaitable[None]]) -> PlanStatus:
        final = await self.run_until(lambda _s: False, hearing)
        if final.status == "adopted":
            # After adoption the workflow still creates the revision schedule and records
            # it: the plan's record is complete only when the run has finished.
            await self.handle.result()
        return final


async def send_hearing_responses(driver: PlanDriver, count: int, with_receipt: int = 0) -> None:
    for n in range(count):
        response = cmd.HearingResponse(
            name=f"Innbygger {n + 1}",
            organisation="Leieboerforeningen" if n % 3 == 0 else None,
            text=f"Uttalelse {n + 1}: flere utleieboliger nær sentrum.",
            response_id=f"resp-{n + 1}",
        )
        if n < with_receipt:
            await driver.update("respond_to_hearing", response)
        else:
            await driver.plan.hearing_response(response)
