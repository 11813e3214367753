"""The Notification, Recipient and SessionReminders aggregates and the sweep's decision for one
delivery (domain, no I/O): planning, recording attempts, the events with the aggregate's version,
withdrawal, digests and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from mentorship_schemas import NotificationFailed, NotificationSent, ProfileRegistered
from mentorship_schemas.events import NotificationChannel, PersonRole
from notifications.domain.delivery import Drop, Hold, Send, next_step, queue_entries
from notifications.domain.messages import Message
from notifications.domain.notification import (
    Cause,
    DeliveryStatus,
    DigestState,
    Notification,
    Planning,
    RetryPolicy,
    SkipReason,
    notification_id,
    sent_event_id,
)
from notifications.domain.preferences import Category, CategoryPreference, DigestMode, Preferences, QuietHours
from notifications.domain.recipient import Recipient, RecipientErased
from notifications.domain.reminders import SessionReminders
from servicekit.ids import derived_id

pytestmark = pytest.mark.fast
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
EMAIL, CHAT, IN_APP = NotificationChannel.EMAIL, NotificationChannel.CHAT, NotificationChannel.IN_APP
EVERYWHERE = Planning(available=frozenset(NotificationChannel))
CAUSE = Cause("event-1", "mentorship.sessions.SessionMissed.v1")


def _message(**overrides: object) -> Message:
    fields: dict[str, object] = {
        "recipient_id": "ada",
        "kind": "session_missed",
        "category": Category.SESSIONS,
        "title": "Your session with Grace Hopper was missed",
        "body": "Grace Hopper (grace@example.com) and you did not meet.",
        "action": "Pick a new time now.",
    }
    return Message(**{**fields, **overrides})  # type: ignore[arg-type]


def _ada(**preferences: object) -> Recipient:
    ada = Recipient.new("acme", "ada")
    ada.apply_profile(
        ProfileRegistered(
            org_id="acme",
            version=1,
            person_id="ada",
            roles=[PersonRole.MENTEE],
            display_name="Ada Lovelace",
            email="ada@example.com",
            timezone="Europe/London",
        )
    )
    if preferences:
        ada.set_preferences(Preferences(default=CategoryPreference.model_validate(preferences)))
    return ada


def _planned(
    message: Message | None = None, recipient: Recipient | None = None, planning: Planning = EVERYWHERE
) -> tuple[Notification, list[NotificationSent]]:
    notification, emitted = Notification.plan(
        message or _message(),
        org_id="acme",
        cause=CAUSE,
        recipient=recipient if recipient is not None else _ada(),
        mentions=["grace", "ada"],
        planning=planning,
        now=NOW,
    )
    return notification, [e.event for e in emitted if isinstance(e.event, NotificationSent)]


def _saved(notification: Notification) -> None:
    """What the aggregate store does after a change: the next version."""
    notification.version += 1


def test_a_new_notification_enters_the_feed_at_once_with_its_first_version() -> None:
    notification, [sent] = _planned()
    assert notification.id == derived_id("ada", "event-1", "session_missed")
    assert notification.id == notification_id("ada", "event-1", "session_missed")
    assert (notification.version, notification.in_feed, notification.feed_at) == (1, True, NOW)
    assert (sent.version, sent.channel, sent.cause_event_id) == (1, IN_APP, "event-1")
    assert notification.deliveries[EMAIL].status is DeliveryStatus.SCHEDULED
    assert {e.channel for e in queue_entries(notification)} == {EMAIL, CHAT}


def test_channels_the_deployment_lacks_or_an_address_missing_are_skipped_when_planned() -> None:
    no_email = _ada()
    no_email.email = None
    notification, _ = _planned(recipient=no_email, planning=Planning(available=frozenset({IN_APP, EMAIL})))
    assert notification.deliveries[EMAIL].reason == SkipReason.NO_EMAIL
    assert notification.deliveries[CHAT].reason == SkipReason.NOT_CONFIGURED
    assert queue_entries(notification) == []


def test_a_reminder_waits_for_its_moment_and_is_urgent() -> None:
    at = NOW + timedelta(days=1)
    reminder = _message(kind="session_reminder", not_before=at, expires_at=at + timedelta(hours=24))
    notification, sent = _planned(reminder)
    assert sent == []
    assert not notification.in_feed
    assert notification.deliveries[IN_APP].due_at == at
    assert all(entry.urgent for entry in queue_entries(notification))


def test_recording_a_send_twice_publishes_one_event_carrying_the_next_version() -> None:
    notification, _ = _planned()
    first = notification.record_sent(EMAIL, NOW)
    _saved(notification)
    assert notification.record_sent(EMAIL, NOW) == [], "a repeat records nothing"
    [emitted] = first
    assert isinstance(emitted.event, NotificationSent)
    assert emitted.event.version == 2
    assert emitted.event_id == sent_event_id(notification.id, EMAIL)
    assert emitted.event_id != sent_event_id(notification.id, IN_APP)
    chat = notification.record_sent(CHAT, NOW)
    assert chat[0].event.version == 3


def test_failures_back_off_until_the_last_attempt_then_notification_failed() -> None:
    notification, _ = _planned()
    retry = RetryPolicy(max_attempts=3, backoff_seconds=60, backoff_max_seconds=3600)
    retry_at, emitted = notification.record_failure(CHAT, NOW, error="503", transient=True, retry=retry)
    assert (retry_at, emitted) == (NOW + timedelta(seconds=60), [])
    retry_at, _ = notification.record_failure(CHAT, NOW, error="503", transient=True, retry=retry)
    assert retry_at == NOW + timedelta(seconds=120)
    retry_at, [failed] = notification.record_failure(CHAT, NOW, error="503", transient=True, retry=retry)
    assert retry_at is None
    assert isinstance(failed.event, NotificationFailed)
    assert (failed.event.attempts, failed.event.version) == (3, 2)
    assert failed.event_id == derived_id(notification.id, "chat", "failed")
    assert notification.deliveries[CHAT].status is DeliveryStatus.FAILED
    assert notification.record_failure(CHAT, NOW, error="x", transient=True, retry=retry) == (None, [])


def test_a_permanent_error_fails_at_once() -> None:
    notification, _ = _planned()
    retry_at, [failed] = notification.record_failure(
        EMAIL, NOW, error="550 no such user", transient=False, retry=RetryPolicy()
    )
    assert retry_at is None
    assert isinstance(failed.event, NotificationFailed)
    assert failed.event.attempts == 1


def test_withdrawing_stops_only_what_has_not_gone_out() -> None:
    notification, _ = _planned()
    notification.record_sent(EMAIL, NOW)
    notification.withdraw(SkipReason.CANCELLED)
    assert notification.deliveries[EMAIL].status is DeliveryStatus.SENT
    assert notification.deliveries[IN_APP].status is DeliveryStatus.SENT
    assert (notification.deliveries[CHAT].status, notification.deliveries[CHAT].reason) == (
        DeliveryStatus.SKIPPED,
        "cancelled",
    )


def test_forgetting_a_person_scrubs_their_name_and_email_and_drops_the_calendar() -> None:
    notification, _ = _planned(_message(calendar="BEGIN:VCALENDAR..."))
    notification.forget_person("grace", ["Grace Hopper", "grace@example.com"])
    assert notification.title == "Your session with a former participant was missed"
    assert "grace" not in notification.body.lower()
    assert notification.calendar is None
    assert notification.mentions == ["ada"]


def test_a_digest_collects_each_message_once_until_it_goes_out() -> None:
    daily = _ada(digest="daily", chat=False)
    first, _ = _planned(recipient=daily)
    second, _ = Notification.plan(
        _message(kind="goal_achieved"),
        org_id="acme",
        cause=CAUSE,
        recipient=daily,
        mentions=[],
        planning=EVERYWHERE,
        now=NOW,
    )
    delivery = first.deliveries[EMAIL]
    assert delivery.status is DeliveryStatus.DIGESTED
    assert delivery.digest_key == "daily:2026-11-27"
    assert delivery.digest_id == second.deliveries[EMAIL].digest_id, "one summary per slot"
    digest = Notification.digest(of=first, channel=EMAIL, delivery=delivery, now=NOW)
    assert digest.collect(first) == (True, [])
    assert digest.collect(first) == (True, [])
    assert digest.collect(second) == (True, [])
    entries, _ = digest.close_digest()
    assert [e.notification_id for e in entries] == [first.id, second.id]
    late, _ = _planned(_message(kind="action_item_overdue"), recipient=daily)
    assert digest.collect(late) == (False, []), "a closed summary takes nothing more"
    assert digest.digest_state is DigestState.SENDING
    late.send_alone(EMAIL, NOW)
    assert (late.deliveries[EMAIL].status, late.deliveries[EMAIL].due_at) == (DeliveryStatus.SCHEDULED, NOW)


def test_the_sweep_drops_holds_or_sends_by_the_current_preferences() -> None:
    notification, _ = _planned()
    ada = _ada()
    assert next_step(notification, EMAIL, recipient=ada, configured=False, now=NOW) == Drop(
        "channel not configured"
    )
    assert next_step(notification, EMAIL, recipient=None, configured=True, now=NOW) == Drop(
        "recipient unknown"
    )
    assert next_step(notification, EMAIL, recipient=ada, configured=True, now=NOW) == Send(None)
    ada.set_preferences(Preferences(default=CategoryPreference(email=False)))
    assert next_step(notification, EMAIL, recipient=ada, configured=True, now=NOW) == Drop("channel off")
    night = QuietHours(start=time(11), end=time(13))  # London is on UTC in November
    ada.set_preferences(Preferences(default=CategoryPreference(quiet_hours=night, max_per_day=3)))
    assert next_step(notification, EMAIL, recipient=ada, configured=True, now=NOW) == Hold(
        NOW + timedelta(hours=1)
    )
    later = NOW + timedelta(hours=2)
    assert next_step(notification, EMAIL, recipient=ada, configured=True, now=later) == Send(3)
    notification.count_against_cap(EMAIL)
    assert next_step(notification, EMAIL, recipient=ada, configured=True, now=later) == Send(None)


def test_a_reminder_due_after_its_moment_is_dropped_as_too_late() -> None:
    ends = NOW + timedelta(hours=1)
    notification, _ = _planned(_message(kind="session_reminder", expires_at=ends))
    assert next_step(notification, EMAIL, recipient=_ada(), configured=True, now=ends) == Drop("too late")


def test_the_daily_cap_counts_per_channel_and_category_and_reopens_at_local_midnight() -> None:
    ada = _ada()
    first, _ = ada.take_send_slot(EMAIL, Category.SESSIONS, 1, NOW)
    second, _ = ada.take_send_slot(EMAIL, Category.SESSIONS, 1, NOW)
    other, _ = ada.take_send_slot(CHAT, Category.SESSIONS, 1, NOW)
    assert (first.allowed, second.allowed, other.allowed) == (True, False, True)
    assert second.retry_at == datetime(2026, 11, 27, tzinfo=UTC)


def test_a_recipient_takes_newer_profiles_only_and_stays_erased() -> None:
    ada = _ada()
    older = ProfileRegistered(
        org_id="acme",
        version=1,
        person_id="ada",
        roles=[PersonRole.MENTEE],
        display_name="A",
        email="a@x.example",
    )
    ada.apply_profile(older)
    assert ada.display_name == "Ada Lovelace"
    ada.erase(NOW)
    assert (ada.display_name, ada.email, ada.preferences, ada.erased) == (None, None, None, True)
    ada.apply_profile(older.model_copy(update={"version": 9}))
    assert ada.display_name is None
    with pytest.raises(RecipientErased):
        ada.set_preferences(Preferences())
    assert ada.set_contact_details(display_name="Ada", email=None, timezone=None) == []
    assert ada.display_name is None


def test_preferences_are_stored_as_json_values_and_unreadable_ones_fall_back_to_defaults() -> None:
    ada = _ada(quiet_hours={"start": "22:00", "end": "07:00"}, digest="weekly")
    stored = ada.to_document()
    assert stored["preferences"]["default"]["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    assert Recipient.model_validate(stored).preference_for(Category.SESSIONS).digest is DigestMode.WEEKLY
    garbled = Recipient.model_validate({**stored, "preferences": {"default": {"digest": "hourly"}}})
    assert garbled.preferences is None
    assert garbled.preference_for(Category.SESSIONS) == CategoryPreference()


def test_session_reminders_follow_the_newest_version_of_the_session() -> None:
    reminders = SessionReminders.new("acme", "s1")
    reminders.schedule(2, ["r2"])
    assert reminders.is_stale(1)
    assert reminders.superseded_by(2) == []
    assert reminders.superseded_by(3) == ["r2"]
    reminders.schedule(1, ["r1"])
    assert (reminders.session_version, reminders.notification_ids) == (2, ["r2"])
    reminders.cancel(3)
    assert (reminders.session_version, reminders.notification_ids) == (3, [])
    assert reminders.is_stale(2), "a schedule older than the cancellation sets nothing again"
