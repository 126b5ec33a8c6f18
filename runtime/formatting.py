"""Shared formatting for people: Norwegian time (the plans' clock) and amounts."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.ids import TIME_ZONE

# Every moment shown to a person, and every time without a zone they type, is Oslo time.
OSLO = ZoneInfo(TIME_ZONE)


def zoned(moment: datetime) -> datetime:
    """A moment a person typed: Oslo time unless it gives its own offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def grouped(amount: int) -> str:
    """Thousands grouped by no-break spaces, the Norwegian way: 1 250 000."""
    return f"{amount:,}".replace(",", "\u00a0")


# For --help of every time option, so each says the same thing.
TIME_FORMATS = (
    "ISO 8601: 2026-11-21, 2026-11-21T14:30 or 2026-11-21 14:30:05; without an offset "
    "the time is Europe/Oslo; with one (2026-11-21T13:30Z, +01:00) it is taken as given"
)


def oslo(moment: datetime | date | None, *, seconds: bool = True) -> str:
    """2026-12-04 15:55:02+01:00 (a naive time is taken as UTC, as the database stores);
    a date alone stays a date."""
    if moment is None:
        return "-"
    if not isinstance(moment, datetime):
        return moment.isoformat()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(OSLO)
    return local.isoformat(sep=" ", timespec="seconds" if seconds else "minutes")
