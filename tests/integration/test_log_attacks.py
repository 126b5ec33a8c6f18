"""The attacks of an operator who can do anything in the database (superuser, triggers
off with session_replication_role = replica) and even holds the log's signing key:
rewrite an actor and recompute the chain, delete a plan's stream, cut a stream's tail,
replace the whole log. Each time the tree is rebuilt and a new checkpoint signed, a
fresh export made, and the standalone verifier, given the checkpoint a witness co-signed
before, refuses it and names the tree size."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from audit import verify_export
from audit.checkpointer import Checkpointer
from audit.log_export import export_log
from domain import checkpoints as cp
from domain.canonical import GENESIS_HASH, chain_hash
from domain.events import PlanCreated
from domain.roles import Role
from eventstore import EventStore, NewEvent
from eventstore.log import MerkleLog
from runtime.planfile import load_plan_file

pytestmark = pytest.mark.servers

LOG_KEY = cp.SigningKey.generate("bolig.kommune.example/temaplan")
WITNESS = cp.SigningKey.generate("revisjon.example/witness", cp.COSIGNATURE_V1)


def event(n: int, actor: str = "kari.nilsen", kind: str = "comment_recorded") -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type=kind,
        data={"n": n, "text": f"merknad {n}"},
        actor_id=actor,
        actor_role="steering_group",
    )


def verified_export(
    capsys: pytest.CaptureFixture[str], export: Path, *options: str
) -> tuple[int, str, str]:
    """`verify-export` run on ``export`` with the log's key and ``options``: its exit code,
    output and errors."""
    capsys.readouterr()
    code = verify_export.main([str(export), "--log-key", LOG_KEY.verifier.vkey(), *options])
    said = capsys.readouterr()
    return code, said.out, said.err


async def sequenced(pool: asyncpg.Pool, size: int) -> None:
    """Wait until the sequencer has given leaves to ``size`` events. It holds back the
    events of transactions that an older one, still open, may yet precede, in any
    database of the server: on a server that other work shares, that can take a while."""
    log = MerkleLog(pool)
    for _ in range(600):
        if await log.sequence() >= size:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the sequencer stayed below {size} leaves for 30 s")


class Record:
    def __init__(self, pool: asyncpg.Pool, folder: Path) -> None:
        self.pool = pool
        self.folder = folder
        self.store = EventStore(pool)
        self.checkpointer = Checkpointer(pool, LOG_KEY)
        self.held = folder / "witnessed.checkpoint"
        self.last_export = folder / "none"

    async def witnessed(self) -> int:
        """Three plans, checkpointed and co-signed; the auditor keeps that checkpoint."""
        await self.store.append("1804-a", 0, [event(i) for i in range(4)])
        await self.store.append("1804-b", 0, [event(10), event(11, "ola.hansen")])
        await self.store.append("1804-c", 0, [event(20)])
        await self.store.append("1804-a", 4, [event(5, kind="phase_completed")])
        await sequenced(self.pool, 8)
        checkpoint = await self.checkpointer.checkpoint_now()
        assert checkpoint is not None
        line = cp.cosign(cp.parse_checkpoint(checkpoint.note), WITNESS, 1_800_000_000)
        await MerkleLog(self.pool).add_cosignature(checkpoint.tree_size, WITNESS.name, line)
        self.held.write_text(checkpoint.note + line + "\n")
        await self.store.append("1804-b", 2, [event(12)])
        await sequenced(self.pool, 9)
        await self.checkpointer.checkpoint_now()
        return checkpoint.tree_size

    async def verify(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        out = self.folder / f"log-{uuid.uuid4().hex[:6]}.jsonl"
        await export_log(self.pool, out)
        self.last_export = out
        code, said, errors = verified_export(capsys, out, "--checkpoint", str(self.held))
        return code, (said + errors).strip()


async def superuser(pool: asyncpg.Pool, *statements: str) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            await conn.execute(statement)


async def rechain(pool: asyncpg.Pool, stream: str) -> None:
    """Recompute a stream's hashes from its (changed) rows, as the forger would."""
    rows = await EventStore(pool).read(stream)
    prev = GENESIS_HASH
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        for e in rows:
            new = chain_hash(prev, e.chain_record())
            await conn.execute(
                "UPDATE events SET prev_hash = $1, hash = $2 WHERE position = $3",
                prev,
                new,
                e.position,
            )
            prev = new


async def rebuild_and_sign(record: Record) -> None:
    """Renumber the leaves from the events as they now are, rebuild the tree, drop the
    old checkpoints and sign a new one with the log's own key."""
    await superuser(
        record.pool,
        "DELETE FROM log_cosignatures",
        "DELETE FROM log_checkpoints",
        "DELETE FROM log_nodes",
        "DELETE FROM log_leaves",
        "INSERT INTO log_leaves (leaf_index, position, event_hash) "
        "SELECT row_number() OVER (ORDER BY position) - 1, position, hash FROM events",
        "UPDATE log_head SET size = (SELECT count(*) FROM events), "
        "sequenced_below = pg_snapshot_xmin(pg_current_snapshot())",
        "UPDATE log_tree SET size = 0",
    )
    assert await record.checkpointer.checkpoint_now() is not None


async def rewrite_actor(record: Record) -> None:
    await superuser(
        record.pool,
        "UPDATE events SET actor_id = 'someone.else' WHERE stream_id = '1804-b' AND version = 2",
    )
    await rechain(record.pool, "1804-b")


async def delete_stream(record: Record) -> None:
    await superuser(record.pool, "DELETE FROM events WHERE stream_id = '1804-c'")


async def cut_tail(record: Record) -> None:
    await superuser(record.pool, "DELETE FROM events WHERE stream_id = '1804-a' AND version >= 4")
    # ... and make the log as long as before with harmless new events.
    await record.store.append("1804-d", 0, [event(i) for i in range(2)])


async def replace_log(record: Record) -> None:
    await superuser(record.pool, "DELETE FROM events")
    for stream in ("1804-a", "1804-b", "1804-c"):
        await record.store.append(stream, 0, [event(i, "someone.else") for i in range(3)])


ATTACKS: dict[str, tuple[Callable[[Record], Awaitable[None]], str]] = {
    "rewrite an actor": (rewrite_actor, "first bad tree size 8"),
    "delete a stream": (delete_stream, "first bad tree size 8"),
    "cut a stream's tail": (cut_tail, "first bad tree size 8"),
    "replace the whole log": (replace_log, "first bad tree size 8"),
}


async def test_the_untouched_log_verifies_with_its_witnessed_checkpoint(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = Record(pool, tmp_path)
    assert await record.witnessed() == 8
    code, message = await record.verify(capsys)
    assert code == 0, message
    assert message.startswith("OK: log of 9 events in 3 plans, tree size 9 root ")
    assert "consistent with held checkpoint of tree size 8" in message
    code, said, _ = verified_export(
        capsys,
        record.last_export,
        "--witness-key",
        WITNESS.verifier.vkey(),
        "--checkpoint",
        str(record.held),
    )
    assert code == 0
    assert "co-signed by revisjon.example/witness" in said
    from temaplan.log_cli import verify_log

    arguments = argparse.Namespace(
        log_key=LOG_KEY.verifier.vkey(),
        witness_key=[WITNESS.verifier.vkey()],
        checkpoint=[record.held],
        lang="en",
    )
    assert await verify_log(pool, arguments) == 0
    assert "consistent with held checkpoint of tree size 8" in capsys.readouterr().out


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_each_attack_is_found_given_the_witnessed_checkpoint(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str], attack: str
) -> None:
    record = Record(pool, tmp_path)
    size = await record.witnessed()
    do, expected = ATTACKS[attack]
    await do(record)
    await rebuild_and_sign(record)
    code, message = await record.verify(capsys)
    assert code == 1, message
    assert expected in message or f"commits to tree size {size}" in message, message
    assert "witnessed.checkpoint" in message
    # The same from the store, as `temaplan audit verify-log` does it.
    from temaplan.log_cli import verify_log

    capsys.readouterr()
    arguments = argparse.Namespace(
        log_key=LOG_KEY.verifier.vkey(), witness_key=[], checkpoint=[record.held], lang="en"
    )
    assert await verify_log(pool, arguments) == 1
    found = capsys.readouterr().err
    assert "the log does not verify" in found
    assert expected in found or f"commits to tree size {size}" in found, found
    arguments.lang = "nb"
    assert await verify_log(pool, arguments) == 1
    assert capsys.readouterr().err.startswith("Merkle-loggen kan ikke verifiseres: ")


async def test_a_forged_checkpoint_without_the_key_is_refused(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = Record(pool, tmp_path)
    await record.witnessed()
    out = tmp_path / "log.jsonl"
    await export_log(pool, out)
    note = (tmp_path / "log.jsonl.checkpoint").read_text()
    lines = note.split("\n")
    lines[1] = "5"
    (tmp_path / "log.jsonl.checkpoint").write_text("\n".join(lines))
    code, _, errors = verified_export(capsys, out)
    assert code == 1
    assert "signature does not verify" in errors


async def test_the_empty_log_exports_and_verifies(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await Checkpointer(pool, LOG_KEY).checkpoint_now()
    out = tmp_path / "empty.jsonl"
    manifest = await export_log(pool, out)
    assert manifest["event_count"] == 0
    assert out.read_bytes() == b""
    code, said, _ = verified_export(capsys, out)
    assert code == 0
    assert "OK: log of 0 events in 0 plans, tree size 0" in said


async def test_plan_export_and_report_carry_the_cosigned_checkpoint(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from audit.commands import export

    record = Record(pool, tmp_path)
    await record.witnessed()
    store = EventStore(pool)
    out = tmp_path / "1804-a.jsonl"
    assert await export(store, "1804-a", "jsonl", out) == 0
    witness = ("--witness-key", WITNESS.verifier.vkey())
    code, said, _ = verified_export(capsys, out, *witness)
    assert code == 0
    assert "last event is leaf 7 of the signed tree of size 8" in said
    # The plan's last event, cut off and the export redone, no longer matches the proof.
    proof = (tmp_path / "1804-a.jsonl.inclusion.json").read_text()
    await superuser(pool, "DELETE FROM events WHERE stream_id = '1804-a' AND version = 5")
    assert await export(store, "1804-a", "jsonl", out) == 0
    (tmp_path / "1804-a.jsonl.inclusion.json").write_text(proof)
    code, _, errors = verified_export(capsys, out, *witness)
    assert code == 1
    assert "is not of the export's last event" in errors

    definition = load_plan_file(Path(__file__).parents[2] / "examples" / "bodo.yaml")
    created = PlanCreated(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 3, 1, tzinfo=UTC),
        actor_id="temaplan",
        actor_role=Role.SYSTEM,
        plan_id=definition.plan_id,
        definition=definition,
    )
    await store.append(definition.plan_id, 0, [NewEvent.from_domain(created)])
    page = tmp_path / "report.html"
    assert await export(store, definition.plan_id, "html", page, "en") == 0
    html = page.read_text()
    assert "Signed checkpoint of the whole log" in html
    assert "revisjon.example/witness" in html


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_a_copy_of_the_verifier_checks_a_log_export_without_site_packages(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """No `cryptography` to import: the signatures are checked with openssl."""
    record = Record(pool, tmp_path)
    await record.witnessed()
    out = tmp_path / "log.jsonl"
    await export_log(pool, out)
    script = shutil.copy(Path(verify_export.__file__), tmp_path / "verify_export.py")
    command = [sys.executable, "-I", "-S", str(script), str(out), "--log-key"]
    ok = await asyncio.to_thread(
        run, [*command, LOG_KEY.verifier.vkey(), "--checkpoint", str(record.held)]
    )
    assert ok.returncode == 0, ok.stderr
    assert "consistent with held checkpoint of tree size 8" in ok.stdout
    other = cp.SigningKey.generate(LOG_KEY.name)
    bad = await asyncio.to_thread(run, [*command, other.verifier.vkey()])
    assert bad.returncode == 1
    assert "carries no signature by the log's key" in bad.stderr


async def test_a_kept_receipt_names_the_rewritten_event(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person's own receipt proof, given as the held checkpoint, names the very event
    that was rewritten."""
    from audit.proofs import inclusion_document

    record = Record(pool, tmp_path)
    await record.witnessed()
    [target] = await EventStore(pool).read("1804-b", from_version=2, up_to_version=2)
    receipt = await inclusion_document(MerkleLog(pool), target.event_id, 8)
    record.held.write_text(json.dumps(receipt))
    code, message = await record.verify(capsys)
    assert code == 0, message
    await rewrite_actor(record)
    await rebuild_and_sign(record)
    code, message = await record.verify(capsys)
    assert code == 1
    assert message.startswith("line 6 (leaf 5, 1804-b version 2): is not the event of the receipt")


async def test_a_bundle_carries_each_plans_checkpoint_and_proof_as_the_directory_does(
    pool: asyncpg.Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tarfile

    from audit.commands import export_all

    record = Record(pool, tmp_path)
    await record.witnessed()
    store = EventStore(pool)
    assert await export_all(store, "jsonl", tmp_path / "dir") == 0
    assert await export_all(store, "jsonl", tmp_path / "alle.tar", bundle=True) == 0
    with tarfile.open(tmp_path / "alle.tar") as archive:
        archive.extractall(tmp_path / "ut", filter="data")
    names = sorted(p.name for p in (tmp_path / "dir").iterdir())
    assert sorted(p.name for p in (tmp_path / "ut").iterdir()) == names
    assert "1804-a.jsonl.inclusion.json" in names
    assert "1804-b.jsonl.checkpoint" in names
    for name in names:
        if not name.endswith(".manifest.json"):  # the manifests carry their export time
            assert (tmp_path / "ut" / name).read_bytes() == (tmp_path / "dir" / name).read_bytes()
    for plan in ("1804-a", "1804-b", "1804-c"):
        code, said, errors = verified_export(capsys, tmp_path / "ut" / f"{plan}.jsonl")
        assert code == 0, (said, errors)
