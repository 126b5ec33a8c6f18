"""The plan workflow's input, carried state and result."""

from __future__ import annotations

import base64
import zlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from domain.attestation import Attestation
from domain.commands import HearingResponse, Receipt
from domain.plan import PlanDefinition
from domain.plan_state import HearingResponse as HearingResponseState
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
    # The state's hearing responses, packed (see pack_responses): ``state`` then carries
    # none. Ten thousand responses take about 2.4 MB as JSON, more than Temporal takes
    # in one payload; packed, about a third of it.
    packed_responses: str | None = None


PACK_RESPONSES_OVER = 4000
# Beyond this many responses in the state, the next run is not given a closed hearing's
# responses that the API recorded itself (eventstore/hearing_inbox.py; their ids start
# "api-"): packed, 20,000 of them would pass Temporal's 2 MB limit on the continue-as-new
# input, and the plan could never hand over. Nothing in the workflow reads them again:
# the close counted them from the record, the API never sends them through the workflow,
# and the record and the API's reading of it keep every one.
CARRY_ALL_RESPONSES_UP_TO = 8000
PUBLIC_API_RESPONSE = "api-"


def carried_responses(state: PlanState) -> PlanState:
    """The state as the next run is given it: without a closed hearing's API-recorded
    responses once there are more than CARRY_ALL_RESPONSES_UP_TO (deterministic: it
    depends on the state alone). The current open hearing's, and those sent through the
    workflow (whose senders may send them again), are always carried."""
    if len(state.hearing_responses) <= CARRY_ALL_RESPONSES_UP_TO:
        return state
    opened = state.hearing_opened_version

    def still_read(response: HearingResponseState) -> bool:
        if not response.response_id.startswith(PUBLIC_API_RESPONSE):
            return True
        return state.hearing_open and opened is not None and response.version > opened

    kept = tuple(r for r in state.hearing_responses if still_read(r))
    return state.model_copy(update={"hearing_responses": kept})


def pack_responses(state: PlanState) -> tuple[PlanState, str | None]:
    """The state without its hearing responses, and them as base64 of zlib-compressed
    JSON lines (deterministic: the same responses always pack to the same text). Only
    beyond PACK_RESPONSES_OVER responses (about 1 MB as JSON): a usual hearing's state is
    carried as it is, readable in the history as before."""
    if len(state.hearing_responses) <= PACK_RESPONSES_OVER:
        return state, None
    lines = b"\n".join(r.__pydantic_serializer__.to_json(r) for r in state.hearing_responses)
    packed = base64.b64encode(zlib.compress(lines, 9)).decode("ascii")
    return state.model_copy(update={"hearing_responses": ()}), packed


def unpack_responses(state: PlanState, packed: str | None) -> PlanState:
    if packed is None:
        return state
    lines = zlib.decompress(base64.b64decode(packed)).split(b"\n")
    responses = tuple(HearingResponseState.model_validate_json(line) for line in lines)
    return state.model_copy(update={"hearing_responses": responses})


class PlanInput(BaseModel):
    definition: PlanDefinition
    administrator: str = "administrator"
    carried: Carried | None = None
    # Temporal refuses more than 2,000 Updates in one run; the workflow continues as new
    # after this many. An operational knob, lowered in tests to exercise the hand-over.
    max_updates_per_run: int = Field(default=1_000, ge=10, le=1_800)


class PublicResponsesCount(BaseModel):
    """Signal from the API: it has recorded ``count`` public responses to the hearing
    opened at ``hearing_version`` (the workflow reads them when it closes the hearing)."""

    model_config = ConfigDict(frozen=True)

    hearing_version: int = Field(ge=1)
    count: int = Field(ge=0)


class PlanResult(BaseModel):
    plan_id: str
    status: str
    adopted_version: int | None
    adopted_hash: str | None
    events_recorded: int


def workflow_id_for(plan_id: str) -> str:
    return f"temaplan-{plan_id}"
