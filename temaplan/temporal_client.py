"""One way to connect to Temporal, with the pydantic data converter, for every client."""

from __future__ import annotations

import logging

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from temaplan.settings import Settings

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


async def connect(settings: Settings, address: str | None = None) -> Client:
    target = address or settings.temporal_address
    if not target:
        raise RuntimeError("TEMPORAL_ADDRESS is not set and no embedded server was started")
    return await Client.connect(
        target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        tls=settings.temporal_tls,
        api_key=settings.temporal_api_key,
        runtime=runtime(),
    )
