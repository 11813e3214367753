"""Each service's AsyncAPI 3.0 document, generated from the event models it publishes and consumes."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from mentorship_schemas import Event
from mentorship_schemas.jsonschema import event_schema

_CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique per event; consumers drop repeats."},
        "ce_source": {"type": "string", "description": "/mentorship/<service>"},
        "ce_type": {"type": "string", "description": "mentorship.<service>.<Event>.v<N>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id, equal to the key."},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context."},
    },
}


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _message(event_type: type[Event]) -> dict[str, Any]:
    payload = event_schema(event_type)
    payload.pop("$schema", None)
    return {
        "name": event_type.ce_type(),
        "title": event_type.__name__,
        "summary": (event_type.__doc__ or "").strip().splitlines()[0] if event_type.__doc__ else "",
        "contentType": "application/json",
        "headers": copy.deepcopy(_CE_HEADERS),
        "payload": payload,
        "bindings": {"kafka": {"key": {"type": "string", "description": event_type.aggregate_field}}},
    }


def asyncapi_document(
    service: str,
    *,
    publishes: Sequence[type[Event]],
    consumes: Sequence[type[Event]],
    group_id: str,
) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def add(event_type: type[Event], action: str) -> None:
        channel_id = _channel_id(event_type.topic())
        channel = channels.setdefault(
            channel_id,
            {
                "address": event_type.topic(),
                "messages": {},
                "bindings": {"kafka": {"topic": event_type.topic()}},
            },
        )
        channel["messages"][event_type.__name__] = _message(event_type)
        operation_id = f"{action}{event_type.__name__}"
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{event_type.__name__}"}],
        }
        if action == "receive":
            operation["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [group_id]}}}
        operations[operation_id] = operation

    for event_type in publishes:
        add(event_type, "send")
    for event_type in consumes:
        add(event_type, "receive")

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"mentorship {service}",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 over Kafka in binary content mode: the value is the event data "
                "as JSON, attributes travel as ce_* headers, the key is the aggregate id. "
                "Consumers dispatch on ce_type and ignore types they do not know."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"}},
        "channels": channels,
        "operations": operations,
    }
