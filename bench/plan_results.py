"""What the plan benchmark compares and reports: the Temporal server configurations, the
latencies and throughputs measured against each, and the printed tables."""

from __future__ import annotations

import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from domain import commands as cmd
from temaplan.temporal_server import DEV_SERVER_DYNAMIC_CONFIG, temporal_binary

TARGET_RATIO = 2.0  # sign-off p50 at most this times the minimal update p50


@dataclass(frozen=True)
class ServerConfig:
    name: str
    description: str
    dynamic_config: tuple[str, ...]

    def args(self) -> list[str]:
        args: list[str] = []
        for value in self.dynamic_config:
            args += ["--dynamic-config-value", value]
        return args


def _known_configs() -> dict[str, ServerConfig]:
    project = tuple(DEV_SERVER_DYNAMIC_CONFIG)
    eager = "system.enableActivityEagerExecution=true"
    configs = [
        ServerConfig("project", "temaplan/temporal_server.py as it is", project),
        ServerConfig(
            "no-transfer-rps",
            "project flags without history.transferProcessorMaxPollRPS (default 20)",
            tuple(v for v in project if not v.startswith("history.transferProcessorMaxPollRPS")),
        ),
        ServerConfig("project+eager", f"project flags + {eager}", (*project, eager)),
    ]
    return {c.name: c for c in configs}


CONFIGS = _known_configs()
DEFAULT_CONFIGS = ("project", "no-transfer-rps")


# --------------------------------------------------------------------------- results


def percentile(values: Sequence[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def p50(values: Sequence[float]) -> float:
    return percentile(values, 50)


@dataclass
class Latencies:
    what: str
    values_ms: list[float] = field(default_factory=list)
    # CPU time of this process (client, worker, activities) during each call.
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, wall_s: float, cpu_s: float) -> None:
        self.values_ms.append(wall_s * 1000)
        self.cpu_ms.append(cpu_s * 1000)

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "calls": len(self.values_ms),
            "p50_ms": round(p50(self.values_ms), 2),
            "p99_ms": round(percentile(self.values_ms, 99), 2),
            "mean_ms": round(statistics.fmean(self.values_ms), 2),
            "min_ms": round(min(self.values_ms), 2),
            "bench_process_cpu_p50_ms": round(p50(self.cpu_ms), 2),
        }


@dataclass
class Throughput:
    what: str
    items: int
    lanes: int
    seconds: float
    per_item_s: list[float]
    python_cpu_s: float
    queries: int = 0
    load: float = 0.0  # 1-minute load average when it ended
    slow_tasks: int = 0  # workflow tasks over 5 s (core warning TMPRL1104)

    @property
    def per_s(self) -> float:
        return self.items / self.seconds

    def as_json(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "items": self.items,
            "concurrency": self.lanes,
            "seconds": round(self.seconds, 2),
            "per_s": round(self.per_s, 3),
            "item_p50_s": round(p50(self.per_item_s), 3),
            "bench_process_cpu_percent": round(100 * self.python_cpu_s / self.seconds),
            "status_queries": self.queries,
            "load_average_after": round(self.load, 2),
            "workflow_tasks_over_5s": self.slow_tasks,
        }


@dataclass
class Server:
    """One dev server with its two workers, and what was measured against it."""

    config: ServerConfig
    client: Client
    plan_queue: str
    minimal_queue: str
    start_s: float
    sign_off: Latencies = field(
        default_factory=lambda: Latencies("sign_off update -> receipt (committed)")
    )
    minimal_update: Latencies = field(
        default_factory=lambda: Latencies("minimal update (handler sets a flag)")
    )
    receipts: list[cmd.Receipt] = field(default_factory=list)
    plans: Throughput | None = None
    minimal_flows: Throughput | None = None
    solo: Throughput | None = None

    @property
    def ratio(self) -> float:
        return p50(self.sign_off.values_ms) / p50(self.minimal_update.values_ms)

    @property
    def passed(self) -> bool:
        return self.ratio <= TARGET_RATIO

    def as_json(self) -> dict[str, Any]:
        assert self.plans is not None
        assert self.minimal_flows is not None
        return {
            "config": self.config.name,
            "description": self.config.description,
            "dynamic_config": list(self.config.dynamic_config),
            "server_start_s": round(self.start_s, 2),
            "sign_off": self.sign_off.as_json(),
            "minimal_update": self.minimal_update.as_json(),
            "sign_off_over_minimal_p50": round(self.ratio, 3),
            "target": {"max_ratio": TARGET_RATIO, "pass": self.passed},
            "plans": self.plans.as_json(),
            "minimal_workflows": self.minimal_flows.as_json(),
            "plan_alone": self.solo.as_json() if self.solo else None,
            "plans_over_minimal_per_s": round(self.plans.per_s / self.minimal_flows.per_s, 5),
        }


# --------------------------------------------------------------------------- report


def temporal_version() -> str:
    out = subprocess.run(
        [temporal_binary(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    return out.strip().removeprefix("temporal version ") or "unknown"


def report(servers: list[Server], context: dict[str, Any]) -> dict[str, Any]:
    pg = context["postgres"]
    print()
    print(
        f"Temporal dev server {context['temporal']}; PostgreSQL {pg['version']} via"
        f" {context['postgres_mode']} (fsync={pg['fsync']},"
        f" synchronous_commit={pg['synchronous_commit']}); Python {context['python']},"
        f" temporalio {context['temporalio']}; {context['cpus']} CPUs, load average"
        f" {context['load_before'][0]:.1f} before / {context['load_after'][0]:.1f} after"
    )
    print(
        "Round trips: one call at a time, sign-offs and minimal updates alternating, the"
        " servers taking turns;\ncpu ms = p50 CPU time of this process (client, worker,"
        " activities) per call."
    )
    for s in servers:
        assert s.plans is not None
        assert s.minimal_flows is not None
        print()
        print(f"[{s.config.name}] {s.config.description}")
        print("  dynamic config: " + " ".join(s.config.dynamic_config))
        head = (
            f"  {'round trip, one call at a time':<44} {'calls':>6} {'p50 ms':>8} {'p99 ms':>8}"
            f" {'cpu ms':>7}"
        )
        print(head)
        print("  " + "-" * (len(head) - 2))
        for lat in (s.sign_off, s.minimal_update):
            print(
                f"  {lat.what:<44} {len(lat.values_ms):>6} {p50(lat.values_ms):>8.2f}"
                f" {percentile(lat.values_ms, 99):>8.2f} {p50(lat.cpu_ms):>7.2f}"
            )
        print(
            f"  {'sign-off p50 / minimal update p50':<44} {'':>6} {s.ratio:>7.2f}x"
            f"  target <= {TARGET_RATIO:.1f}x: {'PASS' if s.passed else 'MISS'}"
        )
        head = (
            f"  {'throughput, one worker':<44} {'items':>6} {'conc.':>5} {'wall s':>7}"
            f" {'per s':>7} {'item p50 s':>10} {'load':>5} {'wft>5s':>6}"
        )
        print(head)
        print("  " + "-" * (len(head) - 2))
        for t in (s.plans, s.minimal_flows, s.solo):
            if t is not None:
                print(
                    f"  {t.what:<44} {t.items:>6} {t.lanes:>5} {t.seconds:>7.2f} {t.per_s:>7.2f}"
                    f" {p50(t.per_item_s):>10.3f} {t.load:>5.1f} {t.slow_tasks:>6}"
                )
        print(
            f"  {'plans/s / minimal workflows/s':<44} {'':>6} {'':>5} {'':>7}"
            f" {s.plans.per_s / s.minimal_flows.per_s:>7.4f}"
        )
        print(
            f"  (20 plans: their drivers sent {s.plans.queries / s.plans.items:.0f} status"
            f" queries per plan; this process used {100 * s.plans.python_cpu_s / s.plans.seconds:.0f}%"
            " of a CPU; load = 1-minute load average at the end; wft>5s = workflow tasks"
            " that took over 5 s)"
        )
    print()
    first = servers[0]
    print(f"Server flags compared (second lines: ratio to {first.config.name}):")
    head = (
        f"  {'config':<26} {'sign-off p50':>12} {'minimal p50':>12} {'ratio':>6}"
        f" {'20 plans/s':>10} {'plan alone':>10} {'minimal wf/s':>12}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))

    def figures(s: Server) -> list[float]:
        assert s.plans is not None
        assert s.minimal_flows is not None
        return [
            p50(s.sign_off.values_ms),
            p50(s.minimal_update.values_ms),
            s.plans.per_s,
            statistics.fmean(s.solo.per_item_s) if s.solo else float("nan"),
            s.minimal_flows.per_s,
        ]

    for s in servers:
        sign_off, minimal, plans, solo, flows = figures(s)
        print(
            f"  {s.config.name:<26} {sign_off:>9.2f} ms {minimal:>9.2f} ms {s.ratio:>5.2f}x"
            f" {plans:>10.2f} {solo:>8.2f} s {flows:>12.1f}"
        )
        if s is not first:
            r = [a / b for a, b in zip(figures(s), figures(first), strict=True)]
            print(
                f"  {'':<26} {r[0]:>11.2f}x {r[1]:>11.2f}x {'':>6}"
                f" {r[2]:>9.2f}x {r[3]:>9.2f}x {r[4]:>11.2f}x"
            )
    print()
    for s in servers:
        print(
            f"{'PASS' if s.passed else 'MISS'}  [{s.config.name}] sign-off p50"
            f" {p50(s.sign_off.values_ms):.2f} ms = {s.ratio:.2f}x the minimal update p50"
            f" {p50(s.minimal_update.values_ms):.2f} ms (target <= {TARGET_RATIO:.1f}x)"
        )
    return {**context, "servers": [s.as_json() for s in servers]}
