"""Notifications' subscribers: profile events keep our copy of each recipient; every other event
becomes messages (domain) which the scheduler stores once per (recipient, cause event, kind)."""

from __future__ import annotations

from typing import Any

from mentorship_schemas import (
    ActionItemOverdue,
    CircleFormed,
    CloudEvent,
    GoalAchieved,
    MatchProposed,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipStagnant,
    SessionCancelled,
    SessionMissed,
    SessionScheduled,
)
from servicekit.ids import derived_id
from servicekit.runtime import ServiceRuntime

from notifications import store
from notifications.domain import messages
from notifications.domain.messages import SessionTiming
from notifications.scheduling import Scheduler


def register(
    runtime: ServiceRuntime, scheduler: Scheduler, *, timing: SessionTiming, organizer_email: str
) -> None:
    recipients = runtime.db[store.RECIPIENTS]
    pairs = runtime.db[store.PAIRS]
    reminders = runtime.db[store.SESSION_REMINDERS]

    async def keep_profile(event: ProfileRegistered | ProfileUpdated) -> None:
        # Newer versions only, and never over an erasure's tombstone. Read, then write by
        # `_id`: one person's events share a partition, so
        # one consumer handles them in order and nothing races between the two.
        key = store.person_key(event.org_id, event.person_id)
        known = await recipients.find_one({"_id": key}, {"erased": 1, "profile_version": 1})
        if known is not None and (
            known.get("erased") or (known.get("profile_version") or 0) >= event.version
        ):
            return
        await recipients.update_one(
            {"_id": key},
            {
                "$set": {
                    "org_id": event.org_id,
                    "person_id": event.person_id,
                    "display_name": event.display_name,
                    "email": event.email,
                    "timezone": event.timezone,
                    "locale": event.locale,
                    "profile_version": event.version,
                }
            },
            upsert=True,
        )

    @runtime.consumer.on(ProfileRegistered)
    async def on_profile_registered(event: ProfileRegistered, envelope: CloudEvent) -> None:
        await keep_profile(event)

    @runtime.consumer.on(ProfileUpdated)
    async def on_profile_updated(event: ProfileUpdated, envelope: CloudEvent) -> None:
        await keep_profile(event)

    @runtime.consumer.on(ProfileErased)
    async def on_profile_erased(event: ProfileErased, envelope: CloudEvent) -> None:
        """Remove the person's contact points, preferences and messages; keep a tombstone so a
        late event cannot bring them back."""
        key = store.person_key(event.org_id, event.person_id)
        # First take their name and email out of other people's messages, while we still know them
        # (a redelivery after a crash in between still finds them).
        known = await recipients.find_one({"_id": key}) or {}
        names = [v for v in (known.get("display_name"), known.get("email")) if v]
        await scheduler.forget_mentions(event.org_id, event.person_id, names)
        await recipients.replace_one(
            {"_id": key},
            {
                "org_id": event.org_id,
                "person_id": event.person_id,
                "erased": True,
                "erased_at": event.erased_at,
            },
            upsert=True,
        )
        who = {"org_id": event.org_id, "recipient_id": event.person_id}
        await runtime.db[store.DELIVERY_QUEUE].delete_many(who)
        await runtime.db[store.NOTIFICATIONS].delete_many(who)
        await runtime.db[store.ESCALATION_CONTACTS].update_one(
            {"_id": event.org_id}, {"$pull": {"admin_ids": event.person_id}}
        )

    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        await pairs.update_one(
            {"_id": store.person_key(event.org_id, event.pair_id)},
            {"$set": {"org_id": event.org_id, "mentor_id": event.mentor_id, "mentee_id": event.mentee_id}},
            upsert=True,
        )
        directory = await scheduler.directory(
            event.org_id, [event.mentor_id, event.mentee_id], with_admins=False
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_pair_created(event, directory), directory=directory
        )

    @runtime.consumer.on(MentorshipRequested)
    async def on_mentorship_requested(event: MentorshipRequested, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(
            event.org_id, [event.mentor_id, event.mentee_id], with_admins=False
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_mentorship_requested(event, directory), directory=directory
        )

    @runtime.consumer.on(PairDeclined)
    async def on_pair_declined(event: PairDeclined, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(
            event.org_id, [event.mentor_id, event.mentee_id], with_admins=False
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_pair_declined(event, directory), directory=directory
        )

    @runtime.consumer.on(MatchProposed)
    async def on_match_proposed(event: MatchProposed, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(
            event.org_id, [event.mentor_id, event.mentee_id], with_admins=True
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_match_proposed(event, directory), directory=directory
        )

    @runtime.consumer.on(CircleFormed)
    async def on_circle_formed(event: CircleFormed, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(
            event.org_id, [*event.member_ids, *event.facilitator_rota[:1]], with_admins=False
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_circle_formed(event, directory), directory=directory
        )

    @runtime.consumer.on(SessionScheduled)
    async def on_session_scheduled(event: SessionScheduled, envelope: CloudEvent) -> None:
        """The invite, the reminder and the agenda prompt; a reschedule (a newer version of the
        session) withdraws the reminders of the time before."""
        key = store.person_key(event.org_id, event.session_id)
        known: dict[str, Any] | None = await reminders.find_one({"_id": key})
        if known is not None and known["version"] > event.version:
            return  # an older schedule arriving late: the newer one already set the reminders
        if known is not None and known["version"] < event.version:
            await scheduler.withdraw(known.get("notification_ids") or [], "rescheduled")
        pair: dict[str, Any] | None = await pairs.find_one(
            {"_id": store.person_key(event.org_id, event.pair_id)}
        )
        directory = await scheduler.directory(event.org_id, event.participant_ids, with_admins=False)
        found = messages.for_session_scheduled(
            event,
            directory,
            mentee_id=(pair or {}).get("mentee_id"),
            now=runtime.clock.now(),
            timing=timing,
            organizer_email=organizer_email,
        )
        await scheduler.notify(event.org_id, envelope, found, directory=directory)
        pending = [
            derived_id(m.recipient_id, envelope.id, m.kind)
            for m in found
            if m.kind in messages.SESSION_REMINDER_KINDS
        ]
        # By bare `_id`: one session's events share a partition, so they arrive one at a time.
        await reminders.update_one(
            {"_id": key},
            {"$set": {"org_id": event.org_id, "version": event.version, "notification_ids": pending}},
            upsert=True,
        )

    @runtime.consumer.on(SessionCancelled)
    async def on_session_cancelled(event: SessionCancelled, envelope: CloudEvent) -> None:
        key = store.person_key(event.org_id, event.session_id)
        known = await reminders.find_one({"_id": key})
        if known is not None and known["version"] < event.version:
            await scheduler.withdraw(known.get("notification_ids") or [], "cancelled")
            # Keep the version, so a stale schedule arriving late sets no reminders again.
            await reminders.update_one(
                {"_id": key}, {"$set": {"version": event.version, "notification_ids": []}}
            )

    @runtime.consumer.on(SessionMissed)
    async def on_session_missed(event: SessionMissed, envelope: CloudEvent) -> None:
        escalate = event.missed_in_a_row >= messages.ESCALATE_AFTER_MISSED_IN_A_ROW
        directory = await scheduler.directory(event.org_id, event.participant_ids, with_admins=escalate)
        await scheduler.notify(
            event.org_id, envelope, messages.for_session_missed(event, directory), directory=directory
        )

    @runtime.consumer.on(RelationshipStagnant)
    async def on_relationship_stagnant(event: RelationshipStagnant, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(event.org_id, event.participant_ids, with_admins=True)
        await scheduler.notify(
            event.org_id, envelope, messages.for_relationship_stagnant(event, directory), directory=directory
        )

    @runtime.consumer.on(ActionItemOverdue)
    async def on_action_item_overdue(event: ActionItemOverdue, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(event.org_id, [event.owner_id], with_admins=False)
        await scheduler.notify(
            event.org_id, envelope, messages.for_action_item_overdue(event, directory), directory=directory
        )

    @runtime.consumer.on(GoalAchieved)
    async def on_goal_achieved(event: GoalAchieved, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(event.org_id, event.participant_ids, with_admins=False)
        await scheduler.notify(
            event.org_id, envelope, messages.for_goal_achieved(event, directory), directory=directory
        )

    @runtime.consumer.on(PairEnded)
    async def on_pair_ended(event: PairEnded, envelope: CloudEvent) -> None:
        directory = await scheduler.directory(
            event.org_id, [event.mentor_id, event.mentee_id], with_admins=False
        )
        await scheduler.notify(
            event.org_id, envelope, messages.for_pair_ended(event, directory), directory=directory
        )
