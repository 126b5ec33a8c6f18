"""The main job on embedded defaults: the Bodø plan from first goals to adoption.

Embedded PostgreSQL (or DATABASE_URL), an embedded Temporal dev server with its Web UI,
an in-process worker, and simulated participants who submit, comment, sign off, answer
the hearing and adopt. Then the decision history and its verification.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from catalogue import Language, event_name, role_name, t
from client.plans import start_plan
from client.revision_simulation import (
    report_everything,
    revision_status_when,
    wait_for_revision,
)
from client.schedules import act_on_schedule, describe_schedule, new_request_id
from client.simulation import PlanDriver, send_hearing_responses
from client.typed import RevisionClient
from domain import commands as cmd
from domain import revision_commands as rc
from domain.gates import PlanStatus
from domain.ids import revision_year
from domain.plan import PlanDefinition
from domain.plan_type import PlanType
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from domain.roles import Role
from domain.search_attributes import ALL_KEYS
from domain.state import fold
from eventstore import EventStore, StoredEvent, documents
from runtime.database import migrated_pool
from runtime.payload_converter import data_converter
from runtime.planfile import load_plan_file
from runtime.settings import Settings
from runtime.temporal_client import connect
from temaplan.cli_words import moment, named
from temaplan.temporal_server import dev_server_args, temporal_binary
from workflows.registry import build_worker

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bodo.yaml"
UI_PORT = 8233
HEARING_RESPONSES = 5
# `temaplan events`' columns and their least widths; a longer name widens its column.
STREAM_COLUMNS = ("version", "type", "actor", "role", "decided", "recorded", "hash")
MIN_WIDTHS = (3, 26, 18, 26, 25, 25)


def render_stream(events: list[StoredEvent], lang: Language) -> str:
    """Decided is the plan's own time (the workflow clock, which time skipping moves);
    recorded is when the store committed the event. In English the record's own names and
    ISO times, as scripts have read them; in bokmål the catalogue's words and times."""
    words = named(lang)
    rows = []
    for e in events:
        occurred = e.data.get("occurred_at")
        decided = datetime.fromisoformat(occurred) if isinstance(occurred, str) else None
        rows.append(
            (
                f"{e.version:>3}",
                event_name(e.type, lang) if words else e.type,
                e.actor_id[:18],
                role_name(e.actor_role, lang) if words else e.actor_role,
                moment(decided, lang),
                moment(e.recorded_at, lang),
                f"{e.hash[:12]}…",
            )
        )
    header = tuple(t(f"cli.stream_{column}", lang) for column in STREAM_COLUMNS)
    widths = [max([width, *(len(row[i]) for row in rows)]) for i, width in enumerate(MIN_WIDTHS)]
    lines = []
    for row in (header, *rows):
        first, *middle, last = row
        cells = (c.ljust(w) for c, w in zip(middle, widths[1:], strict=True))
        lines.append(f"{first.rjust(widths[0])}  {' '.join(cells)} {last}")
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def temporal(settings: Settings) -> AsyncIterator[tuple[Client, WorkflowEnvironment | None]]:
    """TEMPORAL_ADDRESS when set; otherwise an embedded dev server with time skipping."""
    if settings.temporal_address:
        yield await connect(settings), None
        return
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=dev_server_args(),
        search_attributes=ALL_KEYS,
        data_converter=data_converter,
        ui=True,
        ui_port=UI_PORT,
    )
    try:
        yield env.client, env
    finally:
        await env.shutdown()


async def run_demo(settings: Settings, plan_file: Path = EXAMPLE, lang: Language = "nb") -> int:
    loaded = load_plan_file(plan_file)
    # A slug of its own per run: the event store keeps every earlier run's record.
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    definition: PlanDefinition = loaded.model_copy(
        update={"slug": f"{loaded.slug or 'plan'}-demo-{stamp}"}
    )
    plan_id = definition.plan_id
    print(
        t(
            "cli.demo_plan_file",
            lang,
            file=plan_file.name,
            title=definition.title,
            municipality=definition.municipality.name,
        )
    )
    print(
        t(
            "cli.demo_plan",
            lang,
            plan_id=plan_id,
            participants=len(definition.participants),
            days=definition.settings.hearing_days,
            plan_type=definition.plan_type.value,
        )
    )
    if settings.temporal_address and definition.plan_type is PlanType.KOMMUNEDELPLAN:
        # Without the embedded server's time skipping the demo would close the hearing
        # early, which a kommunedelplan's legal six weeks do not allow.
        print(t("cli.demo_needs_time_skipping", lang), file=sys.stderr)
        return 2
    async with migrated_pool(settings) as pool, temporal(settings) as (client, env):
        queue = f"{settings.temporal_task_queue}-demo"
        if env is not None:
            print(t("cli.demo_temporal", lang, port=UI_PORT))
        async with build_worker(client, pool, queue):
            if env is not None:
                with env.with_time_skipping_disabled():
                    handle = await start_plan(client, definition, queue)
            else:
                handle = await start_plan(client, definition, queue)
            print(t("cli.demo_started", lang, workflow=handle.id) + "\n")
            driver = PlanDriver(
                handle, definition, progress=lambda line: print(f"  - {line}"), lang=lang
            )

            async def hearing(status: PlanStatus) -> None:
                deadline = moment(status.hearing_deadline, lang)
                print(t("cli.demo_hearing_open", lang, deadline=deadline))
                await send_hearing_responses(driver, HEARING_RESPONSES, with_receipt=2)
                await driver.wait_for(lambda s: s.hearing_responses == HEARING_RESPONSES)
                print(t("cli.demo_hearing_responses", lang, count=HEARING_RESPONSES, receipts=2))
                if env is not None:
                    days = definition.settings.hearing_days
                    print(t("cli.demo_hearing_skipped", lang, days=days))
                    await env.fast_forward(
                        handle, timedelta(days=definition.settings.hearing_days, minutes=1)
                    )
                else:
                    print(t("cli.demo_hearing_closed_early", lang))
                    await driver.update(
                        "close_hearing",
                        cmd.CloseHearing(
                            actor_id=driver.person(Role.PROJECT_LEADER),
                            reason="demo: the hearing is closed early (no time skipping here)",
                        ),
                    )

            final = await driver.run_to_adoption(hearing)
            await handle.result()
            await first_revision(client, pool, definition, queue, lang)
        store = EventStore(pool)
        events = await store.read(plan_id)
        print("\n" + t("cli.demo_history", lang, plan_id=plan_id, count=len(events)))
        print(render_stream(events, lang))
        result = await store.verify(plan_id)
        status = (
            t("cli.demo_chain_ok", lang)
            if result.ok
            else t(
                "cli.demo_chain_broken",
                lang,
                version=result.broken_version,
                problem=result.problem,
            )
        )
        checked = result.events_checked
        print("\n" + t("cli.demo_chain", lang, plan_id=plan_id, status=status, count=checked))
        outcome = t(f"cli.demo_outcome_{final.status}", lang) if lang != "en" else final.status
        print(t("cli.demo_final", lang, status=outcome, hash=final.adopted_hash))
        drafts = await write_drafts(pool, plan_id, settings.data_dir)
        for path in drafts:
            print(t("cli.demo_draft", lang, path=path))
        for path in await write_scorecards(pool, plan_id, settings.data_dir):
            print(t("cli.demo_scorecard_file", lang, path=path))
        return 0 if result.ok and final.status == "adopted" else 1


async def first_revision(
    client: Client,
    pool: asyncpg.Pool,
    definition: PlanDefinition,
    queue: str,
    lang: Language,
) -> None:
    """After adoption: the yearly schedule, this year's reminder triggered by the
    scheduler, every unit's report, the scorecard."""
    plan_id = definition.plan_id
    store = EventStore(pool)
    view = await describe_schedule(client, plan_id)
    print(
        "\n"
        + t(
            "cli.demo_schedule",
            lang,
            schedule=view.schedule_id,
            at=", ".join(view.yearly_at),
            zone=view.time_zone,
            until=f"{view.end_at:%Y-%m-%d}",
            next=f"{view.next_runs[0].astimezone(ZoneInfo(view.time_zone)):%Y-%m-%d %H:%M}",
        )
        if view.next_runs
        else "\n" + t("cli.demo_schedule_done", lang, schedule=view.schedule_id)
    )
    year = revision_year(datetime.now(UTC))
    if not definition.period.contains(year):
        print(t("cli.demo_outside_period", lang, year=year))
        return
    scheduler = definition.members(Role.SCHEDULER)[0].id
    leader = definition.members(Role.PROJECT_LEADER)[0].id
    await act_on_schedule(
        client,
        store,
        plan_id,
        ScheduleCommand(
            actor_id=scheduler, action=ScheduleAction.TRIGGER, request_id=new_request_id()
        ),
        queue,
    )
    print(t("cli.demo_triggered", lang, scheduler=scheduler, year=year))
    revision = await wait_for_revision(client, plan_id, year)
    state = fold(await store.read_domain(plan_id))
    content = state.content(state.in_force_version)
    assert content is not None
    receipts = await report_everything(revision, definition, content.content, year)
    print(t("cli.demo_reported", lang, count=len(receipts)))
    await RevisionClient(revision).close_round(rc.CloseReportingRound(actor_id=leader, year=year))
    print(t("cli.demo_round_closed", lang, leader=leader))
    status = await revision_status_when(revision, lambda s: s.scorecard is not None)
    await RevisionClient(revision).conclude(rc.ConcludeRevision(actor_id=leader, year=year))
    await revision.result()
    card = status.scorecard
    assert card is not None
    print(t("cli.demo_scorecard", lang, year=year, done=card.done, total=card.total))
    for goal in card.goals:
        print(
            f"    {goal.id:<8} {'#' * goal.done}{'.' * (goal.total - goal.done)} {goal.done}/{goal.total}"
        )


def _suffix(rendering_format: str) -> str:
    return "md" if rendering_format == "markdown" else "html"


def _write_out(folder: Path, pages: dict[str, str]) -> list[Path]:
    """Write each page's text to its file name in ``folder`` so a person can open it."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in pages.items():
        path = folder / name
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written


async def write_scorecards(pool: asyncpg.Pool, plan_id: str, data_dir: Path) -> list[Path]:
    cards = await documents.scorecards(pool, plan_id)
    pages = {f"{plan_id}-{card.year}.{_suffix(card.format)}": card.body for card in cards}
    return _write_out((data_dir / "scorecards").resolve(), pages)


async def write_drafts(pool: asyncpg.Pool, plan_id: str, data_dir: Path) -> list[Path]:
    """Copy the last rendered draft out of the database so a person can open it."""
    drafts = await documents.latest_draft(pool, plan_id)
    pages = {f"{plan_id}.{_suffix(draft.format)}": draft.body for draft in drafts}
    return sorted(_write_out((data_dir / "drafts").resolve(), pages))
