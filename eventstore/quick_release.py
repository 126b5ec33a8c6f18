"""The connection pool's release, without asyncpg's task for a clean connection.

asyncpg's ``Pool.release`` runs the hand-back as a task of its own under
``asyncio.shield`` and awaits it, which costs the caller three more turns of the event
loop once its work is done: about 0.07 ms of a 1.9 ms batched append
(``python -m bench.pool_release``). A connection that is open, outside any transaction,
not being cancelled, of the pool's current generation and under its query limit needs
nothing of that task but the bookkeeping done here, in the steps
``PoolConnectionHolder.release`` takes for it; our reset hook (``keep_session``) does
nothing. Any other connection goes asyncpg's own way.

These are asyncpg's private parts. The quick way is taken only while the asyncpg code it
mirrors is the code it was written against (``MIRRORED``, compared by digest when a pool
is made), so another asyncpg falls back to its own release, and
tests/unit/test_pool_release.py fails so that this module is read again.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from typing import Any

import asyncpg
import asyncpg.connection
import asyncpg.pool


async def keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's default reset query (RESET ALL, UNLISTEN *, CLOSE ALL,
    advisory unlock): it costs a round trip on every release, and this project leaves no
    session state behind (settings are SET LOCAL, advisory locks are per transaction).
    asyncpg still rolls back a transaction left open before calling this."""


def _mirrored_code() -> dict[str, Any]:
    return {
        "Pool.release": asyncpg.pool.Pool.release,
        "PoolConnectionHolder.release": asyncpg.pool.PoolConnectionHolder.release,
        "PoolConnectionHolder._release": asyncpg.pool.PoolConnectionHolder._release,
        "PoolConnectionHolder._setup_inactive_callback": (
            asyncpg.pool.PoolConnectionHolder._setup_inactive_callback
        ),
        "Connection._reset": asyncpg.connection.Connection._reset,
        "Connection._on_release": asyncpg.connection.Connection._on_release,
    }


# The first 16 hex digits of the SHA-256 of each function's source, in asyncpg 0.32.0.
MIRRORED = {
    "Pool.release": "e24e3da0c5bf1df6",
    "PoolConnectionHolder.release": "a8af808680d4c5ce",
    "PoolConnectionHolder._release": "daf444ce5b345cb1",
    "PoolConnectionHolder._setup_inactive_callback": "25722bd387b2e7d9",
    "Connection._reset": "3252aa6d5b0eb65f",
    "Connection._on_release": "cf495810a0f25382",
}


def installed_digests() -> dict[str, str | None]:
    """The digest of each mirrored function as installed (None: its source is not there)."""
    digests: dict[str, str | None] = {}
    for name, function in _mirrored_code().items():
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            digests[name] = None
        else:
            digests[name] = hashlib.sha256(source.encode()).hexdigest()[:16]
    return digests


@functools.cache
def mirrors_installed_asyncpg() -> bool:
    return installed_digests() == MIRRORED


class QuickReleasePool(asyncpg.pool.Pool):  # type: ignore[misc]  # asyncpg ships no types
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._quick_release = mirrors_installed_asyncpg()

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        holder = getattr(connection, "_holder", None)
        con = getattr(connection, "_con", None)
        if (
            self._quick_release
            and type(connection) is asyncpg.pool.PoolConnectionProxy
            and holder is not None
            and holder._pool is self
            and holder._in_use is not None
            and con is not None
            and self._reset is keep_session
            and not con.is_closed()
            and not con._protocol._is_cancelling()
            and not con.is_in_transaction()
            and con._top_xact is None
            and con._protocol.queries_count < holder._max_queries
            and holder._generation == self._generation
        ):
            # Pool.release, then PoolConnectionHolder.release down to its _release() for
            # a connection in this state: Connection._reset() only clears the listeners.
            con._on_release()
            holder._timeout = None
            con._listeners.clear()
            con._log_listeners.clear()
            holder._release()
            holder._setup_inactive_callback()
            return
        await super().release(connection, timeout=timeout)
