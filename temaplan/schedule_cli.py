"""`temaplan schedule ...`: the schedulers' commands on the revision schedules."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from catalogue import Language, t
from domain.revision_commands import ScheduleCommand
from domain.revision_models import ScheduleAction
from eventstore import EventStore
from runtime.formatting import OSLO, TIME_FORMATS
from runtime.settings import Settings
from temaplan.cli_words import moment

if TYPE_CHECKING:
    from client.schedules import ScheduleView


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
        parser.add_argument(
            "--actor",
            help="your participant id (role: scheduler); with --token, the token's person",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("TEMAPLAN_TOKEN"),
            help="your personal access token (default: TEMAPLAN_TOKEN, better: others on "
            "the machine can see a command line): the action is then attested with the "
            "front door's key (TEMAPLAN_FRONT_DOOR_KEY[_FILE]); without it the action is "
            "recorded as NOT attested, or refused where that is required",
        )
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


def schedule_state(view: ScheduleView, now: datetime, lang: Language) -> str:
    """'active' only while reminders are still to come: a schedule past its end (or
    with no next run while not paused) has ended."""
    from client.schedules import has_ended

    if has_ended(view.end_at, view.paused, view.next_runs, now):
        ended = f" {view.end_at.astimezone(OSLO):%Y-%m-%d}" if view.end_at else ""
        return t("cli.schedule_ended", lang, day=ended)
    return (
        t("cli.schedule_paused", lang, note=view.note)
        if view.paused
        else t("cli.schedule_active", lang)
    )


async def run(settings: Settings, args: argparse.Namespace) -> int:
    from api.i18n import refusal_text
    from client.schedules import (
        ScheduleRefused,
        describe_schedule,
        list_schedules,
    )
    from runtime.temporal_client import connect

    lang: Language = args.lang
    if not settings.temporal_address:
        print(t("cli.schedule_needs_temporal", lang), file=sys.stderr)
        return 2
    client = await connect(settings)
    command = args.schedule_command
    try:
        if command == "list":
            ids = await list_schedules(client)
            for schedule_id in ids:
                print(schedule_id)
            print(t("cli.schedule_count", lang, count=len(ids)))
            return 0
        if command == "describe":
            view = await describe_schedule(client, args.plan_id)
            print(f"{view.schedule_id} ({schedule_state(view, datetime.now(UTC), lang)})")
            zone = ZoneInfo(view.time_zone)
            ends = (
                f"{view.end_at.astimezone(zone):%Y-%m-%d %H:%M}"
                if view.end_at
                else t("cli.schedule_never", lang)
            )
            yearly = ", ".join(view.yearly_at)
            print(t("cli.schedule_yearly", lang, at=yearly, zone=view.time_zone, ends=ends))
            print(t("cli.schedule_overlap", lang, policy=view.overlap, count=view.actions_taken))
            for at in view.next_runs:
                print(t("cli.schedule_next", lang, at=moment(at, lang)))
            for scheduled, workflow_id in view.recent_runs:
                print(t("cli.schedule_ran", lang, at=moment(scheduled, lang), workflow=workflow_id))
            return 0
        return await _act(settings, client, args)
    except ScheduleRefused as refusal:
        message = refusal_text(lang, refusal.code, refusal.message)
        said = t("cli.schedule_refused", lang, command=command, code=refusal.code, message=message)
        print(said, file=sys.stderr)
        return 1


async def _act(settings: Settings, client: Any, args: argparse.Namespace) -> int:
    """One scheduler's action, as the token's person (attested) or as --actor (not)."""
    from client.schedules import act_on_schedule, new_request_id
    from runtime.database import migrated_pool

    command = args.schedule_command
    lang: Language = args.lang
    async with migrated_pool(settings) as pool:
        person = await _token_person(pool, args)
        if isinstance(person, int):
            return person
        actor, authenticated_by = person
        try:
            request = ScheduleCommand(
                actor_id=actor,
                authenticated_by=authenticated_by,
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
        request = _attested(settings, args.plan_id, request, lang)
        receipt = await act_on_schedule(
            client, EventStore(pool), args.plan_id, request, settings.temporal_task_queue
        )
    leaf = (
        t("cli.schedule_leaf", lang, leaf=receipt.leaf_index, event_id=receipt.event_id)
        if receipt.leaf_index is not None
        else ""
    )
    print(
        t(
            "cli.schedule_recorded",
            lang,
            command=command,
            plan=receipt.plan_id,
            version=receipt.version,
            hash=receipt.hash,
            at=moment(receipt.recorded_at, lang),
            leaf=leaf,
        )
    )
    return 0


async def _token_person(pool: Any, args: argparse.Namespace) -> tuple[str, str | None] | int:
    """Who acts: the token's person (authenticated), or --actor as given (not
    authenticated: recorded as such). An exit code when neither holds."""
    from api.tokens import TokenStore

    lang: Language = args.lang
    if not args.token:
        if not args.actor:
            print(t("cli.schedule_who", lang), file=sys.stderr)
            return 2
        return args.actor, None
    principal = await TokenStore(pool).authenticate(args.token.strip())
    if principal is None:
        print(t("cli.schedule_bad_token", lang), file=sys.stderr)
        return 2
    if not principal.may_change:
        print(t("cli.schedule_auditor_token", lang), file=sys.stderr)
        return 2
    if args.actor and args.actor != principal.person_id:
        said = t("cli.schedule_other_person", lang, owner=principal.person_id, actor=args.actor)
        print(said, file=sys.stderr)
        return 2
    return principal.person_id, principal.authenticated_by


def _attested(
    settings: Settings, plan_id: str, request: ScheduleCommand, lang: Language
) -> ScheduleCommand:
    """Signed with the front door's key when the person was authenticated by a token and
    the key is configured here; otherwise sent as it is, and recorded as NOT attested."""
    from activities.attestation import SCHEDULE_ACTION
    from api.attest import attest, front_door_key

    if request.authenticated_by is None:
        print(t("cli.schedule_unattested_no_token", lang), file=sys.stderr)
        return request
    key = front_door_key(settings)
    if key is None:
        print(t("cli.schedule_unattested_no_key", lang), file=sys.stderr)
        return request
    signed: ScheduleCommand = attest(request, SCHEDULE_ACTION, plan_id, key)
    return signed
