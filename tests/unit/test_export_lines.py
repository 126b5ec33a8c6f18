"""The bulk export builds a page of lines at once; every byte must be what the one-plan
export writes for each row (the verifier and the comparison of exports rely on it)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.export_lines import export_line_of_row, export_lines_of_rows
from domain.canonical import canonical_json

AT = datetime(2026, 11, 21, 10, 0, 0, 123456, tzinfo=UTC)


def row(stream: str, version: int, content: dict[str, Any], **changes: Any) -> tuple[Any, ...]:
    fields: dict[str, Any] = {
        "stream_id": stream,
        "version": version,
        "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stream}/{version}")),
        "type": "sign_off_given",
        "schema_version": 1,
        "canonical_data": canonical_json(content).decode(),
        "data": None,  # the server confirmed canonical_data
        "actor_id": "kari.nilsen",
        "actor_role": "steering_group",
        "recorded_at": AT + timedelta(seconds=version // 3),
        "prev_hash": f"{version - 1:064x}",
        "hash": f"{version:064x}",
    }
    fields.update(changes)
    return tuple(fields.values())


def test_a_page_of_lines_is_the_lines_of_its_rows_byte_for_byte() -> None:
    data = {"comment": 'Godkjent – «særlig» på Ås\t"sitat"\\', "n": 15, "e": [None, True]}
    rows = [
        row("1804-bolig", v, {**data, "v": v}, actor_id=actor, actor_role=role, type=kind)
        for v, (actor, role, kind) in enumerate(
            [
                ("kari.nilsen", "steering_group", "sign_off_given"),
                ('per"ås\\', "administrative_leadership", "sign_off_given"),
                ("kari.nilsen", "steering_group", "comment_recorded"),
                ("ingrid.bø\u2028", "steering_group", "sign_off_given"),
            ]
            * 3,
            start=1,
        )
    ]
    rows += [row("5001-annen", v, {"x": "y"}, schema_version=2) for v in (1, 2)]
    page = export_lines_of_rows(rows)
    assert page == b"".join(export_line_of_row(r) for r in rows)
    for line, r in zip(page.splitlines(), rows, strict=True):
        record = json.loads(line)
        assert (record["stream_id"], record["version"], record["actor_id"]) == (r[0], r[1], r[7])


def test_a_page_with_an_unconfirmed_row_is_written_the_reference_way() -> None:
    data = {"b": 1, "a": "x"}
    unconfirmed = row("1804-bolig", 2, data, data=json.dumps(data), canonical_data=None)
    rows = [row("1804-bolig", 1, data), unconfirmed]
    assert export_lines_of_rows(rows) == b"".join(export_line_of_row(r) for r in rows)
