"""Telling people: from an event to stored notifications with their deliveries planned, exactly once
per (recipient, cause event, kind).

A notification's id derives from the three, so a redelivered event, a restart mid-batch or a second
replica meets the same notification: creating it fails and only its follow-ups (queue entries,
digest membership) are made sure of, which are idempotent themselves. An in-app message due now
enters the feed with its NotificationSent in the same write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from mentorship_schemas import PairCreated, SessionCancelled, SessionScheduled
from mentorship_schemas.events import NotificationChannel
from servicekit.erasure import pseudonym

from notifications.domain import messages
from notifications.domain.announcements import Announced, Audience, audience, messages_for, occasion
from notifications.domain.delivery import QueuedDelivery, queue_entries, queue_key
from notifications.domain.messages import Directory, Message, SessionTiming
from notifications.domain.notification import (
    Cause,
    Delivery,
    DeliveryStatus,
    Notification,
    Planning,
    SkipReason,
    notification_id,
)
from notifications.domain.recipient import Recipient, recipient_id
from notifications.domain.reminders import SessionReminders, reminders_id
from notifications.ports import Stores
from notifications.use_cases.people import scrub_person
from notifications.use_cases.upsert import change_or_create

Recipients = Mapping[str, Recipient | None]  # by person id: what the store holds (None: unknown)


@dataclass(frozen=True)
class NotifyPolicy:
    planning: Planning
    timing: SessionTiming = field(default_factory=SessionTiming)
    organizer_email: str = "mentorship@example.com"  # the calendar invites' organizer


class Notify:
    def __init__(self, stores: Stores, now: Callable[[], datetime], policy: NotifyPolicy) -> None:
        self._stores = stores
        self._now = now
        self._policy = policy

    async def announce(self, event: Announced, cause: Cause) -> None:
        """Tell the people an event concerns what it means for them (domain/announcements.py)."""
        cause = replace(cause, occasion=occasion(event))
        directory, recipients = await self.look_up(event.org_id, audience(event))
        await self.notify(event.org_id, cause, messages_for(event, directory), directory, recipients)

    async def pair_created(self, event: PairCreated, cause: Cause) -> None:
        """Remember who is the mentee (for the agenda prompts), then tell both."""
        await self._stores.pairs.remember(
            event.org_id, event.pair_id, mentor_id=event.mentor_id, mentee_id=event.mentee_id
        )
        await self.announce(event, cause)

    async def session_scheduled(self, event: SessionScheduled, cause: Cause) -> None:
        """The notice in the feed, the invite, the reminder and the agenda prompt; a reschedule (a
        newer version of the session) says the session moved and withdraws the reminders of the
        time before."""
        reminders = self._stores.reminders
        known = await reminders.get(reminders_id(event.org_id, event.session_id))
        if known is not None and known.is_stale(event.version):
            return  # an older schedule arriving late: the newer one already set the reminders
        if known is not None:
            await self.withdraw(known.superseded_by(event.version), SkipReason.RESCHEDULED)
        directory, recipients = await self.look_up(event.org_id, Audience(tuple(event.participant_ids)))
        found = messages.for_session_scheduled(
            event,
            directory,
            mentee_id=await self._stores.pairs.mentee_of(event.org_id, event.pair_id),
            now=self._now(),
            timing=self._policy.timing,
            organizer_email=self._policy.organizer_email,
            moved=known is not None and 0 < known.session_version < event.version,
        )
        await self.notify(event.org_id, cause, found, directory, recipients)
        pending = [
            notification_id(m.recipient_id, cause.key, m.kind)
            for m in found
            if m.kind in messages.SESSION_REMINDER_KINDS
        ]
        await change_or_create(
            reminders,
            SessionReminders.new(event.org_id, event.session_id),
            lambda r: r.schedule(event.version, pending),
        )

    async def session_cancelled(self, event: SessionCancelled) -> None:
        """Withdraw the session's pending reminders."""
        key = reminders_id(event.org_id, event.session_id)
        known = await self._stores.reminders.get(key)
        if known is None:
            return
        await self.withdraw(known.superseded_by(event.version), SkipReason.CANCELLED)
        await self._stores.reminders.change(key, lambda r: r.cancel(event.version))

    async def withdraw(self, notification_ids: Iterable[str], reason: SkipReason) -> None:
        """Stop deliveries that have not gone out yet."""
        for withdrawn in notification_ids:
            await self._stores.notifications.change(withdrawn, lambda n: n.withdraw(reason))
            for channel in NotificationChannel:
                await self._stores.queue.remove(queue_key(withdrawn, channel))

    # ------------------------------------------------------------------ the steps

    async def look_up(self, org_id: str, who: Audience) -> tuple[Directory, Recipients]:
        """The people a message names and, when asked, the org's escalation contacts (one read of
        them all, by id); and the recipients read for it (the messages go to some of them, who
        are then not read again)."""
        admins = await self._stores.contacts.admins(org_id) if who.with_admins else []
        keys = {person_id: recipient_id(org_id, person_id) for person_id in [*who.person_ids, *admins]}
        stored = await self._stores.recipients.get_many(list(keys.values()))
        found = {person_id: stored.get(key) for person_id, key in keys.items()}
        people, erased = {}, set()
        for person_id, known in found.items():
            people[person_id] = known.person() if known is not None else messages.Person(person_id)
            if known is not None and known.erased:
                erased.add(person_id)
        return Directory(people, admins, frozenset(erased)), found

    async def notify(
        self,
        org_id: str,
        cause: Cause,
        found: Sequence[Message],
        directory: Directory,
        recipients: Recipients,
    ) -> None:
        """Store each message once; the directory's people are the ones it may name, so an
        erasure can find and scrub them later. `recipients`: those already read for the
        directory (an erasure since then is caught after the writes, by `_erased_meanwhile`)."""
        # An erased person is mentioned under their pseudonym (a late event may still name them).
        mentions = sorted(
            pseudonym(org_id, person_id) if person_id in directory.erased else person_id
            for person_id in directory.people
        )
        # Each message is its own notification: stored side by side (a consumer's batch then sends
        # its handlers' writes in fewer, larger groups).
        await asyncio.gather(
            *(self.store_message(org_id, cause, message, mentions, recipients) for message in found)
        )
        await self._erased_meanwhile(org_id, directory)

    async def _erased_meanwhile(self, org_id: str, directory: Directory) -> None:
        """Someone named here was erased while these messages were written (their erasure scrubs
        what it finds, and then this finds their tombstone): take back what names them."""
        named = [person_id for person_id in directory.people if person_id not in directory.erased]
        for person_id in await self._stores.index.erased_among(org_id, named):
            person = directory.people[person_id]
            names = [name for name in (person.display_name, person.email) if name]
            await scrub_person(self._stores, org_id, person_id, names)

    async def store_message(
        self, org_id: str, cause: Cause, message: Message, mentions: list[str], known: Recipients
    ) -> bool:
        """One message as a notification with its follow-ups; False when nobody is to be told."""
        if message.recipient_id in known:
            recipient = known[message.recipient_id]
        else:
            recipient = await self._stores.recipients.get(recipient_id(org_id, message.recipient_id))
        if recipient is not None and recipient.erased:
            return False
        notification, emitted = Notification.plan(
            message,
            org_id=org_id,
            cause=cause,
            recipient=recipient,
            mentions=mentions,
            planning=self._policy.planning,
            now=self._now(),
        )
        if not await self._stores.notifications.create(notification, emitted):
            existing = await self._stores.notifications.get(notification.id)
            if existing is None:  # erased meanwhile
                return False
            notification = existing
        await self.follow_up(notification)
        return True

    async def follow_up(self, notification: Notification) -> None:
        """Queue entries for its scheduled deliveries and its place in digests; safe to repeat."""
        entries = queue_entries(notification)
        if entries:  # (an in-app message shown at once has none)
            await asyncio.gather(*(self._stores.queue.enqueue(entry) for entry in entries))
        for channel, delivery in notification.deliveries.items():
            if delivery.status is DeliveryStatus.DIGESTED:
                await self._join_digest(notification, channel, delivery)

    async def _join_digest(
        self, notification: Notification, channel: NotificationChannel, delivery: Delivery
    ) -> None:
        now = self._now()
        digest = Notification.digest(of=notification, channel=channel, delivery=delivery, now=now)
        joined = await change_or_create(self._stores.notifications, digest, lambda d: d.collect(notification))
        if joined.result:
            assert delivery.due_at is not None
            await self._stores.queue.enqueue(
                QueuedDelivery.of(joined.aggregate, channel, delivery.due_at, urgent=False)
            )
            return
        # That summary is already going out: send this message on its own instead of losing it.
        await self._stores.notifications.change(notification.id, lambda n: n.send_alone(channel, now))
        await self._stores.queue.enqueue(QueuedDelivery.of(notification, channel, now, urgent=False))
