"""structlog configuration: JSON off a terminal, console on one, context on every line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from runtime.logging import bind_context, clear_context, configure_logging


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    clear_context()
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_json_lines_carry_bound_context_for_stdlib_and_temporal_loggers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json", "INFO")
    bind_context(
        plan_id="1804-boligplan-2026", workflow_id="temaplan-1804", phase="goals", actor="kari"
    )
    structlog.get_logger("temaplan.test").info("sign-off accepted", version=3)
    logging.getLogger("asyncpg.pool").warning("pool is slow")
    logging.getLogger("temporalio.worker").warning("activity retried")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == [
        "sign-off accepted",
        "pool is slow",
        "activity retried",
    ]
    for line in lines:
        assert line["plan_id"] == "1804-boligplan-2026"
        assert line["workflow_id"] == "temaplan-1804"
        assert line["phase"] == "goals"
        assert line["actor"] == "kari"
        assert line["timestamp"].endswith("Z")
    assert lines[0]["version"] == 3
    assert lines[2]["logger"] == "temporalio.worker"


def test_console_format_is_not_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("console", "INFO")
    structlog.get_logger("t").info("hei", plan_id="p")
    err = capsys.readouterr().err
    assert "hei" in err
    with pytest.raises(json.JSONDecodeError):
        json.loads(err.splitlines()[0])


def test_auto_picks_json_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("auto", "INFO")  # pytest's captured stderr is not a terminal
    structlog.get_logger("t").info("hei")
    assert json.loads(capsys.readouterr().err.splitlines()[0])["event"] == "hei"


def test_temporal_info_chatter_is_held_back(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    logging.getLogger("temporalio.worker").info("polling")
    assert capsys.readouterr().err == ""


def test_unknown_context_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log context keys"):
        bind_context(plan="x")
