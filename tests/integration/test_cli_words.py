"""`temaplan verify` and `temaplan events` say what they found in bokmål by default and in
English with `--lang en`, from the one catalogue."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from eventstore import EventStore, NewEvent
from temaplan.cli import main
from tests.integration.test_eventstore import tamper

pytestmark = pytest.mark.servers
PLAN = "9999-ord-2026"


async def _stream(pool: asyncpg.Pool, count: int) -> EventStore:
    store = EventStore(pool)
    events = [
        NewEvent(uuid.uuid4(), "sign_off_given", {"n": n}, "kari.nilsen", "steering_group")
        for n in range(count)
    ]
    await store.append(PLAN, 0, events)
    return store


Said = tuple[int, str, str]
Run = Callable[..., Awaitable[Said]]


@pytest.fixture
def run(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """The command run against the test's database: its exit code, output and errors."""
    monkeypatch.setenv("DATABASE_URL", database_url)

    async def run(*args: str) -> Said:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        got = capsys.readouterr()
        return code, got.out, got.err

    return run


async def of_unknown_plans(run: Run, command: str) -> tuple[Said, Said]:
    """What ``command`` says of a plan with no events, in bokmål and in English."""
    return await run(command, "ingen-slik-plan"), await run("--lang", "en", command, "no-such-plan")


async def test_verify_says_the_chain_is_whole_or_broken_in_either_language(
    pool: asyncpg.Pool, run: Run
) -> None:
    store = await _stream(pool, 3)
    last = (await store.verify(PLAN)).last_hash

    assert await run("verify", PLAN) == (
        0,
        f"{PLAN}: Kjeden er hel – 3 hendelser, siste hash {last}\n",
        "",
    )
    assert await run("--lang", "en", "verify", PLAN) == (
        0,
        f"{PLAN}: OK, 3 events, last hash {last}\n",
        "",
    )
    nb, en = await of_unknown_plans(run, "verify")
    assert nb == (1, "ingen-slik-plan: ingen hendelser\n", "")
    assert en[1] == "no-such-plan: no events\n"

    await tamper(
        pool,
        "UPDATE events SET actor_id = 'someone-else' WHERE stream_id = $1 AND version = 2",
        PLAN,
    )
    code, out, _ = await run("verify", PLAN)
    assert code == 1
    assert out.startswith(f"{PLAN}: Kjeden er BRUTT ved versjon 2: ")
    code, out, _ = await run("--lang", "en", "verify", PLAN)
    assert code == 1
    assert out.startswith(f"{PLAN}: BROKEN at version 2: ")


async def test_events_names_its_columns_events_and_roles_in_either_language(
    pool: asyncpg.Pool, run: Run
) -> None:
    await _stream(pool, 2)

    code, out, _ = await run("events", PLAN)
    assert code == 0
    header, first, second = out.splitlines()
    assert header.split()[:4] == ["ver", "hendelse", "aktør", "rolle"]
    assert "besluttet (norsk tid)" in header
    assert "registrert (norsk tid)" in header
    assert "Godkjent" in first
    assert "styringsgruppen" in first
    assert "sign_off_given" not in out
    # The time as Norwegians write it: 04.12.2026 15.55.00 +01:00.
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d\.\d\d\.\d\d [+-]\d\d:\d\d", second)

    code, out, _ = await run("--lang", "en", "events", PLAN)
    assert code == 0
    header, first, _ = out.splitlines()
    assert header.split()[:4] == ["ver", "type", "actor", "role"]
    assert "decided (Europe/Oslo)" in header
    assert "sign_off_given" in first
    assert "steering_group" in first

    nb, en = await of_unknown_plans(run, "events")
    assert nb == (1, "", "ingen hendelser for planen «ingen-slik-plan»\n")
    assert en[2] == "no events for plan 'no-such-plan'\n"


def test_keys_generate_says_where_the_keys_are_in_either_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "log.key"
    assert main(["keys", "generate", "--name", "plan.test/temaplan", "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert said.out.startswith("plan.test/temaplan+")  # the vkey, for scripts, as it was
    assert said.err == (
        f"privat nøkkel: {out} (hold den hemmelig, og ta en sikkerhetskopi som oppbevares "
        f"frakoblet)\noffentlig nøkkel: {out}.pub\n"
    )
    again = ["--lang", "en", "keys", "generate", "--name", "plan.test/temaplan", "--out", str(out)]
    assert main(again) == 2
    assert capsys.readouterr().err == f"{out} exists: a key is never overwritten\n"
