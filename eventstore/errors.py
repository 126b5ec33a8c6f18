"""The store's own error types: callers never see asyncpg's."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base class for everything the event store raises."""


class ConcurrencyConflict(EventStoreError):
    """The stream moved on since the caller read it: nothing was written."""

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"stream '{stream_id}' is at version {actual_version}, "
            f"not the expected {expected_version}; nothing was written"
        )


class EventIdConflict(EventStoreError):
    """An event id is already stored with different content (or in another stream)."""

    def __init__(self, event_id: str, detail: str) -> None:
        self.event_id = event_id
        super().__init__(f"event id {event_id} is already stored with {detail}")


class AppendOnlyViolation(EventStoreError):
    """The database refused to change or remove a recorded event."""


class DataRefused(EventStoreError):
    """PostgreSQL refused the data itself (a value it cannot hold, a constraint, a limit):
    the same request fails the same way however often it is sent."""


class StoreUnavailable(EventStoreError):
    """The database could not be reached or the connection broke; safe to retry."""


class MigrationError(EventStoreError):
    """A migration failed or an applied migration's file has changed since."""
