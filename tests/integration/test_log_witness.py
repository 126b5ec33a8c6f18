"""Signed checkpoints, proofs over the API and the CLI, and the witness against a real
API server: it co-signs a log that only grows, and refuses one that was rewritten."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import uvicorn

from api.app import create_app
from api.service import ApiContext
from audit.checkpointer import Checkpointer
from audit.proofs import check_inclusion
from audit.witness import Inconsistent, Witness
from domain import checkpoints as cp
from eventstore import EventStore, NewEvent
from eventstore.log import MerkleLog
from runtime.settings import Settings
from temaplan import cli

pytestmark = pytest.mark.servers


def event(n: int, kind: str = "comment_recorded") -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type=kind,
        data={"n": n},
        actor_id="kari.nilsen",
        actor_role="steering_group",
    )


@pytest.fixture
def log_key() -> cp.SigningKey:
    return cp.SigningKey.generate("bolig.kommune.example/temaplan")


@pytest.fixture
def witness_key() -> cp.SigningKey:
    return cp.SigningKey.generate("kontrollutvalget.example/witness", cp.COSIGNATURE_V1)


@pytest.fixture
async def served(
    pool: asyncpg.Pool, database_url: str, log_key: cp.SigningKey, witness_key: cp.SigningKey
) -> AsyncIterator[tuple[str, ApiContext]]:
    """The API on a real port (the witness speaks plain HTTP to it)."""
    from eventstore.pool import create_pool

    audit_pool = await create_pool(database_url, read_only=True, max_size=2)
    settings = Settings(
        TEMAPLAN_LOG_VKEY=log_key.verifier.vkey(),
        TEMAPLAN_WITNESS_KEYS=witness_key.verifier.vkey(),
    )
    ctx = ApiContext(client=None, pool=pool, audit_pool=audit_pool, settings=settings)  # type: ignore[arg-type]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_config=None)
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", ctx
    finally:
        server.should_exit = True
        await task
        await audit_pool.close()


async def test_checkpoints_proofs_and_a_witness_that_cosigns(
    pool: asyncpg.Pool,
    served: tuple[str, ApiContext],
    log_key: cp.SigningKey,
    witness_key: cp.SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, ctx = served
    store = EventStore(pool)
    receipts = await store.append("1804-a", 0, [event(i) for i in range(5)])
    await store.append("1804-b", 0, [event(9)])
    checkpointer = Checkpointer(pool, log_key, interval=3600)
    first = await checkpointer.checkpoint_now()
    assert first is not None
    assert first.tree_size == 6
    # Nothing new: no new checkpoint until a phase change or the interval.
    await store.append("1804-b", 1, [event(10)])
    assert await checkpointer.step() is None
    await store.append("1804-b", 2, [event(11, "phase_completed")])
    prompt = await checkpointer.step()
    assert prompt is not None
    assert prompt.tree_size == 8

    token = (await ctx.tokens.issue("revisor", "auditor")).token
    state = tmp_path / "witness.json"
    witness = Witness(url, log_key.verifier, witness_key, state)
    message = await asyncio.to_thread(witness.run, token, 1_800_000_000)
    assert "co-signed tree size 8" in message
    import httpx

    async with httpx.AsyncClient(base_url=url) as http:
        note = (await http.get("/api/log/checkpoint")).text
        cosigned = cp.parse_checkpoint(note)
        assert cp.verify_cosignature(cosigned, witness_key.verifier) == 1_800_000_000
        assert (await http.get("/api/log/key")).text.strip() == log_key.verifier.vkey()
        proof = (await http.get(f"/api/log/inclusion/{receipts[2].event_id}")).json()
        assert proof["leaf_index"] == 2
        assert "is leaf 2 of the log's signed tree of size 8" in check_inclusion(
            proof, log_key.verifier
        )
        forged = {**proof, "event_hash": "0" * 64}
        with pytest.raises(Exception, match="does not hold"):
            check_inclusion(forged, log_key.verifier)
        stranger = cp.SigningKey.generate("stranger.example/w", cp.COSIGNATURE_V1)
        line = cp.cosign(cp.parse_checkpoint(note), stranger, 1)
        refused = await http.post(
            "/api/log/cosignature",
            json={"tree_size": 8, "line": line},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code == 422
        assert "not one this deployment lists" in refused.text

    # The log grows: the witness checks consistency from 8 and co-signs again.
    await store.append("1804-c", 0, [event(i) for i in range(3)])
    await checkpointer.checkpoint_now()
    message = await asyncio.to_thread(witness.run, token, 1_800_000_100)
    assert "co-signed tree size 11" in message
    assert "consistent with tree size 8" in message

    # The CLI: prove, consistency, check-proof, against the same database.
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    assert (
        await asyncio.to_thread(
            cli.main, ["audit", "prove", str(receipts[4].event_id), "--size", "8"]
        )
        == 0
    )
    proof_text = capsys.readouterr().out
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(proof_text)
    assert json.loads(proof_text)["tree_size"] == 8
    assert (
        await asyncio.to_thread(
            cli.main,
            ["audit", "check-proof", str(proof_file), "--log-key", log_key.verifier.vkey()],
        )
        == 0
    )
    said = capsys.readouterr().out
    assert said.startswith("Beviset er i orden: ")
    assert "is leaf 4 of the log's signed tree of size 8" in said
    check = ["--lang", "en", "audit", "check-proof", str(proof_file)]
    assert await asyncio.to_thread(cli.main, [*check, "--log-key", log_key.verifier.vkey()]) == 0
    assert capsys.readouterr().out.startswith("OK: ")
    assert await asyncio.to_thread(cli.main, ["audit", "consistency", "6", "11"]) == 0
    consistency: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert (consistency["old_size"], consistency["new_size"]) == (6, 11)
    assert await asyncio.to_thread(cli.main, ["audit", "consistency", "7", "12"]) == 1
    assert "built to size 11, not 12" in capsys.readouterr().err


async def rewrite_history(pool: asyncpg.Pool, keep: int) -> None:
    """The operator's attack: as superuser with triggers off, cut the log back to ``keep``
    leaves (and their events), so that the tree can be rebuilt and signed anew."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "DELETE FROM events WHERE position IN "
            "(SELECT position FROM log_leaves WHERE leaf_index >= $1)",
            keep,
        )
        await conn.execute("DELETE FROM log_leaves WHERE leaf_index >= $1", keep)
        await conn.execute("UPDATE log_head SET size = $1", keep)
        await conn.execute("DELETE FROM log_nodes")
        await conn.execute("UPDATE log_tree SET size = 0")
        await conn.execute("DELETE FROM log_cosignatures")
        await conn.execute("DELETE FROM log_checkpoints")


async def test_the_witness_refuses_a_rewritten_history_and_keeps_the_evidence(
    pool: asyncpg.Pool,
    served: tuple[str, ApiContext],
    log_key: cp.SigningKey,
    witness_key: cp.SigningKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, ctx = served
    store = EventStore(pool)
    await store.append("1804-a", 0, [event(i) for i in range(6)])
    checkpointer = Checkpointer(pool, log_key)
    await checkpointer.checkpoint_now()
    token = (await ctx.tokens.issue("revisor", "auditor")).token
    state = tmp_path / "witness.json"
    witness = Witness(url, log_key.verifier, witness_key, state)
    await asyncio.to_thread(witness.run, token)
    held = json.loads(state.read_text())

    # Cut the tail, then add different events so that the log is longer than before;
    # the operator even signs with the real key.
    await rewrite_history(pool, keep=4)
    await store.append("1804-a", 4, [event(100), event(101), event(102)])
    forged = await checkpointer.checkpoint_now()
    assert forged is not None
    assert forged.tree_size == 7
    with pytest.raises(Inconsistent) as refused:
        await asyncio.to_thread(witness.run, token)
    text = str(refused.value)
    assert "tree size 7" in text
    assert "tree size 6" in text
    assert forged.root_hash.hex() in text
    assert json.loads(state.read_text()) == held  # the held checkpoint is kept

    # Through the command: exit status 3, the message, and the evidence files.
    key_file = tmp_path / "w.key"
    cp.write_signing_key(witness_key, key_file)
    status = await asyncio.to_thread(
        cli.main,
        [
            "witness",
            "--api",
            url,
            "--log-key",
            log_key.verifier.vkey(),
            "--key",
            str(key_file),
            "--state",
            str(state),
        ],
    )
    assert status == 3
    err = capsys.readouterr().err
    assert "REFUSED" in err
    assert "Bevisene er lagret i " in err
    [folder] = (tmp_path / "witness.json.evidence").iterdir()
    assert {p.name for p in folder.iterdir()} >= {
        "held.checkpoint",
        "presented.checkpoint",
        "consistency.json",
        "finding.txt",
    }
    assert await MerkleLog(pool).built_size() == 7


async def test_timed_checkpoints_follow_the_interval_from_the_last_stored_one(
    pool: asyncpg.Pool, log_key: cp.SigningKey
) -> None:
    store = EventStore(pool)
    await store.append("1804-t", 0, [event(0)])
    checkpointer = Checkpointer(pool, log_key, interval=1, poll=0.05)
    first = await checkpointer.step()
    assert first is not None
    assert first.tree_size == 1
    await store.append("1804-t", 1, [event(1)])
    assert await checkpointer.step() is None  # within the interval, nothing prompt
    await asyncio.sleep(1.1)
    timed = await checkpointer.step()
    assert timed is not None
    assert timed.tree_size == 2
    assert await checkpointer.step() is None  # nothing new
    # A restarted worker (a new checkpointer) does not sign again at once either.
    await store.append("1804-t", 2, [event(2)])
    assert await Checkpointer(pool, log_key, interval=60).step() is None
