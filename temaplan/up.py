"""`temaplan up`: the whole stack on one machine, for a municipality trying it out.

A persistent Temporal dev server (its database file under the data directory, Web UI on
:8233), PostgreSQL (DATABASE_URL or the embedded one, also under the data directory), a
worker and the API with the web page on :8000, in one process tree. Ctrl-C stops the API,
then the worker (in-flight work finishes), then the dev server; the data stays for the
next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
import uvicorn

from catalogue import Language, t
from domain.search_attributes import ALL_KEYS
from runtime.database import database_url
from runtime.settings import Settings
from temaplan.temporal_server import dev_server_args, temporal_binary

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `up` stops the parts in order itself."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


def http_config(app: Any, settings: Settings, *, access_log: bool = True) -> uvicorn.Config:
    """How the API and web page are served, by `temaplan api` and by `up` alike."""
    return uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=access_log,
        # X-Forwarded-For is read by the app, from TEMAPLAN_TRUSTED_PROXIES only.
        proxy_headers=False,
    )


def dev_server_command(data_dir: Path, port: int, ui_port: int, namespace: str) -> list[str]:
    attributes = []
    for key in ALL_KEYS:
        kind = "KeywordList" if key.indexed_value_type.name == "KEYWORD_LIST" else "Keyword"
        attributes += ["--search-attribute", f"{key.name}={kind}"]
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(data_dir / "temporal.db"),
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--namespace",
        namespace,
        "--log-level",
        "warn",
        *attributes,
        *dev_server_args(),
    ]


@contextlib.asynccontextmanager
async def dev_server(settings: Settings, port: int, ui_port: int) -> AsyncIterator[str]:
    folder = (settings.data_dir / "temporal").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    command = dev_server_command(folder, port, ui_port, settings.temporal_namespace)
    # Its own session: Ctrl-C reaches only us, and we stop it last, after the worker.
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, waited on in a thread
        command,
        stdout=open(folder / "server.log", "ab"),  # noqa: SIM115, ASYNC230 - kept for its lifetime
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        await _wait_for_frontend(settings, address, process)
        log.info("temporal dev server started", address=address, db=str(folder / "temporal.db"))
        yield address
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        log.info("temporal dev server stopped")


async def _wait_for_frontend(
    settings: Settings, address: str, process: subprocess.Popen[bytes]
) -> None:
    from runtime.temporal_client import connect

    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(
                f"the Temporal dev server exited ({process.returncode}); see "
                f"{settings.data_dir / 'temporal' / 'server.log'}"
            )
        try:
            client = await connect(settings, address)
            await client.count_workflows()
            return
        except Exception:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the Temporal dev server did not answer on {address}")


async def run_up(settings: Settings, temporal_port: int, ui_port: int, lang: Language) -> int:
    from activities.attestation import AttestationPolicy, parse_keys
    from api.app import create_app, running_context
    from api.attest import dev_front_door_key
    from audit.checkpointer import dev_signing_key, running_checkpointer
    from temaplan.mail_relay import running_relay
    from workflows.registry import build_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        if settings.temporal_address:
            address = settings.temporal_address
        else:
            address = await stack.enter_async_context(dev_server(settings, temporal_port, ui_port))
        log_key = dev_signing_key(settings)
        # The worker and the API connect as the application role (README, "Database roles").
        events = await stack.enter_async_context(database_url(settings, as_application=True))
        front_door = dev_front_door_key(settings)
        running = settings.model_copy(
            update={
                "database_url": events,
                "temporal_address": address,
                "log_vkey": settings.log_vkey or log_key.verifier.vkey(),
                "front_door_key": front_door.text(),
            }
        )
        ctx = await stack.enter_async_context(running_context(running))
        if not await ctx.tokens.any_admin():
            issued = await ctx.tokens.issue("admin", "admin", "first start of temaplan up", "up")
            print(t("cli.up_admin_token", lang), flush=True)
            print(f"  {issued.token}", flush=True)
        # Decisions sent with the raw `temporal` CLI are recorded as unattested, unless
        # TEMAPLAN_REQUIRE_ATTESTATION says to refuse them.
        attestation = AttestationPolicy(
            (front_door.verifier, *parse_keys(settings.front_door_vkeys)),
            settings.require_attestation,
        )
        worker = build_worker(
            ctx.client,
            ctx.pool,
            settings.temporal_task_queue,
            max_cached_workflows=settings.workflow_cache,
            attestation=attestation,
        )
        await stack.enter_async_context(worker)
        await stack.enter_async_context(
            running_checkpointer(ctx.pool, log_key, settings.checkpoint_interval)
        )
        # Notifications by e-mail when TEMAPLAN_SMTP_HOST is set; without it a line in the
        # log, and the web inbox shows each person what waits for them.
        await stack.enter_async_context(running_relay(ctx.pool, running))
        server = _Server(http_config(create_app(ctx), settings, access_log=False))
        serving = asyncio.create_task(server.serve())
        web = f"http://{settings.api_host}:{settings.api_port}"
        ui = "" if settings.temporal_address else t("cli.up_ui", lang, port=ui_port)
        print(t("cli.up_running", lang, web=web, ui=ui), flush=True)
        done, _ = await asyncio.wait(
            [serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await serving
        if serving in done and not stop.is_set() and not server.started:
            print(t("cli.up_api_failed", lang, web=web), flush=True)
            return 1
        print(t("cli.up_stopping", lang), flush=True)
    print(t("cli.up_down", lang), flush=True)
    return 0
