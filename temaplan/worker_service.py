"""The worker service: a worker, its connection pool and the log's checkpointer, until
SIGINT or SIGTERM (`temaplan worker`, `python worker.py`).
"""

from __future__ import annotations

import asyncio
import signal

import structlog

from activities.attestation import AttestationPolicy, parse_keys
from audit.checkpointer import running_checkpointer, signing_key
from runtime.database import migrated_pool
from runtime.settings import Settings
from runtime.temporal_client import connect
from temaplan.mail_relay import running_relay
from workflows.registry import build_worker

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    client = await connect(settings)
    key = signing_key(settings)
    async with migrated_pool(settings) as pool:
        policy = AttestationPolicy(
            parse_keys(settings.front_door_vkeys), settings.require_attestation
        )
        if policy.require and not policy.keys:
            raise SystemExit(
                "TEMAPLAN_REQUIRE_ATTESTATION is on but TEMAPLAN_FRONT_DOOR_VKEYS is empty: "
                "every decision would be refused; set the API's front-door verifier key"
            )
        worker = build_worker(
            client,
            pool,
            settings.temporal_task_queue,
            settings.revision_date(),
            max_cached_workflows=settings.workflow_cache,
            attestation=policy,
        )
        log.info("worker started", task_queue=settings.temporal_task_queue)
        async with (
            worker,
            running_checkpointer(pool, key, settings.checkpoint_interval),
            running_relay(pool, settings),
        ):
            await stop.wait()
            log.info("worker stopping")
    log.info("worker stopped")
