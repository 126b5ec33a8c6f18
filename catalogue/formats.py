"""Numbers, dates, times and money as people read them: Babel's nb-NO conventions
(16,4; 4. desember 2026 kl. 15.55; 1 250 000 kr), or English ones, always in Oslo time.

Babel holds the locale data (CLDR); the patterns here only choose among its fields, so
the month names, separators and grouping are the language's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from catalogue import Language
from domain.ids import TIME_ZONE

OSLO = ZoneInfo(TIME_ZONE)
LOCALES: dict[Language, str] = {"nb": "nb_NO", "en": "en_GB"}

# The long forms people read in documents; the short ones for table cells.
_MOMENT = {"nb": "d. MMMM y 'kl.' HH.mm", "en": "d MMMM y 'at' HH:mm"}
_MOMENT_SECONDS = {"nb": "d. MMMM y 'kl.' HH.mm.ss", "en": "d MMMM y 'at' HH:mm:ss"}
_DAY = {"nb": "d. MMMM y", "en": "d MMMM y"}
_SHORT_DAY = {"nb": "dd.MM.y", "en": "y-MM-dd"}
_CLOCK = {"nb": "HH.mm", "en": "HH:mm"}
_CLOCK_SECONDS = {"nb": "HH.mm.ss", "en": "HH:mm:ss"}
# With the offset, so a reader of the CLI's output knows which time it is.
_STAMP = {"nb": "dd.MM.y HH.mm.ss xxx", "en": "y-MM-dd HH:mm:ss xxx"}


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"a time without a time zone cannot be shown in Oslo time: {at}")
    return at


def number(value: int | Decimal | float, language: Language = "nb") -> str:
    """16,4 and 1 250 000 in bokmål; 16.4 and 1,250,000 in English."""
    return format_decimal(value, locale=LOCALES[language], decimal_quantization=False)


def counter(language: Language = "nb") -> Callable[[float], str]:
    """Counts and rates (a progress bar's) as whole numbers, as ``number`` writes them."""
    return lambda value: number(round(value), language)


def money(amount: int | Decimal | None, language: Language = "nb", unknown: str = "–") -> str:
    """Whole kroner: '1 250 000 kr' in bokmål, 'NOK 1,250,000' in English."""
    if amount is None:
        return unknown
    whole = format_decimal(amount, format="#,##0", locale=LOCALES[language])
    return f"{whole}\u00a0kr" if language == "nb" else f"NOK\u00a0{whole}"


def percent(share: float | Decimal, language: Language = "nb") -> str:
    """A share (0.5) as '50 %' in bokmål, '50%' in English."""
    return format_percent(share, locale=LOCALES[language])


def moment(at: datetime, language: Language = "nb", *, seconds: bool = False) -> str:
    """'4. desember 2026 kl. 15.55' (Oslo time)."""
    pattern = (_MOMENT_SECONDS if seconds else _MOMENT)[language]
    return format_datetime(_aware(at), pattern, tzinfo=OSLO, locale=LOCALES[language])


def day(value: date | datetime, language: Language = "nb") -> str:
    """'4. desember 2026'; a time is taken on its Oslo day."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(OSLO).date()
    return format_date(value, _DAY[language], locale=LOCALES[language])


def short_day(value: date | datetime, language: Language = "nb") -> str:
    """'04.12.2026' in bokmål, '2026-12-04' in English: for narrow table cells."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(OSLO).date()
    return format_date(value, _SHORT_DAY[language], locale=LOCALES[language])


def clock(at: datetime, language: Language = "nb", *, seconds: bool = False) -> str:
    """'15.55' in bokmål, '15:55' in English (Oslo time)."""
    pattern = (_CLOCK_SECONDS if seconds else _CLOCK)[language]
    return format_datetime(_aware(at), pattern, tzinfo=OSLO, locale=LOCALES[language])


def stamp(at: datetime, language: Language = "nb") -> str:
    """'04.12.2026 15.55.00 +01:00': Oslo time with its offset, for the command line."""
    return format_datetime(_aware(at), _STAMP[language], tzinfo=OSLO, locale=LOCALES[language])
