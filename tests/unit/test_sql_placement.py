"""Every SQL statement of the project lives in the store package (README, "Where things
are"): the other packages call its repository modules. Read from the sources with ast:
any string literal (f-strings with their placeholders as ``{}``) that reads as a
statement counts, wherever it stands."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# The project's code outside the store package; bench/ and tests/ build their own data.
CHECKED = (
    "activities",
    "api",
    "audit",
    "catalogue",
    "client",
    "documents",
    "domain",
    "runtime",
    "temaplan",
    "workflows",
    "worker.py",
    "starter.py",
)
# Questions about the database itself, not the project's tables: which database, is it
# empty, which server version (for pg_dump and pg_restore of the same major version).
EXEMPT = {"runtime/pgtools.py"}

# Upper case, as every statement of the project is written; prose in lower case passes.
STATEMENT = re.compile(
    r"\bSELECT\b[\s\S]*?\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b"
)


def _strings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    parts_of_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = ""
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts_of_fstrings.add(id(value))
                    text += value.value
                else:
                    text += "{}"
            yield node.lineno, text
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in parts_of_fstrings
        ):
            yield node.lineno, node.value


def sql_outside_store(files: dict[str, str]) -> list[str]:
    """``path:line: text`` of every statement-like string in ``files`` (path -> source)."""
    found = []
    for path, source in sorted(files.items()):
        for line, text in sorted(_strings(ast.parse(source))):
            match = STATEMENT.search(text)
            if match:
                found.append(f"{path}:{line}: {' '.join(match.group().split())[:60]}")
    return found


def _sources() -> dict[str, str]:
    files: dict[str, str] = {}
    for top in CHECKED:
        paths = [ROOT / top] if top.endswith(".py") else sorted((ROOT / top).rglob("*.py"))
        for path in paths:
            name = path.relative_to(ROOT).as_posix()
            if name not in EXEMPT:
                files[name] = path.read_text(encoding="utf-8")
    return files


def test_no_sql_outside_the_store_package() -> None:
    sources = _sources()
    assert len(sources) > 100  # the sources were found
    assert sql_outside_store(sources) == []


def test_the_check_sees_each_kind_of_statement() -> None:
    """It can fail: each statement kind is reported, also in an f-string or split over
    adjacent literals, while prose and lower-case words pass."""
    files = {
        "api/a.py": 'q = "SELECT body FROM scorecards WHERE plan_id = $1"\n',
        "api/b.py": 'cols = "x"\nq = f"SELECT {cols} FROM t"\n',
        "activities/c.py": 'q = ("INSERT INTO documents"\n     " (plan_id) VALUES ($1)")\n',
        "temaplan/d.py": 'q = "UPDATE access_tokens SET revoked_at = now()"\n',
        "audit/e.py": 'def f():\n    """Closes the session."""\n    return "DELETE FROM s"\n',
        "api/prose.py": (
            '"""Select a plan from the list; delete from the form; update it."""\n'
            'HELP = "the UPDATE button sends the form; SELECT one"\n'
        ),
    }
    assert sql_outside_store(files) == [
        "activities/c.py:1: INSERT INTO",
        "api/a.py:1: SELECT body FROM",
        "api/b.py:2: SELECT {} FROM",
        "audit/e.py:3: DELETE FROM",
        "temaplan/d.py:1: UPDATE access_tokens SET",
    ]
