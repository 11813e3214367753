"""Sessions' subscribers and sweeps.

PairCreated / CircleFormed draft the agreement and schedule the first (kick-off) session; PairEnded
closes the relationship and cancels its future sessions; ProfileErased removes the person's private
notes and feedback text. Sweeps (over the time-partitioned due indexes, reading only what is due):
missed sessions -> SessionMissed, overdue action items -> ActionItemOverdue, and the health check
that time alone can trigger (no session for N cadences, agreement unsigned, end near).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mentorship_schemas import (
    ActionItemOverdue,
    CircleFormed,
    CloudEvent,
    PairCreated,
    PairEnded,
    ProfileErased,
    SessionMissed,
)
from pymongo.asynchronous.collection import AsyncCollection
from servicekit.due_index import DueEntry, TimePartitionedDueIndex
from servicekit.ids import derived_id
from servicekit.runtime import ServiceRuntime

from sessions.domain.attendance import (
    first_session_window,
    is_missed,
    missed_cutoff,
    sessions_missed_in_a_row,
)
from sessions.relationships import (
    SYSTEM_ACTOR,
    Change,
    NotFound,
    RelationshipStore,
    cancel_session,
    find_session,
    new_session,
    participants,
)

Document = dict[str, Any]


def draft_relationship(
    store: RelationshipStore,
    *,
    pair_id: str,
    org_id: str,
    program_id: str,
    kind: str,
    participant_ids: list[str],
    started_at: datetime,
    mentor_id: str | None = None,
    mentee_id: str | None = None,
    facilitator_rota: list[str] | None = None,
    topics: list[str] | None = None,
) -> tuple[Document, Change]:
    """A new relationship: the agreement drafted with the program's defaults, and a kick-off
    session (to agree on it) scheduled `first_session_after` the pairing."""
    policy = store.policy
    timezones = dict.fromkeys(participant_ids, "UTC")
    anchor = mentee_id or participant_ids[0]
    document: Document = {
        "_id": pair_id,
        "org_id": org_id,
        "program_id": program_id,
        "kind": kind,
        "participant_ids": participant_ids,
        "mentor_id": mentor_id,
        "mentee_id": mentee_id,
        "facilitator_rota": facilitator_rota or [],
        "status": "active",
        "started_at": started_at,
        "agreement": {
            "revision": 1,
            "drafted_at": started_at,
            "goals": list(topics or []),
            "roles": {
                **({mentor_id: "mentor"} if mentor_id else {}),
                **({mentee_id: "mentee"} if mentee_id else {}),
            },
            "cadence": policy.default_cadence.value,
            "duration_minutes": int(policy.duration.total_seconds() // 60) or 1,
            "ends_on": None,
            "starts_on": None,
            "boundaries": None,
            "channel": None,
            "modality": None,
            "meeting_link": None,
            "timezone": timezones[anchor],
            "timezones": timezones,
            "local_time": policy.default_local_time.strftime("%H:%M"),
            "weekday": None,
            "signatures": {},
            "signed_at": None,
        },
        "sessions": [],
        "action_items": [],
        "goals": [],
        "health": {"episode_open": False, "episodes": 0},
        "version": 1,
    }
    change = Change()
    starts_at, ends_at = first_session_window(started_at, policy.first_session_after, policy.duration)
    # The kick-off keeps the id the first version of this service gave it.
    new_session(document, derived_id(pair_id, "session", "1"), "kickoff", starts_at, ends_at, change)
    return document, change


def register(
    runtime: ServiceRuntime,
    store: RelationshipStore,
    notes: AsyncCollection[Document],
    *,
    sweep_every: float,
    sweep_batch: int,
) -> None:
    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        document, change = draft_relationship(
            store,
            pair_id=event.pair_id,
            org_id=event.org_id,
            program_id=event.program_id,
            kind="pair",
            participant_ids=[event.mentee_id, event.mentor_id],
            started_at=envelope.time,
            mentor_id=event.mentor_id,
            mentee_id=event.mentee_id,
        )
        await store.create(document, change)  # a redelivery finds it and changes nothing

    @runtime.consumer.on(CircleFormed)
    async def on_circle_formed(event: CircleFormed, envelope: CloudEvent) -> None:
        document, change = draft_relationship(
            store,
            pair_id=event.circle_id,
            org_id=event.org_id,
            program_id=event.program_id,
            kind="circle",
            participant_ids=list(event.member_ids),
            started_at=envelope.time,
            facilitator_rota=list(event.facilitator_rota),
            topics=list(event.topics),
        )
        await store.create(document, change)

    @runtime.consumer.on(PairEnded)
    async def on_pair_ended(event: PairEnded, envelope: CloudEvent) -> None:
        def end(document: Document, now: datetime, change: Change) -> None:
            if document["status"] == "ended":
                return
            document.update(status="ended", ended_at=event.ended_at, end_reason=event.reason.value)
            for session in document["sessions"]:
                if session["status"] == "scheduled" and session["starts_at"] > now:
                    cancel_session(
                        document, session, SYSTEM_ACTOR, f"pair ended: {event.reason.value}", now, change
                    )

        if await store.change(event.pair_id, end, org_id=event.org_id) is None:
            # PairEnded overtook PairCreated: keep a closed relationship, so the late PairCreated
            # finds it and schedules nothing.
            document, _ = draft_relationship(
                store,
                pair_id=event.pair_id,
                org_id=event.org_id,
                program_id=event.program_id,
                kind="pair",
                participant_ids=[event.mentee_id, event.mentor_id],
                started_at=event.ended_at,
                mentor_id=event.mentor_id,
                mentee_id=event.mentee_id,
            )
            document.update(
                sessions=[], status="ended", ended_at=event.ended_at, end_reason=event.reason.value
            )
            await store.create(document, Change())

    @runtime.consumer.on(ProfileErased)
    async def on_profile_erased(event: ProfileErased, envelope: CloudEvent) -> None:
        await notes.delete_many({"org_id": event.org_id, "author_id": event.person_id})
        cursor = store.relationships.find(
            {"org_id": event.org_id, "participant_ids": event.person_id}, {"_id": 1}
        )
        pair_ids = [document["_id"] async for document in cursor]

        def erase(document: Document, now: datetime, change: Change) -> None:
            for session in document["sessions"]:
                feedback = session.get("feedback", {}).get(event.person_id)
                if feedback:
                    feedback.pop("text", None)
                    feedback.pop("thanks_note", None)
                session["agenda"] = [
                    {**item, "text": "(erased)"} if item.get("author_id") == event.person_id else item
                    for item in session["agenda"]
                ]

        for pair_id in pair_ids:
            await store.change(pair_id, erase, org_id=event.org_id)

    runtime.sweep("missed-sessions", sweep_every, lambda now: sweep_missed_sessions(store, now, sweep_batch))
    runtime.sweep(
        "overdue-action-items", sweep_every, lambda now: sweep_overdue_action_items(store, now, sweep_batch)
    )
    runtime.sweep(
        "relationship-health", sweep_every, lambda now: sweep_relationship_health(store, now, sweep_batch)
    )


async def _handle_due(
    store: RelationshipStore, index: TimePartitionedDueIndex, cutoff: datetime, batch: int, act: Any
) -> int:
    emitted = 0
    for entry in await index.find_due(cutoff, batch):
        emitted += await act(entry)
        await index.remove(entry)
    await index.tidy(store.runtime.clock.now())
    return emitted


async def sweep_missed_sessions(store: RelationshipStore, now: datetime, batch: int) -> int:
    """Sessions not held by their end plus the grace period, nor cancelled -> SessionMissed."""
    grace = store.policy.grace

    async def act(entry: DueEntry) -> int:
        def miss(document: Document, at: datetime, change: Change) -> None:
            try:
                session = find_session(document, entry.key)
            except NotFound:
                return  # an orphan entry (its write never completed): nothing to do
            if not is_missed(session["status"], session["ends_at"], at, grace):
                return  # held, cancelled, or moved later (its new entry is elsewhere)
            earlier = sorted(
                (s for s in document["sessions"] if s["starts_at"] < session["starts_at"]),
                key=lambda s: s["starts_at"],
                reverse=True,
            )
            session.update(
                status="missed",
                missed_at=at,
                version=session["version"] + 1,
                missed_in_a_row=sessions_missed_in_a_row(s["status"] for s in earlier),
            )
            change.emit(
                SessionMissed(
                    org_id=document["org_id"],
                    version=session["version"],
                    session_id=session["session_id"],
                    pair_id=document["_id"],
                    participant_ids=participants(document),
                    starts_at=session["starts_at"],
                    missed_in_a_row=session["missed_in_a_row"],
                ),
                # Derived from the session: two replicas sweeping at once yield one event id,
                # and the write is conditional on the version, so only one of them lands.
                derived_id(session["session_id"], "missed"),
            )

        result = await store.change(entry.payload["pair_id"], miss)
        return len(result[1].events) if result else 0

    return await _handle_due(store, store.session_due, missed_cutoff(now, grace), batch, act)


async def sweep_overdue_action_items(store: RelationshipStore, now: datetime, batch: int) -> int:
    """Open action items past their due date -> ActionItemOverdue (once per due date)."""

    async def act(entry: DueEntry) -> int:
        def overdue(document: Document, at: datetime, change: Change) -> None:
            for item in document["action_items"]:
                if item["item_id"] == entry.key and item["status"] == "open" and not item.get("overdue_at"):
                    if item["due_at"] > at:
                        return
                    item.update(overdue_at=at, version=item["version"] + 1)
                    change.emit(
                        ActionItemOverdue(
                            org_id=document["org_id"],
                            version=item["version"],
                            action_item_id=item["item_id"],
                            pair_id=document["_id"],
                            owner_id=item["owner_id"],
                            title=item["title"],
                            due_at=item["due_at"],
                        ),
                        derived_id(item["item_id"], "overdue", item["due_at"].isoformat()),
                    )

        result = await store.change(entry.payload["pair_id"], overdue)
        return len(result[1].events) if result else 0

    return await _handle_due(store, store.action_due, now, batch, act)


async def sweep_relationship_health(store: RelationshipStore, now: datetime, batch: int) -> int:
    """Re-assess pairs whose health time alone may have changed -> Stagnant / Recovered."""

    async def act(entry: DueEntry) -> int:
        # No change of its own: `change` re-assesses health, which is what time may have moved.
        result = await store.change(entry.payload["pair_id"], lambda document, at, change: None)
        return len(result[1].events) if result else 0

    return await _handle_due(store, store.health_due, now, batch, act)
