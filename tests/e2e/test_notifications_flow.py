"""End to end, notifications: the four services as real processes on real Kafka and the store, with
a real SMTP server and a real signed-webhook receiver on the other end.

Registration -> pair -> first session scheduled (the invite mail, with the iCalendar attached) ->
it passes unattended -> SessionMissed -> the mail in the SMTP server's inbox, the signed chat
message at the webhook, and the entry in the in-app feed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from mentorship_schemas.topics import TOPICS
from pymongo import AsyncMongoClient
from service_fleet import ServiceFleet
from servicekit.auth import issue_dev_token

from tests.conftest import Infra
from tests.e2e.fleet import SECRET, fleet_env
from tests.e2e.fleet import fleet as new_fleet
from tests.notifications.receivers import Mail, SmtpServer, WebhookReceiver
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
HOOK_SECRET = "end-to-end-webhook-secret"


@dataclass
class Platform:
    fleet: ServiceFleet
    smtp: SmtpServer
    webhook: WebhookReceiver
    database_prefix: str
    bootstrap: str

    def url(self, service: str) -> str:
        return self.fleet.services[service].url


@pytest.fixture(scope="module")
def platform(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    # The webhook fails its first two requests: the delivery sweep must retry them.
    prefix = f"e2e_n{uuid.uuid4().hex[:6]}_"
    with SmtpServer() as smtp, WebhookReceiver(HOOK_SECRET, fail_first=2) as webhook:
        env = fleet_env(
            infra,
            prefix,
            # The invite is worth sending until the session ends, so leave the sweep time for it
            # even behind a backlog of earlier tests' events (the group reads from the start).
            FIRST_SESSION_AFTER_SECONDS="10",
            SESSION_DURATION_SECONDS="5",
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp.port),
            SMTP_SENDER="mentorship@example.com",
            CHAT_WEBHOOK_URL=webhook.url,
            CHAT_WEBHOOK_SECRET=HOOK_SECRET,
            DELIVERY_SWEEP_EVERY_SECONDS="0.3",
            DELIVERY_BACKOFF_SECONDS="0.5",
            DELIVERY_BACKOFF_MAX_SECONDS="2",
        )
        fleet = new_fleet(env, tmp_path_factory.mktemp("notification-logs"))
        try:
            fleet.start()
            yield Platform(fleet, smtp, webhook, prefix, infra.kafka_bootstrap_servers)
        finally:
            fleet.stop()


async def _notifications_caught_up(bootstrap: str) -> bool:
    """Whether the notifications service has consumed everything on the topics it reads: its
    consumer group reads from the start, so earlier tests' events queue ahead of ours."""
    topics = [t.name for t in TOPICS.values() if t.name != "mentorship.notifications.v1"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    # Without a group, a subscription is assigned every partition of its topics at once.
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets("mentorship.notifications")
        partitions = sorted(consumer.assignment())
        assert partitions, "the platform's topics exist"
        ends = await consumer.end_offsets(partitions)
        return all(end == 0 or (tp in committed and committed[tp].offset >= end) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


def _auth(org: str, person: str, *roles: str) -> dict[str, str]:
    token = issue_dev_token(SECRET, sub=person, org=org, roles=list(roles or ["employee"]))
    return {"Authorization": f"Bearer {token}"}


def _mails(platform: Platform, address: str, kind: str) -> list[Mail]:
    return [m for m in platform.smtp.to(address) if m.message["X-Mentorship-Kind"] == kind]


async def test_missed_session_reaches_the_mail_inbox_the_chat_webhook_and_the_feed(
    platform: Platform, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    # Start from a quiet service, so the invite is planned while the session is still ahead.
    await eventually(
        lambda: _notifications_caught_up(platform.bootstrap),
        timeout=180,
        interval=1,
        what="notifications to consume the earlier tests' events",
    )
    org = f"org-{uuid.uuid4().hex[:8]}"
    ada, grace = f"ada@{org}.example.com", f"grace@{org}.example.com"
    async with httpx.AsyncClient(timeout=10) as http:
        for person, body in (
            (
                "grace",
                {
                    "display_name": "Grace Hopper",
                    "email": grace,
                    "roles": ["mentor"],
                    "timezone": "America/New_York",
                    "skills_offered": ["python"],
                    "mentor_capacity": 2,
                },
            ),
            (
                "ada",
                {
                    "display_name": "Ada Lovelace",
                    "email": ada,
                    "roles": ["mentee"],
                    "timezone": "Europe/London",
                    "skills_wanted": ["python"],
                },
            ),
        ):
            response = await http.post(
                f"{platform.url('profiles')}/profiles", headers=_auth(org, person), json=body
            )
            assert response.status_code == 201, response.text

        [missed] = await eventually(
            lambda: _mails(platform, ada, "session_missed"),
            timeout=120,
            interval=0.3,
            what="the missed-session mail in ada's inbox",
        )
        assert missed.subject == "Your mentorship session was missed"
        text = missed.part("text/plain") or ""
        assert "Grace Hopper" in text
        assert "(Europe/London)" in text
        assert "Pick a new time now." in text
        assert "<strong>Pick a new time now.</strong>" in (missed.part("text/html") or "")

        invites = _mails(platform, ada, "session_invite")
        if not invites:  # say why, from the service's own record of the delivery
            notifications = mongo[f"{platform.database_prefix}notifications"]["notifications"]
            record = await notifications.find_one(
                {"org_id": org, "recipient_id": "ada", "kind": "session_invite"}
            )
            pytest.fail(f"no invite mail for ada; its record: {record and record.get('deliveries')}")
        [invite] = invites
        calendar = invite.part("text/calendar") or ""
        assert "METHOD:REQUEST" in calendar
        assert f"mailto:{grace}" in calendar.replace("\r\n ", "")
        await eventually(  # both people are told
            lambda: _mails(platform, grace, "session_missed"), timeout=30, what="grace's missed-session mail"
        )

        [chat] = await eventually(
            lambda: [
                r
                for r in platform.webhook.received
                if r["kind"] == "session_missed" and r["recipient"]["email"] == ada
            ],
            timeout=30,
            what="ada's missed-session chat message",
        )
        assert "Your mentorship session was missed" in chat["text"]
        assert platform.webhook.statuses[:2] == [503, 503], "the first two posts failed and were retried"
        assert 401 not in platform.webhook.statuses

        feed = (
            await http.get(
                f"{platform.url('notifications')}/notifications",
                params={"recipient": "ada"},
                headers=_auth(org, "ada"),
            )
        ).json()
        # (Agreement notices depend on how sessions drafts agreements; they are tested on their own.)
        kinds = sorted(item["kind"] for item in feed["items"] if not item["kind"].startswith("agreement_"))
        assert kinds == ["pair_created", "session_missed", "session_scheduled"], "the invite is email only"
        # Exactly one mail per (recipient, cause, kind), however the events were delivered.
        assert len(_mails(platform, ada, "pair_created")) == 1
        assert len(_mails(platform, ada, "session_invite")) == 1
