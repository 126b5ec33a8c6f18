"""`temaplan`: one front door for administrators, stakeholders, auditors and schedulers."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from domain.problems import DomainValidationError
from eventstore import EventStore, EventStoreError
from temaplan.database import migrated_pool
from temaplan.logging import configure_logging
from temaplan.planfile import load_plan_file
from temaplan.settings import Settings, load_settings
from workflows import search_attributes as sa


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="temaplan", description="Thematic housing plans from goals to adoption."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the main job on embedded defaults")
    demo.add_argument("plan_file", nargs="?", type=Path, help="plan file (default: Bodø example)")
    sub.add_parser("migrate", help="apply database migrations")
    validate = sub.add_parser("validate", help="check a plan file and list every problem")
    validate.add_argument("plan_file", type=Path)
    events = sub.add_parser("events", help="print a plan's event stream")
    events.add_argument("plan_id")
    verify = sub.add_parser("verify", help="verify the hash chain of one plan or of all")
    verify.add_argument("plan_id", nargs="?")
    sub.add_parser("worker", help="run a Temporal worker (plan workflows and activities)")
    start = sub.add_parser("start", help="start a plan workflow from a plan file")
    start.add_argument("plan_file", type=Path)
    start.add_argument("--administrator", default="administrator", help="who starts the plan")
    plans = sub.add_parser("plans", help="list plans and where they stand")
    plans_sub = plans.add_subparsers(dest="plans_command", required=True)
    plans_list = plans_sub.add_parser("list", help="list plan workflows")
    plans_list.add_argument("--phase", help="only plans in this phase (e.g. hearing)")
    plans_list.add_argument("--municipality", help="only this kommunenummer")
    return parser


async def _migrate(settings: Settings) -> int:
    async with migrated_pool(settings):
        print("database is up to date")
    return 0


async def _events(settings: Settings, plan_id: str) -> int:
    from temaplan.demo import render_stream

    async with migrated_pool(settings) as pool:
        stored = await EventStore(pool).read(plan_id)
    if not stored:
        print(f"no events for plan '{plan_id}'", file=sys.stderr)
        return 1
    print(render_stream(stored))
    return 0


async def _verify(settings: Settings, plan_id: str | None) -> int:
    async with migrated_pool(settings) as pool:
        store = EventStore(pool)
        streams = [plan_id] if plan_id else await store.stream_ids()
        failures = 0
        for result in await store.verify_streams(streams):
            if result.events_checked == 0:
                print(f"{result.stream_id}: no events")
                failures += 1
            elif result.ok:
                print(
                    f"{result.stream_id}: OK, {result.events_checked} events, last hash {result.last_hash}"
                )
            else:
                failures += 1
                print(
                    f"{result.stream_id}: BROKEN at version {result.broken_version}: {result.problem}"
                )
    return 1 if failures else 0


async def _plans_list(settings: Settings, phase: str | None, municipality: str | None) -> int:
    from temaplan.temporal_client import connect

    client = await connect(settings)
    clauses = ['WorkflowType = "PlanWorkflow"']
    if phase:
        clauses.append(f'TemaplanPhase = "{phase}"')
    if municipality:
        clauses.append(f'TemaplanMunicipality = "{municipality}"')
    query = " AND ".join(clauses)
    print(f"{'workflow id':<44} {'phase':<11} {'status':<10} awaited roles")
    count = 0
    async for execution in client.list_workflows(query):
        attributes = execution.typed_search_attributes
        phase_value = attributes.get(sa.PHASE) or "-"
        awaited = ", ".join(attributes.get(sa.AWAITED_ROLES) or []) or "-"
        status = execution.status.name.lower() if execution.status else "-"
        print(f"{execution.id:<44} {phase_value:<11} {status:<10} {awaited}")
        count += 1
    print(f"{count} plan(s)")
    return 0


def _validate(plan_file: Path) -> int:
    definition = load_plan_file(plan_file)
    print(f"{plan_file}: valid; plan id {definition.plan_id}")
    return 0


def _demo(settings: Settings, plan_file: Path | None) -> int:
    from temaplan.demo import EXAMPLE, run_demo

    if "LOG_LEVEL" not in os.environ:
        # The demo narrates on stdout; routine INFO lines would drown it.
        configure_logging(settings.log_format, "WARNING")
    return asyncio.run(run_demo(settings, plan_file or EXAMPLE))


def _worker(settings: Settings) -> int:
    from worker import run_worker

    asyncio.run(run_worker(settings))
    return 0


async def _start(settings: Settings, plan_file: Path, administrator: str) -> int:
    from starter import start_from_file

    return await start_from_file(settings, plan_file, administrator)


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    commands: dict[str, Callable[[], int]] = {
        "validate": lambda: _validate(args.plan_file),
        "demo": lambda: _demo(settings, args.plan_file),
        "migrate": lambda: asyncio.run(_migrate(settings)),
        "events": lambda: asyncio.run(_events(settings, args.plan_id)),
        "verify": lambda: asyncio.run(_verify(settings, args.plan_id)),
        "worker": lambda: _worker(settings),
        "start": lambda: asyncio.run(_start(settings, args.plan_file, args.administrator)),
        "plans": lambda: asyncio.run(_plans_list(settings, args.phase, args.municipality)),
    }
    return commands[args.command]()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    try:
        return _dispatch(args, settings)
    except DomainValidationError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except EventStoreError as exc:
        print(f"event store: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
