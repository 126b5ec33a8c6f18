"""The Merkle log against a real PostgreSQL: the sequencer under concurrent writers and
concurrent sequencers, late commits and rollbacks, and the stored tree's roots and proofs
against a recomputation from the events themselves."""

from __future__ import annotations

import asyncio
import random
import uuid

import asyncpg
import pytest
from asyncpg.transaction import Transaction

from eventstore import ConcurrencyConflict, EventStore, NewEvent, merkle
from eventstore.log import STORED_FROM_LEVEL, LogError, MerkleLog, sequence_restored
from eventstore.pool import create_pool
from tests.conftest import scratch_database

pytestmark = pytest.mark.servers


def new_event(n: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        type="comment_recorded",
        data={"n": n},
        actor_id="kari.nilsen",
        actor_role="steering_group",
    )


async def insert_bypassing_the_store(
    conn: asyncpg.Pool | asyncpg.Connection,
    stream_id: str,
    version: int,
    hash_: str,
    *,
    prev_hash: str | None = None,
    txid: str | None = None,
) -> None:
    """An event row written straight into the table, as a writer that does not go through
    the store (or a restore) would: its prev_hash is its hash unless ``prev_hash`` is
    given, its txid the inserting transaction's, as the column's default gives it, unless
    ``txid`` is given."""
    await conn.execute(
        "INSERT INTO events (stream_id, version, event_id, type, schema_version, data, "
        "actor_id, actor_role, recorded_at, prev_hash, hash, txid) VALUES ($1, $2, $3, "
        "'x', 1, '{}', 'a', 'b', now(), $4, $5, "
        "COALESCE($6::text::xid8, pg_current_xact_id()))",
        stream_id,
        version,
        uuid.uuid4(),
        prev_hash or hash_,
        hash_,
        txid,
    )


async def check_leaves(pool: asyncpg.Pool) -> list[bytes]:
    """Once nothing is being written and the sequencer has run: every event has exactly
    one leaf, indexes are 0..n-1, and each stream's versions have increasing leaf indexes;
    returns the leaf hashes in leaf order."""
    await MerkleLog(pool).sequence()
    events = await pool.fetchval("SELECT count(*) FROM events")
    rows = await pool.fetch(
        "SELECT l.leaf_index, e.stream_id, e.version, e.hash, l.event_hash "
        "FROM log_leaves l JOIN events e USING (position) ORDER BY l.leaf_index"
    )
    assert len(rows) == events
    assert [r["leaf_index"] for r in rows] == list(range(events))
    assert await pool.fetchval("SELECT size FROM log_head") == events
    last: dict[str, int] = {}
    for r in rows:
        assert r["event_hash"] == r["hash"]
        assert r["version"] == last.get(r["stream_id"], 0) + 1, (r["stream_id"], r["version"])
        last[r["stream_id"]] = r["version"]
    return [merkle.event_leaf_hash(r["hash"]) for r in rows]


async def test_concurrent_writers_get_one_gapless_leaf_each(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=8, max_size=8)
    try:
        store = EventStore(pool)
        conflicts = 0

        async def own_stream(writer: int) -> None:
            version = 0
            for batch in range(15):
                events = [new_event(i) for i in range(1 + (writer + batch) % 4)]
                await store.append(f"plan-{writer}", version, events)
                version += len(events)

        async def shared_stream() -> None:
            nonlocal conflicts
            for _ in range(20):
                version, _ = await store.head("shared")
                try:
                    await store.append("shared", version, [new_event(version)])
                except ConcurrencyConflict:
                    conflicts += 1

        async def rolled_back() -> None:
            # A writer whose transaction fails after its insert: its leaves go with it.
            for n in range(10):
                async with pool.acquire() as conn:
                    tx = conn.transaction()
                    await tx.start()
                    await insert_bypassing_the_store(conn, f"doomed-{n}", 1, "0" * 64)
                    await asyncio.sleep(0.01)
                    await tx.rollback()

        writing = True
        sizes: list[int] = []

        async def sequencer() -> None:
            # Sequencers run while the writers write, as the checkpointer and the
            # receipts' look-ups do: what each sees is a prefix of the final order.
            while writing:
                sizes.append(await MerkleLog(pool).sequence())
                await asyncio.sleep(0.002)

        async def writers() -> None:
            nonlocal writing
            try:
                await asyncio.gather(
                    *(own_stream(w) for w in range(6)),
                    *(shared_stream() for _ in range(3)),
                    rolled_back(),
                )
            finally:
                writing = False

        await asyncio.gather(writers(), sequencer(), sequencer())
        assert len(set(sizes)) > 2, "the sequencers ran between the writers' commits"
        assert (
            await pool.fetchval("SELECT count(*) FROM events WHERE stream_id LIKE 'doomed-%'") == 0
        )
        leaves = await check_leaves(pool)
        assert len(leaves) > 200

        log = MerkleLog(pool)
        assert await log.integrate(batch=37) == len(leaves)
        # Nodes below STORED_FROM_LEVEL are rebuilt from their leaves, never stored.
        assert await pool.fetchval("SELECT min(level) FROM log_nodes") == STORED_FROM_LEVEL
        rng = random.Random(9162)
        for size in {1, 2, len(leaves), *rng.sample(range(1, len(leaves)), 20)}:
            root = await log.root(size)
            assert root == merkle.reference_root(leaves[:size])
            index = rng.randrange(size)
            proof = await log.inclusion_proof(index, size)
            assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
            old = rng.randrange(size + 1)
            consistency = await log.consistency_proof(old, size)
            old_root = merkle.reference_root(leaves[:old])
            assert merkle.verify_consistency(old, size, old_root, root, consistency)
    finally:
        await pool.close()


async def test_a_late_commit_is_never_skipped(database_url: str) -> None:
    """A transaction that inserts first (lower position) and commits last: writers after
    it do not wait for it, the sequencer gives no leaf past it while it runs, and once it
    commits it gets the earlier leaf, not a skipped one. A rollback frees nothing, since
    nothing was given to it."""
    pool = await create_pool(database_url, min_size=3, max_size=3)
    try:
        store = EventStore(pool)
        log = MerkleLog(pool)
        await store.append("early", 0, [new_event(0)])
        assert await log.sequence() == 1
        async with pool.acquire() as slow:
            tx = slow.transaction()
            await tx.start()
            await insert_bypassing_the_store(slow, "slow", 1, "1" * 64)
            fast = await asyncio.wait_for(
                store.append("fast", 0, [new_event(1), new_event(2)]), timeout=5
            )
            # Committed, but behind a transaction still running: no leaf yet, anywhere.
            assert await log.sequence() == 1
            assert await log.leaf_indexes([r.position for r in fast]) == {}
            await tx.commit()
        leaves = await log.leaf_indexes([r.position for r in fast])
        assert sorted(leaves.values()) == [2, 3]
        rows = await pool.fetch(
            "SELECT e.stream_id, e.position, l.leaf_index FROM events e "
            "JOIN log_leaves l USING (position) ORDER BY l.leaf_index"
        )
        assert [r["stream_id"] for r in rows] == ["early", "slow", "fast", "fast"]
        assert [r["leaf_index"] for r in rows] == [0, 1, 2, 3]
        assert rows[1]["position"] < rows[2]["position"]

        # The same with a rollback: the writer after it gets the next leaf.
        async with pool.acquire() as slow:
            tx = slow.transaction()
            await tx.start()
            await insert_bypassing_the_store(slow, "gone", 1, "2" * 64)
            after = await asyncio.wait_for(store.append("after", 0, [new_event(3)]), timeout=5)
            assert await log.sequence() == 4
            await tx.rollback()
        assert await log.leaf_indexes([after[0].position]) == {after[0].position: 4}
        await check_leaves(pool)
        assert await pool.fetchval("SELECT size FROM log_head") == 5
        assert await log.left_out() is None
    finally:
        await pool.close()


async def test_an_event_behind_the_watermark_without_a_leaf_is_found(pool: asyncpg.Pool) -> None:
    """Only the owner can write txid: one who records an event as if from a transaction
    the sequencer has passed keeps it out of the log, and the audit names it."""
    store = EventStore(pool)
    await store.append("p", 0, [new_event(0)])
    log = MerkleLog(pool)
    await log.sequence()
    assert await log.left_out() is None
    await insert_bypassing_the_store(pool, "p", 2, "3" * 64, txid="3")
    assert await log.sequence() == 1
    assert await log.left_out() == ("p", 2)


async def test_leaves_are_append_only_and_sizes_beyond_the_tree_refused(
    pool: asyncpg.Pool,
) -> None:
    store = EventStore(pool)
    await store.append("p", 0, [new_event(i) for i in range(5)])
    log = MerkleLog(pool)
    with pytest.raises(LogError, match="built to size 0"):
        await log.root(5)
    assert await log.integrate() == 5
    with pytest.raises(LogError, match="not in a tree"):
        await log.inclusion_proof(5, 5)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await pool.execute("DELETE FROM log_leaves")
    leaf = await log.leaf_of_event((await store.read("p"))[2].event_id)
    assert leaf is not None
    assert (leaf.leaf_index, leaf.version) == (2, 3)


async def test_events_recorded_before_the_log_become_its_first_leaves(
    postgres_server_url: str,
) -> None:
    """Upgrading a database that already holds events: migration 0010 gives them leaves
    in position order, and later appends follow without a gap."""
    from eventstore.migrate import bundled_migrations, migrate
    from eventstore.pool import with_database

    name = f"temaplan_upgrade_{uuid.uuid4().hex[:10]}"
    async with scratch_database(postgres_server_url, name):
        url = with_database(postgres_server_url, name)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, [m for m in bundled_migrations() if m.version < 10])
        finally:
            await conn.close()
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            store = EventStore(pool)
            await store.append("old-a", 0, [new_event(i) for i in range(3)])
            await store.append("old-b", 0, [new_event(9)])
            async with pool.acquire() as conn:
                assert await migrate(conn) == [
                    m.version for m in bundled_migrations() if m.version >= 10
                ]
            await store.append("old-a", 3, [new_event(4)])
            leaves = await check_leaves(pool)
            assert len(leaves) == 5
            log = MerkleLog(pool)
            assert await log.integrate() == 5
            assert await log.root(5) == merkle.reference_root(leaves)
        finally:
            await pool.close()


async def test_a_restore_from_a_server_further_on_loses_no_leaf(pool: asyncpg.Pool) -> None:
    """A backup's events keep the transaction ids of the server they were recorded on,
    which may be ahead of the server they are restored into. The restore gives the ones
    the backup held without a leaf theirs, and when this server's ids pass theirs later,
    none gets a second."""
    store = EventStore(pool)
    log = MerkleLog(pool)
    await store.append("before", 0, [new_event(0)])
    assert await log.sequence() == 1
    ahead = int(await pool.fetchval("SELECT pg_current_xact_id()::text")) + 40
    for version in (1, 2):  # as a restore writes them: not sequenced when backed up
        await insert_bypassing_the_store(
            pool, "restored", version, str(version) * 64, txid=str(ahead + version)
        )
    async with pool.acquire() as conn:
        assert await sequence_restored(conn) == 3
    await store.append("after", 0, [new_event(1)])
    for _ in range(50):  # this server's transaction ids pass the restored ones
        await pool.fetchval("SELECT pg_current_xact_id()")
    await store.append("later", 0, [new_event(2)])
    leaves = await check_leaves(pool)
    assert len(leaves) == 5
    assert await log.left_out() is None


async def test_a_plans_leaves_follow_its_versions_whatever_the_transaction_ids(
    database_url: str,
) -> None:
    """A transaction that took its id early (the hearing inbox locks its fence first)
    inserts a plan's next version after a younger transaction inserted the version
    before: the older id must not put the later version first. And when the version
    before is still behind a running transaction's id, the later one waits for it."""
    pool = await create_pool(database_url, min_size=3, max_size=3)
    try:
        store = EventStore(pool)
        log = MerkleLog(pool)

        async def second_version(conn: asyncpg.Connection, stream: str) -> None:
            first = (await store.read(stream))[0]
            await insert_bypassing_the_store(conn, stream, 2, "5" * 64, prev_hash=first.hash)

        async def with_an_id(conn: asyncpg.Connection) -> Transaction:
            """A transaction begun, holding its id from now on."""
            tx = conn.transaction()
            await tx.start()
            await conn.fetchval("SELECT pg_current_xact_id()")
            return tx

        # In one window: the older transaction's version 2 after the younger's version 1.
        async with pool.acquire() as early:
            tx = await with_an_id(early)
            await store.append("inbox", 0, [new_event(0)])
            await second_version(early, "inbox")
            await tx.commit()
        assert await log.sequence() == 2
        await check_leaves(pool)

        # Across windows: version 1 is behind a running transaction's id, version 2 not.
        async with pool.acquire() as early, pool.acquire() as running:
            tx = await with_an_id(early)
            held_open = await with_an_id(running)
            await store.append("held", 0, [new_event(1)])
            await second_version(early, "held")
            await tx.commit()
            assert await log.sequence() == 2, "version 2 waits for version 1's leaf"
            await held_open.rollback()
        assert await log.sequence() == 4
        await check_leaves(pool)
        assert await log.left_out() is None
    finally:
        await pool.close()
