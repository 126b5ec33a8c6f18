"""The log's leaves with their whole events, a page at a time, in leaf order: what an
export of the log writes out."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from eventstore.records import StoredEvent, _stored
from eventstore.store import _COLUMNS

_PAGE = (
    f"SELECT {_COLUMNS}, l.leaf_index, l.event_hash FROM log_leaves l JOIN events e "
    "USING (position) WHERE l.leaf_index >= $1 AND l.leaf_index < $2 ORDER BY l.leaf_index"
)


@dataclass(frozen=True)
class LeafEvent:
    leaf_index: int
    # The hash the leaf commits to; equal to event.hash unless the record was altered.
    event_hash: str
    event: StoredEvent


async def leaf_events(pool: asyncpg.Pool, start: int, stop: int) -> list[LeafEvent]:
    """The leaves from ``start`` up to, not including, ``stop``, each with its event."""
    rows = await pool.fetch(_PAGE, start, stop)
    return [
        LeafEvent(leaf_index=r["leaf_index"], event_hash=r["event_hash"], event=_stored(r))
        for r in rows
    ]
