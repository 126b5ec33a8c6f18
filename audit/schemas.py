"""JSON Schema of every event type's ``data`` (the event without its envelope), from the
domain's own models: shipped as docs/event-schemas.json and beside every log export, so
that a verifier written from docs/audit-format.md can check the layout of each event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domain.events import ENVELOPE_FIELDS, EVENT_TYPES
from domain.roles import Role

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "docs" / "event-schemas.json"


def data_schemas() -> dict[str, Any]:
    types: dict[str, Any] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        schema = cls.model_json_schema(mode="serialization")
        properties = {
            k: v for k, v in schema.get("properties", {}).items() if k not in ENVELOPE_FIELDS
        }
        schema["properties"] = properties
        schema["required"] = [k for k in schema.get("required", []) if k in properties]
        schema["additionalProperties"] = False
        types[name] = {"schema_version": cls.SCHEMA_VERSION, "data": schema}
    return {
        "$comment": "temaplan event data, format version 1 (docs/audit-format.md)",
        "roles": [role.value for role in Role],
        "types": types,
    }


def schemas_text() -> str:
    return json.dumps(data_schemas(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schemas_text(), encoding="utf-8")
