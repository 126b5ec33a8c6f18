"""The event store benchmark's peer (bench/eventstore_bench.py): the `eventsourcing`
library with its PostgreSQL persistence, as shipped, recording the same sign-offs into a
scratch database of its own."""

from __future__ import annotations

import functools
import uuid
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bench.eventstore_workload import (
    BATCH_SIZE,
    LIBRARY,
    WARMUP_BATCH_STREAMS,
    WARMUP_SINGLE,
    Latencies,
    Server,
    System,
    each_timed,
    payload,
)


def library_env(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": socket_dir or parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
    }


@functools.cache
def library_classes() -> tuple[type[Any], type[Any]]:
    """Imported lazily: the library is a bench extra only. Defined once, because the
    library registers each class under its topic."""
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    # Typed where the bench extra is installed, Any where only the dev tools are (make
    # lint): each ignore covers the second case and is unused in the first.
    class SignOffLog(Aggregate):  # type: ignore[misc, unused-ignore]
        @event("Opened")  # type: ignore[untyped-decorator, unused-ignore]
        def __init__(self, payload: dict[str, Any]) -> None:
            self.signed = 1

        @event("SignedOff")  # type: ignore[untyped-decorator, unused-ignore]
        def sign_off(self, payload: dict[str, Any]) -> None:
            self.signed += 1

    class SignOffApp(Application[uuid.UUID]):  # type: ignore[misc, unused-ignore]
        pass

    return SignOffLog, SignOffApp


class Library(System):
    """eventsourcing with its PostgreSQL persistence, as shipped (psycopg 3, its own
    pool, ApplicationRecorder): an aggregate per stream, ``app.save`` per append. The
    library is synchronous; its calls run on this thread, nothing else is in flight."""

    name = LIBRARY

    async def open(self, stack: AsyncExitStack, server: Server) -> None:
        self.log_class, app_class = library_classes()
        single_url = await stack.enter_async_context(server.scratch("lib_a", migrated=False))
        batch_url = await stack.enter_async_context(server.scratch("lib_bc", migrated=False))
        self.single_app = app_class(env=library_env(single_url))
        stack.callback(self.single_app.close)
        self.batch_app = app_class(env=library_env(batch_url))
        stack.callback(self.batch_app.close)
        self.logs: dict[int, Any] = {}
        self.ids: dict[int, uuid.UUID] = {}
        for _ in range(WARMUP_SINGLE // 10):
            warm = self._new(self.single_app, 1)
            for n in range(1, 10):
                warm.sign_off(payload(n))
                self.single_app.save(warm)
        for _ in range(WARMUP_BATCH_STREAMS):
            self.batch_app.repository.get(self._new(self.batch_app, BATCH_SIZE).id)

    def _new(self, app: Any, events: int) -> Any:
        aggregate = self.log_class(payload(0))
        for n in range(1, events):
            aggregate.sign_off(payload(n))
        app.save(aggregate)
        return aggregate

    async def single(self, after: int, streams: range) -> Latencies:
        def append(s: int) -> None:
            if after == 0:
                self.logs[s] = self._new(self.single_app, 1)
            else:
                self.logs[s].sign_off(payload(after))
                self.single_app.save(self.logs[s])

        return await each_timed(streams, append)

    async def batch(self, streams: range) -> Latencies:
        def append(s: int) -> None:
            self.ids[s] = self._new(self.batch_app, BATCH_SIZE).id

        return await each_timed(streams, append)

    async def replay(self, streams: range) -> tuple[int, Latencies]:
        events = 0

        def load(s: int) -> None:
            nonlocal events
            events += self.batch_app.repository.get(self.ids[s]).version

        latencies = await each_timed(streams, load)
        return events, latencies
