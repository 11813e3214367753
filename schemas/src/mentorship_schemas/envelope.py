"""CloudEvents 1.0 in Kafka binary content mode: the value is the data as JSON, attributes are
`ce_*` headers, and the record key is the event's partition key (CloudEvents' partitioning
extension, `ce_partitionkey`): the pair for a pair's events, the recipient for a notification's,
otherwise the aggregate id, which `ce_subject` always carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
_CE_TYPE = re.compile(r"^mentorship\.(?P<stream>[a-z]+)\.(?P<name>[A-Za-z]+)\.v(?P<version>\d+)$")


def ce_type_of(stream: str, name: str, version: int = 1) -> str:
    return f"mentorship.{stream}.{name}.v{version}"


def parse_ce_type(ce_type: str) -> tuple[str, str, int] | None:
    """(stream, event name, version) of a well-formed `ce_type`, else None."""
    match = _CE_TYPE.match(ce_type)
    if match is None:
        return None
    return match["stream"], match["name"], int(match["version"])


def ce_headers(
    event_id: str, source: str, ce_type: str, time: datetime, subject: str, partition_key: str | None
) -> dict[str, str]:
    """An event's attributes as `ce_*` headers (and its content type)."""
    return {
        "ce_specversion": SPEC_VERSION,
        "ce_id": event_id,
        "ce_source": source,
        "ce_type": ce_type,
        "ce_time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "ce_subject": subject,
        "content-type": CONTENT_TYPE,
    } | ({"ce_partitionkey": partition_key} if partition_key else {})


class CloudEvent(BaseModel):
    """The attributes of one event plus its JSON data, as it travels on Kafka."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str = Field(min_length=1, description="The aggregate id.")
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any]
    partitionkey: str | None = Field(
        default=None, min_length=1, description="The record key, when it is not the subject."
    )

    def kafka_headers(self) -> dict[str, str]:
        return ce_headers(self.id, self.source, self.type, self.time, self.subject, self.partitionkey)

    @property
    def key(self) -> bytes:
        return (self.partitionkey or self.subject).encode()

    @classmethod
    def from_kafka(cls, headers: dict[str, str], data: dict[str, Any]) -> CloudEvent:
        """Rebuild the envelope from received headers; raises ValueError when one is missing."""
        missing = [h for h in ("ce_id", "ce_source", "ce_type", "ce_subject") if not headers.get(h)]
        if missing:
            raise ValueError(f"missing CloudEvents header(s): {', '.join(missing)}")
        if headers.get("ce_specversion", SPEC_VERSION) != SPEC_VERSION:
            raise ValueError(f"unsupported ce_specversion {headers.get('ce_specversion')!r}")
        time_header = headers.get("ce_time")
        return cls(
            id=headers["ce_id"],
            source=headers["ce_source"],
            type=headers["ce_type"],
            subject=headers["ce_subject"],
            time=datetime.fromisoformat(time_header) if time_header else datetime.now(UTC),
            data=data,
            partitionkey=headers.get("ce_partitionkey") or None,
        )
