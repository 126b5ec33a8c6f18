"""audit/verify_export.py, the standalone verifier, against exports built by hand with the
reference implementation (domain.canonical): every kind of damage is found, on its line."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audit import verify_export
from domain.canonical import GENESIS_HASH, canonical_json, chain_hash, chain_record
from tests.unit.conftest import worked_example_record

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "audit" / "verify_export.py"
DOC = ROOT / "docs" / "audit-format.md"
PLAN = "1804-boligplan-2026"

EVENTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("plan_created", "temaplan", "system", {"plan_id": PLAN, "tittel": "Boligplan for Bodø"}),
    (
        "comment_recorded",
        "kari.nilsen",
        "steering_group",
        {"phase": "goals", "content_version": 1, "text": "Flere boliger på Ørnes – «nå»"},
    ),
    (
        "sign_off_given",
        "ola.hansen",
        "steering_group",
        {"phase": "goals", "content_version": 1, "content_hash": "ab" * 32, "comment": "Godkjent"},
    ),
    (
        "council_decided",
        "bystyret",
        "council",
        {
            "outcome": "adopted",
            "content_version": 1,
            "content_hash": "ab" * 32,
            "reason": "Vedtatt",
        },
    ),
]


def build_lines(
    events: list[tuple[str, str, str, dict[str, Any]]] = EVENTS, plan: str = PLAN
) -> list[bytes]:
    """The export's lines, made with the reference functions."""
    lines: list[bytes] = []
    prev_hash = GENESIS_HASH
    start = datetime(2026, 3, 1, 12, 0, 0, 308813, tzinfo=UTC)
    for version, (event_type, actor_id, actor_role, data) in enumerate(events, start=1):
        record = chain_record(
            stream_id=plan,
            version=version,
            event_id=f"00000000-0000-4000-8000-{version:012d}",
            event_type=event_type,
            schema_version=1,
            data=data,
            actor_id=actor_id,
            actor_role=actor_role,
            recorded_at=start + timedelta(days=version, minutes=7 * version),
        )
        event_hash = chain_hash(prev_hash, record)
        lines.append(canonical_json({**record, "prev_hash": prev_hash, "hash": event_hash}) + b"\n")
        prev_hash = event_hash
    return lines


def manifest_for(lines: list[bytes], plan: str = PLAN) -> dict[str, Any]:
    first, last = json.loads(lines[0]), json.loads(lines[-1])
    return {
        "plan_id": plan,
        "event_count": len(lines),
        "first_version": 1,
        "last_version": len(lines),
        "first_hash": first["hash"],
        "last_hash": last["hash"],
        "exported_at": "2026-03-09T08:00:00.000000Z",
        "format_version": 1,
        "format": "jsonl",
        "generator": "temaplan",
    }


class Export:
    """An export in a directory: write variants of it and run the verifier on them."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"{PLAN}.jsonl"
        self.manifest_path = directory / f"{PLAN}.jsonl.manifest.json"
        self.lines = build_lines()
        self.manifest = manifest_for(self.lines)
        self.write(b"".join(self.lines))

    def write(self, content: bytes, manifest: dict[str, Any] | None = None) -> None:
        self.path.write_bytes(content)
        self.manifest_path.write_text(json.dumps(manifest or self.manifest, indent=2))

    def run(self, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
        code = verify_export.main([str(self.path)])
        captured = capsys.readouterr()
        return code, (captured.out + captured.err).strip()


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return Export(tmp_path)


def assert_fails_at(result: tuple[int, str], line: int, version: int | None = None) -> str:
    code, message = result
    assert code == 1, message
    place = f"line {line} (version {version}): " if version is not None else f"line {line}[ :]"
    assert re.match(place if version is None else re.escape(place), message), message
    assert "\n" not in message
    return message


def test_a_valid_export_verifies(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    last_hash = json.loads(export.lines[-1])["hash"]
    assert export.run(capsys) == (0, f"OK: {PLAN} 4 events, last hash {last_hash}")


def test_the_manifest_can_be_named(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = export.path.parent / "manifest-copy.json"
    export.manifest_path.rename(elsewhere)
    assert verify_export.main([str(export.path), "--manifest", str(elsewhere)]) == 0
    assert capsys.readouterr().out.startswith("OK: ")


# One byte changed in a named field of each line, with what the verifier must say.
FIELD_CHANGES = [
    ("data", "hash does not match"),  # the value of the first member of data
    ('"hash":"', "hash does not match"),
    ('"prev_hash":"', "prev_hash is not"),
    ('"recorded_at":"', "hash does not match"),
    ('"event_id":"', "hash does not match"),
    ('"actor_id":"', "hash does not match"),
    ('"type":"', "hash does not match"),
    ('"schema_version":', "hash does not match"),
]


def change_after(line: bytes, marker: str) -> bytes:
    """The line with the first letter or digit after ``marker`` (for "data": in the value
    of data's first member) replaced by another of its kind: the line stays well formed."""
    if marker == "data":
        start = line.index(b'":', line.index(b'"data":{"') + 9) + 2
    else:
        start = line.index(marker.encode()) + len(marker.encode())
    position = next(i for i in range(start, len(line)) if chr(line[i]).isalnum())
    old = chr(line[position])
    new = str((int(old) + 1) % 10) if old.isdigit() else ("b" if old == "a" else "a")
    return line[:position] + new.encode() + line[position + 1 :]


@pytest.mark.parametrize(("marker", "expected"), FIELD_CHANGES)
@pytest.mark.parametrize("index", range(4))
def test_one_byte_changed_in_a_field_of_any_line_is_found_on_that_line(
    export: Export, capsys: pytest.CaptureFixture[str], index: int, marker: str, expected: str
) -> None:
    lines = list(export.lines)
    lines[index] = change_after(lines[index], marker)
    export.write(b"".join(lines))
    message = assert_fails_at(export.run(capsys), index + 1, index + 1)
    assert expected in message


def test_a_changed_version_number_breaks_the_numbering(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(export.lines)
    lines[2] = lines[2].replace(b'"version":3}', b'"version":4}')
    export.write(b"".join(lines))
    assert "expected version 3, found 4" in assert_fails_at(export.run(capsys), 3, 4)


def test_a_changed_stream_id_on_a_later_line_is_named(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(export.lines)
    lines[1] = change_after(lines[1], '"stream_id":"')
    export.write(b"".join(lines))
    assert "stream_id" in assert_fails_at(export.run(capsys), 2, 2)


def test_every_single_byte_change_anywhere_is_found_on_its_line(export: Export) -> None:
    """Flip the lowest bit of each byte of the file in turn, line feeds included."""
    content = b"".join(export.lines)
    for position in range(len(content)):
        damaged = bytearray(content)
        damaged[position] ^= 0x01
        export.path.write_bytes(damaged)
        line = content.count(b"\n", 0, position) + 1
        with pytest.raises(verify_export.Problem) as caught:
            verify_export.verify(str(export.path), str(export.manifest_path))
        assert re.match(f"line {line}[ :]", str(caught.value)), (position, caught.value)


@pytest.mark.parametrize("index", range(3))
def test_a_dropped_line_is_found_where_it_is_missing(
    export: Export, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    lines = export.lines[:index] + export.lines[index + 1 :]
    export.write(b"".join(lines))
    message = assert_fails_at(export.run(capsys), index + 1, index + 2)
    assert f"expected version {index + 1}, found {index + 2} (missing" in message


def test_a_dropped_last_line_is_found_by_the_manifest(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    export.write(b"".join(export.lines[:-1]))
    code, message = export.run(capsys)
    assert code == 1
    assert message.startswith(f"manifest {export.manifest_path}: event_count is 4")
    assert "give 3" in message


@pytest.mark.parametrize("index", range(3))
def test_two_swapped_lines_are_found_at_the_first_of_them(
    export: Export, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    lines = list(export.lines)
    lines[index], lines[index + 1] = lines[index + 1], lines[index]
    export.write(b"".join(lines))
    assert_fails_at(export.run(capsys), index + 1, index + 2)


@pytest.mark.parametrize("index", range(4))
def test_a_duplicated_line_is_found_where_it_repeats(
    export: Export, capsys: pytest.CaptureFixture[str], index: int
) -> None:
    lines = export.lines[: index + 1] + export.lines[index:]
    export.write(b"".join(lines))
    message = assert_fails_at(export.run(capsys), index + 2, index + 1)
    assert "(repeated)" in message


def test_a_truncated_last_line_is_found(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    content = b"".join(export.lines)
    for cut in (len(content) - 1, len(content) - len(export.lines[-1]) // 2):
        export.write(content[:cut])
        assert "cut short" in assert_fails_at(export.run(capsys), 4)


def test_an_empty_export_is_refused(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    export.write(b"")
    assert "no events" in assert_fails_at(export.run(capsys), 1)


def test_a_rewritten_chain_is_caught_by_the_manifest(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone edits line 2 and recomputes every hash after it: the chain holds, but its
    last hash is no longer the one the manifest (and the store) recorded."""
    events = [(t, a, r, dict(d)) for t, a, r, d in EVENTS]
    events[1][3]["text"] = "Ingen merknader"
    export.write(b"".join(build_lines(events)))
    code, message = export.run(capsys)
    assert code == 1
    assert "last_hash is" in message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("plan_id", "1804-annen-plan"),
        ("event_count", 5),
        ("last_version", 3),
        ("first_hash", "0" * 64),
        ("last_hash", "f" * 64),
    ],
)
def test_a_manifest_that_does_not_match_the_lines_is_refused(
    export: Export, capsys: pytest.CaptureFixture[str], field: str, value: object
) -> None:
    export.write(b"".join(export.lines), {**export.manifest, field: value})
    code, message = export.run(capsys)
    assert code == 1
    assert message.startswith(f"manifest {export.manifest_path}: {field} is {value!r}")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"format_version": 2}, "version 2"),
        ({"format": "csv"}, "'csv'"),
        ({"event_count": "4"}, "event_count is missing or not a int"),
        ({"last_hash": None}, "last_hash is missing"),
    ],
)
def test_a_malformed_manifest_is_refused(
    export: Export, capsys: pytest.CaptureFixture[str], change: dict[str, Any], expected: str
) -> None:
    export.write(b"".join(export.lines), {**export.manifest, **change})
    code, message = export.run(capsys)
    assert code == 1
    assert expected in message


def test_a_missing_manifest_is_refused(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    export.manifest_path.unlink()
    code, message = export.run(capsys)
    assert code == 1
    assert "not found" in message


def test_a_line_not_in_canonical_form_is_refused(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = list(export.lines)
    lines[1] = json.dumps(json.loads(lines[1]), ensure_ascii=False).encode() + b"\n"
    export.write(b"".join(lines))
    assert "canonical form" in assert_fails_at(export.run(capsys), 2, 2)


def test_crlf_line_ends_are_refused(export: Export, capsys: pytest.CaptureFixture[str]) -> None:
    export.write(b"".join(line.replace(b"\n", b"\r\n") for line in export.lines))
    assert "canonical form" in assert_fails_at(export.run(capsys), 1, 1)


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (b'"content_version":1', b'"content_version":1.0', "not an integer"),
        (b'"content_version":1', b'"content_version":1,"content_version":1', "appears twice"),
        (b',"type":', b',"extra":1,"type":', "not in the format: ['extra']"),
    ],
)
def test_lines_outside_the_format_are_refused(
    export: Export, capsys: pytest.CaptureFixture[str], replace: bytes, by: bytes, expected: str
) -> None:
    lines = list(export.lines)
    lines[1] = lines[1].replace(replace, by, 1)
    export.write(b"".join(lines))
    assert expected in assert_fails_at(export.run(capsys), 2)


def test_the_documented_example_line_verifies(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Export files (JSON lines)") :]
    example = re.search(r"```text\n(.*?)\n```", section, re.DOTALL)
    assert example is not None
    line = example.group(1).encode() + b"\n"
    record = worked_example_record()
    assert json.loads(line)["hash"] == chain_hash(GENESIS_HASH, record)
    export.write(line, manifest_for([line]))
    assert export.run(capsys)[0] == 0


def test_the_verifier_imports_only_the_standard_library() -> None:
    tree = ast.parse(VERIFIER.read_text(encoding="utf-8"))
    modules = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    top_level = {name.split(".")[0] for name in modules}
    assert top_level <= set(sys.stdlib_module_names) | {"__future__"}, top_level


def test_a_copy_of_the_verifier_runs_alone(export: Export, tmp_path: Path) -> None:
    """Copied out of the project, run in isolated mode without site-packages, from a
    directory that holds nothing else: it needs the standard library only."""
    alone = tmp_path / "alone"
    alone.mkdir()
    script = shutil.copy(VERIFIER, alone / "verify_export.py")
    command = [sys.executable, "-I", "-S", str(script)]
    ok = subprocess.run(
        [*command, str(export.path)], cwd=alone, capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"OK: {PLAN} 4 events, last hash ")

    lines = list(export.lines)
    lines[2] = change_after(lines[2], '"comment":"')
    export.write(b"".join(lines))
    broken = subprocess.run(
        [*command, str(export.path)], cwd=alone, capture_output=True, text=True, check=False
    )
    assert broken.returncode == 1
    assert broken.stdout == ""
    assert broken.stderr.startswith("line 3 (version 3): hash does not match")


def rechained(changes: dict[int, dict[str, Any]]) -> list[bytes]:
    """The export with fields of some versions changed and every hash recomputed, as a
    forger would do it: only the verifier's rules beyond the chain can catch it."""
    lines: list[bytes] = []
    prev_hash = GENESIS_HASH
    for number, raw in enumerate(build_lines(), start=1):
        line = {**json.loads(raw), **changes.get(number, {}), "prev_hash": prev_hash}
        record = {k: v for k, v in line.items() if k not in ("prev_hash", "hash")}
        line["hash"] = hashlib.sha256(prev_hash.encode() + canonical_json(record)).hexdigest()
        lines.append(canonical_json(line) + b"\n")
        prev_hash = line["hash"]
    return lines


@pytest.mark.parametrize(
    ("moment", "why"),
    [
        ("2026-02-30T12:00:00.000000Z", "not a real time"),
        ("2026-03-04T24:00:00.000000Z", "not a real time"),
        ("2026-03-02T12:00:00.000000Z", "earlier than the previous version's"),
    ],
)
def test_impossible_or_backward_times_are_refused(
    export: Export, capsys: pytest.CaptureFixture[str], moment: str, why: str
) -> None:
    lines = rechained({3: {"recorded_at": moment}})
    export.write(b"".join(lines), manifest_for(lines))
    message = assert_fails_at(export.run(capsys), 3, 3)
    assert why in message


def test_a_duplicate_event_id_is_refused(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = rechained({4: {"event_id": "00000000-0000-4000-8000-000000000002"}})
    export.write(b"".join(lines), manifest_for(lines))
    message = assert_fails_at(export.run(capsys), 4, 4)
    assert "appears twice" in message


def test_a_plan_export_cannot_be_checked_against_a_checkpoint(
    export: Export, capsys: pytest.CaptureFixture[str]
) -> None:
    code = verify_export.main([str(export.path), "--log-key", "x+00000000+AA=="])
    assert code == 1
    assert "export the whole log" in capsys.readouterr().err
