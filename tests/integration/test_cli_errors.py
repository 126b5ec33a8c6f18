"""The real `temaplan` command in a subprocess: a Temporal or database that is not there,
a missing file, a bad argument or setting gives one line saying what to set, exit 2, and
never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from eventstore.pool import with_database
from tests.ports import free_port

pytestmark = pytest.mark.servers
TEMAPLAN = str(Path(sys.executable).parent / "temaplan")


def run(
    *args: str, unset: tuple[str, ...] = (), lang: str = "en", **env: str
) -> tuple[int, list[str]]:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "LOG_LEVEL": "WARNING",
        **env,
    }
    done = subprocess.run(
        [TEMAPLAN, "--lang", lang, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done.returncode, done.stderr.strip().splitlines()


def one_line(result: tuple[int, list[str]], *expected: str) -> str:
    code, lines = result
    assert code == 2, lines
    assert len(lines) == 1, lines
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_no_temporal_address_says_what_to_set() -> None:
    one_line(
        run("plans", "list", unset=("TEMPORAL_ADDRESS",)),
        "temaplan plans:",
        "TEMPORAL_ADDRESS is not set",
    )


def test_an_unreachable_temporal_says_where_it_looked() -> None:
    address = f"127.0.0.1:{free_port()}"
    one_line(
        run("plans", "list", TEMPORAL_ADDRESS=address),
        f"cannot reach Temporal at {address}",
        "TEMPORAL_ADDRESS",
    )


def test_an_unreachable_database_says_what_to_set() -> None:
    url = f"postgresql://temaplan@127.0.0.1:{free_port()}/temaplan"
    for args in (("events", "p"), ("audit", "history", "p"), ("outbox",)):
        one_line(run(*args, DATABASE_URL=url), "cannot connect to PostgreSQL", "DATABASE_URL")


def test_a_database_that_does_not_exist(database_url: str) -> None:
    missing = with_database(database_url, "temaplan_no_such_database")
    one_line(run("verify", DATABASE_URL=missing), "does not exist", "DATABASE_URL")


def test_a_missing_file(tmp_path: Path, database_url: str) -> None:
    gone = tmp_path / "gone"
    one_line(run("restore", str(gone / "x.dump"), DATABASE_URL=database_url), "x.dump")
    one_line(run("validate", str(gone / "plan.yaml")), "file not found")
    one_line(
        run("start", str(gone / "plan.yaml"), TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}"),
        "plan.yaml: (top level): file not found",
    )


def test_a_bad_argument_or_setting() -> None:
    one_line(
        run("audit", "state", "p", "--as-of", "i går"),
        "temaplan audit state: argument --as-of: 'i går' is not a time",
        "--help",
    )
    one_line(run("up", "--temporal-port", "sju"), "--temporal-port", "invalid int")
    one_line(run("plans", "list", TEMAPLAN_API_PORT="åtte"), "TEMAPLAN_API_PORT ('åtte')")
    one_line(
        run("plans", "list", TEMAPLAN_SMTP_PASSWORD_FILE="/no/such/secret"),
        "TEMAPLAN_SMTP_PASSWORD_FILE: cannot read /no/such/secret",
    )


def test_in_bokmal_by_default_what_to_do_about_it() -> None:
    one_line(
        run("plans", "list", unset=("TEMPORAL_ADDRESS",), lang="nb"),
        "temaplan plans: denne kommandoen trenger Temporal, men TEMPORAL_ADDRESS er ikke satt",
        "mens `temaplan up` kjører",
    )
    address = f"127.0.0.1:{free_port()}"
    one_line(
        run("plans", "list", TEMPORAL_ADDRESS=address, lang="nb"),
        f"når ikke Temporal på {address} (tilkoblingen ble avvist); kontroller TEMPORAL_ADDRESS",
    )
    one_line(
        run("plans", "list", TEMAPLAN_API_PORT="åtte", lang="nb"),
        "TEMAPLAN_API_PORT ('åtte'): ",
        "; rett den opp eller fjern den",
    )
    url = f"postgresql://temaplan@127.0.0.1:{free_port()}/temaplan"
    one_line(
        run("verify", DATABASE_URL=url, lang="nb"),
        "; sett DATABASE_URL til en PostgreSQL som kan nås",
    )
