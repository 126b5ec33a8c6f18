"""The plan workflow's input, carried state and result."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.attestation import Attestation
from domain.commands import HearingResponse, Receipt
from domain.plan import PlanDefinition
from domain.plan_state import PlanState


class PendingResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    response_id: str
    received_at: datetime
    response: HearingResponse


class Carried(BaseModel):
    """What a continued-as-new run needs to go on exactly where the last one stopped."""

    state: PlanState
    stream_version: int
    receipts: dict[str, Receipt] = Field(default_factory=dict)
    pending_responses: list[PendingResponse] = Field(default_factory=list)
    close_requested_by: str | None = None
    close_reason: str = ""
    close_attestation: Attestation | None = None
    rendered_versions: list[int] = Field(default_factory=list)
    announced: list[str] = Field(default_factory=list)


class PlanInput(BaseModel):
    definition: PlanDefinition
    administrator: str = "administrator"
    carried: Carried | None = None
    # Temporal refuses more than 2,000 Updates in one run; the workflow continues as new
    # after this many. An operational knob, lowered in tests to exercise the hand-over.
    max_updates_per_run: int = Field(default=1_000, ge=10, le=1_800)


class PlanResult(BaseModel):
    plan_id: str
    status: str
    adopted_version: int | None
    adopted_hash: str | None
    events_recorded: int


def workflow_id_for(plan_id: str) -> str:
    return f"temaplan-{plan_id}"
