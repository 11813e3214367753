"""Matching's outcomes reach the right people through real Kafka and the store: an expired request
the mentee, a proposed match the org's escalation contacts, a formed circle every member, once
each however often an event is delivered."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from mentorship_schemas import (
    CircleFormed,
    MatchProposed,
    PairDeclined,
    ProfileRegistered,
)
from mentorship_schemas.events import PersonRole
from notifications.app import NotificationsSettings, build_service
from notifications.domain.recipient import recipient_id
from servicekit.auth import issue_dev_token
from servicekit.kafka import CloudEventPublisher
from servicekit.runtime import ServiceRuntime

from tests.conftest import Infra, drop_database
from tests.kafka_records import cloud_event
from tests.waiting import eventually

SECRET = "notifications-matching-test-secret-0123"
PEOPLE = {
    "ada": "Ada Lovelace",
    "grace": "Grace Hopper",
    "alan": "Alan Turing",
    "edsger": "Edsger Dijkstra",
    "pat": "Pat Admin",
}
CIRCLE = ["ada", "grace", "alan", "edsger"]


async def _notifications(runtime: ServiceRuntime, org: str) -> list[dict[str, Any]]:
    return [doc async for doc in runtime.db["notifications"].find({"org_id": org})]


async def test_expired_request_reaches_the_mentee_and_a_redelivered_circle_each_member_once(
    infra: Infra, publisher: CloudEventPublisher
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    settings = NotificationsSettings(
        service_name=f"notifications_m{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
        mongodb_url=infra.mongodb_url,
        mongodb_database_prefix="test_",
        auth_allow_dev_hs256=True,
        auth_dev_hs256_secret=SECRET,
        outbox_poll_seconds=0.2,
        delivery_sweep_every_seconds=0.2,
    )
    service = build_service(settings)
    runtime = service.runtime
    await runtime.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.http_app()), base_url="http://notifications"
    )
    try:
        admin = issue_dev_token(SECRET, sub="pat", org=org, roles=["program_admin"])
        contact = await http.put("/escalation-contacts/me", headers={"Authorization": f"Bearer {admin}"})
        assert contact.status_code == 200, contact.text
        for person, name in PEOPLE.items():
            profile = ProfileRegistered(
                org_id=org,
                version=1,
                person_id=person,
                roles=[PersonRole.MENTEE],
                display_name=name,
                email=f"{person}@example.com",
            )
            await publisher.publish(profile.topic(), cloud_event(profile), {})
        # Profiles travel on another topic than matching's events: wait until the names are known.
        await eventually(lambda: _all_known(runtime, org), timeout=60, what=f"all {len(PEOPLE)} profiles")

        declined = PairDeclined(
            org_id=org,
            version=2,
            request_id="req-1",
            program_id="open",
            mentor_id="grace",
            mentee_id="ada",
            reason="expired",
        )
        proposed = MatchProposed(
            org_id=org,
            version=1,
            proposal_id="prop-1",
            run_id="run-1",
            program_id="open",
            mentor_id="alan",
            mentee_id="edsger",
            score=0.81,
            reasons=["offers compilers"],
        )
        circle = CircleFormed(
            org_id=org,
            version=1,
            circle_id="circle-1",
            program_id="circles",
            member_ids=CIRCLE,
            facilitator_rota=["grace", "alan", "ada", "edsger"],
            topics=["public speaking", "leadership"],
        )
        circle_envelope = cloud_event(circle)
        await publisher.publish(declined.topic(), cloud_event(declined), {})
        await publisher.publish(proposed.topic(), cloud_event(proposed), {})
        await publisher.publish(circle.topic(), circle_envelope, {})
        await publisher.publish(circle.topic(), circle_envelope, {})  # the same event again
        expected = 1 + 1 + len(CIRCLE)
        await eventually(
            lambda: _count_is(runtime, org, expected), timeout=60, what=f"{expected} notifications"
        )
        # Even past the consumer's ledger (a crash between the notifications and the ledger write),
        # a redelivered circle tells nobody twice: the handler runs again and meets the same ids.
        ledger = runtime.db["processed_events"]
        await ledger.delete_one({"_id": circle_envelope.id})
        await publisher.publish(circle.topic(), circle_envelope, {})
        await eventually(
            lambda: ledger.find_one({"_id": circle_envelope.id}),
            timeout=60,
            what="the redelivered CircleFormed handled again",
        )

        found = await _notifications(runtime, org)
        assert len(found) == expected, sorted((d["recipient_id"], d["kind"]) for d in found)
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for doc in found:
            by_kind.setdefault(doc["kind"], []).append(doc)

        [to_mentee] = by_kind["request_declined"]
        assert to_mentee["recipient_id"] == "ada"
        assert to_mentee["title"] == "Your mentorship request to Grace Hopper expired"
        assert "we have asked them" in to_mentee["body"]
        assert to_mentee["in_feed"] is True
        assert to_mentee["deliveries"]["in_app"]["status"] == "sent"

        [to_admin] = by_kind["match_proposed"]
        assert (to_admin["recipient_id"], to_admin["category"]) == ("pat", "escalation")
        assert to_admin["title"] == "Proposed match awaiting approval: Edsger Dijkstra with Alan Turing"

        members = by_kind["circle_formed"]
        assert sorted(d["recipient_id"] for d in members) == sorted(CIRCLE)
        assert {d["cause_event_id"] for d in members} == {circle_envelope.id}
        assert all(d["in_feed"] and "public speaking, leadership" in d["title"] for d in members)
        actions = {d["recipient_id"]: d["action"] for d in members}
        assert actions["grace"].startswith("You facilitate the first meeting")
        assert actions["ada"] == "Look out for the first meeting, facilitated by Grace Hopper."
    finally:
        await http.aclose()
        await runtime.stop()
        await drop_database(infra, settings.database_name)


async def _all_known(runtime: ServiceRuntime, org: str) -> bool:
    for person in PEOPLE:
        known = await runtime.db["recipients"].find_one({"_id": recipient_id(org, person)})
        if known is None or not known.get("display_name"):
            return False
    return True


async def _count_is(runtime: ServiceRuntime, org: str, expected: int) -> bool:
    return len(await _notifications(runtime, org)) == expected
