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

from eventstore.errors import StoreUnavailable
from runtime.settings import Settings

USAGE_EXIT = 2

_DATABASE_HINT = (
    "set DATABASE_URL to a reachable PostgreSQL (postgresql://USER@HOST:5432/DB), or unset "
    "it for the embedded one"
)


class OneLineParser(argparse.ArgumentParser):
    """argparse's usage block is many lines; a bad argument gets one, with where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_EXIT, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def settings_problem(error: ValidationError) -> str:
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
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{variable}{shown}: {first['msg']}{more}; set it right or unset it"


def explain(exc: BaseException, settings: Settings | None) -> str | None:
    """One line for a cause the person can fix, or None for a bug."""
    if isinstance(exc, StoreUnavailable):
        return f"{exc}; {_DATABASE_HINT}"
    if isinstance(exc, RuntimeError):
        return _runtime_error(str(exc), settings.temporal_address if settings else None)
    if isinstance(exc, FileNotFoundError):
        return f"{exc.filename or exc}: no such file or directory; check the path"
    if isinstance(exc, IsADirectoryError | NotADirectoryError | PermissionError):
        return f"{exc.filename or exc}: {exc.strerror}; check the path and its rights"
    if isinstance(exc, socket.gaierror | ConnectionError):
        return f"cannot connect ({exc}); check DATABASE_URL and TEMPORAL_ADDRESS"
    return None


def _runtime_error(text: str, temporal: str | None) -> str | None:
    if "TEMPORAL_ADDRESS is not set" in text:
        return (
            "this command needs Temporal and TEMPORAL_ADDRESS is not set; set it to a "
            "Temporal frontend's host:port (127.0.0.1:7233 while `temaplan up` runs)"
        )
    if text.startswith("Failed client connect"):
        reason = "connection refused" if "ConnectionRefused" in text else text.split(": ", 1)[-1]
        return (
            f"cannot reach Temporal at {temporal} ({reason[:160]}); check TEMPORAL_ADDRESS, "
            "TEMPORAL_TLS and TEMPORAL_API_KEY, or start it with `temaplan up`"
        )
    if "embedded PostgreSQL is not installed" in text:
        return f"{text}; or {_DATABASE_HINT}"
    return None


def fail(command: str, line: str) -> int:
    print(f"temaplan {command}: {line}", file=sys.stderr)
    return USAGE_EXIT
