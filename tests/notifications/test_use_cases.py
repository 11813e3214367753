"""The notifications use cases on in-memory stores and recording channels: telling people once,
delivering with retries, restraint rules, digests, reminders, erasure and the feed. No server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from mentorship_schemas import (
    PairCreated,
    ProfileErased,
    ProfileUpdated,
    SessionCancelled,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import NotificationChannel, PersonRole
from notifications.channels import DeliveryError
from notifications.domain.announcements import audience, messages_for
from notifications.domain.messages import Directory, for_session_missed
from notifications.domain.notification import DeliveryStatus, Notification, Planning, sent_event_id
from notifications.domain.preferences import CategoryPreference, DigestMode, Preferences, QuietHours
from notifications.domain.recipient import RecipientErased, recipient_id
from notifications.use_cases import ContactDetails

from tests.notifications.memory import CHAT, EMAIL, IN_APP, START, World, cause, world

pytestmark = pytest.mark.fast


def _pair_created(w: World) -> PairCreated:
    return PairCreated(
        org_id=w.org,
        version=1,
        pair_id="p1",
        program_id="open",
        mentor_id="grace",
        mentee_id="ada",
        score=0.8,
    )


def _missed(w: World, in_a_row: int = 1, session: str = "s1") -> SessionMissed:
    return SessionMissed(
        org_id=w.org,
        version=2,
        session_id=session,
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=START - timedelta(days=1),
        missed_in_a_row=in_a_row,
    )


def _scheduled(w: World, version: int, starts_in: timedelta) -> SessionScheduled:
    return SessionScheduled(
        org_id=w.org,
        version=version,
        session_id="s1",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=START + starts_in,
        ends_at=START + starts_in + timedelta(hours=1),
    )


async def _paired(w: World) -> None:
    await w.register("ada", "Ada Lovelace", "Europe/London")
    await w.register("grace", "Grace Hopper", "America/New_York")
    event = _pair_created(w)
    await w.use_cases.notify.pair_created(event, cause(event, "pair-event"))


async def test_a_pair_created_twice_tells_mentee_and_mentor_once_each_in_the_feed() -> None:
    w = world()
    await _paired(w)
    event = _pair_created(w)
    await w.use_cases.notify.pair_created(event, cause(event, "pair-event"))  # redelivered
    ada, grace = await w.one("ada", "pair_created"), await w.one("grace", "pair_created")
    assert ada.title == "You have a mentor: Grace Hopper"
    assert (ada.in_feed, ada.feed_at, ada.version) == (True, START, 1)
    assert sorted(ada.mentions) == ["ada", "grace"]
    sent = w.sent_on(IN_APP)
    assert sorted(e.recipient_id for e in sent) == ["ada", "grace"]
    assert {e.version for e in sent} == {1}, "the event carries the notification's first version"
    ids = {e.event_id for e in w.notifications.published}
    assert sent_event_id(ada.id, IN_APP) in ids
    assert sent_event_id(grace.id, IN_APP) in ids


async def test_a_redelivery_after_a_crash_restores_the_queue_entries_it_missed() -> None:
    w = world()
    await _paired(w)
    queued = set(w.queue.entries)
    assert {f"{(await w.one('ada', 'pair_created')).id}:{c}" for c in ("email", "chat")} <= queued
    w.queue.entries.clear()  # the crash: notifications stored, their queue entries not
    event = _pair_created(w)
    await w.use_cases.notify.pair_created(event, cause(event, "pair-event"))
    assert set(w.queue.entries) == queued
    assert len(w.notifications.documents) == 2


async def test_the_sweep_sends_email_and_chat_and_records_each_with_the_next_version() -> None:
    w = world()
    await _paired(w)
    assert await w.sweep() == 4
    assert w.email.kinds("ada") == ["pair_created"]
    assert w.chat.kinds("grace") == ["pair_created"]
    ada = await w.one("ada", "pair_created")
    assert ada.deliveries[EMAIL].status is DeliveryStatus.SENT
    assert [a.ok for a in ada.deliveries[EMAIL].attempts] == [True]
    assert ada.version == 3
    assert sorted(e.version for e in w.sent_on(EMAIL, "ada") + w.sent_on(CHAT, "ada")) == [2, 3]
    assert w.queue.entries == {}
    assert await w.sweep() == 0, "nothing is sent twice"


async def test_two_sweeps_at_once_send_each_delivery_once() -> None:
    w = world()
    await _paired(w)
    await asyncio.gather(w.sweep(), w.sweep())
    assert sorted(o.recipient_id for o in w.email.sent) == ["ada", "grace"]
    assert len(w.sent_on(EMAIL)) == 2


async def test_a_transient_failure_is_retried_with_backoff_and_recorded() -> None:
    w = world(email_failures=[DeliveryError("SMTP 451: try later", transient=True)])
    await w.register("ada", "Ada Lovelace")
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    await w.sweep()
    email = (await w.one("ada", "session_missed")).deliveries[EMAIL]
    assert (email.status, email.next_attempt_at) == (DeliveryStatus.SCHEDULED, START + timedelta(seconds=60))
    assert email.attempts[0].error == "SMTP 451: try later"
    await w.sweep()
    assert w.email.sent == [], "the backoff holds it"
    w.clock.advance(timedelta(seconds=61))
    await w.sweep()
    email = (await w.one("ada", "session_missed")).deliveries[EMAIL]
    assert [a.ok for a in email.attempts] == [False, True]
    assert email.status is DeliveryStatus.SENT


async def test_a_channel_that_keeps_failing_gives_up_with_notification_failed() -> None:
    w = world(chat_failures=[DeliveryError("webhook answered 503", transient=True)] * 5, max_attempts=3)
    await w.register("ada", "Ada Lovelace")
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    for _ in range(5):
        await w.sweep()
        w.clock.advance(timedelta(minutes=10))
    chat = (await w.one("ada", "session_missed")).deliveries[CHAT]
    assert (chat.status, len(chat.attempts)) == (DeliveryStatus.FAILED, 3)
    [failed] = w.failed()
    assert (failed.channel, failed.attempts, failed.error) == (CHAT, 3, "webhook answered 503")
    assert w.chat.tries == 3
    assert len(w.sent_on(EMAIL, "ada")) == 1, "one failing channel does not hold up another"


async def test_a_permanent_failure_fails_at_once() -> None:
    w = world(chat_failures=[DeliveryError("webhook answered 404", transient=False)])
    await w.register("ada", "Ada Lovelace")
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    await w.sweep()
    chat = (await w.one("ada", "session_missed")).deliveries[CHAT]
    assert (chat.status, len(chat.attempts)) == (DeliveryStatus.FAILED, 1)
    assert len(w.failed()) == 1


async def test_quiet_hours_hold_email_until_they_end_but_not_the_feed() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace", "Asia/Tokyo")  # 12:00 UTC is 21:00 in Tokyo
    night = CategoryPreference(quiet_hours=QuietHours.model_validate({"start": "20:00", "end": "08:00"}))
    await w.use_cases.people.set_preferences(w.org, "ada", Preferences(default=night))
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    await w.sweep()
    assert (w.email.sent, w.chat.sent) == ([], [])
    assert (await w.one("ada", "session_missed")).in_feed
    w.clock.set(datetime(2026, 11, 26, 22, 59, tzinfo=UTC))  # 07:59 in Tokyo
    await w.sweep()
    assert w.email.sent == []
    w.clock.set(datetime(2026, 11, 26, 23, 0, tzinfo=UTC))  # 08:00 in Tokyo
    await w.sweep()
    assert (len(w.email.sent), len(w.chat.sent)) == (1, 1)


async def test_a_channel_switched_off_after_planning_is_skipped_when_due() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    await w.use_cases.people.set_preferences(
        w.org, "ada", Preferences(default=CategoryPreference(email=False))
    )
    await w.sweep()
    email = (await w.one("ada", "session_missed")).deliveries[EMAIL]
    assert (email.status, email.reason) == (DeliveryStatus.SKIPPED, "channel off")
    assert w.email.sent == []
    assert len(w.chat.sent) == 1


async def test_the_daily_cap_defers_the_rest_to_the_next_local_day() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    capped = Preferences(default=CategoryPreference(max_per_day=1, chat=False))
    await w.use_cases.people.set_preferences(w.org, "ada", capped)
    for n in range(2):
        event = _missed(w, session=f"s{n}")
        await w.use_cases.notify.announce(event, cause(event, f"missed-{n}"))
    await w.sweep()
    await w.sweep()
    assert len(w.email.kinds("ada")) == 1
    w.clock.set(datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC))
    await w.sweep()
    assert len(w.email.kinds("ada")) == 2


async def test_a_daily_digest_sends_one_summary_and_a_late_joiner_goes_out_alone() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace", "Europe/Berlin")
    daily = Preferences(default=CategoryPreference(digest=DigestMode.DAILY, chat=False))
    await w.use_cases.people.set_preferences(w.org, "ada", daily)
    for n in range(2):
        event = _missed(w, session=f"s{n}")
        await w.use_cases.notify.announce(event, cause(event, f"missed-{n}"))
    # A third one is stored for the same summary, and the process dies before it joins it.
    late = _missed(w, session="s-late")
    [message] = [m for m in for_session_missed(late, Directory()) if m.recipient_id == "ada"]
    stored, emitted = Notification.plan(
        message,
        org_id=w.org,
        cause=cause(late, "missed-late"),
        recipient=await w.recipients.get(recipient_id(w.org, "ada")),
        mentions=[],
        planning=Planning(available=frozenset(NotificationChannel)),
        now=w.clock.now(),
    )
    assert stored.deliveries[EMAIL].status is DeliveryStatus.DIGESTED
    await w.notifications.create(stored, emitted)
    await w.sweep()
    assert w.email.kinds("ada") == []

    w.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    await w.sweep()
    [summary] = w.email.sent
    assert summary.title == "Your daily mentorship summary: 2 updates"
    assert summary.body.count("Your mentorship session was missed") == 2
    assert (await w.one("ada", "digest")).deliveries[EMAIL].status is DeliveryStatus.SENT
    # The redelivered event finds the summary gone out: the message goes out on its own.
    await w.use_cases.notify.announce(late, cause(late, "missed-late"))
    await w.sweep()
    assert w.email.kinds("ada") == ["digest", "session_missed"]
    assert (await w.notifications.get(stored.id)) is not None


async def test_a_reschedule_withdraws_the_reminders_and_a_stale_schedule_sets_none() -> None:
    w = world()
    await _paired(w)
    first, moved = _scheduled(w, 1, timedelta(days=7)), _scheduled(w, 2, timedelta(days=10))
    await w.use_cases.notify.session_scheduled(first, cause(first, "scheduled-1"))
    await w.use_cases.notify.session_scheduled(moved, cause(moved, "scheduled-2"))
    await w.use_cases.notify.session_scheduled(first, cause(first, "scheduled-1-again"))  # late copy
    reminders = [n for n in await w.of("ada") if n.kind == "session_reminder"]
    statuses = sorted(n.deliveries[EMAIL].status.value for n in reminders)
    assert statuses == ["scheduled", "skipped"], "one withdrawn, one pending, none from the stale copy"
    [withdrawn] = [n for n in reminders if n.deliveries[EMAIL].status is DeliveryStatus.SKIPPED]
    assert withdrawn.deliveries[EMAIL].reason == "rescheduled"
    assert not [key for key in w.queue.entries if key.startswith(withdrawn.id)]
    [agenda] = [
        n for n in await w.of("ada") if n.kind == "agenda_prompt" and n.cause_event_id == "scheduled-2"
    ]
    assert not [n for n in await w.of("grace") if n.kind == "agenda_prompt"], "the mentee prepares it"

    cancelled = SessionCancelled(
        org_id=w.org,
        version=3,
        session_id="s1",
        pair_id="p1",
        participant_ids=["ada", "grace"],
        starts_at=moved.starts_at,
        cancelled_by="grace",
    )
    await w.use_cases.notify.session_cancelled(cancelled)
    ahead = [n for n in await w.of("ada") if n.kind in ("session_reminder", "agenda_prompt")]
    assert {n.deliveries[EMAIL].status for n in ahead} == {DeliveryStatus.SKIPPED}
    w.clock.set(START + timedelta(days=9, hours=23))
    await w.sweep()
    assert not [n for n in await w.of("ada") if n.kind == "session_reminder" and n.in_feed]
    assert agenda.id not in {o.notification_id for o in w.email.sent}


async def test_profile_updates_apply_in_version_order_only() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace", version=2)
    stale = ProfileUpdated(
        org_id=w.org,
        version=1,
        person_id="ada",
        display_name="Ada Byron",
        email="ada@byron.example",
        roles=[PersonRole.MENTEE],
    )
    await w.use_cases.people.keep_profile(stale)
    recipient = await w.recipients.get(recipient_id(w.org, "ada"))
    assert recipient is not None
    assert (recipient.display_name, recipient.profile_version) == ("Ada Lovelace", 2)
    newer = ProfileUpdated(
        org_id=w.org,
        version=3,
        person_id="ada",
        display_name="Ada King",
        email="ada@king.example",
        roles=[PersonRole.MENTEE],
    )
    await w.use_cases.people.keep_profile(newer)
    recipient = await w.recipients.get(recipient_id(w.org, "ada"))
    assert recipient is not None
    assert (recipient.display_name, recipient.email) == ("Ada King", "ada@king.example")


async def test_erasure_forgets_the_person_scrubs_other_messages_and_stays_forgotten() -> None:
    w = world()
    await _paired(w)
    await w.use_cases.people.register_escalation_contact(w.org, "ada")
    erased = ProfileErased(org_id=w.org, version=3, person_id="ada", erased_at=START)
    await w.use_cases.people.erase(erased)
    assert await w.of("ada") == []
    assert not [e for e in w.queue.entries.values() if e.recipient_id == "ada"]
    assert await w.use_cases.people.escalation_contacts(w.org) == []
    grace = await w.one("grace", "pair_created")
    assert grace.title == "You have a new mentee: a former participant"
    assert "ada" not in grace.mentions
    tombstone = await w.recipients.get(recipient_id(w.org, "ada"))
    assert tombstone is not None
    assert (tombstone.erased, tombstone.email, tombstone.display_name) == (True, None, None)
    # Late events bring nothing back.
    await w.register("ada", "Ada Lovelace", version=4)
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event, "late"))
    assert await w.of("ada") == []
    with pytest.raises(RecipientErased):
        await w.use_cases.people.set_preferences(w.org, "ada", Preferences())
    # Nothing kept names her id: the late event's notice to grace mentions her pseudonym.
    assert '"ada"' not in json.dumps([w.notifications.documents, w.recipients.documents], default=str)


async def test_the_second_missed_session_in_a_row_escalates_to_the_registered_contacts() -> None:
    w = world()
    await _paired(w)
    await w.use_cases.people.register_escalation_contact(
        w.org, "pat", ContactDetails(display_name="Pat Admin", email="pat@example.com")
    )
    first = _missed(w, 1, "s1")
    await w.use_cases.notify.announce(first, cause(first, "missed-1"))
    assert await w.of("pat") == []
    second = _missed(w, 2, "s2")
    await w.use_cases.notify.announce(second, cause(second, "missed-2"))
    escalation = await w.one("pat", "session_missed_escalation")
    assert escalation.title == "Ada Lovelace and Grace Hopper missed 2 sessions in a row"
    await w.sweep()
    assert [o.recipient_email for o in w.email.sent if o.recipient_id == "pat"] == ["pat@example.com"]


async def test_contact_details_never_override_a_profile() -> None:
    w = world()
    await w.register("pat", "Pat Admin")
    details = ContactDetails(display_name="Someone Else", email="else@example.com")
    await w.use_cases.people.register_escalation_contact(w.org, "pat", details)
    recipient = await w.recipients.get(recipient_id(w.org, "pat"))
    assert recipient is not None
    assert (recipient.display_name, recipient.email) == ("Pat Admin", "pat@example.com")
    assert await w.use_cases.people.escalation_contacts(w.org) == ["pat"]


async def test_the_feed_pages_newest_first_counts_unread_and_marks_read() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    for n in range(5):
        w.clock.advance(timedelta(minutes=1))
        event = _missed(w, session=f"s{n}")
        await w.use_cases.notify.announce(event, cause(event, f"missed-{n}"))
    page = await w.use_cases.feed.page(w.org, "ada", limit=2)
    assert (len(page.items), page.total, page.unread) == (2, 5, 5)
    newest = page.items[0]
    assert newest.cause_event_id == "missed-4"
    read = await w.use_cases.feed.mark_read(w.org, "ada", newest.id)
    assert read is not None
    assert read.read_at == w.clock.now()
    assert await w.use_cases.feed.mark_read(w.org, "grace", newest.id) is None, "only one's own"
    assert await w.use_cases.feed.mark_all_read(w.org, "ada") == 4
    assert (await w.use_cases.feed.page(w.org, "ada")).unread == 0
    assert (await w.use_cases.feed.page(w.org, "ada", unread_only=True)).items == []


async def test_retention_forgets_notifications_past_the_period() -> None:
    w = world()
    await w.register("ada", "Ada Lovelace")
    event = _missed(w)
    await w.use_cases.notify.announce(event, cause(event))
    await w.use_cases.feed.forget_old(START + timedelta(days=179))
    assert len(await w.of("ada")) == 1
    await w.use_cases.feed.forget_old(START + timedelta(days=181))
    assert await w.of("ada") == []


async def test_time_critical_messages_overtake_a_backlog() -> None:
    w = world(batch_size=1)
    await _paired(w)
    for n in range(3):
        event = _missed(w, session=f"backlog-{n}")
        await w.use_cases.notify.announce(event, cause(event, f"missed-{n}"))
    w.clock.advance(timedelta(seconds=1))
    soon = _scheduled(w, 1, timedelta(hours=2))
    await w.use_cases.notify.session_scheduled(soon, cause(soon, "soon"))
    await w.sweep()
    [first] = w.email.sent + w.chat.sent
    assert first.kind in ("session_invite", "session_reminder")


async def test_a_message_written_while_its_subject_is_erased_is_taken_back_after_the_write() -> None:
    """The handler read ada as not erased, her erasure ran, then the handler wrote: the check it
    makes after its write finds her tombstone and takes back what names her."""
    w = world()
    await _paired(w)
    event = _missed(w, session="s9")
    # Read before the erasure: the directory, and the recipients the messages go to.
    directory, recipients = await w.use_cases.notify.look_up(w.org, audience(event))
    await w.use_cases.people.erase(ProfileErased(org_id=w.org, version=3, person_id="ada", erased_at=START))
    found = messages_for(event, directory)
    await w.use_cases.notify.notify(w.org, cause(event, "racing"), found, directory, recipients)
    assert await w.of("ada") == []
    stored = json.dumps([w.notifications.documents], default=str)
    assert '"ada"' not in stored
    assert "Ada Lovelace" not in stored
