"""What the routes share: reading plans from the event store, sending Updates to the plan
workflow, access rules and the public rate limit.

Reads fold the plan's stored events (domain.state), the same fold the workflow and the
auditors use, so a page shows exactly what the record says and needs no running worker;
each plan's folded state is cached and brought up to date with the events after it.
Writes go through the workflow's Updates, whose validators decide; the one exception is
a public hearing response, which the API appends itself (eventstore/hearing_inbox.py)
so that a flood of them never queues at the plan's workflow.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, RPCTimeoutOrCancelledError, WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.attest import attest, front_door_key
from api.errors import ApiError, not_allowed, refused, unknown_plan
from api.oidc import OidcClient
from api.tokens import Principal, TokenStore
from client.typed import PlanClient, RevisionClient
from domain.checkpoints import SigningKey
from domain.commands import Receipt
from domain.plan import Participant
from domain.plan_state import PlanState
from domain.roles import Role
from domain.state import evolve
from eventstore import EventStore
from eventstore.hearing_inbox import HearingInbox
from eventstore.rate_limits import RateLimits
from runtime.settings import Settings
from workflows.plan_models import PublicResponsesCount, workflow_id_for

log = structlog.get_logger(__name__)

PLAN_ID_PATTERN = r"^[0-9]{4}-[A-Za-z0-9][A-Za-z0-9._-]{0,59}$"
_PLAN_ID = re.compile(PLAN_ID_PATTERN)
# Refusals that mean "ask again in a moment": a run handing over to the next, a revision
# still loading the plan's record.
RETRYABLE = ("HandingOver", "Starting")
# Updates a plan recognises when they come again (a sign-off by the same person on the
# same step and version gets its original receipt; a hearing closes once): after a
# timeout, only these are safe to send again without looking first.
SAFE_TO_REPEAT = frozenset({"sign_off", "close_hearing"})


class PlanReader:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._states: dict[str, PlanState] = {}

    async def state(self, plan_id: str) -> PlanState:
        if not _PLAN_ID.fullmatch(plan_id):
            raise unknown_plan(plan_id[:80])
        cached = self._states.get(plan_id, PlanState())
        newer = await self._store.read(plan_id, from_version=cached.events_folded + 1)
        state = cached
        for stored in newer:
            state = evolve(state, stored.to_domain())
        if state.events_folded == 0 or state.definition is None:
            raise unknown_plan(plan_id)
        if state.events_folded > self._states.get(plan_id, PlanState()).events_folded:
            self._states[plan_id] = state
        return state

    async def plan_ids(self) -> list[str]:
        return await self._store.stream_ids()

    async def states(self) -> list[PlanState]:
        found = []
        for plan_id in await self.plan_ids():
            try:
                found.append(await self.state(plan_id))
            except ApiError:
                continue  # a stream that is not (yet) a plan
        return found


class PublicRateLimit:
    """At most ``limit`` hearing responses per client address in any minute (a sliding
    window), counted in PostgreSQL (eventstore.rate_limits) so that every API process
    shares the count."""

    def __init__(self, pool: asyncpg.Pool, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = timedelta(seconds=window)
        self._limits = RateLimits(pool)

    async def allow(self, address: str) -> bool:
        return await self._limits.hit(f"hearing/{address[:100]}", self.limit, self.window)


def client_address(
    peer: str | None, forwarded_for: str | None, proxies: tuple[IPv4Network | IPv6Network, ...]
) -> str:
    """The caller's address: the peer's, unless the peer is a trusted proxy. Then the
    X-Forwarded-For hops are read from the right (each proxy appends the address it was
    called from) and the first that is not a trusted proxy is the client; the hops to its
    left are whatever the client wrote and are never believed."""
    address = peer or "unknown"
    if not proxies or not _within(address, proxies):
        return address
    for hop in reversed([h.strip() for h in (forwarded_for or "").split(",")]):
        if not _within(hop, proxies):
            return hop if _is_address(hop) else address
        address = hop
    return address


def _is_address(text: str) -> bool:
    try:
        ip_address(text)
    except ValueError:
        return False
    return True


def _within(text: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in networks)


class ResponseCounts:
    """Tells a plan's workflow how many public responses the API has recorded (signal
    ``public_responses``), in the background and at most once per ``every`` seconds per
    plan: a flood of responses makes a few signals, not one each."""

    def __init__(self, client: Client, every: float = 0.25) -> None:
        self._client = client
        self._every = every
        self._latest: dict[str, PublicResponsesCount] = {}
        self._tellers: dict[str, asyncio.Task[None]] = {}

    def recorded(self, plan_id: str, hearing_version: int, count: int) -> None:
        self._latest[plan_id] = PublicResponsesCount(hearing_version=hearing_version, count=count)
        if plan_id not in self._tellers:
            self._tellers[plan_id] = asyncio.create_task(self._tell(plan_id))

    async def _tell(self, plan_id: str) -> None:
        handle = self._client.get_workflow_handle(workflow_id_for(plan_id))
        sent: PublicResponsesCount | None = None
        try:
            while (latest := self._latest[plan_id]) != sent:
                sent = latest
                try:
                    await PlanClient(handle).public_responses(latest)
                except RPCError as exc:
                    # Only the status's count waits for it; the close reads the record.
                    log.info("response count not told", plan_id=plan_id, error=str(exc))
                await asyncio.sleep(self._every)
        finally:
            # No await since the loop saw nothing new: nothing was missed.
            del self._tellers[plan_id]
            del self._latest[plan_id]


@dataclass
class ApiContext:
    client: Client
    pool: asyncpg.Pool  # tokens and sessions
    audit_pool: asyncpg.Pool  # read-only in PostgreSQL itself, for the auditors' routes
    settings: Settings
    update_timeout: float = 30.0
    tokens: TokenStore = field(init=False)
    plans: PlanReader = field(init=False)
    limiter: PublicRateLimit = field(init=False)
    inbox: HearingInbox = field(init=False)  # public hearing responses, group-committed
    counts: ResponseCounts = field(init=False)
    proxies: tuple[IPv4Network | IPv6Network, ...] = field(init=False)
    oidc: OidcClient | None = field(init=False)  # login with the identity provider, if set
    front_door: SigningKey | None = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenStore(self.pool, self.settings.session_hours)
        self.plans = PlanReader(EventStore(self.pool))
        self.limiter = PublicRateLimit(self.pool, self.settings.public_rate_per_minute)
        self.counts = ResponseCounts(self.client)
        self.inbox = HearingInbox(
            self.pool,
            per_second=self.settings.hearing_responses_per_second or None,
            on_recorded=self.counts.recorded,
        )
        self.proxies = self.settings.proxy_networks()
        self.oidc = OidcClient(self.settings) if self.settings.oidc_issuer else None
        self.front_door = front_door_key(self.settings)

    @property
    def task_queue(self) -> str:
        return self.settings.temporal_task_queue

    async def update(
        self,
        plan_id: str,
        name: str,
        command: Any,
        workflow_id: str | None = None,
        gone: Callable[[], Awaitable[ApiError]] | None = None,
    ) -> Receipt:
        """Send one Update and wait for its receipt. A run handing over to the next asks
        for the same request again; that is safe, so it is retried here (as is a revision
        that is still loading the plan).

        ``workflow_id``: another workflow of the plan (a year's revision) instead of the
        plan workflow; ``gone`` then says why it is not running."""
        handle = self.client.get_workflow_handle(workflow_id or workflow_id_for(plan_id))
        # The person the request is authenticated as, vouched for to the workflow.
        command = attest(command, name, plan_id, self.front_door)
        typed = RevisionClient(handle) if workflow_id else PlanClient(handle)
        deadline = time.monotonic() + self.update_timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                receipt: Receipt = await asyncio.wait_for(
                    typed.update(name, command),
                    timeout=max(remaining, 0.1),
                )
                return receipt
            except WorkflowUpdateFailedError as exc:
                cause = _application_error(exc.cause)
                if cause is not None:
                    if cause.type in RETRYABLE and time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                        continue
                    raise refused(cause.type or "Refused", cause.message) from None
                raise ApiError(409, "Refused", str(exc.cause or exc)) from None
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    if gone is not None:
                        raise await gone() from None
                    # Known to the store but not running any more: adopted, or ended.
                    await self.plans.state(plan_id)
                    raise refused(
                        "GateNotOpen", f"plan '{plan_id}' is no longer running; nothing waits"
                    ) from None
                if exc.status == RPCStatusCode.RESOURCE_EXHAUSTED:
                    # Temporal admits a few Updates per workflow at a time: this plan is
                    # busy. Other plans are not affected, and this one was not touched.
                    raise ApiError(
                        429,
                        "PlanBusy",
                        f"plan '{plan_id}' has too many requests waiting; nothing was "
                        "recorded; send it again in a moment",
                    ) from None
                log.warning("temporal refused an update", plan_id=plan_id, error=str(exc))
                raise ApiError(
                    503, "TemporalUnavailable", f"the workflow service did not take it: {exc}"
                ) from None
            except (TimeoutError, RPCTimeoutOrCancelledError):
                raise ApiError(
                    503,
                    "PlanNotAnswering",
                    "the plan did not answer in time (is a worker running?); "
                    + (
                        "sending the same request again is safe"
                        if name in SAFE_TO_REPEAT
                        else "it may still be recorded: look at the plan before sending it again"
                    ),
                ) from None


def _application_error(error: BaseException | None) -> ApplicationError | None:
    """The ApplicationError that refused an Update: a validator's or a local activity's
    own, or the one a regular activity's failure wraps."""
    while error is not None:
        if isinstance(error, ApplicationError):
            return error
        error = error.__cause__ if not isinstance(error, ActivityError) else error.cause
    return None


# --- access ------------------------------------------------------------------------------
#
# A person belongs to municipalities (the token's, or the identity provider's); a plan of
# another municipality is, to them, a plan that does not exist: 404 as for an unknown id,
# so that nothing says which plans another municipality has. Everything below checks that
# first, so that a person id that happens to be a participant in another municipality's
# plan gives no way into it.


def belongs(principal: Principal, state: PlanState) -> bool:
    assert state.definition is not None
    return principal.belongs_to(state.definition.municipality.number)


def participant(principal: Principal, state: PlanState) -> Participant | None:
    assert state.definition is not None
    if not belongs(principal, state):
        return None
    return state.definition.participant(principal.person_id)


def roles_of(principal: Principal, state: PlanState) -> tuple[Role, ...]:
    person = participant(principal, state)
    return person.roles if person else ()


def may_read(principal: Principal, state: PlanState) -> bool:
    if not belongs(principal, state):
        return False
    return principal.reads_everything or participant(principal, state) is not None


def require_municipality(principal: Principal, state: PlanState) -> None:
    if not belongs(principal, state):
        raise unknown_plan(state.plan_id or "")


def require_reader(principal: Principal, state: PlanState) -> None:
    require_municipality(principal, state)
    if not may_read(principal, state):
        raise not_allowed(
            f"'{principal.person_id}' takes no part in plan '{state.plan_id}' and cannot see it"
        )


def require_actor(principal: Principal, state: PlanState) -> Participant:
    """The person acts in this plan: a participant, and not on an auditor's token."""
    require_municipality(principal, state)
    if not principal.may_change:
        raise not_allowed("auditors read everything and change nothing")
    person = participant(principal, state)
    if person is None:
        raise not_allowed(f"'{principal.person_id}' is not a participant in plan '{state.plan_id}'")
    if set(person.roles) <= {Role.AUDITOR}:
        raise not_allowed(f"'{principal.person_id}' is the plan's auditor and changes nothing")
    return person


def require_auditor(principal: Principal, state: PlanState) -> None:
    require_municipality(principal, state)
    if principal.reads_everything or Role.AUDITOR in roles_of(principal, state):
        return
    raise not_allowed(
        f"'{principal.person_id}' is not an auditor of plan '{state.plan_id}'; the audit "
        "record is for auditors and administrators"
    )
