"""One way to connect to Temporal, with the project's data converter, for every client."""

from __future__ import annotations

import gc
import logging

from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from runtime.payload_converter import data_converter
from runtime.settings import Settings

_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The SDK core's own logs are forwarded into stdlib logging, and so through structlog."""
    global _runtime  # noqa: PLW0603 - one runtime per process, made on first use
    if _runtime is None:
        _runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
                )
            )
        )
    return _runtime


def release_runtime() -> None:
    """Drop the process's runtime (and the clients left holding it) while the interpreter
    is still whole. Kept until interpreter shutdown, the core's threads go on calling into
    Python (log forwarding) during finalization, which aborts the process with
    ``Fatal Python error: PyGILState_Release`` (exit 134). Call after the event loop that
    used it has finished."""
    global _runtime  # noqa: PLW0603 - the one runtime made by runtime()
    _runtime = None
    # Clients are often in reference cycles (client <-> service client): collect them now
    # so the core runtime is dropped here, not during interpreter finalization.
    gc.collect()


async def connect(settings: Settings, address: str | None = None) -> Client:
    target = address or settings.temporal_address
    if not target:
        raise RuntimeError("TEMPORAL_ADDRESS is not set and no embedded server was started")
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter,
        tls=settings.temporal_tls,
        api_key=settings.temporal_api_key,
        runtime=runtime(),
    )
