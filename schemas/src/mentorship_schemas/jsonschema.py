"""JSON Schema of each event type, and the backward-compatibility check run against the committed
files: a change that would break an existing consumer needs a new `.v2` type instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mentorship_schemas.envelope import SPEC_VERSION
from mentorship_schemas.events import ALL_EVENTS, Event

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "jsonschema"


DEFS_REF_TEMPLATE = "#/$defs/{model}"


def event_schema(event_type: type[Event], *, ref_template: str = DEFS_REF_TEMPLATE) -> dict[str, Any]:
    """The event's data schema. Shared definitions (enums) sit under `$defs` and are referenced
    through `ref_template`: a document that moves them elsewhere (AsyncAPI's components) says where."""
    schema = event_type.model_json_schema(mode="serialization", ref_template=ref_template)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:mentorship:event:{event_type.ce_type()}"
    schema["x-ce-type"] = event_type.ce_type()
    schema["x-topic"] = event_type.topic()
    schema["x-key"] = event_type.partition_key_field()
    schema["x-cloudevents-specversion"] = SPEC_VERSION
    return schema


def schema_path(event_type: type[Event], directory: Path = SCHEMA_DIR) -> Path:
    return directory / f"{event_type.ce_type()}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in ALL_EVENTS:
        path = schema_path(event_type, directory)
        path.write_text(render(event_schema(event_type)))
        written.append(path)
    return written


# ------------------------------------------------------------------ compatibility

_TIGHTER_IF_LARGER = ("minLength", "minimum", "exclusiveMinimum", "minItems")
_TIGHTER_IF_SMALLER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root["$defs"][ref.removeprefix("#/$defs/")], root)
    return schema


def _types(schema: dict[str, Any], root: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return set().union(*(_types(option, root) for option in schema["anyOf"]))
    if "enum" in schema:
        return {f"enum:{value}" for value in schema["enum"]}
    if "const" in schema:
        return {f"enum:{schema['const']}"}
    kind = schema.get("type")
    if isinstance(kind, list):
        return set(kind)
    return {kind or "any"}


def breaking_changes(
    old: dict[str, Any],
    new: dict[str, Any],
    path: str = "",
    old_root: dict[str, Any] | None = None,
    new_root: dict[str, Any] | None = None,
) -> list[str]:
    """Reasons the `new` schema would reject or misread data that `old` allowed; empty when safe."""
    old_root = old_root or old
    new_root = new_root or new
    old = _resolve(old, old_root)
    new = _resolve(new, new_root)
    problems: list[str] = []
    where = path or "<root>"

    old_types, new_types = _types(old, old_root), _types(new, new_root)
    if "any" not in new_types and not old_types <= new_types:
        problems.append(f"{where}: type changed from {sorted(old_types)} to {sorted(new_types)}")

    for key in _TIGHTER_IF_LARGER:
        if key in new and (key not in old or new[key] > old[key]):
            problems.append(f"{where}: {key} tightened to {new[key]}")
    for key in _TIGHTER_IF_SMALLER:
        if key in new and (key not in old or new[key] < old[key]):
            problems.append(f"{where}: {key} tightened to {new[key]}")
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        problems.append(f"{where}: pattern changed to {new['pattern']!r}")

    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: removed" if path else f"{name}: removed")
            continue
        problems += breaking_changes(
            old_prop, new_props[name], f"{path}.{name}" if path else name, old_root, new_root
        )
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{path + '.' if path else ''}{name}: became required")
    if "items" in old and "items" in new:
        problems += breaking_changes(old["items"], new["items"], f"{where}[]", old_root, new_root)
    for index, option in enumerate(old.get("anyOf", [])):
        matches = [o for o in new.get("anyOf", []) if _types(o, new_root) >= _types(option, old_root)]
        if "anyOf" in new and not matches:
            problems.append(f"{where}: option {index} of anyOf was removed")
        elif matches:
            problems += breaking_changes(option, matches[0], where, old_root, new_root)
    return problems
