"""docker-compose.yml's topology, started natively (no Docker engine runs here): the
project's PostgreSQL initialised by the compose init script (deploy/postgres/initdb.sh ->
eventstore/roles.sql) with password authentication for every role but the superuser;
the Temporal dev server with the search attributes registered by the one-shot service's
script (deploy/temporal/register.sh); `temaplan migrate`, `temaplan worker` and
`temaplan api` with the commands and environment of their compose services; Caddy with
the compose Caddyfile in front. A plan is driven to adoption through the proxy over
TLS, every decision sent to the API by the person's own token.

What differs from compose, and only this: host names and ports (compose's service names
become local addresses: SUBSTITUTED below), /run/secrets becomes a folder, and Temporal
is the dev server (SQLite) instead of the server image on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import asyncpg
import httpx
import pytest
import yaml
from pydantic import BaseModel
from temporalio.client import Client

from api import requests as rq
from api.tokens import TokenStore
from client.simulation import PlanDriver
from domain import commands as cmd
from domain.gates import PlanStatus
from domain.plan import PlanDefinition
from eventstore import EventStore
from eventstore.pool import create_pool
from runtime.payload_converter import data_converter
from runtime.settings import Settings
from temaplan.temporal_server import temporal_binary
from tests.integration.conftest import closable_early, close_early, unique
from tests.ports import free_port
from workflows.plan_models import workflow_id_for

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECRETS = (
    "postgres_password",
    "events_owner_password",
    "events_app_password",
    "events_auditor_password",
    "temporal_db_password",
)
UI_PASSWORD = "operatør-passord"


async def run(
    command: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )


async def generated_key(name: str, out: Path) -> str:
    """A signing key made by `temaplan keys generate` into ``out``: its public key."""
    made = await run([str(BIN / "temaplan"), "keys", "generate", "--name", name, "--out", str(out)])
    assert made.returncode == 0, made.stderr
    public = await asyncio.to_thread(Path(f"{out}.pub").read_text)
    return public.strip()


def caddy_binary() -> str | None:
    found = shutil.which("caddy")
    if found is None and os.environ.get("REQUIRE_CADDY"):
        pytest.fail("REQUIRE_CADDY is set but caddy is missing (apt-get install caddy)")
    return found


@dataclass
class Topology:
    folder: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - kept for its lifetime
        self.processes.append(
            subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        )

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def compose_environment(service: str, deploy: dict[str, str]) -> dict[str, str]:
    """A compose service's environment, `${VAR:-default}` resolved as docker-compose does
    with the deployment's variables ``deploy``."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    resolved = {}
    for name, value in services["services"][service]["environment"].items():

        def variable(match: re.Match[str]) -> str:
            key, default = match.group(1), match.group(3) or ""
            if match.group(2) == ":?" and not deploy.get(key):
                raise AssertionError(f"compose needs {key}")
            return deploy.get(key) or ("" if match.group(2) == ":?" else default)

        resolved[name] = re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", variable, str(value))
    return resolved


def substituted(env: dict[str, str], places: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in env.items():
        for compose_value, native in places.items():
            value = value.replace(compose_value, native)  # noqa: PLW2901
        out[name] = value
    return out


@pytest.fixture
def topology() -> Iterator[Topology]:
    folder = Path(tempfile.mkdtemp(prefix="temaplan-topology-"))
    made = Topology(folder)
    try:
        yield made
    finally:
        made.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres(topology: Topology) -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster of its own (roles are cluster-wide; compose's names are used
    as they are), initialised as compose's postgres is on its first start."""
    from pgserver.postgres_server import get_server

    server = get_server(topology.folder / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri(), topology.folder / "pgdata"
    finally:
        server.cleanup()


async def _wait_http(url: str, process: subprocess.Popen[bytes], **kwargs: Any) -> None:
    async with httpx.AsyncClient(timeout=2, **kwargs) as http:
        for _ in range(300):
            assert process.poll() is None, f"{url}: the process exited ({process.returncode})"
            try:
                await http.get(url)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


class ThroughTheProxy(PlanDriver):
    """Each decision sent to the API, through the proxy, with its person's own token."""

    ROUTES: ClassVar[dict[str, tuple[str, type[rq._Request]]]] = {
        "submit_content": ("content", rq.ContentRequest),
        "comment": ("comments", rq.CommentRequest),
        "sign_off": ("sign-offs", rq.SignOffRequest),
        "complete_draft_step": ("draft-steps", rq.DraftStepRequest),
        "close_hearing": ("hearing/close", rq.CloseHearingRequest),
        "submit_hearing_summary": ("hearing/summary", rq.HearingSummaryRequest),
        "decide_after_hearing": ("hearing/decision", rq.HearingDecisionRequest),
        "council_decision": ("council-decision", rq.CouncilDecisionRequest),
    }

    def __init__(
        self, handle: Any, definition: PlanDefinition, http: httpx.AsyncClient, tokens: TokenStore
    ) -> None:
        super().__init__(handle, definition)
        self.http = http
        self.tokens = tokens
        self.bearer: dict[str, dict[str, str]] = {}
        self.sent: list[str] = []

    async def token(self, person: str) -> dict[str, str]:
        if person not in self.bearer:
            issued = await self.tokens.issue(person, "person", "topology test", "test")
            self.bearer[person] = {"Authorization": f"Bearer {issued.token}"}
        return self.bearer[person]

    async def update(self, name: str, command: BaseModel) -> cmd.Receipt:
        path, model = self.ROUTES[name]
        data = command.model_dump(mode="json", exclude_none=True)
        body = {k: v for k, v in data.items() if k in model.model_fields}
        if name == "sign_off":
            body["decision"] = "approve"
        answer = await self.http.post(
            f"/api/plans/{self.definition.plan_id}/{path}",
            json=body,
            headers=await self.token(data["actor_id"]),
        )
        assert answer.status_code == 200, (name, answer.status_code, answer.text)
        self.sent.append(name)
        receipt = cmd.Receipt.model_validate(answer.json())
        self.receipts.append(receipt)
        return receipt


async def test_the_compose_topology_runs_a_plan_to_adoption_through_the_proxy(
    topology: Topology, postgres: tuple[str, Path], bodo: PlanDefinition
) -> None:
    caddy = caddy_binary()
    if caddy is None:
        pytest.skip("caddy is not installed (CI installs Debian's package)")
    superuser, socket_dir = postgres
    pg_bin = _pgserver_bin()
    secrets = topology.folder / "secrets"
    secrets.mkdir(mode=0o700)
    for name in SECRETS:
        (secrets / name).write_text(os.urandom(12).hex())
    vkey = await generated_key("plan.test/temaplan", secrets / "log_signing_key")
    # The front door's attestation key, made the same way (README, "Attested actors").
    door_vkey = await generated_key("plan.test/front-door", secrets / "front_door_key")

    # PostgreSQL: compose's init script, then passwords required as in compose's image.
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "TEMPORAL_"))}
    init = await run(
        ["/bin/sh", str(ROOT / "deploy/postgres/initdb.sh")],
        env={
            **base,
            "PATH": f"{pg_bin}:{os.environ['PATH']}",
            "PGHOST": str(socket_dir),
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "postgres",
            "SECRETS_DIR": str(secrets),
            "ROLES_SQL": str(ROOT / "eventstore/roles.sql"),
        },
    )
    assert init.returncode == 0, init.stderr
    (socket_dir / "pg_hba.conf").write_text(
        "local all postgres trust\nlocal all all scram-sha-256\n"
    )
    admin = await asyncpg.connect(superuser)
    try:
        await admin.execute("SELECT pg_reload_conf()")
        roles = {r["rolname"] for r in await admin.fetch("SELECT rolname FROM pg_roles")}
        assert {"temaplan_owner", "temaplan_app", "temaplan_auditor", "temporal"} <= roles
        databases = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
        assert {"temaplan_events", "temporal", "temporal_visibility"} <= databases
    finally:
        await admin.close()

    # Temporal, and the one-shot service's registration of the search attributes.
    temporal_port = free_port()
    topology.start(
        "temporal",
        [
            temporal_binary(),
            "server",
            "start-dev",
            "--headless",
            "--ip",
            "127.0.0.1",
            "--port",
            str(temporal_port),
            "--db-filename",
            str(topology.folder / "t.db"),
        ],
        base,
    )
    temporal_address = f"127.0.0.1:{temporal_port}"
    register_env = substituted(
        compose_environment("temporal-setup", {}), {"temporal:7233": temporal_address}
    )
    for _ in range(100):
        registered = await run(
            ["/bin/sh", str(ROOT / "deploy/temporal/register.sh")],
            env={**base, **register_env, "PATH": f"{BIN}:{os.environ['PATH']}"},
        )
        if registered.returncode == 0:
            break
        await asyncio.sleep(0.3)
    assert registered.returncode == 0, registered.stderr
    assert "TemaplanAwaitedRoles" in registered.stdout
    # Idempotent, as a restarted one-shot service needs it to be.
    again = await run(
        ["/bin/sh", str(ROOT / "deploy/temporal/register.sh")],
        {**base, **register_env, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )
    assert again.returncode == 0

    # Our services, as compose starts them.
    api_port, https_port, http_port = free_port(), free_port(), free_port()
    places = {
        "@postgres:5432/temaplan_events": f"@/temaplan_events?host={socket_dir}",
        "/run/secrets/": f"{secrets}/",
        "temporal:7233": temporal_address,
        "0.0.0.0": "127.0.0.1",
        "8000": str(api_port),
        "172.28.0.10": "127.0.0.1",
    }
    deploy = {
        "TEMAPLAN_LOG_VKEY": vkey,
        "TEMAPLAN_FRONT_DOOR_VKEYS": door_vkey,
        # The worker's mail links point at the proxy's site.
        "TEMAPLAN_SITE": f"localhost:{https_port}",
    }
    envs = {
        name: substituted(compose_environment(name, deploy), places)
        for name in ("migrate", "worker", "api")
    }
    assert Settings(**envs["api"]).database_url.startswith("postgresql://temaplan_app:")  # type: ignore[arg-type, union-attr]
    commands = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    migrate = await run(
        [str(BIN / "temaplan"), *commands["migrate"]["command"]],
        env={**base, **envs["migrate"]},
    )
    assert migrate.returncode == 0, migrate.stderr
    wrong = {**envs["api"], "DATABASE_PASSWORD_FILE": str(secrets / "postgres_password")}
    refused = await run(
        [str(BIN / "temaplan"), "tokens", "list"],
        env={**base, **wrong},
    )
    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr + refused.stdout
    for name in ("worker", "api"):
        topology.start(
            name, [str(BIN / "temaplan"), *commands[name]["command"]], {**base, **envs[name]}
        )
    await _wait_http(f"http://127.0.0.1:{api_port}/healthz", topology.processes[-1])

    # The proxy, with compose's Caddyfile.
    hashed = (await run([caddy, "hash-password", "--plaintext", UI_PASSWORD])).stdout.strip()
    caddy_env = {
        **base,
        **compose_environment(
            "proxy",
            {
                "TEMAPLAN_SITE": f"localhost:{https_port}",
                "TEMAPLAN_TLS": "internal",
                "TEMPORAL_UI_PASSWORD_HASH": hashed,
            },
        ),
        "CADDY_HTTP_PORT": str(http_port),
        "CADDY_HTTPS_PORT": str(https_port),
        "TEMAPLAN_API_UPSTREAM": f"127.0.0.1:{api_port}",
        "TEMPORAL_UI_UPSTREAM": f"127.0.0.1:{api_port}",
        "XDG_DATA_HOME": str(topology.folder / "caddy-data"),
        "XDG_CONFIG_HOME": str(topology.folder / "caddy-config"),
        "HOME": str(topology.folder),
    }
    topology.start(
        "caddy",
        [caddy, "run", "--config", str(ROOT / "deploy/caddy/Caddyfile"), "--adapter", "caddyfile"],
        caddy_env,
    )
    root = topology.folder / "caddy-data/caddy/pki/authorities/local/root.crt"
    for _ in range(200):
        if root.exists():
            break
        assert topology.processes[-1].poll() is None, topology.log("caddy")
        await asyncio.sleep(0.1)
    tls = ssl.create_default_context(cafile=str(root))
    site = f"https://localhost:{https_port}"
    await _wait_http(f"{site}/healthz", topology.processes[-1], verify=tls)

    admin_token = await run(
        [str(BIN / "temaplan"), "tokens", "issue", "admin", "--admin"],
        env={**base, **envs["api"]},
    )
    assert admin_token.returncode == 0, admin_token.stderr
    token = next(line for line in admin_token.stdout.splitlines() if line.startswith("tp_"))
    definition = closable_early(unique(bodo))
    client = await Client.connect(temporal_address, data_converter=data_converter)
    pool = await create_pool(Settings(**envs["api"]).database_url or "")  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(base_url=site, verify=tls, timeout=30) as http:
            # Only TLS: the plain port redirects to it.
            async with httpx.AsyncClient(timeout=5) as plain:
                redirect = await plain.get(f"http://localhost:{http_port}/api/plans")
            assert redirect.status_code in (301, 308)
            assert redirect.headers["location"].startswith("https://")
            # The Temporal Web UI's path needs the operators' password.
            assert (await http.get("/temporal/")).status_code == 401
            with_login = await http.get("/temporal/", auth=("operator", UI_PASSWORD))
            assert with_login.status_code != 401

            # The web page's login over TLS: the Secure session cookie comes back and works.
            page = await http.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf is not None
            logged_in = await http.post("/login", data={"csrf": csrf.group(1), "token": token})
            assert logged_in.status_code == 303, logged_in.text
            assert "secure" in logged_in.headers["set-cookie"].lower()
            assert (await http.get("/inbox")).status_code == 200

            created = await http.post(
                "/api/plans",
                content=definition.model_dump_json(),
                headers={"Authorization": f"Bearer {token}"},
            )
            assert created.status_code == 201, created.text
            handle = client.get_workflow_handle(workflow_id_for(definition.plan_id))
            driver = ThroughTheProxy(handle, definition, http, TokenStore(pool))

            async def hearing(status: PlanStatus) -> None:
                for n in range(2):
                    sent = await http.post(
                        f"/api/public/plans/{definition.plan_id}/hearing/responses",
                        json={"name": f"Innbygger {n}", "text": "Flere utleieboliger, takk."},
                    )
                    assert sent.status_code == 201, sent.text
                await close_early(driver)

            final = await driver.run_to_adoption(hearing)
            assert final.status == "adopted", topology.log("worker")
            assert {"sign_off", "council_decision", "close_hearing"} <= set(driver.sent)
            # The search attributes registered by the one-shot script are what lists plans.
            bearer = {"Authorization": f"Bearer {token}"}
            listed = (await http.get("/api/plans", headers=bearer)).json()
            phase = next(p["phase"] for p in listed if p["plan_id"] == definition.plan_id)
            by_phase = (await http.get(f"/api/plans?phase={phase}", headers=bearer)).json()
            assert definition.plan_id in [p["plan_id"] for p in by_phase]
        stored = await EventStore(pool).read(definition.plan_id)
        assert stored[-1].type in {"plan_adopted", "revision_schedule_created"}
        assert {e.actor_id for e in stored if e.type == "sign_off_given"} <= set(driver.bearer)
    finally:
        await pool.close()
    assert topology.processes[0].poll() is None  # the dev server still runs


def _pgserver_bin() -> Path:
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"
