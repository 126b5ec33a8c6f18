"""Builds the Merkle log's tree and signs checkpoints, in the worker process.

A checkpoint is signed as soon as the log holds a phase change or an adoption that no
checkpoint covers yet (looked for every ``poll`` seconds), and otherwise every
``interval`` seconds when anything was appended. The signing key is read from a file
or an environment secret, never from the database (docs/audit-format.md, "Keys").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import asyncpg
import structlog

from domain.checkpoints import (
    SigningKey,
    configured_signing_key,
    kept_signing_key,
    sign_checkpoint,
)
from eventstore.log import LogError, MerkleLog, StoredCheckpoint
from runtime.settings import Settings

log = structlog.get_logger(__name__)

# Event types after which a checkpoint is made at once, not at the next interval.
PROMPT_TYPES = frozenset(
    {
        "phase_started",
        "phase_completed",
        "council_decided",
        "plan_adopted",
        "content_revised",
        "revision_concluded",
    }
)


class Checkpointer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        key: SigningKey,
        *,
        interval: float = 300.0,
        poll: float = 2.0,
    ) -> None:
        self.log = MerkleLog(pool)
        self.key = key
        self.interval = interval
        self.poll = poll
        # Leaves already looked at for a prompt type: each round looks at the new ones
        # only, not at everything since the last checkpoint again (that grew with every
        # poll until the timed checkpoint, and cost more than building the tree).
        self._looked_to = 0

    async def checkpoint_now(self) -> StoredCheckpoint | None:
        """Build the tree and sign a checkpoint of it if it grew; the latest either way."""
        size = await self.log.integrate()
        latest = await self.log.latest_checkpoint()
        if latest is not None and latest.tree_size >= size:
            return latest
        return await self._sign(size)

    async def _sign(self, size: int) -> StoredCheckpoint | None:
        root = await self.log.root(size)
        checkpoint = sign_checkpoint(self.key, size, root)
        await self.log.save_checkpoint(size, root, checkpoint.note)
        log.info("checkpoint signed", tree_size=size, root=root.hex())
        return await self.log.checkpoint(size)

    async def step(self) -> StoredCheckpoint | None:
        """One round: a new checkpoint when one is due, else None."""
        size = await self.log.integrate()
        latest = await self.log.latest_checkpoint()
        covered = latest.tree_size if latest is not None else 0
        if size <= covered and latest is not None:
            return None
        # The interval runs from the last checkpoint stored, whoever signed it: restarts
        # and several workers neither postpone nor multiply timed checkpoints.
        # The database's clock, which also stamped the checkpoint.
        due = latest is None or await self.log.seconds_since(latest) >= self.interval
        if not due:
            due = bool(
                await self.log.event_types(max(covered, self._looked_to), size) & PROMPT_TYPES
            )
            self._looked_to = size
        return await self._sign(size) if due else None

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; a failing round is logged and tried again."""
        while not stop.is_set():
            try:
                await self.step()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, LogError) as exc:
                log.warning("checkpoint round failed; trying again", error=str(exc))
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll)


def signing_key(settings: Settings) -> SigningKey | None:
    """The log's signing key from TEMAPLAN_LOG_KEY or TEMAPLAN_LOG_KEY_FILE; None when
    neither is set. A key that is set but unusable stops the caller with NoteError."""
    return configured_signing_key(settings.log_key, settings.log_key_file, "TEMAPLAN_LOG_KEY")


def dev_signing_key(settings: Settings) -> SigningKey:
    """`temaplan up`'s key: the configured one, else one kept in the data directory and
    made on first use (a development convenience; deployments set their own)."""
    configured = signing_key(settings)
    if configured is not None:
        return configured
    path = settings.data_dir / "keys" / "log.key"
    key, made = kept_signing_key(path, "temaplan.localhost/log")
    if made:
        log.info("log signing key made for development", path=str(path))
    return key


@asynccontextmanager
async def running_checkpointer(
    pool: asyncpg.Pool, key: SigningKey | None, interval: float
) -> AsyncIterator[Checkpointer | None]:
    """A checkpointer running beside the caller's work, stopped when the block ends."""
    if key is None:
        log.warning(
            "no log signing key (TEMAPLAN_LOG_KEY_FILE): the Merkle log is kept but no "
            "checkpoints are signed"
        )
        yield None
        return
    checkpointer = Checkpointer(pool, key, interval=interval)
    stop = asyncio.Event()
    task = asyncio.create_task(checkpointer.run(stop))
    try:
        yield checkpointer
    finally:
        stop.set()
        await task
