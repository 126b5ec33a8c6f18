"""Long work shows its progress on a terminal (a bar with counts and rate on stderr) and
writes nothing extra when stderr is not a terminal: the real command, with stderr on a
pseudo-terminal and then on a pipe."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest

from eventstore import EventStore, NewEvent

pytestmark = pytest.mark.servers
TEMAPLAN = str(Path(sys.executable).parent / "temaplan")
EVENTS = 2500


def _env(database_url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    env.pop("TEMPORAL_ADDRESS", None)
    return env


def on_terminal(database_url: str, *args: str) -> tuple[int, str, str]:
    """stdout to a file, stderr to a pseudo-terminal: what the terminal showed."""
    main, child = pty.openpty()
    # A file, not a pipe: a full pipe would stop the command while this reads the terminal.
    with tempfile.TemporaryFile() as stdout:
        process = subprocess.Popen(
            [TEMAPLAN, *args], stdout=stdout, stderr=child, env=_env(database_url)
        )
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other side is closed: the command ended
                break
            if not chunk:
                break
            shown += chunk
        os.close(main)
        code = process.wait(timeout=60)
        stdout.seek(0)
        out = stdout.read().decode()
    return code, out, shown.decode(errors="replace")


def piped(database_url: str, *args: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [TEMAPLAN, *args],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


async def _long_streams(pool: asyncpg.Pool) -> list[str]:
    store = EventStore(pool)
    streams = [f"9999-progress-{i}" for i in range(3)]
    for stream, count in zip(streams, (EVENTS, 10, 10), strict=True):
        events = [
            NewEvent(uuid.uuid4(), "step_signed_off", {"n": n}, "kari.nilsen", "steering_group")
            for n in range(count)
        ]
        for start in range(0, count, 500):
            await store.append(stream, start, events[start : start + 500])
    return streams


async def test_verify_all_export_and_a_long_events_show_a_bar_on_a_terminal_only(
    pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    long_stream, *_ = await _long_streams(pool)
    commands = {
        # The audit commands' bars in bokmål by default, as the rest of what they say.
        "verify": (("audit", "verify", "--all"), "3/3", "planer/s"),
        "verify in English": (("audit", "verify", "--all", "--lang", "en"), "3/3", "plans/s"),
        "export": (
            ("audit", "export", long_stream, "--format", "jsonl", "--out", str(tmp_path / "x")),
            f"{EVENTS}/{EVENTS}",
            "hendelser/s",
        ),
        "events": (("events", long_stream), f"{EVENTS}/{EVENTS}", "hendelser/s"),
        "events in English": (
            ("--lang", "en", "events", long_stream),
            f"{EVENTS}/{EVENTS}",
            "events/s",
        ),
    }
    for name, (args, count, rate) in commands.items():
        code, out, shown = on_terminal(database_url, *args)
        plain_code, plain_out, plain_err = piped(database_url, *args)
        assert code == plain_code, (name, shown)
        assert re.sub(r"\d+\.\d+s", "", out) == re.sub(r"\d+\.\d+s", "", plain_out), name
        assert count in shown, (name, shown)
        assert rate in shown, (name, shown)
        # Not on a terminal: nothing but what the command itself says on stderr.
        assert "/s" not in plain_err, (name, plain_err)
        assert "\x1b[" not in plain_err, (name, plain_err)
