"""Shared formatting for people: Norwegian time (the plans' clock) and amounts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.ids import TIME_ZONE

# Every moment shown to a person, and every time without a zone they type, is Oslo time.
OSLO = ZoneInfo(TIME_ZONE)


def grouped(amount: int) -> str:
    """Thousands grouped by no-break spaces, the Norwegian way: 1 250 000."""
    return f"{amount:,}".replace(",", "\u00a0")
