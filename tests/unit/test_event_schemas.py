"""docs/event-schemas.json and the lists in docs/audit-format.md are the domain's own:
every event type and every role, nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from audit.schemas import SCHEMA_FILE, schemas_text
from domain.events import EVENT_TYPES
from domain.roles import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"


def test_the_shipped_schemas_are_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schemas_text(), (
        "docs/event-schemas.json is stale: run `python -m audit.schemas`"
    )


def test_the_document_lists_every_type_and_role() -> None:
    text = DOC.read_text(encoding="utf-8")
    types_section = text.split("### Event types", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", types_section, flags=re.MULTILINE))
    assert listed == set(EVENT_TYPES)
    roles_section = text.split("### Roles", 1)[1].split("\n### ", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", roles_section)) - {"actor_role", "actor_id", "temaplan"}
    assert named == {r.value for r in Role}
