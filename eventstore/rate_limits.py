"""A sliding-window rate limit kept in PostgreSQL, so that every API process counts the
same hits (one process's memory would let each process allow the limit again).

One statement per request, race-free without a lock of its own: INSERT ... ON CONFLICT
DO UPDATE locks the key's row and re-reads its latest committed version, so two
processes counting the same key at once are counted one after the other. A hit is
stored only when it is allowed, so a row never holds more than ``limit`` times.
"""

from __future__ import annotations

import time
from datetime import timedelta

import asyncpg

_HIT = """
INSERT INTO rate_limits AS r (key, hits, last_hit) VALUES ($1, ARRAY[now()], now())
ON CONFLICT (key) DO UPDATE
   SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > now() - $3::interval)
              || now(),
       last_hit = now()
 WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > now() - $3::interval) < $2
RETURNING true
"""

_PURGE = "DELETE FROM rate_limits WHERE last_hit < now() - $1::interval"


class RateLimits:
    def __init__(self, pool: asyncpg.Pool, purge_every: float = 60.0) -> None:
        self._pool = pool
        self._purge_every = purge_every
        self._purged_at = time.monotonic()

    async def hit(self, key: str, limit: int, window: timedelta) -> bool:
        """Count a hit for ``key`` if fewer than ``limit`` were counted in the last
        ``window``; False (and nothing counted) otherwise."""
        async with self._pool.acquire() as conn:
            allowed = await conn.fetchval(_HIT, key, limit, window)
            if time.monotonic() - self._purged_at > self._purge_every:
                # Keys that have been quiet for a whole window hold nothing that counts.
                self._purged_at = time.monotonic()
                await conn.execute(_PURGE, window)
        return bool(allowed)
