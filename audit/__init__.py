"""Auditors' tools: history, state as of a time, verification against the store and the
Temporal history, replay, and exports that verify without our code. Read-only."""
