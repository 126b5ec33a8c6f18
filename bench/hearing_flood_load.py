"""The hearing flood benchmark's load (bench/hearing_flood_bench.py): public hearing
responses to one plan from many clients, by asyncio httpx clients in this process or by
wrk (bench/hearing_flood.lua) out of it; the responses refused or lost sent again after
it; and the latency percentiles of what was answered."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx

from bench.stack import ROOT


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Flood:
    """``count`` responses to one plan's hearing through the API at ``base_url``, from
    ``clients`` connections and ``addresses`` client addresses, within ``max_seconds``."""

    base_url: str
    plan_id: str
    count: int
    clients: int
    max_seconds: float
    addresses: int

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/public/plans/{self.plan_id}/hearing/responses"

    def request(self, n: int) -> tuple[dict[str, str], dict[str, str]]:
        """Response ``n``: its body, and its Idempotency-Key and sender's address."""
        a = n % self.addresses
        body = {"name": f"Innbygger {n}", "text": f"Uttalelse {n}: flere utleieboliger."}
        headers = {
            "Idempotency-Key": f"bench-{n}",
            "X-Forwarded-For": f"10.{a // 65536}.{a // 256 % 256}.{a % 256}",
        }
        return body, headers


async def flood(load: Flood, pool: asyncpg.Pool) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    receipts: list[dict[str, Any]] = []
    retries = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(load.count):
        queue.put_nowait(n)
    deadline = time.perf_counter() + load.max_seconds

    async def client_loop(http: httpx.AsyncClient) -> None:
        nonlocal retries
        while time.perf_counter() < deadline:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body, headers = load.request(n)
            started = time.perf_counter()
            while time.perf_counter() < deadline:
                try:
                    answer = await http.post(load.url, json=body, headers=headers)
                except httpx.HTTPError:
                    statuses[0] += 1
                else:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 201:
                        latencies.append(time.perf_counter() - started)
                        receipts.append(answer.json())
                        break
                    if answer.status_code not in (429, 503):
                        break  # refused for good: counted, not sent again
                retries += 1
                await asyncio.sleep(0.2)

    began = time.perf_counter()
    limits = httpx.Limits(max_connections=load.clients, max_keepalive_connections=load.clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        await asyncio.gather(*(client_loop(http) for _ in range(load.clients)))
    elapsed = time.perf_counter() - began
    return {
        "sent": sum(statuses.values()),
        "statuses": dict(statuses),
        "receipts": receipts,
        "retries": retries,
        "seconds": elapsed,
        "per_second": len(receipts) / elapsed if elapsed else 0.0,
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
    }


async def flood_wrk(load: Flood, pool: asyncpg.Pool) -> dict[str, Any]:
    """The same load from wrk (bench/hearing_flood.lua), out of this process: two threads,
    ``clients`` connections. Its latencies are per request."""
    threads = 2
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        "wrk",
        f"-t{threads}",
        f"-c{load.clients}",
        f"-d{int(load.max_seconds)}s",
        "--timeout",
        "30s",
        "-s",
        str(ROOT / "bench" / "hearing_flood.lua"),
        load.url,
        "--",
        str(load.count),
        str(threads),
        str(load.addresses),
        stdout=asyncio.subprocess.PIPE,
    )
    # wrk runs until -d even when every thread has stopped: watch the API's count of the
    # responses recorded and interrupt it (it then prints its summary) once all are, or
    # when nothing more is recorded for 5 s (some were refused: sent again below).
    recorded, progress_at = 0, time.perf_counter()
    while process.returncode is None and time.perf_counter() - began < load.max_seconds:
        await asyncio.sleep(0.05)
        now = await pool.fetchval(
            "SELECT responses FROM hearing_fences WHERE stream_id = $1", load.plan_id
        )
        if now != recorded:
            recorded, progress_at = now, time.perf_counter()
        if recorded >= load.count or time.perf_counter() - progress_at > 5:
            break
    elapsed = progress_at - began
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
    out, _ = await process.communicate()
    line = next(x for x in out.decode().splitlines() if x.startswith("FLOOD "))
    found: dict[str, Any] = json.loads(line.removeprefix("FLOOD "))
    example = next((x for x in out.decode().splitlines() if x.startswith("REFUSED ")), "")
    return {
        "tool": f"wrk -t{threads} -c{load.clients}",
        "sent": found["requests"],
        "statuses": {
            "201": found["created"],
            "201 duplicate": found["duplicates"],
            "429": found["status_429"],
            "503": found["status_503"],
            "other refusals": found["refused"] - found["status_429"] - found["status_503"],
            "socket errors": found["socket_errors"],
            "GET /healthz fillers": found["fillers"],
        },
        "retries": 0,
        "seconds": elapsed,
        "per_second": recorded / elapsed if elapsed else 0.0,
        "p50_s": found["p50_ms"] / 1000,
        "p99_s": found["p99_ms"] / 1000,
        "max_s": found["max_ms"] / 1000,
        "receipts": None,
        "first_refusal": example.removeprefix("REFUSED "),
    }


async def send_missing(load: Flood, keys: list[str]) -> int:
    """What a client does when its request was refused or lost: the same request again."""
    async with httpx.AsyncClient(timeout=60) as http:
        for key in keys:
            body, headers = load.request(int(key.removeprefix("bench-")))
            for _ in range(50):
                answer = await http.post(load.url, json=body, headers=headers)
                if answer.status_code == 201:
                    break
                await asyncio.sleep(0.2)
    return len(keys)
