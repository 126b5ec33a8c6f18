"""`audit history` accounts for every yearly reminder: one at the schedule's calendar time
(or a backfill's), or one a scheduler's recorded trigger precedes; any other was started
past the front door and is shown as unattested."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from audit.history import PAST_THE_FRONT_DOOR, rows
from eventstore import StoredEvent

CREATED = {"schedule_id": "revision-p", "month": 9, "day": 1, "hour": 8}


def stored(
    version: int, event_type: str, data: dict[str, Any], role: str = "system"
) -> StoredEvent:
    return StoredEvent(
        position=version,
        stream_id="p",
        version=version,
        event_id=uuid.uuid4(),
        type=event_type,
        schema_version=1,
        data=data,
        actor_id="espen.moe" if role == "scheduler" else "temaplan",
        actor_role=role,
        recorded_at=datetime(2027, 9, 1, 6, tzinfo=UTC),
        prev_hash="0" * 64,
        hash=f"{version:064x}",
    )


def reminder(version: int, scheduled_at: str) -> StoredEvent:
    return stored(version, "revision_reminder_sent", {"scheduled_at": scheduled_at, "year": 2027})


def trigger(version: int, failed: str = "") -> StoredEvent:
    data = {"action": "trigger", "schedule_id": "revision-p"}
    if failed:
        data["failed"] = failed
    return stored(version, "revision_schedule_changed", data, role="scheduler")


def kinds(*events: StoredEvent) -> list[tuple[str, str]]:
    return [(r.actor_kind, r.decision) for r in rows(events) if r.type == "revision_reminder_sent"]


def test_the_schedules_own_reminder_is_the_engines_in_summer_and_winter_time() -> None:
    assert kinds(
        stored(1, "revision_schedule_created", CREATED),
        reminder(2, "2027-09-01T06:00:00Z"),  # 08:00 CEST
    ) == [("system", "")]
    winter = {**CREATED, "month": 1, "day": 15}
    assert kinds(
        stored(1, "revision_schedule_created", winter),
        reminder(2, "2028-01-15T07:00:00+00:00"),  # 08:00 CET
    ) == [("system", "")]


def test_a_reminder_off_the_calendar_needs_a_recorded_trigger_each() -> None:
    assert kinds(
        stored(1, "revision_schedule_created", CREATED),
        trigger(2),
        reminder(3, "2027-03-04T10:11:12Z"),
        reminder(4, "2028-03-04T10:11:12Z"),  # a second one, with no trigger of its own
    ) == [("system", ""), ("unattested", PAST_THE_FRONT_DOOR)]


def test_a_failed_trigger_accounts_for_no_reminder() -> None:
    assert kinds(
        stored(1, "revision_schedule_created", CREATED),
        trigger(2, failed="the revision for 2027 already exists"),
        reminder(3, "2027-03-04T10:11:12Z"),
    ) == [("unattested", PAST_THE_FRONT_DOOR)]
