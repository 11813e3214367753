"""Each service's AsyncAPI 3.0 document, generated from the event models it publishes and consumes.

Shared definitions (enums such as PairEndReason) are hoisted into `components/schemas` and every
payload references them there, so the official `@asyncapi/parser` resolves each `$ref` (tests/contract
runs it over every document). Each channel says which key each of its messages carries and so which
order a consumer can rely on.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from mentorship_schemas import TOPICS, Event
from mentorship_schemas.jsonschema import event_schema
from mentorship_schemas.topics import RESTRICTED_TOPICS

_COMPONENT_REF = "#/components/schemas/{model}"
_KAFKA_BINDING_VERSION = "0.5.0"

_CE_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_subject", "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "description": "Unique per event; consumers drop repeats."},
        "ce_source": {"type": "string", "description": "/mentorship/<service>"},
        "ce_type": {"type": "string", "description": "mentorship.<service>.<Event>.v<N>"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_subject": {"type": "string", "description": "The aggregate id."},
        "ce_partitionkey": {
            "type": "string",
            "description": "CloudEvents partitioning extension: the record key (see the message's key).",
        },
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context."},
    },
}

ORDERING = (
    "Ordering: every record is keyed (the message's key says by what), and Kafka delivers the "
    "records of one key in the order they were published, because one key always lands on the same "
    "partition. There is no order across keys: {keys}. "
    "Delivery is at least once: drop a repeated ce_id, and a version not above the one you hold."
)


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_")


def _key_description(event_type: type[Event]) -> str:
    field = event_type.partition_key_field()
    if field == event_type.aggregate_field:
        return f"The {field} of the payload (the aggregate id, also ce_subject)."
    return (
        f"The {field} of the payload (ce_subject is the {event_type.aggregate_field}), so every "
        f"event with this {field} is in one partition, in order."
    )


def _message(event_type: type[Event], definitions: dict[str, Any]) -> dict[str, Any]:
    payload = event_schema(event_type, ref_template=_COMPONENT_REF)
    # An `$id` would make "#/components/..." resolve inside the payload; the file name says it.
    payload.pop("$schema", None)
    payload.pop("$id", None)
    for name, definition in payload.pop("$defs", {}).items():
        known = definitions.setdefault(name, definition)
        if known != definition:
            raise ValueError(f"two event types define {name} differently: rename one")
    field = event_type.partition_key_field()
    return {
        "name": event_type.ce_type(),
        "title": event_type.__name__,
        "summary": (event_type.__doc__ or "").strip().splitlines()[0] if event_type.__doc__ else "",
        "contentType": "application/json",
        "headers": copy.deepcopy(_CE_HEADERS),
        "payload": payload,
        "x-key-field": field,
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": _key_description(event_type)},
                "bindingVersion": _KAFKA_BINDING_VERSION,
            }
        },
    }


def _partitions(topic: str) -> int | None:
    for spec in [*TOPICS.values(), *RESTRICTED_TOPICS.values()]:
        if spec.name == topic:
            return spec.partitions
    return None


def _channel_description(event_types: Iterable[type[Event]]) -> str:
    keys: dict[str, list[str]] = {}
    for event_type in event_types:
        keys.setdefault(event_type.partition_key_field(), []).append(event_type.__name__)
    by_key = "; ".join(f"by {field}: {', '.join(names)}" for field, names in keys.items())
    return ORDERING.format(keys=by_key)


def asyncapi_document(
    service: str,
    *,
    publishes: Sequence[type[Event]],
    consumes: Sequence[type[Event]],
    group_id: str,
) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    on_channel: dict[str, list[type[Event]]] = {}

    def add(event_type: type[Event], action: str) -> None:
        topic = event_type.topic()
        channel_id = _channel_id(topic)
        channel = channels.setdefault(
            channel_id,
            {
                "address": topic,
                "messages": {},
                "bindings": {"kafka": {"topic": topic, "bindingVersion": _KAFKA_BINDING_VERSION}},
            },
        )
        if (partitions := _partitions(topic)) is not None:
            channel["bindings"]["kafka"]["partitions"] = partitions
        if event_type not in on_channel.setdefault(channel_id, []):
            on_channel[channel_id].append(event_type)
        channel["messages"][event_type.__name__] = _message(event_type, definitions)
        operation_id = f"{action}{event_type.__name__}"
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{event_type.__name__}"}],
        }
        if action == "receive":
            operation["bindings"] = {
                "kafka": {
                    "groupId": {"type": "string", "enum": [group_id]},
                    "bindingVersion": _KAFKA_BINDING_VERSION,
                }
            }
        operations[operation_id] = operation

    for event_type in publishes:
        add(event_type, "send")
    for event_type in consumes:
        add(event_type, "receive")
    for channel_id, event_types in on_channel.items():
        channels[channel_id]["description"] = _channel_description(event_types)

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"mentorship {service}",
            "version": "1.0.0",
            "description": (
                "CloudEvents 1.0 over Kafka in binary content mode: the value is the event data "
                "as JSON, attributes travel as ce_* headers. Each record is keyed so that one "
                "aggregate's events keep their order: a person's by the person, a pair's and its "
                "sessions' by the pair, a circle's by the circle, a notification's by its recipient "
                "(each message's key says which; each channel states its ordering). Consumers "
                "dispatch on ce_type and ignore types they do not know."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"}},
        "channels": channels,
        "operations": operations,
        "components": {"schemas": dict(sorted(definitions.items()))},
    }
