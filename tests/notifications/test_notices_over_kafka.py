"""Sessions' scheduling and agreement events reach each person's feed over real Kafka, the store
and HTTP, in each one's own language and timezone, once each however often they are announced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from mentorship_schemas import (
    AgreementDrafted,
    AgreementSignatureAdded,
    ProfileRegistered,
    SessionScheduled,
)
from mentorship_schemas.events import PersonRole
from notifications.app import NotificationsSettings, build_service
from servicekit.auth import issue_dev_token
from servicekit.kafka import CloudEventPublisher

from tests.conftest import Infra, drop_database
from tests.kafka_records import cloud_event
from tests.waiting import eventually

SECRET = "notifications-notices-test-secret-0123"
PEOPLE = {
    "ada": ("Ada Lovelace", "Europe/Berlin", "de-DE"),
    "grace": ("Grace Hopper", "America/New_York", "en-US"),
}
PAIR = ["ada", "grace"]
GERMAN_WEEKDAYS = ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So.")


async def test_session_and_agreement_notices_reach_each_feed_in_their_language_once(
    infra: Infra, publisher: CloudEventPublisher
) -> None:
    org = f"org-{uuid.uuid4().hex[:8]}"
    settings = NotificationsSettings(
        service_name=f"notifications_n{uuid.uuid4().hex[:8]}",
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

    async def feed(person: str) -> list[dict[str, Any]]:
        token = issue_dev_token(SECRET, sub=person, org=org, roles=["employee"])
        response = await http.get("/notifications", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    try:
        for person, (name, timezone, locale) in PEOPLE.items():
            profile = ProfileRegistered(
                org_id=org,
                version=1,
                person_id=person,
                roles=[PersonRole.MENTEE],
                display_name=name,
                email=f"{person}@example.com",
                timezone=timezone,
                locale=locale,
            )
            await publisher.publish(profile.topic(), cloud_event(profile), {})

        async def everyone_known() -> bool:
            found = await runtime.db["recipients"].count_documents({"org_id": org, "locale": {"$ne": None}})
            return found == len(PEOPLE)

        await eventually(everyone_known, timeout=60, what="both profiles")

        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
        scheduled = SessionScheduled(
            org_id=org,
            version=1,
            session_id="s1",
            pair_id="p1",
            participant_ids=PAIR,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
        drafted = AgreementDrafted(
            org_id=org, version=1, pair_id="p1", participant_ids=PAIR, awaiting_ids=PAIR, revision=1
        )
        signed_by_grace = AgreementSignatureAdded(
            org_id=org,
            version=2,
            pair_id="p1",
            participant_ids=PAIR,
            signer_id="grace",
            awaiting_ids=["ada"],
            revision=1,
        )
        scheduled_envelope = cloud_event(scheduled, "sessions")
        published = [
            (scheduled, scheduled_envelope),
            (scheduled, scheduled_envelope),  # redelivered
            (drafted, cloud_event(drafted, "sessions")),
            (drafted, cloud_event(drafted, "sessions")),  # the same revision under another event id
            (signed_by_grace, cloud_event(signed_by_grace, "sessions")),
        ]
        for event, envelope in published:
            await publisher.publish(event.topic(), envelope, {})
        handled = {"_id": {"$in": sorted({envelope.id for _, envelope in published})}}
        await eventually(
            lambda: _count_is(runtime.db["processed_events"], handled, 4),
            timeout=60,
            what="the 4 events handled",
        )

        ada = {item["kind"]: item for item in await feed("ada")}
        assert sorted(ada) == [
            "agreement_signature_added",
            "agreement_signature_awaited",
            "session_scheduled",
        ]
        assert len(await feed("ada")) == 3, "once each"
        berlin = starts.astimezone(ZoneInfo("Europe/Berlin"))
        assert ada["session_scheduled"]["title"] == (
            f"Sitzung mit Grace Hopper geplant: {GERMAN_WEEKDAYS[berlin.weekday()]}, "
            f"{berlin:%d.%m.%Y, %H:%M} Uhr (Europe/Berlin)"
        )
        assert ada["agreement_signature_awaited"]["title"] == (
            "Ihre Mentoring-Vereinbarung mit Grace Hopper wartet auf Ihre Unterschrift"
        )
        assert ada["agreement_signature_added"]["title"] == (
            "Grace Hopper hat Ihre Mentoring-Vereinbarung unterschrieben"
        )
        new_york = starts.astimezone(ZoneInfo("America/New_York"))
        assert sorted(item["title"] for item in await feed("grace")) == [
            f"Session scheduled with Ada Lovelace: {new_york:%a %d %b %Y, %H:%M} (America/New_York)",
            "Your mentorship agreement with Ada Lovelace awaits your signature",
        ]
    finally:
        await http.aclose()
        await runtime.stop()
        await drop_database(infra, settings.database_name)


async def _count_is(collection: Any, query: dict[str, Any], expected: int) -> bool:
    return bool(await collection.count_documents(query) == expected)
