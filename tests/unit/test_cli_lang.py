"""One `--lang` before the command for every command; the audit commands' own after
theirs still counts, and not given there it does not reset the main one to bokmål."""

from __future__ import annotations

import pytest

from temaplan.cli import _parser


@pytest.mark.parametrize(
    ("argv", "lang"),
    [
        (["verify"], "nb"),
        (["--lang", "en", "verify"], "en"),
        (["--lang", "en", "plans", "list"], "en"),
        (["audit", "verify", "--all"], "nb"),
        (["--lang", "en", "audit", "verify", "--all"], "en"),
        (["audit", "verify", "--all", "--lang", "en"], "en"),
        (["--lang", "en", "audit", "export", "p", "--format", "csv", "--out", "x"], "en"),
        (["--lang", "en", "audit", "history", "p", "--lang", "nb"], "nb"),
    ],
)
def test_the_language_is_read_before_the_command_and_after_an_audit_command(
    argv: list[str], lang: str
) -> None:
    assert _parser().parse_args(argv).lang == lang


def test_only_bokmal_and_english() -> None:
    with pytest.raises(SystemExit):
        _parser().parse_args(["--lang", "sv", "verify"])
