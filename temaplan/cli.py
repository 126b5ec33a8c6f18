"""`temaplan`: one front door for administrators, stakeholders, auditors and schedulers."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from domain.problems import DomainValidationError
from eventstore import EventStore, EventStoreError
from temaplan.database import migrated_pool
from temaplan.logging import configure_logging
from temaplan.planfile import load_plan_file
from temaplan.settings import Settings, load_settings


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
        for stream in streams:
            result = await store.verify(stream)
            if result.events_checked == 0:
                print(f"{stream}: no events")
                failures += 1
            elif result.ok:
                print(f"{stream}: OK, {result.events_checked} events, last hash {result.last_hash}")
            else:
                failures += 1
                print(f"{stream}: BROKEN at version {result.broken_version}: {result.problem}")
    return 1 if failures else 0


def _validate(plan_file: Path) -> int:
    definition = load_plan_file(plan_file)
    print(f"{plan_file}: valid; plan id {definition.plan_id}")
    return 0


def _demo(settings: Settings, plan_file: Path | None) -> int:
    from temaplan.demo import EXAMPLE, run_demo

    return asyncio.run(run_demo(settings, plan_file or EXAMPLE))


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    commands: dict[str, Callable[[], int]] = {
        "validate": lambda: _validate(args.plan_file),
        "demo": lambda: _demo(settings, args.plan_file),
        "migrate": lambda: asyncio.run(_migrate(settings)),
        "events": lambda: asyncio.run(_events(settings, args.plan_id)),
        "verify": lambda: asyncio.run(_verify(settings, args.plan_id)),
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
