"""The pace at which one plan's public hearing responses are written (eventstore/
hearing_inbox.py): a token bucket per plan."""

from __future__ import annotations

import asyncio
import time

# A paced plan's writer commits at most once per tick (seconds) while responses wait.
_TICK = 0.05


class Pace:
    """A token bucket per plan: ``per_second`` tokens a second, at most one second's
    worth held. It lives as long as the inbox, so a plan's pace holds across its writers."""

    def __init__(self, per_second: float) -> None:
        self._rate = per_second
        self._capacity = max(1.0, per_second)
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, plan_id: str, wanted: int) -> int:
        """Takes up to ``wanted`` tokens, waiting until a tick's worth (or ``wanted``) is
        there: one commit per tick rather than one per token keeps the group commit."""
        enough = max(1, min(wanted, int(self._rate * _TICK)))
        while True:
            now = time.monotonic()
            tokens, then = self._buckets.get(plan_id, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - then) * self._rate)
            self._buckets[plan_id] = (tokens, now)
            if tokens >= enough:
                taken = min(wanted, int(tokens))
                self._buckets[plan_id] = (tokens - taken, now)
                return taken
            await asyncio.sleep((enough - tokens) / self._rate)
