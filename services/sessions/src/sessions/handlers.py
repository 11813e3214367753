"""Sessions' subscribers and sweep: PairCreated schedules the first session; the sweep turns
sessions that passed unattended into SessionMissed."""

from __future__ import annotations

from datetime import datetime, timedelta

from mentorship_schemas import CloudEvent, PairCreated, SessionMissed, SessionScheduled
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.runtime import ServiceRuntime

from sessions.domain.attendance import first_session_window, missed_cutoff, sessions_missed_in_a_row
from sessions.store import earlier_statuses, find_due_sessions


def register(
    runtime: ServiceRuntime,
    *,
    first_session_after: timedelta,
    duration: timedelta,
    grace: timedelta,
    sweep_every: float,
    sweep_batch: int,
) -> None:
    sessions = runtime.db["sessions"]
    relationships = runtime.db["relationships"]

    @runtime.consumer.on(PairCreated)
    async def on_pair_created(event: PairCreated, envelope: CloudEvent) -> None:
        participants = [event.mentee_id, event.mentor_id]
        await relationships.update_one(
            {"_id": event.pair_id},
            {
                "$setOnInsert": {
                    "org_id": event.org_id,
                    "pair_id": event.pair_id,
                    "mentor_id": event.mentor_id,
                    "mentee_id": event.mentee_id,
                    "program_id": event.program_id,
                    "status": "active",
                    "started_at": envelope.time,
                }
            },
            upsert=True,
        )
        session_id = derived_id(event.pair_id, "session", "1")
        starts_at, ends_at = first_session_window(envelope.time, first_session_after, duration)
        scheduled = SessionScheduled(
            org_id=event.org_id,
            version=1,
            session_id=session_id,
            pair_id=event.pair_id,
            participant_ids=participants,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        entry = runtime.entry(scheduled, event_id=derived_id(session_id, "scheduled"))
        # $setOnInsert: a redelivered PairCreated finds the session and changes nothing.
        await sessions.update_one(
            {"_id": session_id},
            {
                "$setOnInsert": {
                    "org_id": event.org_id,
                    "pair_id": event.pair_id,
                    "participant_ids": participants,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "status": "scheduled",
                    "version": 1,
                    "outbox": [entry],
                    "outbox_pending": True,
                }
            },
            upsert=True,
        )
        runtime.events_written()

    async def sweep_missed_sessions(now: datetime) -> int:
        emitted = 0
        async for session in find_due_sessions(sessions, missed_cutoff(now, grace), sweep_batch):
            in_a_row = sessions_missed_in_a_row(await earlier_statuses(sessions, session))
            version = session["version"] + 1
            missed = SessionMissed(
                org_id=session["org_id"],
                version=version,
                session_id=session["_id"],
                pair_id=session["pair_id"],
                participant_ids=session["participant_ids"],
                starts_at=session["starts_at"],
                missed_in_a_row=in_a_row,
            )
            # Conditional on still being scheduled, and the event id derives from the session:
            # two replicas sweeping at once yield one SessionMissed.
            result = await sessions.update_one(
                {"_id": session["_id"], "status": "scheduled", "version": session["version"]},
                with_outbox(
                    {"$set": {"status": "missed", "version": version, "missed_at": now}},
                    [runtime.entry(missed, event_id=derived_id(session["_id"], "missed"))],
                ),
            )
            emitted += result.modified_count
        return emitted

    runtime.sweep("missed-sessions", sweep_every, sweep_missed_sessions)
