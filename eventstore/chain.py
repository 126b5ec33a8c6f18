"""Checks one stream's chain, one event at a time, in constant memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.canonical import GENESIS_HASH, chain_hash
from eventstore.records import StoredEvent


@dataclass(frozen=True, slots=True)
class ChainBreak:
    version: int
    problem: str


class ChainChecker:
    """Feed one stream's events in version order, each as its chain record (which names
    the stream); the first break is remembered."""

    def __init__(self) -> None:
        self.expected_version = 1
        self.prev_hash = GENESIS_HASH
        self.checked = 0
        self.first_break: ChainBreak | None = None

    def feed(
        self, record: dict[str, Any], *, prev_hash: str, stored_hash: str
    ) -> ChainBreak | None:
        """``record`` is the event's chain record (``domain.canonical.chain_record``) as
        its row holds it; ``prev_hash`` and ``stored_hash`` are the hashes the row stores."""
        version: int = record["version"]
        if self.first_break is not None:
            return self.first_break
        self.checked += 1
        problem: str | None = None
        if version != self.expected_version:
            problem = (
                f"numbering breaks: expected version {self.expected_version}, found {version}"
                + (" (a gap: events are missing)" if version > self.expected_version else "")
            )
        elif prev_hash != self.prev_hash:
            problem = "prev_hash does not match the previous event's hash"
        elif chain_hash(prev_hash, record) != stored_hash:
            problem = "hash does not match the event's content: it was changed after recording"
        if problem is not None:
            # Report the version the caller sees in the row, or the missing one for a gap.
            self.first_break = ChainBreak(
                version=min(version, self.expected_version), problem=problem
            )
            return self.first_break
        self.expected_version = version + 1
        self.prev_hash = stored_hash
        return None

    def feed_stored(self, event: StoredEvent) -> ChainBreak | None:
        return self.feed(event.chain_record(), prev_hash=event.prev_hash, stored_hash=event.hash)
