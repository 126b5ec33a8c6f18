"""Every decision in order, as auditors read it: who, in which role, on what, when."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

import catalogue
from catalogue import Language, formats, t
from domain.attestation import actor_kind
from eventstore import StoredEvent
from runtime.formatting import OSLO, oslo

# Which phase an event belongs to when its data does not say.
_PHASE_OF_TYPE = {
    "draft_step_completed": "draft",
    "hearing_opened": "hearing",
    "hearing_response_received": "hearing",
    "hearing_closed": "hearing",
    "hearing_summary_submitted": "hearing",
    "hearing_decided": "hearing",
    "council_decided": "adoption",
    "content_amended": "adoption",
    "plan_adopted": "adoption",
    **dict.fromkeys(
        (
            "revision_schedule_created",
            "revision_schedule_changed",
            "revision_reminder_sent",
            "reporting_round_opened",
            "measure_reported",
            "goal_indicator_reported",
            "reporting_round_closed",
            "report_reminder_recorded",
            "scorecard_recorded",
            "measure_changes_proposed",
            "measure_changes_signed_off",
            "measure_changes_rejected",
            "content_revised",
            "revision_concluded",
        ),
        "revision",
    ),
}


class HistoryRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int
    recorded_utc: datetime
    recorded_oslo: datetime
    decided_at: str | None  # the plan's own clock (the workflow's time of decision)
    type: str
    phase: str | None
    actor_id: str
    actor_role: str
    # attested, unattested, system or public (domain/attestation.py actor_kind)
    actor_kind: str
    # How the front door authenticated the actor ("token <id>", "oidc <issuer>"); None on
    # the engine's and the public's events and on those recorded before it was kept.
    authenticated_by: str | None = None
    decision: str
    content_version: int | None
    content_hash: str | None
    hash: str


class HistoryFilter(BaseModel):
    phase: str | None = None
    actor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def accepts(self, row: HistoryRow) -> bool:
        return (
            (self.phase is None or row.phase == self.phase)
            and (self.actor is None or row.actor_id == self.actor)
            and (self.type is None or row.type == self.type)
            and (self.since is None or row.recorded_utc >= self.since)
            and (self.until is None or row.recorded_utc <= self.until)
        )


def _decision(event: StoredEvent) -> str:  # noqa: PLR0911 - one case per kind
    data = event.data
    if event.type == "measure_reported":
        return _short(f"{data.get('measure_id')}: {data.get('status')} {data.get('comment', '')}")
    if event.type in _VOTES:
        return _vote_line(data)
    if event.type == "revision_schedule_changed":
        return _short(f"{data.get('action')} {data.get('reason', '')}")
    for key in ("outcome", "form", "reason", "summary", "comment", "text", "note"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return _short(value)
    if event.type == "phase_started":
        return f"start {data.get('phase')}"
    if event.type == "hearing_opened":
        return f"deadline {data.get('deadline')}"

    return ""


_VOTES = frozenset(
    {"vote_cast", "vote_withdrawn", "hearing_decided", "council_decided", "content_amended"}
)


def _vote_line(data: dict[str, object]) -> str:
    """A vote or a body's outcome: what, with its particulars, carried by whom, at which
    meeting, and why."""
    parts = [str(data.get("outcome") or ("withdrawn" if "step_key" in data else "amended"))]
    if data.get("return_to"):
        parts.append(f"to {data['return_to']}")
    if data.get("postponed_to"):
        parts.append(f"to meeting {data['postponed_to']}")
    if data.get("amends_version"):
        parts.append(f"amends v{data['amends_version']}")
    voters = data.get("voters")
    if isinstance(voters, list) and voters:
        parts.append(f"votes {len(voters)}/{data.get('needed')}: {', '.join(map(str, voters))}")
    meeting = data.get("meeting")
    if isinstance(meeting, dict):
        parts.append(f"[{meeting.get('case_number')} {meeting.get('meeting_date')}]")
    reason = str(data.get("reason") or "").strip()
    return _short(" ".join(parts) + (f": {reason}" if reason else ""), 160)


def _short(value: str, limit: int = 80) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 3] + "..."


class _Reminders:
    """Which yearly reminders the record accounts for. The schedule starts one at its
    calendar time (a backfill too); a scheduler's trigger through the front door is
    recorded before the one it starts. A reminder at any other time was started past
    the front door (`temporal schedule trigger`, or the reminder workflow started by
    hand), which records no scheduler: shown as unattested (docs/audit-format.md)."""

    def __init__(self) -> None:
        self.calendar: tuple[int, int, int] | None = None  # month, day, hour in Oslo
        self.triggers = 0  # recorded triggers not yet matched by a reminder

    def accounts_for(self, event: StoredEvent) -> bool:
        data = event.data
        if event.type == "revision_schedule_created":
            self.calendar = (int(data["month"]), int(data["day"]), int(data["hour"]))
        elif event.type == "revision_schedule_changed":
            if data.get("action") == "trigger" and not data.get("failed"):
                self.triggers += 1
        elif event.type == "revision_reminder_sent":
            at = datetime.fromisoformat(str(data["scheduled_at"])).astimezone(OSLO)
            on_calendar = (at.month, at.day, at.hour) == self.calendar and (
                at.minute,
                at.second,
            ) == (0, 0)
            if on_calendar:
                return True
            if self.triggers:
                self.triggers -= 1
                return True
            return False
        return True


PAST_THE_FRONT_DOOR = "started past the front door: no scheduler's trigger in the record"


class _RowMaker:
    """Turns events into rows in stream order, remembering the phase then running."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.reminders = _Reminders()

    def __call__(self, event: StoredEvent) -> HistoryRow:
        data = event.data
        if event.type == "phase_started":
            self.phase = str(data["phase"])
        accounted = self.reminders.accounts_for(event)
        own = data.get("phase")
        content_version = data.get("content_version")
        return HistoryRow(
            version=event.version,
            recorded_utc=event.recorded_at.astimezone(UTC),
            recorded_oslo=event.recorded_at.astimezone(OSLO),
            decided_at=data.get("occurred_at"),
            type=event.type,
            phase=str(own) if own else _PHASE_OF_TYPE.get(event.type, self.phase),
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            actor_kind=actor_kind(event.actor_role, data) if accounted else "unattested",
            authenticated_by=_authenticated_by(data),
            decision=_decision(event) if accounted else PAST_THE_FRONT_DOOR,
            content_version=content_version if isinstance(content_version, int) else None,
            content_hash=data.get("content_hash"),
            hash=event.hash,
        )


def _authenticated_by(data: dict[str, object]) -> str | None:
    how = data.get("authenticated_by")
    return how if isinstance(how, str) and how else None


def rows(events: Iterable[StoredEvent]) -> Iterator[HistoryRow]:
    make = _RowMaker()
    for event in events:
        yield make(event)


async def filtered(
    events: AsyncIterator[StoredEvent], where: HistoryFilter
) -> AsyncIterator[HistoryRow]:
    """Streamed: a history of any length is read and printed in constant memory."""
    async for row, _event in filtered_events(events, where):
        yield row


async def filtered_events(
    events: AsyncIterator[StoredEvent], where: HistoryFilter
) -> AsyncIterator[tuple[HistoryRow, StoredEvent]]:
    """As :func:`filtered`, each row with the event it was made from."""
    make = _RowMaker()
    async for event in events:
        row = make(event)
        if where.accepts(row):
            yield row, event


def as_json_line(row: HistoryRow) -> str:
    return json.dumps(row.model_dump(mode="json"), ensure_ascii=False)


# The English table keeps the record's own names (types, phases, roles) for tools and
# for auditors who search the export by them; the bokmål table says everything in words.
HEADER = (
    f"{'ver':>4}  {'recorded (Oslo)':<25}  {'type':<26} {'phase':<10} "
    f"{'actor':<18} {'role':<25} {'actor is':<10} {'authenticated by':<20} {'cv':>3} {'content':<12} {'hash':<12} decision"
)


def as_table_line(row: HistoryRow) -> str:
    return (
        f"{row.version:>4}  {oslo(row.recorded_oslo):<25}  "
        f"{row.type:<26} {row.phase or '-':<10} {row.actor_id[:18]:<18} {row.actor_role:<25} "
        f"{row.actor_kind.upper() if row.actor_kind == 'unattested' else row.actor_kind:<10} "
        f"{_short(row.authenticated_by or '-', 20):<20} "
        f"{row.content_version if row.content_version is not None else '-':>3} "
        f"{(row.content_hash or '-')[:12]:<12} {row.hash[:12]:<12} {row.decision}"
    )


def header(language: Language = "nb") -> str:
    if language == "en":
        return HEADER
    return (
        f"{t('history.version', language):>4}  {t('history.recorded', language):<25}  "
        f"{t('history.event', language):<32} {t('history.phase', language):<12} "
        f"{t('history.actor', language):<18} {t('history.role', language):<24} "
        f"{t('history.attested', language):<15} {t('history.content_version', language):>3} "
        f"{t('history.content', language):<12} {t('history.hash', language):<12} "
        f"{t('history.decision', language)}"
    )


def table_line(row: HistoryRow, event: StoredEvent, language: Language = "nb") -> str:
    """One row of the human table: in English the record's names, in bokmål words, with
    the time in Oslo time and its offset."""
    if language == "en":
        return as_table_line(row)
    from audit.report import describe

    try:
        decision = describe(event.to_domain(), language)
    except (ValueError, KeyError):  # an event this code cannot read: its own words
        decision = row.decision
    return (
        f"{row.version:>4}  {formats.stamp(row.recorded_utc, language):<25}  "
        f"{catalogue.event_name(row.type, language)[:32]:<32} "
        f"{(catalogue.phase_name(row.phase, language) or '-')[:12]:<12} "
        f"{row.actor_id[:18]:<18} {catalogue.role_name(row.actor_role, language)[:24]:<24} "
        f"{catalogue.actor_kind_name(row.actor_kind, language)[:15]:<15} "
        f"{row.content_version if row.content_version is not None else '-':>3} "
        f"{(row.content_hash or '-')[:12]:<12} {row.hash[:12]:<12} {_short(decision, 160)}"
    )
