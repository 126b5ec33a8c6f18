"""Which characters a person may send: the one rule every edge applies (API, web forms,
plan files, the workflows' update and signal decoding), through the types below.

Refused are the C0 control characters except tab, line feed and carriage return
(PostgreSQL's jsonb cannot hold U+0000 at all, and the others are never typed by a
person), lone surrogates (not Unicode scalar values: UTF-8 cannot encode them) and the
66 Unicode non-characters (U+FDD0-U+FDEF and the last two code points of every plane,
which the standard reserves for a program's internal use). Everything else is kept
exactly as sent: text is not normalised (no NFC), so what a person wrote is what the
record holds and hashes (docs/audit-format.md).

Events read back from the store are not checked again (``RECORDED`` context): a record
stays readable whatever it holds.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

# Validation context under which recorded events are read: the rule is for new input.
RECORDED = "recorded"

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_UNSAFE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff{_NONCHARACTERS}]")


def unsafe_character(text: str) -> str | None:
    """What is wrong with ``text``, or None: the first refused character, by code point
    and position (1-based), and what it is."""
    found = _UNSAFE.search(text)
    if found is None:
        return None
    char = found.group()
    point = ord(char)
    if point < 0x20:
        kind = "a control character"
    elif 0xD800 <= point <= 0xDFFF:
        kind = "a lone surrogate (not a Unicode character)"
    else:
        kind = "a Unicode non-character"
    return (
        f"contains U+{point:04X}, {kind}, at position {found.start() + 1}; text may hold "
        "any character except control characters other than tab, line feed and carriage "
        "return, lone surrogates and non-characters"
    )


def check_text(text: str, info: ValidationInfo) -> str:
    if isinstance(info.context, dict) and info.context.get(RECORDED):
        return text
    problem = unsafe_character(text)
    if problem is not None:
        raise ValueError(problem)
    return text


# A string a person supplied: any length, the character rule above.
PersonStr = Annotated[str, AfterValidator(check_text)]
