"""The servers a chaos run owns and breaks: its own PostgreSQL (pgserver's binaries, in a
temporary directory), its own Temporal dev server (its history in a database file, so it
survives a restart) and the worker as a real `python worker.py` process.

Nothing here touches a server the run did not start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.client import Client

from runtime.settings import Settings
from runtime.temporal_client import connect
from temaplan.up import dev_server_command
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class Postgres:
    """pgserver's PostgreSQL on a data directory of its own; ``restart`` stops it the
    way a crash does (immediate mode: no checkpoint, recovery from WAL on start)."""

    def __init__(self, home: Path) -> None:
        from pgserver.postgres_server import get_server

        self.pgdata = home / "pgdata"
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        self.url = self._server.get_uri()

    def _pg_ctl(self, *args: str) -> None:
        # pgserver makes its command functions at import time, so mypy cannot see them.
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.pgdata, user=self._server.system_user, timeout=60)

    async def restart(self, down_for: float) -> None:
        await asyncio.to_thread(self._pg_ctl, "-w", "-m", "immediate", "stop")
        await asyncio.sleep(down_for)
        # Started with the options it last ran with (postmaster.opts): same socket.
        await asyncio.to_thread(self._pg_ctl, "-w", "restart")

    def stop(self) -> None:
        # pgserver knows only the first postmaster; a restarted one is stopped here.
        self._pg_ctl("-w", "-m", "fast", "stop")
        self._server.cleanup()


class Temporal:
    """A dev server whose history lives in ``temporal.db``; a restart keeps every plan."""

    def __init__(self, home: Path, settings: Settings) -> None:
        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = dev_server_command(
            self.home, self.port, free_port(), self.settings.temporal_namespace
        )
        with open(self.home / "server.log", "ab") as log:
            return subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    async def start(self) -> None:
        self._process = self._spawn()
        for _ in range(300):
            if self._process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited; see {self.home}/server.log")
            try:
                client = await asyncio.wait_for(connect(self.settings, self.address), 5)
                await asyncio.wait_for(client.count_workflows(), 5)
                return
            except Exception:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the Temporal dev server did not answer on {self.address}")

    async def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            await asyncio.to_thread(self._process.wait, 20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            await asyncio.to_thread(self._process.wait)
        self._process = None

    async def restart(self, down_for: float) -> None:
        await self.stop()
        await asyncio.sleep(down_for)
        await self.start()

    async def client(self) -> Client:
        return await connect(self.settings, self.address)


class WorkerProcess:
    """`python worker.py` with the run's servers in its environment; killed with
    SIGKILL, it gets no chance to finish anything."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.log = home / "worker.log"
        self.env = {**os.environ, **env}
        self._process: subprocess.Popen[bytes] | None = None
        self.started = 0
        # Held while a kill and its restart happen, so nobody else starts one meanwhile.
        self.lock = asyncio.Lock()

    def start(self) -> None:
        if self.running:
            raise RuntimeError("one worker process at a time")
        with open(self.log, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started += 1

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()

    async def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            await asyncio.to_thread(self._process.wait, 20)
        except subprocess.TimeoutExpired:
            self.kill()
