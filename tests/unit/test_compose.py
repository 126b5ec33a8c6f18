"""docker-compose.yml: parsed by a real Compose implementation, and configured only with
environment variables that the settings module reads."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from temaplan.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Our own image's services; the others are the official images with their own variables.
OUR_SERVICES = {"migrate", "worker", "api"}


def settings_variables() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) or [])
    return names


def test_every_variable_our_services_set_is_a_known_setting() -> None:
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    ours = {name: svc for name, svc in services.items() if name in OUR_SERVICES}
    assert {"migrate", "worker", "api"} <= set(ours)
    known = settings_variables()
    for name, service in ours.items():
        unknown = set(service.get("environment", {})) - known
        assert not unknown, f"service {name} sets {sorted(unknown)}, unknown to Settings"


def test_compose_file_is_valid_for_docker_compose() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        if os.environ.get("REQUIRE_COMPOSE_CHECK"):
            pytest.fail("docker-compose is required here (REQUIRE_COMPOSE_CHECK is set)")
        pytest.skip("docker-compose is not installed (CI installs Debian's package)")
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "--quiet"],
        env={**os.environ, "POSTGRES_PASSWORD": "check-only"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_topology_is_complete() -> None:
    """Events database with a health check and a volume, Temporal with PostgreSQL
    persistence and its Web UI, the one-shot migration, the worker and the API."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert services["postgres"]["healthcheck"]
    assert any("events-data" in v for v in services["postgres"]["volumes"])
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["worker"]["command"] == ["worker"]
    assert services["api"]["command"] == ["api"]
    for name in ("worker", "api"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        environment = services[name]["environment"]
        assert {
            "TEMPORAL_ADDRESS",
            "TEMPORAL_NAMESPACE",
            "TEMPORAL_TLS",
            "TEMPORAL_API_KEY",
        } <= set(environment)
        assert {"DATABASE_URL", "LOG_FORMAT"} <= set(environment)


def test_the_image_holds_every_package_the_project_installs() -> None:
    """pip install . in the Dockerfile needs every package and module pyproject names."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = " ".join(line for line in dockerfile.splitlines() if line.startswith("COPY"))
    for package in project["tool"]["setuptools"]["packages"]:
        assert f"COPY {package.split('.')[0]} " in copied, package
    for module in project["tool"]["setuptools"]["py-modules"]:
        assert f"{module}.py" in copied, module
