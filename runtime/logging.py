"""structlog, configured in one place.

JSON lines when stderr is not a terminal (services, CI, log shippers), a readable console
when it is. Records from the standard library, asyncpg and the Temporal SDK pass through
the same processors, so every line carries the bound plan id, workflow id, phase and actor.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

CONTEXT_KEYS = ("plan_id", "workflow_id", "phase", "actor")


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto", level: str = "INFO"
) -> None:
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if not use_console:
        final.append(structlog.processors.format_exc_info)
    final.append(renderer)
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The SDK's own chatter at INFO is mostly polling noise; warnings still come through.
    quiet = max(logging.getLevelName(level), logging.WARNING)
    logging.getLogger("temporalio").setLevel(quiet)
    logging.getLogger("pgserver").setLevel(quiet)  # logs every pg_ctl command at INFO


def bind_context(**values: str | None) -> None:
    """Bind plan id, workflow id, phase and actor for every log line in this context."""
    unknown = set(values) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"unknown log context keys: {sorted(unknown)}")
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear_context() -> None:
    structlog.contextvars.clear_contextvars()
