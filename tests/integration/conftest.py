"""Fixtures for workflow tests: a worker on the real dev server with a fresh database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.service import ApiContext
from api.tokens import Kind
from api.web import SESSION_COOKIE, csrf_token
from client.plans import start_plan
from client.schedules import act_on_schedule
from client.simulation import PlanDriver, content_for, send_hearing_responses
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.ids import revision_year
from domain.phases import Phase
from domain.plan import PlanDefinition
from domain.plan_type import PlanType
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from domain.roles import Role
from eventstore import EventStore
from eventstore.pool import create_pool
from runtime.payload_converter import data_converter
from runtime.settings import Settings
from tests.integration.browser import CHROMIUM, chromium_available, serving
from workflows.plan_models import PlanInput, workflow_id_for
from workflows.plan_workflow import PlanWorkflow
from workflows.registry import build_worker


@pytest.fixture
async def task_queue(temporal_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[str]:
    queue = f"plans-{uuid.uuid4()}"
    async with build_worker(temporal_env.client, pool, queue):
        yield queue


@pytest.fixture
def shots(artifacts_dir: Path) -> Path:
    """Where a browser test keeps its screenshots; without Chromium the test skips."""
    if not chromium_available():
        pytest.skip(f"{CHROMIUM} is not installed (CI installs Debian's chromium)")
    web = artifacts_dir / "web"
    web.mkdir(parents=True, exist_ok=True)
    return web


EARLY_CLOSE = "Alle høringsinstanser har svart; høringen lukkes før fristen."


def closable_early(definition: PlanDefinition) -> PlanDefinition:
    """The same plan as a temaplan, whose hearing the project leader may close early with
    a reason (a kommunedelplan's hearing runs its legal six weeks first)."""
    return definition.model_copy(update={"plan_type": PlanType.TEMAPLAN})


async def close_early(driver: PlanDriver) -> cmd.Receipt:
    """The project leader closes the hearing before its deadline, with the reason."""
    leader = driver.person(Role.PROJECT_LEADER)
    return await driver.update(
        "close_hearing", cmd.CloseHearing(actor_id=leader, reason=EARLY_CLOSE)
    )


def closing_early(driver: PlanDriver) -> Callable[[PlanStatus], Awaitable[None]]:
    """What to do on the hearing of a plan made closable_early: close it at once."""

    async def hearing(_status: PlanStatus) -> None:
        await close_early(driver)

    return hearing


def unique(definition: PlanDefinition) -> PlanDefinition:
    """Same plan, a slug of its own: workflow ids never collide between tests."""
    return definition.model_copy(update={"slug": f"t{uuid.uuid4().hex[:10]}"})


async def started(env: WorkflowEnvironment, queue: str, definition: PlanDefinition) -> PlanDriver:
    """The plan started on the time-skipping server with skipping off while it starts: its
    driver."""
    with env.with_time_skipping_disabled():
        handle = await start_plan(env.client, definition, queue)
    return PlanDriver(handle, definition)


async def started_in_short_runs(
    env: WorkflowEnvironment, queue: str, definition: PlanDefinition, updates_per_run: int = 10
) -> PlanDriver:
    """The plan started as ``started`` does, but handing over to a new run (continue-as-new)
    after every ``updates_per_run`` updates, so that a test sees many hand-overs."""
    with env.with_time_skipping_disabled():
        handle = await env.client.start_workflow(
            PlanWorkflow.run,
            PlanInput(definition=definition, max_updates_per_run=updates_per_run),
            id=workflow_id_for(definition.plan_id),
            task_queue=queue,
        )
    return PlanDriver(handle, definition)


@dataclass(kw_only=True)
class WatchedDriver(PlanDriver):
    """A plan's driver that shows ``watch`` each status before it acts on it."""

    watch: Callable[[PlanStatus], Awaitable[None]]

    async def act_once(
        self, status: PlanStatus, hearing: Callable[[PlanStatus], Awaitable[None]]
    ) -> None:
        await self.watch(status)
        await super().act_once(status, hearing)


def watched(driver: PlanDriver, watch: Callable[[PlanStatus], Awaitable[None]]) -> WatchedDriver:
    """``driver``'s plan, driven the same way, with ``watch`` shown each status first."""
    return WatchedDriver(**vars(driver), watch=watch)


def passing_hearing(
    env: WorkflowEnvironment, driver: PlanDriver
) -> Callable[[PlanStatus], Awaitable[None]]:
    """What to do on each hearing: let its legal six weeks pass, with no responses."""

    async def hearing(_status: PlanStatus) -> None:
        await env.fast_forward(driver.handle, timedelta(weeks=6, minutes=5))

    return hearing


async def driven(
    client: Client,
    task_queue: str,
    definition: PlanDefinition,
    stop: Callable[[PlanStatus], bool],
) -> PlanDriver:
    """The plan started and driven until ``stop`` holds, never past its hearing."""
    handle = await start_plan(client, definition, task_queue)
    driver = PlanDriver(handle, definition)

    async def no_hearing(_status: PlanStatus) -> None:
        raise AssertionError("not driven past the hearing here")

    await driver.run_until(stop, no_hearing)
    return driver


def at_quality_assurance(status: PlanStatus) -> bool:
    """The steering group's sign-off of the strategies waits."""
    return status.step_key == "strategies.quality_assurance"


def on_hearing(status: PlanStatus) -> bool:
    """The draft is on public hearing."""
    return status.phase is Phase.HEARING and status.hearing_open


@dataclass(frozen=True)
class Bench:
    """What every test with servers works with: the worker's task queue, the store, and
    Bodø's plan."""

    task_queue: str
    pool: asyncpg.Pool
    bodo: PlanDefinition

    @property
    def store(self) -> EventStore:
        return EventStore(self.pool)

    def plan(self) -> PlanDefinition:
        """Bodø's plan with a slug of its own."""
        return unique(self.bodo)


@dataclass(frozen=True)
class Engine(Bench):
    """A workflow test's bench, with the time-skipping Temporal environment."""

    env: WorkflowEnvironment

    async def started(self, definition: PlanDefinition) -> PlanDriver:
        return await started(self.env, self.task_queue, definition)


@pytest.fixture
def engine(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> Engine:
    return Engine(task_queue=task_queue, pool=pool, bodo=bodo, env=temporal_env)


# --- a plan run to adoption, for its audit -----------------------------------------------


CHECKPOINTS = (
    "goals.quality_assurance",
    "strategies.anchoring",
    "draft.step6",
    "hearing.summary",
    "adoption.council",
)


async def adopted_plan(
    env: WorkflowEnvironment, queue: str, definition: PlanDefinition
) -> tuple[PlanDriver, dict[str, PlanStatus]]:
    """Run the plan to adoption; capture the status query at each checkpoint."""
    driver = await started(env, queue, definition)
    handle = driver.handle
    captured: dict[str, PlanStatus] = {}

    async def hearing(_status: PlanStatus) -> None:
        await send_hearing_responses(driver, 3, with_receipt=1)
        await driver.wait_for(lambda s: s.hearing_responses == 3)
        await env.fast_forward(handle, timedelta(weeks=6, minutes=5))

    async def capture(status: PlanStatus) -> None:
        if status.step_key in CHECKPOINTS and status.step_key not in captured:
            captured[status.step_key] = status

    driver = watched(driver, capture)
    final = await driver.run_to_adoption(hearing)
    assert final.status == "adopted"
    captured["adopted"] = final
    return driver, captured


class Audited(NamedTuple):
    """A fresh copy of Bodø's plan run to adoption, and what an audit reads it with."""

    plan: str
    store: EventStore
    client: Client


@pytest.fixture
async def audited(
    temporal_env: WorkflowEnvironment, pool: asyncpg.Pool, task_queue: str, bodo: PlanDefinition
) -> Audited:
    definition = unique(bodo)
    await adopted_plan(temporal_env, task_queue, definition)
    return Audited(definition.plan_id, EventStore(pool), temporal_env.client)


# --- the HTTP API ------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def plain_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the same dev server without automatic time skipping: plans started
    through the API wait at their gates in real time, as in production."""
    return await Client.connect(
        temporal_env.client.service_client.config.target_host,
        namespace=temporal_env.client.namespace,
        data_converter=data_converter,
    )


@pytest.fixture
async def api_ctx(
    plain_client: Client, pool: asyncpg.Pool, database_url: str, task_queue: str
) -> AsyncIterator[ApiContext]:
    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    settings = Settings(TEMPORAL_TASK_QUEUE=task_queue, TEMAPLAN_PUBLIC_RATE_PER_MINUTE=5)
    try:
        yield ApiContext(client=plain_client, pool=pool, audit_pool=audit_pool, settings=settings)
    finally:
        await audit_pool.close()


@pytest.fixture
async def api(api_ctx: ApiContext) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(api_ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def bearer(ctx: ApiContext, person: str, kind: Kind = "person") -> dict[str, str]:
    issued = await ctx.tokens.issue(person, kind)
    return {"Authorization": f"Bearer {issued.token}"}


def goals_submission(plan: PlanDefinition) -> dict[str, Any]:
    """The API's body that submits the goals ``plan`` proposes."""
    assert plan.proposals is not None
    return {
        "phase": "goals",
        "content": content_for(Phase.GOALS, plan.proposals).model_dump(mode="json"),
    }


async def refused(handle: WorkflowHandle[Any, Any], name: str, command: Any) -> ApplicationError:
    """The workflow's refusal of the update ``name``: the error it failed with."""
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(name, command, result_type=cmd.Receipt)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


def api_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The API's refusal: its status, its code, a message; the error's body."""
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert body["message"]
    return dict(body)


async def session_of(ctx: ApiContext, person: str) -> str:
    """A signed-in session on the web page, as after logging in with a token."""
    principal = await ctx.tokens.authenticate((await ctx.tokens.issue(person)).token)
    assert principal is not None
    return await ctx.tokens.open_session(principal)


async def web_session(ctx: ApiContext, person: str) -> tuple[dict[str, str], str]:
    """``person``'s session on the web page: its cookie header and its forms' CSRF field."""
    key = await session_of(ctx, person)
    return {"Cookie": f"{SESSION_COOKIE}={key}"}, csrf_token(key)


# --- the web page in a browser -----------------------------------------------------------


@pytest.fixture
async def site(api_ctx: ApiContext) -> AsyncIterator[str]:
    """The app served on a port of this machine: its base URL."""
    async with serving(api_ctx) as url:
        yield url


@dataclass(frozen=True)
class Servers(Bench):
    """An API test's bench, with the API's context and the client without time skipping
    that plans are started through."""

    ctx: ApiContext
    client: Client

    async def token(self, person: str, kind: Kind = "person") -> str:
        """An access token (tilgangsnøkkel) for ``person`` to log in with."""
        return (await self.ctx.tokens.issue(person, kind)).token

    async def driven(
        self, definition: PlanDefinition, stop: Callable[[PlanStatus], bool]
    ) -> PlanDriver:
        return await driven(self.client, self.task_queue, definition, stop)

    async def with_open_round(self, definition: PlanDefinition) -> int:
        """The plan adopted and its yearly reporting round open: the year."""
        return await adopted_with_open_round(self.ctx, self.client, self.task_queue, definition)

    async def plan_with_open_round(self) -> tuple[PlanDefinition, int]:
        """A fresh plan, adopted, with its yearly reporting round open: the plan and the
        year."""
        definition = self.plan()
        return definition, await self.with_open_round(definition)


@pytest.fixture
def servers(
    api_ctx: ApiContext,
    plain_client: Client,
    task_queue: str,
    pool: asyncpg.Pool,
    bodo: PlanDefinition,
) -> Servers:
    return Servers(task_queue=task_queue, pool=pool, bodo=bodo, ctx=api_ctx, client=plain_client)


@dataclass(frozen=True)
class Web(Servers):
    """A browser test's servers, with the site served over ``ctx`` and the screenshots'
    folder."""

    site: str
    shots: Path


@pytest.fixture
def web(servers: Servers, site: str, shots: Path) -> Web:
    return Web(**vars(servers), site=site, shots=shots)


# --- the yearly revision -----------------------------------------------------------------


async def adopted_closing_early(
    client: Client, task_queue: str, definition: PlanDefinition
) -> PlanDriver:
    """The plan, made closable_early, started and driven to adoption, its hearing closed
    as soon as it opens: its driver."""
    handle = await start_plan(client, closable_early(definition), task_queue)
    driver = PlanDriver(handle, definition)
    assert (await driver.run_to_adoption(closing_early(driver))).status == "adopted"
    return driver


async def adopted_with_open_round(
    ctx: ApiContext, client: Client, task_queue: str, definition: PlanDefinition
) -> int:
    """The plan driven to adoption (the hearing closed early), this year's reminder
    triggered by the scheduler, and its reporting round open in the store: the year."""
    driver = await adopted_closing_early(client, task_queue, definition)
    scheduler = driver.person(Role.SCHEDULER)
    command = ScheduleCommand(
        actor_id=scheduler, action=ScheduleAction.TRIGGER, request_id=uuid.uuid4().hex[:12]
    )
    await act_on_schedule(client, EventStore(ctx.pool), definition.plan_id, command, task_queue)
    year = revision_year(datetime.now(UTC))
    for _ in range(300):
        revision = (await ctx.plans.state(definition.plan_id)).revision(year)
        if revision is not None and revision.round_open:
            return year
        await asyncio.sleep(0.1)
    raise AssertionError(f"no open reporting round for {definition.plan_id} {year}")


def sign_off_by(
    status: PlanStatus,
    person: str,
    step_key: str | None = None,
    role: Role | None = Role.STEERING_GROUP,
    **extra: Any,
) -> cmd.SignOff:
    """``person``'s sign-off of the content ``status`` shows, at its step unless another
    is named, as a steering group member unless another role (or none) is given."""
    return cmd.SignOff(
        actor_id=person,
        step_key=step_key or status.step_key or "",
        content_version=status.content_version or 0,
        content_hash=status.content_hash or "",
        **({"role": role} if role is not None else {}),
        **extra,
    )


async def council_returns(
    driver: PlanDriver, status: PlanStatus, to: Phase, reason: str
) -> list[cmd.Receipt]:
    """The council, at its decision step as ``status`` shows it, votes to return the plan
    to ``to`` for ``reason``: the votes' receipts."""
    return await driver.vote(
        "council_decision",
        lambda person, role: cmd.CouncilDecision(
            actor_id=person,
            role=role,
            outcome="returned",
            return_to=to,
            reason=reason,
            content_version=status.content_version or 0,
            content_hash=status.content_hash or "",
        ),
    )
