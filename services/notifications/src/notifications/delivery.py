"""The delivery sweep: sends what is due on its channel, outside the Kafka handlers, so a slow or
failing SMTP server never holds up consuming.

Each due queue entry is claimed with a lease (a conditional update on the small queue), so two
replicas do not send the same delivery at once; holding the lease, the worker writes the
notification by its `_id` (the emulator uses no other index, see servicekit.mongo). The outcome (the
attempt, the new status and NotificationSent or NotificationFailed) is one single-document write on
the notification; the queue entry is removed or moved to the next attempt afterwards. A crash
between the send and that write sends again on the next sweep (at-least-once on outside channels;
the Message-ID and Idempotency-Key derived from the notification let the receiver recognise the
repeat).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mentorship_schemas import NotificationFailed, NotificationSent
from mentorship_schemas.events import NotificationChannel
from prometheus_client import Counter
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.runtime import ServiceRuntime

from notifications import store
from notifications.channels import Channel, DeliveryError, Outgoing
from notifications.domain.messages import DigestItem, digest_message
from notifications.domain.preferences import (
    CapCounter,
    Category,
    check_frequency_cap,
    end_of_quiet_hours,
    next_attempt_at,
    zone,
)
from notifications.scheduling import preferences_of, sent_event_id

log = logging.getLogger(__name__)
Document = dict[str, Any]
DELIVERIES = Counter(
    "mentorship_notification_deliveries_total",
    "Delivery outcomes per channel: sent, retry, failed, skipped, deferred (quiet hours or cap).",
    ["channel", "outcome"],
)


@dataclass(frozen=True)
class RetrySettings:
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0


class DeliveryWorker:
    def __init__(
        self,
        runtime: ServiceRuntime,
        channels: dict[NotificationChannel, Channel],
        *,
        retry: RetrySettings,
        batch_size: int = 100,
        lease: timedelta = timedelta(minutes=2),
        concurrency: int = 8,
    ) -> None:
        self._runtime = runtime
        self._channels = channels
        self._retry = retry
        self._batch_size = batch_size
        self._lease = lease
        self._limit = asyncio.Semaphore(concurrency)
        self._notifications = runtime.db[store.NOTIFICATIONS]
        self._queue = runtime.db[store.DELIVERY_QUEUE]
        self._recipients = runtime.db[store.RECIPIENTS]

    async def sweep(self, now: datetime) -> int:
        """Deliver what is due at `now`; returns how many events were written."""
        due = [
            entry
            async for entry in self._queue.find(
                {"due_at": {"$lte": now}}, sort=[("urgent", -1), ("due_at", 1)], limit=self._batch_size
            )
        ]
        results = await asyncio.gather(*(self._guarded(entry, now) for entry in due))
        return sum(results)

    async def _guarded(self, entry: Document, now: datetime) -> int:
        async with self._limit:
            try:
                if not await self._claim(entry, now):
                    return 0
                return await self._deliver(entry, now)
            except Exception:
                log.exception("delivery %s failed unexpectedly; it stays queued", entry["_id"])
                return 0

    async def _claim(self, entry: Document, now: datetime) -> bool:
        claimed = await self._queue.update_one(
            {
                "_id": entry["_id"],
                "due_at": entry["due_at"],
                "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            },
            {"$set": {"lease_until": now + self._lease}},
        )
        return claimed.modified_count == 1

    async def _done(self, entry: Document) -> None:
        await self._queue.delete_one({"_id": entry["_id"]})

    async def _later(self, entry: Document, at: datetime) -> None:
        await self._queue.update_one({"_id": entry["_id"]}, {"$set": {"due_at": at, "lease_until": None}})

    async def _finish(
        self, document: Document, channel: NotificationChannel, status: str, **fields: Any
    ) -> None:
        DELIVERIES.labels(channel=channel.value, outcome=status).inc()
        prefix = f"deliveries.{channel.value}"
        await self._notifications.update_one(
            {"_id": document["_id"]},
            {"$set": {f"{prefix}.status": status, **{f"{prefix}.{k}": v for k, v in fields.items()}}},
        )

    async def _deliver(self, entry: Document, now: datetime) -> int:
        channel = NotificationChannel(entry["channel"])
        document = await self._notifications.find_one({"_id": entry["notification_id"]})
        delivery = ((document or {}).get("deliveries") or {}).get(channel.value)
        if document is None or delivery is None or delivery.get("status") != "scheduled":
            await self._done(entry)  # erased, or already delivered by another replica
            return 0
        if channel is NotificationChannel.IN_APP:
            return await self._show_in_feed(entry, document, now)
        if channel not in self._channels:  # switched off in the settings since it was planned
            await self._finish(document, channel, "skipped", reason="channel not configured")
            await self._done(entry)
            return 0
        expires_at = delivery.get("expires_at")
        if expires_at is not None and now >= expires_at:
            await self._finish(document, channel, "skipped", reason="too late")
            await self._done(entry)
            return 0
        recipient = await self._recipients.find_one(
            {"_id": store.person_key(document["org_id"], document["recipient_id"])}
        )
        if recipient is None or recipient.get("erased"):
            await self._finish(document, channel, "skipped", reason="recipient unknown")
            await self._done(entry)
            return 0
        category = Category(document["category"])
        preference = preferences_of(recipient).for_category(category)
        tz = zone(recipient.get("timezone"))
        # Preferences may have changed since the delivery was planned: apply the current ones.
        if not preference.allows(channel):
            await self._finish(document, channel, "skipped", reason="channel off")
            await self._done(entry)
            return 0
        quiet_end = end_of_quiet_hours(now, tz, preference.quiet_hours)
        if quiet_end > now and (expires_at is None or quiet_end < expires_at):
            DELIVERIES.labels(channel=channel.value, outcome="deferred").inc()
            await self._later(entry, quiet_end)
            return 0
        counts_against_cap = category is not Category.DIGEST and not delivery.get("cap_counted")
        if counts_against_cap and not await self._count_against_cap(
            entry, document, recipient, channel, preference.max_per_day, now
        ):
            return 0

        outgoing = await self._render(document, recipient, channel)
        if outgoing is None:
            await self._done(entry)
            return 0
        try:
            await self._channels[channel].send(outgoing, now=now)
        except DeliveryError as error:
            return await self._failed(entry, document, channel, delivery, now, error)
        return await self._sent(entry, document, channel, now)

    async def _count_against_cap(
        self,
        entry: Document,
        document: Document,
        recipient: Document,
        channel: NotificationChannel,
        cap: int | None,
        now: datetime,
    ) -> bool:
        if cap is None:
            return True
        field = f"caps.{channel.value}_{document['category']}"
        stored = (recipient.get("caps") or {}).get(f"{channel.value}_{document['category']}")
        counter = CapCounter(stored["day"], stored["sent"]) if stored else None
        decision = check_frequency_cap(counter, cap, now, zone(recipient.get("timezone")))
        if not decision.allowed:
            assert decision.retry_at is not None
            DELIVERIES.labels(channel=channel.value, outcome="deferred").inc()
            await self._later(entry, decision.retry_at)
            return False
        # Compare-and-set on the counter we read, so concurrent deliveries cannot both take the last slot.
        counted = await self._recipients.update_one(
            {"_id": recipient["_id"], field: stored},
            {"$set": {field: {"day": decision.counter.day, "sent": decision.counter.sent}}},
        )
        if counted.modified_count != 1:
            await self._later(entry, now)  # lost the race: look again next sweep
            return False
        await self._notifications.update_one(
            {"_id": document["_id"]}, {"$set": {f"deliveries.{channel.value}.cap_counted": True}}
        )
        return True

    async def _render(
        self, document: Document, recipient: Document, channel: NotificationChannel
    ) -> Outgoing | None:
        title, body = document["title"], document["body"]
        if document["kind"] == "digest":
            # Close the summary first: a message arriving from now on goes out on its own.
            await self._notifications.update_one(
                {"_id": document["_id"]}, {"$set": {"digest_state": "sending"}}
            )
            closed = await self._notifications.find_one({"_id": document["_id"]}, {"items": 1})
            items = [DigestItem(i["title"], i["body"]) for i in (closed or {}).get("items") or []]
            if not items:
                return None
            title, body = digest_message(document["recipient_id"], document["cause_event_id"], items)
        return Outgoing(
            notification_id=document["_id"],
            kind=document["kind"],
            recipient_id=document["recipient_id"],
            recipient_name=recipient.get("display_name") or document["recipient_id"],
            recipient_email=recipient.get("email"),
            title=title,
            body=body,
            action=document.get("action") or "",
            calendar=document.get("calendar") if channel is NotificationChannel.EMAIL else None,
        )

    def _sent_event(self, document: Document, channel: NotificationChannel, now: datetime) -> Document:
        sent = NotificationSent(
            org_id=document["org_id"],
            version=1,
            notification_id=document["_id"],
            recipient_id=document["recipient_id"],
            kind=document["kind"],
            channel=channel,
            cause_event_id=document["cause_event_id"],
            sent_at=now,
        )
        return self._runtime.entry(sent, event_id=sent_event_id(document["_id"], channel))

    async def _show_in_feed(self, entry: Document, document: Document, now: datetime) -> int:
        prefix = "deliveries.in_app"
        DELIVERIES.labels(channel="in_app", outcome="sent").inc()
        shown = await self._notifications.update_one(
            {"_id": document["_id"]},
            with_outbox(
                {
                    "$set": {
                        "in_feed": True,
                        "feed_at": now,
                        f"{prefix}.status": "sent",
                        f"{prefix}.sent_at": now,
                    }
                },
                [self._sent_event(document, NotificationChannel.IN_APP, now)],
            ),
        )
        await self._done(entry)
        return shown.modified_count

    async def _sent(
        self, entry: Document, document: Document, channel: NotificationChannel, now: datetime
    ) -> int:
        prefix = f"deliveries.{channel.value}"
        DELIVERIES.labels(channel=channel.value, outcome="sent").inc()
        recorded = await self._notifications.update_one(
            {"_id": document["_id"]},
            with_outbox(
                {
                    "$set": {f"{prefix}.status": "sent", f"{prefix}.sent_at": now},
                    "$push": {f"{prefix}.attempts": {"at": now, "ok": True}},
                },
                [self._sent_event(document, channel, now)],
            ),
        )
        await self._done(entry)
        return recorded.modified_count

    async def _failed(
        self,
        entry: Document,
        document: Document,
        channel: NotificationChannel,
        delivery: Document,
        now: datetime,
        error: DeliveryError,
    ) -> int:
        prefix = f"deliveries.{channel.value}"
        attempts = len(delivery.get("attempts") or []) + 1
        attempt = {"at": now, "ok": False, "error": str(error)[:500], "transient": error.transient}
        retry_at = (
            next_attempt_at(
                attempts,
                now=now,
                max_attempts=self._retry.max_attempts,
                backoff_seconds=self._retry.backoff_seconds,
                backoff_max_seconds=self._retry.backoff_max_seconds,
            )
            if error.transient
            else None
        )
        if retry_at is not None:
            log.warning(
                "delivery %s attempt %d failed, retrying at %s: %s", entry["_id"], attempts, retry_at, error
            )
            await self._notifications.update_one(
                {"_id": document["_id"]},
                {"$push": {f"{prefix}.attempts": attempt}, "$set": {f"{prefix}.next_attempt_at": retry_at}},
            )
            DELIVERIES.labels(channel=channel.value, outcome="retry").inc()
            await self._later(entry, retry_at)
            return 0
        log.error("delivery %s failed for good after %d attempt(s): %s", entry["_id"], attempts, error)
        failed = NotificationFailed(
            org_id=document["org_id"],
            version=1,
            notification_id=document["_id"],
            recipient_id=document["recipient_id"],
            kind=document["kind"],
            channel=channel,
            cause_event_id=document["cause_event_id"],
            attempts=attempts,
            error=str(error)[:1000],
        )
        DELIVERIES.labels(channel=channel.value, outcome="failed").inc()
        recorded = await self._notifications.update_one(
            {"_id": document["_id"]},
            with_outbox(
                {"$set": {f"{prefix}.status": "failed"}, "$push": {f"{prefix}.attempts": attempt}},
                [self._runtime.entry(failed, event_id=derived_id(document["_id"], channel.value, "failed"))],
            ),
        )
        await self._done(entry)
        return recorded.modified_count
