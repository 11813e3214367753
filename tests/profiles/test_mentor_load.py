"""A mentor's load follows PairCreated / PairEnded: redelivered and out-of-order events change it once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from mentorship_schemas import CloudEvent, Event, MentorAvailable, PairCreated, PairEnded
from mentorship_schemas.events import PairEndReason

from tests.conftest import Infra
from tests.kafka_records import read_topic
from tests.profiles.conftest import ProfilesClient


async def _deliver(profiles: ProfilesClient, event: Event, event_id: str | None = None) -> str:
    envelope = CloudEvent(
        id=event_id or str(uuid.uuid4()), source="/mentorship/matching", type=event.ce_type(),
        subject=event.aggregate_id, time=datetime.now(UTC), data=event.model_dump(mode="json"),
    )  # fmt: skip
    return await profiles.runtime.consumer.handle_record(
        topic=event.topic(), value=json.dumps(envelope.data).encode(), key=envelope.key,
        headers=envelope.kafka_headers(),
    )  # fmt: skip


def _created(org: str, pair: str) -> PairCreated:
    return PairCreated(org_id=org, version=1, pair_id=pair, program_id="open", mentor_id="grace",
                       mentee_id=f"mentee-{pair}", score=0.5)  # fmt: skip


def _ended(org: str, pair: str) -> PairEnded:
    return PairEnded(
        org_id=org, version=2, pair_id=pair, program_id="open", mentor_id="grace", mentee_id=f"mentee-{pair}",
        reason=PairEndReason.COMPLETED, ended_at=datetime.now(UTC),
    )  # fmt: skip


async def _announcements(infra: Infra, org: str, expected: int) -> list[str]:
    """Availability events published for this org's mentor, in order (one key, one partition)."""

    def mine(records: list[Any]) -> list[str]:
        return [
            r.headers["ce_type"].split(".")[2]
            for r in records
            if "Mentor" in r.headers.get("ce_type", "") and json.loads(r.value)["org_id"] == org
        ]

    records = await read_topic(
        infra.kafka_bootstrap_servers, MentorAvailable.topic(), until=lambda rs: len(mine(rs)) >= expected
    )
    return mine(records)


async def test_load_counts_each_pair_once_and_announces_only_transitions(
    profiles: ProfilesClient, infra: Infra
) -> None:
    body = {"display_name": "Grace", "email": "grace@example.com", "roles": ["mentor"], "mentor_capacity": 2}
    assert (
        await profiles.http.post("/profiles", headers=profiles.auth("grace"), json=body)
    ).status_code == 201
    org = profiles.org

    assert await _deliver(profiles, _created(org, "p1"), "created-p1") == "processed"
    assert await _deliver(profiles, _created(org, "p1"), "created-p1") == "duplicate"
    assert await _deliver(profiles, _created(org, "p1")) == "processed", "same pair, new event id: still once"
    assert await _deliver(profiles, _created(org, "p2")) == "processed"
    mentor = await profiles.people.find_one({"person_id": "grace"})
    assert mentor["active_pair_ids"] == ["p1", "p2"]
    assert mentor["availability"] == "at_capacity"

    # PairEnded for p3 arrives before its PairCreated: p3 must never count.
    await _deliver(profiles, _ended(org, "p3"))
    await _deliver(profiles, _created(org, "p3"))
    await _deliver(profiles, _ended(org, "p1"))
    await _deliver(profiles, _ended(org, "p1"))
    mentor = await profiles.people.find_one({"person_id": "grace"})
    assert mentor["active_pair_ids"] == ["p2"]
    assert mentor["availability"] == "available"
    announced = await _announcements(infra, org, expected=3)
    assert announced == ["MentorAvailable", "MentorUnavailable", "MentorAvailable"], "transitions only"
