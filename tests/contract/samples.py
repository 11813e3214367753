"""A valid instance of any event type, built from its published JSON Schema (not by hand), with a
distinct value in every id field, so a test can tell which field a key or subject came from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mentorship_schemas import Event
from mentorship_schemas.jsonschema import event_schema


def _value(name: str, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _value(name, root["$defs"][schema["$ref"].rsplit("/", 1)[-1]], root)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        option = next(o for o in schema["anyOf"] if o.get("type") != "null")
        return _value(name, option, root)
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") == "date-time":
            return datetime(2030, 1, 1, 9, tzinfo=UTC).isoformat()
        return f"{name}-1"[: schema.get("maxLength", 64)]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        return [
            _value(f"{name}-{index}", schema.get("items", {"type": "string"}), root) for index in range(count)
        ]
    if kind == "object":
        return {}
    raise AssertionError(f"no sample for {name}: {schema}")


def sample_event(event_type: type[Event], org_id: str = "org-sample") -> Event:
    schema = event_schema(event_type)
    data = {
        name: _value(name, prop, schema)
        for name, prop in schema["properties"].items()
        if name in schema.get("required", [])
    }
    data["org_id"] = org_id
    return event_type.model_validate(data)
