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
    assert "migrate" in ours
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
