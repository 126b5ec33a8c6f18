"""The plan-file loader fuzzed with hypothesis: whatever the file holds, `temaplan
validate` says valid or names the problems (exit 0 or 2), never a traceback.

Two kinds of input: arbitrary text, and the Bodø example with one value somewhere in it
replaced by something hostile (control characters, lone surrogates, tiny, huge and
exponent-form numbers, negative zero, deep nesting, wrong types). Bounded in examples.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.plan import PlanDefinition
from domain.planfile import parse_plan_text
from domain.problems import DomainValidationError
from temaplan.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bodo.yaml"
BASE: Any = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def nested(depth: int) -> Any:
    value: Any = "x"
    for n in range(depth):
        value = [value] if n % 2 else {"a": value}
    return value


# Nesting too deep to build as objects here: written into the text as brackets.
DEEP = "__deep_{}__"


def with_deep_nesting(text: str) -> str:
    for depth in (200, 5000):
        marker = DEEP.format(depth)
        text = text.replace(f'"{marker}"', marker).replace(marker, "[" * depth + "]" * depth)
    return text


HOSTILE_TEXT = st.sampled_from(
    ["a\x00b", "\ud800", "a\x1bb", "\ufffe", "\u202e", "", " ", "x" * 20_000, "=cmd|' /C calc'!A0"]
)
HOSTILE_NUMBER = st.sampled_from(
    [1e-50, 1e-60, -0.0, 1e308, -1e308, math.inf, -math.inf, 10**40, -(10**40), 2**63, 0.1]
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    HOSTILE_NUMBER,
    st.text(),
    HOSTILE_TEXT,
    st.sampled_from([nested(20), nested(100), [], {}]),
    st.sampled_from([DEEP.format(200), DEEP.format(5000)]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


ALL_PATHS = paths(BASE)[1:]


def replaced(path: tuple[Any, ...], value: Any) -> Any:
    data = json.loads(json.dumps(BASE, default=str))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def validate_file(text: str, suffix: str) -> tuple[int, str]:
    """`temaplan validate` on a file of this text: exit status and what it printed."""
    with tempfile.TemporaryDirectory() as folder:
        plan_file = Path(folder) / f"plan{suffix}"
        plan_file.write_text(text, encoding="utf-8", errors="surrogatepass")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["validate", str(plan_file)])
        return code, out.getvalue() + err.getvalue()


def parses_or_names_problems(text: str, source: str) -> None:
    refused: DomainValidationError | None = None
    try:
        assert isinstance(parse_plan_text(text, source), PlanDefinition)
    except DomainValidationError as exc:
        refused = exc
    if refused is not None:
        assert refused.problems
        assert source in refused.render()


@FUZZ
@given(text=st.text(max_size=2000), fmt=st.sampled_from([".yaml", ".json"]))
def test_any_text_is_a_plan_or_a_list_of_problems(text: str, fmt: str) -> None:
    parses_or_names_problems(text, f"plan{fmt}")


@FUZZ
@given(path=st.sampled_from(ALL_PATHS), value=VALUES, fmt=st.sampled_from([".yaml", ".json"]))
def test_one_hostile_value_anywhere_in_a_plan_is_named_not_crashed_on(
    path: tuple[Any, ...], value: Any, fmt: str
) -> None:
    data = replaced(path, value)
    if fmt == ".json":
        text = json.dumps(data, ensure_ascii=False, allow_nan=True)
    else:
        text = yaml.safe_dump(data, allow_unicode=True)
    parses_or_names_problems(with_deep_nesting(text), f"plan{fmt}")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(path=st.sampled_from(ALL_PATHS), value=VALUES)
def test_validate_command_exits_0_or_2_without_a_traceback(
    path: tuple[Any, ...], value: Any
) -> None:
    text = json.dumps(replaced(path, value), ensure_ascii=False, allow_nan=True)
    code, printed = validate_file(with_deep_nesting(text), ".json")
    assert code in (0, 2), printed
    assert "Traceback" not in printed


@pytest.mark.parametrize(
    ("depth", "suffix"), [(5000, ".json"), (5000, ".yaml"), (100_000, ".json")]
)
def test_a_deeply_nested_file_is_refused_with_a_message(depth: int, suffix: str) -> None:
    text = (
        "title: " + "[" * depth + "]" * depth
        if suffix == ".yaml"
        else ('{"title": ' + "[" * depth + "]" * depth + "}")
    )
    code, printed = validate_file(text, suffix)
    assert code == 2, printed
    assert "Traceback" not in printed
    assert "deep" in printed or "nest" in printed, printed
