"""The Merkle log over every event: leaves, the tree's stored nodes, roots, proofs and
the checkpoints signed over them (migration 0010, docs/audit-format.md "The Merkle log").

Leaf indexes are given to committed events by the sequencer (migration 0070,
``sequence``): the checkpointer runs it before it builds, and a receipt's look-up runs it
when its events have no leaf yet. ``integrate`` builds the tree from the leaves: it adds
the hash of every subtree of two or more leaves that the new leaves complete (a leaf's
own hash is computed from its row), under log_tree's row lock, so one integrator works at
a time however many workers run it. A root or a proof then reads O(log n) stored nodes in
one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from eventstore import merkle
from eventstore.rows import from_row

INTEGRATE_BATCH = 20_000

# Interior nodes below this level are not stored: one is rebuilt from its at most
# 2 ** (STORED_FROM_LEVEL - 1) leaves when a root or a proof needs it. A proof needs at
# most one node per level, so that reads a few more leaves, still O(log n), while the
# integrator writes one node per 16 leaves instead of one per leaf (nodes built before
# this, at every level, are kept and not read).
STORED_FROM_LEVEL = 4


_LEFT_OUT = """
SELECT e.stream_id, e.version FROM events e, log_head h
 WHERE (e.txid IS NULL OR e.txid < h.sequenced_below)
   AND NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.position = e.position)
 ORDER BY e.position LIMIT 1
"""


class LogError(Exception):
    """A question the log cannot answer: a size it has not reached, an unknown event."""


@dataclass(frozen=True, slots=True)
class Leaf:
    leaf_index: int
    position: int
    stream_id: str
    version: int
    event_id: UUID
    event_type: str
    event_hash: str


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    created_at: datetime
    cosignatures: tuple[str, ...] = ()

    def with_cosignatures(self) -> str:
        """The signed note with the witnesses' lines after the log's own."""
        return self.note + "".join(line + "\n" for line in self.cosignatures)


_LEAF_COLUMNS = (
    "l.leaf_index, l.position, e.stream_id, e.version, e.event_id, e.type AS event_type,"
    " l.event_hash"
)


def _leaf(row: asyncpg.Record) -> Leaf:
    return from_row(Leaf, row)


class MerkleLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def sequenced_size(self) -> int:
        """Leaves given out to committed events."""
        return int(await self._pool.fetchval("SELECT size FROM log_head"))

    async def holds_events(self) -> bool:
        """Whether anything was recorded, sequenced yet or not."""
        return bool(await self._pool.fetchval("SELECT EXISTS (SELECT 1 FROM events)"))

    async def left_out(self) -> tuple[str, int] | None:
        """The first event the sequencer should have given a leaf and did not: its
        transaction ended below the watermark, or it was recorded before the sequencer
        (migration 0070). Only someone who writes txid, which the application may not, or
        deletes leaves can cause one. Reads every event: for audits."""
        row = await self._pool.fetchrow(_LEFT_OUT)
        return (row["stream_id"], row["version"]) if row is not None else None

    async def sequence(self) -> int:
        """Gives leaves to every event committed since the last time; returns the size."""
        return int(await self._pool.fetchval("SELECT log_sequence_committed()"))

    async def built_size(self) -> int:
        """Leaves whose subtrees are built: the largest size a root can be had for."""
        return int(await self._pool.fetchval("SELECT size FROM log_tree"))

    async def integrate(self, batch: int = INTEGRATE_BATCH) -> int:
        """Sequence, then build the tree up to every leaf; returns the built size."""
        await self.sequence()
        while True:
            size, more = await self._integrate_batch(batch)
            if not more:
                return size

    async def _integrate_batch(self, batch: int) -> tuple[int, bool]:
        async with self._pool.acquire() as conn, conn.transaction():
            built = int(await conn.fetchval("SELECT size FROM log_tree FOR UPDATE"))
            rows = await conn.fetch(
                "SELECT leaf_index, event_hash FROM log_leaves WHERE leaf_index >= $1 "
                "ORDER BY leaf_index LIMIT $2",
                built,
                batch,
            )
            if not rows:
                return built, False
            # The tree's right edge: the last complete subtree at each level, which is the
            # left sibling of the next node completed at that level. The perfect subtrees
            # that make up the built size are exactly that edge (one per level).
            edge = {
                level: h
                for (level, _), h in (
                    await _fetch_nodes(conn, merkle.range_nodes(0, built))
                ).items()
            }
            new: list[tuple[int, int, bytes]] = []
            size = built
            sha256, fromhex = hashlib.sha256, bytes.fromhex
            for leaf_index, event_hash in rows:
                if leaf_index != size:
                    break  # cannot happen while the trigger sequences; never build past a gap
                # merkle.event_leaf_hash and merkle.node_hash, inlined: this loop is the
                # checkpointer's time per event.
                h = sha256(b"\x00" + fromhex(event_hash)).digest()
                level, index = 0, leaf_index
                while index & 1:
                    h = sha256(b"\x01" + edge[level] + h).digest()
                    level, index = level + 1, index >> 1
                    if level >= STORED_FROM_LEVEL:
                        new.append((level, index, h))
                edge[level] = h
                size += 1
            await conn.copy_records_to_table(
                "log_nodes", records=new, columns=("level", "node_index", "hash")
            )
            await conn.execute("UPDATE log_tree SET size = $1", size)
            return size, len(rows) == batch

    async def _nodes(self, needed: set[merkle.Node], size: int) -> dict[merkle.Node, bytes]:
        built = await self.built_size()
        if size > built:
            raise LogError(f"the log's tree is built to size {built}, not {size}")
        async with self._pool.acquire() as conn:
            return await _fetch_nodes(conn, needed)

    async def root(self, size: int) -> bytes:
        if size == 0:
            return merkle.EMPTY_ROOT
        nodes = await self._nodes(set(merkle.range_nodes(0, size)), size)
        return merkle.range_hash(0, size, nodes)

    async def inclusion_proof(self, leaf_index: int, size: int) -> list[bytes]:
        return await self._proof(merkle.inclusion_ranges, leaf_index, size)

    async def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return await self._proof(merkle.consistency_ranges, old, new)

    async def _proof(
        self, ranges_of: Callable[[int, int], list[merkle.Range]], first: int, size: int
    ) -> list[bytes]:
        """The hashes of the subtrees ``ranges_of(first, size)`` names, in the tree of
        ``size`` leaves: the proof, in its order."""
        try:
            ranges = ranges_of(first, size)
        except ValueError as exc:
            raise LogError(str(exc)) from exc
        nodes = await self._nodes(merkle.nodes_for(ranges), size)
        return [merkle.range_hash(s, e, nodes) for s, e in ranges]

    async def leaf_of_event(self, event_id: UUID) -> Leaf | None:
        row = await self._pool.fetchrow(
            f"SELECT {_LEAF_COLUMNS} FROM events e JOIN log_leaves l USING (position) "
            "WHERE e.event_id = $1",
            event_id,
        )
        return _leaf(row) if row is not None else None

    async def leaf_indexes(self, positions: Sequence[int]) -> dict[int, int]:
        """Leaf index by event position, sequencing first if any has none yet."""
        return await leaf_indexes(self._pool, positions)

    async def leaves(self, start: int, end: int, page: int = 5000) -> AsyncIterator[Leaf]:
        """Leaves [start, end) in order, a page at a time."""
        at = start
        while at < end:
            rows = await self._pool.fetch(
                f"SELECT {_LEAF_COLUMNS} FROM log_leaves l JOIN events e USING (position) "
                "WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index",
                at,
                min(end, at + page),
            )
            for row in rows:
                yield _leaf(row)
            if not rows:
                return
            at = rows[-1]["leaf_index"] + 1

    async def event_types(self, start: int, end: int) -> set[str]:
        """The event types among leaves [start, end)."""
        rows = await self._pool.fetch(
            "SELECT DISTINCT e.type FROM log_leaves l JOIN events e USING (position) "
            "WHERE l.leaf_index >= $1 AND l.leaf_index < $2",
            start,
            end,
        )
        return {r["type"] for r in rows}

    async def save_checkpoint(self, tree_size: int, root_hash: bytes, note: str) -> None:
        await self._pool.execute(
            "INSERT INTO log_checkpoints (tree_size, root_hash, note) VALUES ($1, $2, $3) "
            "ON CONFLICT (tree_size) DO NOTHING",
            tree_size,
            root_hash,
            note,
        )

    async def latest_checkpoint(self) -> StoredCheckpoint | None:
        size = await self._pool.fetchval("SELECT max(tree_size) FROM log_checkpoints")
        return None if size is None else await self.checkpoint(int(size))

    async def checkpoint(self, tree_size: int) -> StoredCheckpoint | None:
        row = await self._pool.fetchrow(
            "SELECT tree_size, root_hash, note, created_at FROM log_checkpoints "
            "WHERE tree_size = $1",
            tree_size,
        )
        if row is None:
            return None
        lines = await self._pool.fetch(
            "SELECT line FROM log_cosignatures WHERE tree_size = $1 ORDER BY witness", tree_size
        )
        return StoredCheckpoint(
            tree_size=row["tree_size"],
            root_hash=bytes(row["root_hash"]),
            note=row["note"],
            created_at=row["created_at"],
            cosignatures=tuple(r["line"] for r in lines),
        )

    async def seconds_since(self, checkpoint: StoredCheckpoint) -> float:
        """How long ago ``checkpoint`` was stored, by the database's clock."""
        return float(
            await self._pool.fetchval(
                "SELECT extract(epoch FROM now() - $1::timestamptz)", checkpoint.created_at
            )
        )

    async def checkpoint_sizes(self) -> list[int]:
        rows = await self._pool.fetch("SELECT tree_size FROM log_checkpoints ORDER BY tree_size")
        return [r["tree_size"] for r in rows]

    async def latest_cosigned(self) -> StoredCheckpoint | None:
        size = await self._pool.fetchval("SELECT max(tree_size) FROM log_cosignatures")
        return None if size is None else await self.checkpoint(int(size))

    async def add_cosignature(self, tree_size: int, witness: str, line: str) -> None:
        await self._pool.execute(
            "INSERT INTO log_cosignatures (tree_size, witness, line) VALUES ($1, $2, $3) "
            "ON CONFLICT (tree_size, witness) DO UPDATE SET line = EXCLUDED.line, "
            "received_at = now()",
            tree_size,
            witness,
            line,
        )


async def sequence_restored(conn: asyncpg.Connection) -> int | None:
    """Right after a restore, as the owner: leaves for the events the backup held without
    one, and the sequencer's watermark on this server's transaction ids (migration 0070).
    None for a backup from before the sequencer, which its migration sets up instead."""
    if await conn.fetchval("SELECT to_regprocedure('log_sequence_restored()')") is None:
        return None
    return int(await conn.fetchval("SELECT log_sequence_restored()"))


async def leaf_indexes(
    db: asyncpg.Pool | asyncpg.Connection, positions: Sequence[int]
) -> dict[int, int]:
    """Leaf index by event position for committed events, in one round trip: the
    database sequences first when any of them has no leaf yet (migration 0070). An event
    of a transaction that has not committed, or one behind a transaction still running
    from before it, has none yet: it is left out, and a later look-up finds it."""
    rows = await db.fetch(
        "SELECT event_position, leaf_index FROM log_leaves_of($1::bigint[])", list(positions)
    )
    return {r["event_position"]: r["leaf_index"] for r in rows}


async def _fetch_nodes(
    conn: asyncpg.Connection, needed: Sequence[merkle.Node] | set[merkle.Node]
) -> dict[merkle.Node, bytes]:
    """The hashes of ``needed`` in one query: stored nodes from log_nodes, and the rest
    (leaves, and nodes below STORED_FROM_LEVEL) from the leaves they cover."""
    wanted = list(needed)
    if not wanted:
        return {}
    stored = [(level, index) for level, index in wanted if level >= STORED_FROM_LEVEL]
    leaves = sorted(
        {
            leaf
            for level, index in wanted
            if level < STORED_FROM_LEVEL
            for leaf in range(index << level, (index + 1) << level)
        }
    )
    rows = await conn.fetch(
        "SELECT n.level, n.node_index, n.hash, NULL::text AS event_hash "
        "FROM unnest($1::smallint[], $2::bigint[]) AS w(level, node_index) "
        "JOIN log_nodes n USING (level, node_index) "
        "UNION ALL SELECT 0, leaf_index, NULL, event_hash FROM log_leaves "
        "WHERE leaf_index = ANY($3::bigint[])",
        [level for level, _ in stored],
        [index for _, index in stored],
        leaves,
    )
    found = {
        (r["level"], r["node_index"]): (
            bytes(r["hash"]) if r["hash"] is not None else merkle.event_leaf_hash(r["event_hash"])
        )
        for r in rows
    }
    for level, index in wanted:
        if 0 < level < STORED_FROM_LEVEL:
            _rebuild(found, level, index)
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LogError(f"the log's stored tree lacks nodes {missing[:3]}: it was changed")
    return found


def _rebuild(found: dict[merkle.Node, bytes], level: int, index: int) -> None:
    """The node (level, index) from its two children in ``found``, rebuilt first."""
    if (level, index) in found:
        return
    if level > 1:
        _rebuild(found, level - 1, 2 * index)
        _rebuild(found, level - 1, 2 * index + 1)
    left, right = found.get((level - 1, 2 * index)), found.get((level - 1, 2 * index + 1))
    if left is not None and right is not None:
        found[(level, index)] = merkle.node_hash(left, right)
