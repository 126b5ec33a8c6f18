"""What the commands share to say things in the reader's language: a time, and whether a
table shows the catalogue's words or the record's own names."""

from __future__ import annotations

from datetime import UTC, datetime

from catalogue import Language, formats
from runtime.formatting import oslo


def named(lang: Language) -> bool:
    """In English a table keeps the record's own names and ISO times, as scripts have read
    them; in bokmål it shows the catalogue's words."""
    return lang != "en"


def moment(at: datetime | None, lang: Language) -> str:
    """A time in Oslo with its offset: 04.12.2026 15.55.00 +01:00 in bokmål, ISO 8601 in
    English."""
    if at is None:
        return "-"
    if at.tzinfo is None:  # as the database stores it
        at = at.replace(tzinfo=UTC)
    return formats.stamp(at, lang) if named(lang) else oslo(at)
