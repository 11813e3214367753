"""The event contract other teams build on: shape rules, generated files, backward compatibility."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mentorship_schemas import ALL_EVENTS, TOPICS, Event, parse_ce_type
from mentorship_schemas.jsonschema import breaking_changes, event_schema, render, schema_path
from mentorship_schemas.topics import RESTRICTED_TOPICS

from scripts.generate_docs import SERVICES, asyncapi_of, asyncapi_path
from scripts.generate_docs import render as render_asyncapi


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda e: e.__name__)
def test_every_event_carries_tenant_version_and_its_aggregate_key(event_type: type[Event]) -> None:
    fields = event_type.model_fields
    assert "org_id" in fields
    assert fields["org_id"].is_required()
    assert "version" in fields
    assert fields["version"].is_required()
    assert event_type.aggregate_field in fields
    assert fields[event_type.aggregate_field].is_required()
    parsed = parse_ce_type(event_type.ce_type())
    assert parsed == (event_type.stream.value, event_type.__name__, 1)
    registry = RESTRICTED_TOPICS if event_type.restricted else TOPICS
    assert event_type.topic() == registry[event_type.stream].name
    assert event_type.topic().endswith(".v1")


def _sensitive_fields(schema: dict[str, Any], path: str = "") -> list[str]:
    found = []
    for name, prop in schema.get("properties", {}).items():
        if prop.get("x-sensitive"):
            found.append(f"{path}{name}")
        found += _sensitive_fields(prop, f"{path}{name}.")
    for definition in schema.get("$defs", {}).values():
        found += _sensitive_fields(definition, path)
    return found


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda e: e.__name__)
def test_sensitive_fields_travel_only_on_restricted_topics(event_type: type[Event]) -> None:
    sensitive = _sensitive_fields(event_schema(event_type))
    if not event_type.restricted:
        assert sensitive == [], f"{event_type.__name__} would put sensitive data on a general topic"
    else:
        assert event_type.topic() not in {spec.name for spec in TOPICS.values()}


@pytest.mark.parametrize("event_type", ALL_EVENTS, ids=lambda e: e.__name__)
def test_committed_schema_is_current_and_backward_compatible(event_type: type[Event]) -> None:
    path = schema_path(event_type)
    assert path.exists(), f"{path.name} is missing: run `make docs` and commit it"
    committed = json.loads(path.read_text())
    current = event_schema(event_type)
    problems = breaking_changes(committed, current)
    assert not problems, (
        f"{event_type.ce_type()} changed incompatibly: {problems}. Keep v1 as it was and add a "
        f"new {event_type.__name__} .v2 type instead."
    )
    assert path.read_text() == render(current), f"{path.name} is out of date: run `make docs`"


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_document_is_current(service: str) -> None:
    path = asyncapi_path(service)
    assert path.exists(), f"{path} is missing: run `make docs`"
    document = asyncapi_of(service)
    assert document["asyncapi"] == "3.0.0"
    assert path.read_text() == render_asyncapi(document), f"{path} is out of date: run `make docs`"


def test_unknown_fields_are_ignored_so_producers_can_add_optional_ones() -> None:
    event_type = ALL_EVENTS[0]
    sample: dict[str, Any] = {
        "org_id": "o",
        "version": 1,
        "person_id": "p",
        "roles": ["mentee"],
        "display_name": "A",
        "email": "a@example.com",
        "added_later": {"x": 1},
    }
    assert event_type.model_validate(sample).aggregate_id == "p"


# --------------------------------------------------------------- the compatibility rule itself

BASE: dict[str, Any] = {
    "type": "object",
    "required": ["org_id", "version", "name"],
    "properties": {
        "org_id": {"type": "string"},
        "version": {"type": "integer", "minimum": 1},
        "name": {"type": "string", "maxLength": 200},
        "note": {
            "anyOf": [{"type": "string", "maxLength": 100}, {"type": "null"}],
            "default": None,
        },
    },
}


def _changed(**props: Any) -> dict[str, Any]:
    schema = json.loads(json.dumps(BASE))
    for key, value in props.items():
        if value is None:
            del schema["properties"][key]
        else:
            schema["properties"][key] = value
    return schema


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        (_changed(name=None), "name: removed"),
        (_changed(name={"type": "integer"}), "type changed"),
        (_changed(name={"type": "string", "maxLength": 50}), "maxLength tightened"),
        (_changed(version={"type": "integer", "minimum": 2}), "minimum tightened"),
        (
            _changed(name={"type": "string", "maxLength": 200, "pattern": "^[a-z]+$"}),
            "pattern changed",
        ),
        (
            _changed(note={"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]}),
            "maxLength tightened",
        ),
        (_changed(note={"type": "string", "maxLength": 100}), "type changed"),
        ({**BASE, "required": [*BASE["required"], "note"]}, "note: became required"),
    ],
)
def test_breaking_changes_are_detected(new: dict[str, Any], reason: str) -> None:
    problems = breaking_changes(BASE, new)
    assert any(reason in p for p in problems), problems


@pytest.mark.parametrize(
    "new",
    [
        _changed(extra={"type": "string"}),  # a new optional field
        _changed(name={"type": "string", "maxLength": 500}),  # a loosened constraint
        _changed(note={"anyOf": [{"type": "string"}, {"type": "null"}]}),
        _changed(version={"type": "integer"}),
    ],
)
def test_compatible_changes_pass(new: dict[str, Any]) -> None:
    assert breaking_changes(BASE, new) == []
