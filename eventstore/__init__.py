"""Append-only, hash-chained event store on PostgreSQL (asyncpg)."""

from eventstore.errors import (
    AppendOnlyViolation,
    ConcurrencyConflict,
    DataRefused,
    EventIdConflict,
    EventStoreError,
    StoreUnavailable,
)
from eventstore.store import EventStore, NewEvent, Receipt, StoredEvent, VerifyResult

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
