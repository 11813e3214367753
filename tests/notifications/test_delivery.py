"""Notifications against real servers: the MongoDB-protocol store for state, a real SMTP server and a
real webhook receiver on the other end. Events go through the service's own consumer entry
(`handle_record`: decoding, ledger, handlers); the clock is a ManualClock and the delivery sweep is
run by hand, so quiet hours, digests and backoff are exercised without waiting."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from mentorship_schemas import (
    CloudEvent,
    Event,
    PairCreated,
    ProfileErased,
    ProfileRegistered,
    RelationshipStagnant,
    SessionCancelled,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import PersonRole, Severity
from notifications import store
from notifications.app import NotificationsService, NotificationsSettings, build_service
from notifications.domain.calendar import unfold
from notifications.domain.recipient import recipient_id
from pydantic import SecretStr
from servicekit.auth import issue_dev_token
from servicekit.clock import ManualClock

from tests.conftest import Infra
from tests.notifications.receivers import SmtpServer, WebhookReceiver

# The test SMTP server takes AUTH without TLS, on the loopback interface only.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
SECRET = "notifications-test-development-secret-0123"
HOOK_SECRET = "webhook-test-secret"
SMTP_LOGIN = ("mentorship-relay", "smtp-test-password")
START = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday, 12:00 UTC


@dataclass
class Harness:
    service: NotificationsService
    clock: ManualClock
    org: str
    smtp: SmtpServer
    webhook: WebhookReceiver
    http: httpx.AsyncClient

    @property
    def db(self) -> Any:
        return self.service.runtime.db

    async def receive(self, event: Event, event_id: str | None = None) -> str:
        envelope = CloudEvent(
            id=event_id or str(uuid.uuid4()),
            source="/mentorship/test",
            type=event.ce_type(),
            subject=event.aggregate_id,
            time=self.clock.now(),
            data=event.model_dump(mode="json"),
        )
        return await self.service.runtime.consumer.handle_record(
            topic=event.topic(),
            value=json.dumps(envelope.data).encode(),
            key=envelope.key,
            headers=envelope.kafka_headers(),
        )

    async def sweep(self) -> int:
        return await self.service.use_cases.deliveries.sweep(self.clock.now())

    async def register(self, person: str, name: str, timezone: str = "UTC", role: str = "mentee") -> None:
        await self.receive(
            ProfileRegistered(
                org_id=self.org,
                version=1,
                person_id=person,
                roles=[PersonRole(role)] if role in ("mentee", "mentor") else [PersonRole.MENTEE],
                display_name=name,
                email=f"{person}@{self.org}.example.com",
                timezone=timezone,
            )
        )

    def address(self, person: str) -> str:
        return f"{person}@{self.org}.example.com"

    def auth(self, person: str, *roles: str) -> dict[str, str]:
        token = issue_dev_token(SECRET, sub=person, org=self.org, roles=list(roles or ["employee"]))
        return {"Authorization": f"Bearer {token}"}

    async def of(self, person: str) -> list[dict[str, Any]]:
        return [
            doc async for doc in self.db["notifications"].find({"org_id": self.org, "recipient_id": person})
        ]

    async def outbox_types(self, person: str) -> list[tuple[str, str]]:
        """(event type, channel) of the events waiting in this person's notifications' outboxes."""
        return sorted(
            (entry["type"].split(".")[2], entry["data"]["channel"])
            for doc in await self.of(person)
            for entry in doc.get("outbox") or []
        )


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness(infra: Infra) -> AsyncIterator[HarnessFactory]:
    opened: list[tuple[Harness, Any]] = []

    async def make(
        *,
        fail_first: int = 0,
        fail_status: int = 503,
        max_attempts: int = 4,
        smtp_fail_first: int = 0,
        delivery_batch: int = 100,
    ) -> Harness:
        smtp = SmtpServer(login=SMTP_LOGIN, fail_first=smtp_fail_first).__enter__()
        webhook = WebhookReceiver(HOOK_SECRET, fail_first=fail_first, fail_status=fail_status).__enter__()
        settings = NotificationsSettings(
            service_name=f"notifications_t{uuid.uuid4().hex[:8]}",
            kafka_bootstrap_servers=infra.kafka_bootstrap_servers,
            mongodb_url=infra.mongodb_url,
            mongodb_database_prefix="test_",
            auth_allow_dev_hs256=True,
            auth_dev_hs256_secret=SECRET,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_username=SMTP_LOGIN[0],
            smtp_password=SecretStr(SMTP_LOGIN[1]),
            chat_webhook_url=webhook.url,
            chat_webhook_secret=SecretStr(HOOK_SECRET),
            delivery_max_attempts=max_attempts,
            delivery_backoff_seconds=60,
            consumer_max_attempts=1,
            delivery_batch=delivery_batch,
        )
        clock = ManualClock(START)
        service = build_service(settings, clock)
        await store.prepare(service.runtime.db)
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=service.http_app()), base_url="http://notifications"
        )
        made = Harness(service, clock, f"org-{uuid.uuid4().hex[:8]}", smtp, webhook, http)
        opened.append((made, settings))
        return made

    yield make
    for made, settings in opened:
        await made.http.aclose()
        await made.service.runtime.mongo.drop_database(settings.database_name)
        await made.service.runtime.mongo.close()
        made.webhook.__exit__()
        made.smtp.__exit__()


async def _pair(h: Harness) -> None:
    await h.register("ada", "Ada Lovelace", "Europe/London")
    await h.register("grace", "Grace Hopper", "America/New_York", role="mentor")
    await h.receive(
        PairCreated(
            org_id=h.org,
            version=1,
            pair_id="p1",
            program_id="open",
            mentor_id="grace",
            mentee_id="ada",
            score=0.8,
            reasons=["offers python"],
        )
    )


def _missed(h: Harness, in_a_row: int, session: str) -> SessionMissed:
    return SessionMissed(
        org_id=h.org,
        version=2,
        session_id=session,
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=START - timedelta(days=1),
        missed_in_a_row=in_a_row,
    )


async def test_scheduled_session_mails_the_invite_with_the_calendar_attached(harness: HarnessFactory) -> None:
    h = await harness()
    await _pair(h)
    scheduled = SessionScheduled(
        org_id=h.org,
        version=1,
        session_id="s1",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=START + timedelta(days=7),
        ends_at=START + timedelta(days=7, hours=1),
    )
    await h.receive(scheduled)
    await h.sweep()

    invites = [m for m in h.smtp.to(h.address("ada")) if m.message["X-Mentorship-Kind"] == "session_invite"]
    assert len(invites) == 1
    invite = invites[0]
    assert "Grace Hopper" in invite.subject
    assert invite.part("text/plain")
    assert "Grace Hopper" in (invite.part("text/plain") or "")
    assert "<h2>" in (invite.part("text/html") or "")
    calendar = invite.part("text/calendar")
    assert calendar is not None
    lines = unfold(calendar)
    assert "METHOD:REQUEST" in lines
    assert "DTSTART:20261203T120000Z" in lines
    assert any(line.endswith(f"mailto:{h.address('grace')}") for line in lines if line.startswith("ATTENDEE"))
    # The reminder waits for its moment (a day before), then goes out on every channel.
    assert not [
        m for m in h.smtp.to(h.address("ada")) if m.message["X-Mentorship-Kind"] == "session_reminder"
    ]
    h.clock.set(START + timedelta(days=6, minutes=1))
    await h.sweep()
    reminders = [
        m for m in h.smtp.to(h.address("ada")) if m.message["X-Mentorship-Kind"] == "session_reminder"
    ]
    assert len(reminders) == 1
    feed = (await h.http.get("/notifications", params={"recipient": "ada"}, headers=h.auth("ada"))).json()
    assert {i["kind"] for i in feed["items"]} == {"session_reminder", "session_scheduled", "pair_created"}
    h.clock.set(START + timedelta(days=7) - timedelta(hours=3, minutes=59))  # the agenda prompt, mentee only
    await h.sweep()
    feed = (await h.http.get("/notifications", params={"recipient": "ada"}, headers=h.auth("ada"))).json()
    assert feed["items"][0]["kind"] == "agenda_prompt"
    assert "agenda" in feed["items"][0]["action"]
    assert not [d for d in await h.of("grace") if d["kind"] == "agenda_prompt"]
    assert ("NotificationSent", "email") in await h.outbox_types("ada")


async def test_webhook_errors_are_retried_with_backoff_and_the_signed_post_lands(
    harness: HarnessFactory,
) -> None:
    h = await harness(fail_first=2)
    await _pair(h)
    await h.sweep()
    assert h.webhook.statuses == [503, 503][: len(h.webhook.statuses)]
    assert h.webhook.statuses
    for _ in range(6):
        if len(h.webhook.received) == 2:
            break
        h.clock.advance(timedelta(minutes=5))
        await h.sweep()
    assert 401 not in h.webhook.statuses, "every request carried a valid signature"
    assert {r["recipient"]["id"] for r in h.webhook.received} == {"ada", "grace"}
    [ada] = [d for d in await h.of("ada") if d["kind"] == "pair_created"]
    attempts = [a["ok"] for a in ada["deliveries"]["chat"]["attempts"]]
    assert attempts[-1] is True
    assert attempts.count(True) == 1
    assert len(attempts) >= 2, "at least one failed attempt was recorded before the success"
    assert ("NotificationSent", "chat") in await h.outbox_types("ada")


async def test_a_channel_that_keeps_failing_ends_in_notification_failed(harness: HarnessFactory) -> None:
    h = await harness(fail_first=-1, max_attempts=3)
    await _pair(h)
    for _ in range(5):
        await h.sweep()
        h.clock.advance(timedelta(minutes=10))
    [ada] = [d for d in await h.of("ada") if d["kind"] == "pair_created"]
    chat = ada["deliveries"]["chat"]
    assert chat["status"] == "failed"
    assert len(chat["attempts"]) == 3
    failed = [e for e in ada["outbox"] if e["type"].endswith("NotificationFailed.v1")]
    assert [(e["data"]["channel"], e["data"]["attempts"]) for e in failed] == [("chat", 3)]
    assert ada["deliveries"]["email"]["status"] == "sent", "one failing channel does not hold up another"
    assert await h.db["delivery_queue"].count_documents({"recipient_id": "ada"}) == 0


async def test_a_rejected_webhook_fails_at_once_without_retrying(harness: HarnessFactory) -> None:
    h = await harness(fail_first=-1, fail_status=404)
    await _pair(h)
    await h.sweep()
    [ada] = [d for d in await h.of("ada") if d["kind"] == "pair_created"]
    assert ada["deliveries"]["chat"]["status"] == "failed"
    assert len(ada["deliveries"]["chat"]["attempts"]) == 1


async def test_quiet_hours_hold_email_and_chat_until_they_end_but_not_the_feed(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace", "Asia/Tokyo")  # 12:00 UTC is 21:00 in Tokyo
    response = await h.http.put(
        "/preferences/me",
        headers=h.auth("ada"),
        json={"default": {"quiet_hours": {"start": "20:00", "end": "08:00"}}},
    )
    assert response.status_code == 200, response.text
    await h.receive(_missed(h, 1, "s-quiet"))
    await h.sweep()
    assert h.smtp.to(h.address("ada")) == []
    assert h.webhook.received == []
    feed = (await h.http.get("/notifications", params={"recipient": "ada"}, headers=h.auth("ada"))).json()
    assert [i["kind"] for i in feed["items"]] == ["session_missed"]

    h.clock.set(datetime(2026, 11, 26, 22, 59, tzinfo=UTC))  # 07:59 in Tokyo
    await h.sweep()
    assert h.smtp.to(h.address("ada")) == []
    h.clock.set(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))  # 08:00 in Tokyo
    await h.sweep()
    assert len(h.smtp.to(h.address("ada"))) == 1
    assert len(h.webhook.received) == 1


async def test_daily_digest_replaces_single_emails_with_one_summary(harness: HarnessFactory) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace", "Europe/Berlin")
    await h.register("grace", "Grace Hopper")
    response = await h.http.put(
        "/preferences/me", headers=h.auth("ada"), json={"default": {"digest": "daily", "chat": False}}
    )
    assert response.status_code == 200, response.text
    await h.receive(_missed(h, 1, "s-a"))
    await h.receive(_missed(h, 1, "s-b"))
    await h.sweep()
    assert h.smtp.to(h.address("ada")) == []
    assert len(h.smtp.to(h.address("grace"))) == 2, "grace gets single messages"

    h.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    await h.sweep()
    await h.sweep()
    [summary] = h.smtp.to(h.address("ada"))
    assert "summary: 2 updates" in summary.subject
    assert (summary.part("text/plain") or "").count("Your mentorship session was missed") == 2


async def test_frequency_cap_defers_messages_beyond_the_cap_to_the_next_day(harness: HarnessFactory) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace")
    await h.http.put(
        "/preferences/me", headers=h.auth("ada"), json={"default": {"max_per_day": 1, "chat": False}}
    )
    await h.receive(_missed(h, 1, "s-1"))
    await h.receive(_missed(h, 1, "s-2"))
    await h.sweep()
    await h.sweep()
    assert len(h.smtp.to(h.address("ada"))) == 1
    h.clock.set(datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC))
    await h.sweep()
    assert len(h.smtp.to(h.address("ada"))) == 2


async def test_second_missed_session_escalates_to_program_admin(harness: HarnessFactory) -> None:
    h = await harness()
    await _pair(h)
    await h.register("pat", "Pat Admin")
    forbidden = await h.http.put("/escalation-contacts/me", headers=h.auth("ada", "employee"))
    assert forbidden.status_code == 403
    registered = await h.http.put("/escalation-contacts/me", headers=h.auth("pat", "program_admin"))
    assert registered.status_code == 200
    assert registered.json()["admin_ids"] == ["pat"]

    await h.receive(_missed(h, 1, "s-1"))
    await h.sweep()
    assert await h.of("pat") == []
    await h.receive(_missed(h, 2, "s-2"))
    await h.sweep()
    [escalation] = await h.of("pat")
    assert escalation["kind"] == "session_missed_escalation"
    assert escalation["title"] == "Ada Lovelace and Grace Hopper missed 2 sessions in a row"
    [mail] = h.smtp.to(h.address("pat"))
    assert mail.subject == escalation["title"]
    feed = (await h.http.get("/notifications", params={"recipient": "pat"}, headers=h.auth("pat"))).json()
    assert feed["unread"] == 1


async def test_redelivered_event_yields_one_notification_per_recipient_cause_and_kind(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    await _pair(h)
    missed = _missed(h, 1, "s-1")
    event_id = str(uuid.uuid4())
    assert await h.receive(missed, event_id) == "processed"
    assert await h.receive(missed, event_id) == "duplicate"
    # Even past the ledger (a crash between the effect and the ledger write), nothing doubles.
    await h.db["processed_events"].delete_one({"_id": event_id})
    assert await h.receive(missed, event_id) == "processed"
    await h.sweep()
    await h.sweep()
    missed_docs = [d for d in await h.of("ada") if d["kind"] == "session_missed"]
    assert len(missed_docs) == 1
    assert (
        len([m for m in h.smtp.to(h.address("ada")) if m.message["X-Mentorship-Kind"] == "session_missed"])
        == 1
    )


async def test_feed_pages_counts_unread_and_marks_read(harness: HarnessFactory) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace")
    for n in range(5):
        h.clock.advance(timedelta(minutes=1))
        await h.receive(_missed(h, 1, f"s-{n}"))
    first = (
        await h.http.get("/notifications", params={"recipient": "ada", "limit": 2}, headers=h.auth("ada"))
    ).json()
    assert (len(first["items"]), first["total"], first["unread"], first["next_offset"]) == (2, 5, 5, 2)
    rest = (
        await h.http.get("/notifications", params={"recipient": "ada", "offset": 2}, headers=h.auth("ada"))
    ).json()
    assert rest["next_offset"] is None
    assert len(rest["items"]) == 3
    newest = first["items"][0]
    read = await h.http.post(f"/notifications/{newest['notification_id']}/read", headers=h.auth("ada"))
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert (
        await h.http.post(f"/notifications/{newest['notification_id']}/read", headers=h.auth("grace"))
    ).status_code == 404
    after = (await h.http.get("/notifications", params={"recipient": "ada"}, headers=h.auth("ada"))).json()
    assert after["unread"] == 4
    assert (await h.http.post("/notifications/read", headers=h.auth("ada"))).json() == {"marked": 4}
    other = await h.http.get("/notifications", params={"recipient": "ada"}, headers=h.auth("grace"))
    assert other.status_code == 403


async def test_my_own_feed_is_the_default_without_recipient_and_recipient_me_still_works(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace")
    await h.receive(_missed(h, 1, "s-1"))
    mine = await h.http.get("/notifications", headers=h.auth("ada"))
    assert mine.status_code == 200, mine.text
    assert [(i["recipient_id"], i["kind"]) for i in mine.json()["items"]] == [("ada", "session_missed")]
    me = await h.http.get("/notifications", params={"recipient": "me"}, headers=h.auth("ada"))
    assert me.json() == mine.json()
    graces = (await h.http.get("/notifications", headers=h.auth("grace"))).json()
    assert [i["recipient_id"] for i in graces["items"]] == ["grace"], "each caller gets their own"
    empty = await h.http.get("/notifications", params={"recipient": ""}, headers=h.auth("ada"))
    assert empty.status_code == 422
    assert empty.headers["content-type"] == "application/problem+json"


async def test_profile_erasure_removes_the_recipient_and_their_messages(harness: HarnessFactory) -> None:
    h = await harness()
    await _pair(h)
    await h.receive(_missed(h, 1, "s-1"))
    await h.receive(_session(h, 1, timedelta(days=3)))
    assert await h.of("ada")
    await h.receive(ProfileErased(org_id=h.org, version=3, person_id="ada", erased_at=START))
    assert await h.of("ada") == []
    assert await h.db["delivery_queue"].count_documents({"recipient_id": "ada"}) == 0
    tombstone = await h.db["recipients"].find_one({"_id": recipient_id(h.org, "ada")})
    assert tombstone is not None
    assert tombstone.get("email") is None
    assert tombstone["erased"] is True
    # Other people's messages no longer name them, and invites listing them are dropped.
    for doc in await h.of("grace"):
        text = json.dumps(doc, default=str).lower()
        assert "ada lovelace" not in text
        assert h.address("ada") not in text
        assert doc.get("calendar") is None
    [pairing] = [d for d in await h.of("grace") if d["kind"] == "pair_created"]
    assert pairing["title"] == "You have a new mentee: a former participant"
    # A late event about them brings nothing back, and a late profile event neither.
    await h.receive(_missed(h, 1, "s-2"))
    await h.register("ada", "Ada Lovelace")
    assert await h.of("ada") == []
    await h.sweep()
    assert h.smtp.to(h.address("ada")) == []


def _session(h: Harness, version: int, starts_in: timedelta) -> SessionScheduled:
    return SessionScheduled(
        org_id=h.org,
        version=version,
        session_id="s-moving",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=START + starts_in,
        ends_at=START + starts_in + timedelta(hours=1),
    )


async def test_rescheduling_or_cancelling_a_session_withdraws_its_pending_reminders(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    await _pair(h)
    await h.receive(_session(h, 1, timedelta(days=7)))
    await h.receive(_session(h, 2, timedelta(days=10)))  # moved three days later
    await h.receive(_session(h, 1, timedelta(days=7)))  # a stale copy of the first arrives late
    h.clock.set(START + timedelta(days=6, hours=1))  # the first time's reminder moment
    await h.sweep()
    assert not [d for d in await h.of("ada") if d["kind"] == "session_reminder" and d["in_feed"]]
    withdrawn = [d for d in await h.of("ada") if d["kind"] == "session_reminder"]
    assert sorted(d["deliveries"]["email"]["status"] for d in withdrawn) == ["scheduled", "skipped"]
    invites = [m for m in h.smtp.to(h.address("ada")) if m.message["X-Mentorship-Kind"] == "session_invite"]
    assert len(invites) == 2
    # Both invites go out in one delivery pass, in either order: calendars go by SEQUENCE, not arrival.
    sequences = sorted(
        line for m in invites for line in (m.part("text/calendar") or "").split() if "SEQUENCE" in line
    )
    assert sequences == ["SEQUENCE:1", "SEQUENCE:2"]

    await h.receive(
        SessionCancelled(
            org_id=h.org,
            version=3,
            session_id="s-moving",
            pair_id="p1",
            participant_ids=["ada", "grace"],
            starts_at=START + timedelta(days=10),
            cancelled_by="grace",
        )
    )
    h.clock.set(START + timedelta(days=9, hours=1))
    await h.sweep()
    reminders = [d for d in await h.of("ada") if d["kind"] in ("session_reminder", "agenda_prompt")]
    assert all(not d["in_feed"] for d in reminders)
    assert {d["deliveries"]["email"]["status"] for d in reminders} == {"skipped"}
    assert await h.db["delivery_queue"].count_documents({"recipient_id": "ada"}) == 0


async def test_admin_without_a_profile_registers_a_contact_and_receives_the_escalation_mail(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    await _pair(h)
    bad = await h.http.put(
        "/escalation-contacts/me", headers=h.auth("hr", "hr_admin"), json={"timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422
    registered = await h.http.put(
        "/escalation-contacts/me",
        headers=h.auth("hr", "hr_admin"),
        json={"display_name": "Harriet HR", "email": h.address("hr"), "timezone": "Europe/Paris"},
    )
    assert registered.status_code == 200, registered.text
    listed = await h.http.get("/escalation-contacts", headers=h.auth("hr", "hr_admin"))
    assert listed.json()["admin_ids"] == ["hr"]
    assert (await h.http.get("/escalation-contacts", headers=h.auth("ada"))).status_code == 403
    await h.receive(
        RelationshipStagnant(
            org_id=h.org,
            version=4,
            pair_id="p1",
            episode_id="ep-1",
            participant_ids=["ada", "grace"],
            reasons=["no_session_for_2x_cadence"],
            severity=Severity.HIGH,
            suggested_actions=["Book a 30 minute check-in this week."],
        )
    )
    await h.sweep()
    [mail] = h.smtp.to(h.address("hr"))
    assert mail.subject == "The mentorship of Ada Lovelace and Grace Hopper is stagnating"
    assert "30 minute check-in" in (mail.part("text/plain") or "")
    assert (
        len(
            [
                m
                for m in h.smtp.to(h.address("ada"))
                if m.message["X-Mentorship-Kind"] == "relationship_stagnant"
            ]
        )
        == 1
    )
    unregistered = await h.http.delete("/escalation-contacts/me", headers=h.auth("hr", "hr_admin"))
    assert unregistered.status_code == 204


async def test_retention_forgets_old_notifications_only_once_their_events_are_published(
    harness: HarnessFactory,
) -> None:
    h = await harness()  # keeps notifications 180 days (the default)
    await h.register("ada", "Ada Lovelace")
    await h.receive(_missed(h, 1, "s-old"))
    forget_old = h.service.use_cases.feed.forget_old
    later = START + timedelta(days=181)
    await forget_old(later)
    assert len(await h.of("ada")) == 1, "its NotificationSent is still waiting in the outbox"
    await h.db["notifications"].update_many(
        {"org_id": h.org}, {"$set": {"outbox": [], "outbox_pending": False}}
    )
    await forget_old(START + timedelta(days=10))
    assert len(await h.of("ada")) == 1
    await forget_old(later)
    assert await h.of("ada") == []


async def test_smtp_temporary_refusal_is_retried_with_backoff_and_recorded(harness: HarnessFactory) -> None:
    h = await harness(smtp_fail_first=1)
    await h.register("ada", "Ada Lovelace")
    await h.receive(_missed(h, 1, "s-1"))
    await h.sweep()
    assert h.smtp.refused == 1
    assert h.smtp.to(h.address("ada")) == []
    [doc] = await h.of("ada")
    email = doc["deliveries"]["email"]
    assert email["status"] == "scheduled"
    assert email["next_attempt_at"] == START + timedelta(seconds=60)
    assert "451" in email["attempts"][0]["error"]
    await h.sweep()  # not yet: the backoff holds it
    assert h.smtp.to(h.address("ada")) == []
    h.clock.advance(timedelta(seconds=61))
    await h.sweep()
    assert len(h.smtp.to(h.address("ada"))) == 1
    [doc] = await h.of("ada")
    assert [a["ok"] for a in doc["deliveries"]["email"]["attempts"]] == [False, True]
    assert doc["deliveries"]["email"]["status"] == "sent"


async def test_time_critical_messages_overtake_a_backlog(harness: HarnessFactory) -> None:
    h = await harness(delivery_batch=1)  # one delivery per sweep makes the order visible
    await _pair(h)
    for n in range(3):
        await h.receive(_missed(h, 1, f"s-backlog-{n}"))
    h.clock.advance(timedelta(seconds=1))
    await h.receive(_session(h, 1, timedelta(hours=2)))  # its invite and reminder expire at the start
    await h.sweep()
    delivered = [str(m.message["X-Mentorship-Kind"]) for m in h.smtp.mails]
    delivered += [r["kind"] for r in h.webhook.received]
    assert len(delivered) == 1
    assert delivered[0] in ("session_invite", "session_reminder")


async def test_a_recipient_stored_before_versioning_takes_changes_after_start(
    harness: HarnessFactory,
) -> None:
    h = await harness()
    legacy = {
        "_id": recipient_id(h.org, "ada"),
        "org_id": h.org,
        "person_id": "ada",
        "display_name": "Ada Lovelace",
    }
    await h.db["recipients"].insert_one({**legacy, "email": h.address("ada"), "profile_version": 1})
    await store.prepare(h.db)
    response = await h.http.put("/preferences/me", headers=h.auth("ada"), json={"default": {"chat": False}})
    assert response.status_code == 200, response.text
    stored = await h.db["recipients"].find_one({"_id": recipient_id(h.org, "ada")})
    assert stored is not None
    assert (stored["version"], stored["preferences"]["default"]["chat"]) == (1, False)


async def test_invalid_preferences_are_a_problem_and_write_nothing(harness: HarnessFactory) -> None:
    h = await harness()
    await h.register("ada", "Ada Lovelace")
    invalid: list[dict[str, Any]] = [
        {"default": {"digest": "hourly"}},
        {"default": {"max_per_day": 0}},
        {"default": {"quiet_hours": {"start": "25:00", "end": "07:00"}}},
        {"categories": {"gossip": {}}},
        {"default": {"sms": True}},
    ]
    for body in invalid:
        response = await h.http.put("/preferences/me", headers=h.auth("ada"), json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await h.http.put("/preferences/me", json={})).status_code == 401
    stored = await h.db["recipients"].find_one({"_id": recipient_id(h.org, "ada")})
    assert stored is not None
    assert stored.get("preferences") is None, "nothing was written"
    assert (await h.http.get("/preferences/me", headers=h.auth("ada"))).json()["default"]["digest"] == "off"
