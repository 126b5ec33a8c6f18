"""Append-only, hash-chained event store on PostgreSQL (asyncpg)."""

from eventstore.errors import (
    AppendOnlyViolation,
    ConcurrencyConflict,
    DataRefused,
    EventIdConflict,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.records import NewEvent, Receipt, StoredEvent, VerifyResult
from eventstore.store import EventStore

__all__ = [
    "AppendOnlyViolation",
    "ConcurrencyConflict",
    "DataRefused",
    "EventIdConflict",
    "EventStore",
    "EventStoreError",
    "NewEvent",
    "Receipt",
    "StoreUnavailable",
    "StoredEvent",
    "VerifyResult",
]
