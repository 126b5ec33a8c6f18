"""`temaplan schedule ...`: the schedulers' commands on the revision schedules."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from eventstore import EventStore
from temaplan.oslo_time import OSLO, TIME_FORMATS, oslo
from temaplan.settings import Settings

if TYPE_CHECKING:
    from temaplan.schedules import ScheduleView


def add_parser(sub: Any, when: Callable[[str], Any]) -> None:
    schedule = sub.add_parser("schedule", help="schedulers: the yearly revision schedules")
    schedule_sub = schedule.add_subparsers(dest="schedule_command", required=True)
    schedule_sub.add_parser("list", help="every plan's revision schedule")
    describe = schedule_sub.add_parser("describe", help="one plan's schedule and its runs")
    describe.add_argument("plan_id")
    for action, text in (
        ("trigger", "send this year's revision reminder now"),
        ("pause", "stop the reminders (a reason is required)"),
        ("unpause", "resume the reminders"),
        ("backfill", "run the reminders that fall in a time range"),
    ):
        parser = schedule_sub.add_parser(action, help=text)
        parser.add_argument("plan_id")
        parser.add_argument("--actor", required=True, help="your participant id (role: scheduler)")
        parser.add_argument("--reason", default="", required=action == "pause")
        if action == "backfill":
            parser.add_argument(
                "--from",
                dest="backfill_from",
                type=when,
                required=True,
                metavar="TIME",
                help=f"start of the range. {TIME_FORMATS}",
            )
            parser.add_argument(
                "--to",
                dest="backfill_to",
                type=when,
                required=True,
                metavar="TIME",
                help=f"end of the range. {TIME_FORMATS}",
            )


def schedule_state(view: ScheduleView, now: datetime) -> str:
    """'active' only while reminders are still to come: a schedule past its end (or
    with no next run while not paused) has ended."""
    from temaplan.schedules import has_ended

    if has_ended(view.end_at, view.paused, view.next_runs, now):
        ended = f" {view.end_at.astimezone(OSLO):%Y-%m-%d}" if view.end_at else ""
        return f"ended{ended}: no more reminders"
    return f"PAUSED: {view.note}" if view.paused else "active"


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from temaplan.database import migrated_pool
    from temaplan.schedules import (
        ScheduleRefused,
        act_on_schedule,
        describe_schedule,
        list_schedules,
        new_request_id,
    )
    from temaplan.temporal_client import connect

    if not settings.temporal_address:
        print("schedules live on a Temporal server: set TEMPORAL_ADDRESS", file=sys.stderr)
        return 2
    client = await connect(settings)
    command = args.schedule_command
    try:
        if command == "list":
            ids = await list_schedules(client)
            for schedule_id in ids:
                print(schedule_id)
            print(f"{len(ids)} schedule(s)")
            return 0
        if command == "describe":
            view = await describe_schedule(client, args.plan_id)
            print(f"{view.schedule_id} ({schedule_state(view, datetime.now(UTC))})")
            zone = ZoneInfo(view.time_zone)
            ends = f"{view.end_at.astimezone(zone):%Y-%m-%d %H:%M}" if view.end_at else "never"
            print(f"  yearly at {', '.join(view.yearly_at)} {view.time_zone}; ends {ends}")
            print(f"  overlap policy {view.overlap}; reminders so far: {view.actions_taken}")
            for moment in view.next_runs:
                print(f"  next: {oslo(moment)}")
            for scheduled, workflow_id in view.recent_runs:
                print(f"  ran: {oslo(scheduled)} -> {workflow_id}")
            return 0
        try:
            request = ScheduleCommand(
                actor_id=args.actor,
                action=ScheduleAction(command),
                reason=args.reason,
                backfill_from=getattr(args, "backfill_from", None),
                backfill_to=getattr(args, "backfill_to", None),
                request_id=new_request_id(),
            )
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(p) for p in error["loc"])
                print(f"schedule {command}: {field}: {error['msg']}", file=sys.stderr)
            return 2
        async with migrated_pool(settings) as pool:
            receipt = await act_on_schedule(
                client, EventStore(pool), args.plan_id, request, settings.temporal_task_queue
            )
        print(
            f"{command} recorded: plan {receipt.plan_id} version {receipt.version}, "
            f"hash {receipt.hash}, at {oslo(receipt.recorded_at)}"
            + (
                f", log leaf {receipt.leaf_index} (proof: temaplan audit prove {receipt.event_id})"
                if receipt.leaf_index is not None
                else ""
            )
        )
        return 0
    except ScheduleRefused as refusal:
        print(f"schedule {command} refused ({refusal.code}): {refusal.message}", file=sys.stderr)
        return 1
