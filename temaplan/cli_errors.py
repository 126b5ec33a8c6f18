"""What the command line says instead of a traceback: one line naming what is wrong and
what to set, exit 2. Only the causes a person can fix from the shell are explained (a
server that is not there, a file that is not there, a setting or an argument); anything
else is a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import socket
import sys
from typing import NoReturn

from pydantic import ValidationError

from catalogue import Language, t
from eventstore.errors import StoreUnavailable
from runtime.settings import Settings

USAGE_EXIT = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse's usage block is many lines; a bad argument gets one, with where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def settings_problem(error: ValidationError, lang: Language) -> str:
    """A bad environment variable, named as it is set (not as the field is called)."""
    first = error.errors()[0]
    if not first["loc"]:  # a check across fields (e.g. a secret file that is not there)
        return str(first["msg"]).removeprefix("Value error, ")
    name = str(first["loc"][0])
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field else None
    choices = getattr(alias, "choices", None)
    variable = str(choices[0]) if choices else name.upper() or "a setting"
    given = first.get("input")
    shown = (
        f" ('{given}')"
        if isinstance(given, str | int | float) and "PASSWORD" not in variable
        else ""
    )
    more = (
        t("cli.error_more", lang, count=error.error_count() - 1) if error.error_count() > 1 else ""
    )
    return t(
        "cli.error_setting", lang, setting=f"{variable}{shown}", message=first["msg"], more=more
    )


def explain(exc: BaseException, settings: Settings | None, lang: Language) -> str | None:
    """One line for a cause the person can fix, or None for a bug. The cause itself is
    the library's or the server's words; what to do about it is the reader's language."""
    if isinstance(exc, StoreUnavailable):
        return f"{exc}; {t('cli.error_database_hint', lang)}"
    if isinstance(exc, RuntimeError):
        return _runtime_error(str(exc), settings.temporal_address if settings else None, lang)
    if isinstance(exc, FileNotFoundError):
        return t("cli.error_no_file", lang, path=exc.filename or exc)
    if isinstance(exc, IsADirectoryError | NotADirectoryError | PermissionError):
        return t("cli.error_path_rights", lang, path=exc.filename or exc, reason=exc.strerror)
    if isinstance(exc, socket.gaierror | ConnectionError):
        return t("cli.error_cannot_connect", lang, error=exc)
    return None


def _runtime_error(text: str, temporal: str | None, lang: Language) -> str | None:
    if "TEMPORAL_ADDRESS is not set" in text:
        return t("cli.error_no_temporal", lang)
    if text.startswith("Failed client connect"):
        reason = (
            t("cli.error_refused", lang)
            if "ConnectionRefused" in text
            else text.split(": ", 1)[-1][:160]
        )
        return t("cli.error_temporal_unreachable", lang, address=temporal, reason=reason)
    if "embedded PostgreSQL is not installed" in text:
        return t(
            "cli.error_embedded_database", lang, error=text, hint=t("cli.error_database_hint", lang)
        )
    return None


def fail(command: str, line: str) -> int:
    print(f"temaplan {command}: {line}", file=sys.stderr)
    return USAGE_EXIT
