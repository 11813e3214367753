"""What a new agreement is pre-filled with, from the pairing and the people's profiles:

- each participant's own timezone (UTC only when we know none);
- the recurring slot kept in the mentee's timezone (a circle: the timezone most members share),
  at the program's usual time if it falls in everyone's working hours, else the first time that does;
- the mentor's preferred cadence (else the mentee's, else the program's) and the mentor's first
  modality the mentee also accepts (else the mentor's first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta

from mentorship_schemas.events import Cadence

from sessions.domain.agreement import AgreementTerms
from sessions.domain.cadence import zone
from sessions.domain.people import Person
from sessions.domain.policy import SessionsPolicy
from sessions.domain.working_hours import first_slot, shared_local_time

DEFAULT_TIMEZONE = "UTC"
# A profile's modality -> the agreement's (modality, channel).
MODALITIES: dict[str, tuple[str, str | None]] = {
    "in_person": ("in_person", None),
    "video": ("remote", "video call"),
    "chat": ("remote", "chat"),
}


def drafted_terms(
    participant_ids: Sequence[str],
    people: Mapping[str, Person],
    policy: SessionsPolicy,
    started_at: datetime,
    *,
    mentor_id: str | None = None,
    mentee_id: str | None = None,
    topics: Sequence[str] = (),
) -> AgreementTerms:
    timezones = {person: _timezone_of(people.get(person)) for person in participant_ids}
    schedule_timezone = schedule_timezone_of(participant_ids, timezones, mentee_id)
    duration = policy.duration if policy.duration > timedelta(0) else timedelta(minutes=1)
    local_time = shared_local_time(
        started_at,
        duration,
        zone(schedule_timezone),
        [zone(name) for name in dict.fromkeys([schedule_timezone, *timezones.values()])],
        policy.working_hours,
        policy.default_local_time,
    )
    mentor, mentee = people.get(mentor_id or ""), people.get(mentee_id or "")
    modality, channel = modality_of(mentor, mentee)
    return AgreementTerms(
        goals=list(topics),
        roles={
            **({mentor_id: "mentor"} if mentor_id else {}),
            **({mentee_id: "mentee"} if mentee_id else {}),
        },
        cadence=cadence_of(mentor, mentee, policy.default_cadence),
        duration_minutes=int(policy.duration.total_seconds() // 60) or 1,
        timezone=schedule_timezone,
        timezones=timezones,
        local_time=local_time.strftime("%H:%M"),
        modality=modality,
        channel=channel,
    )


def schedule_timezone_of(
    participant_ids: Sequence[str], timezones: Mapping[str, str], mentee_id: str | None
) -> str:
    """The mentee's timezone; without a mentee, the one most participants share (the first
    participant's among equals)."""
    if mentee_id is not None:
        return timezones.get(mentee_id, DEFAULT_TIMEZONE)
    known = [timezones[person] for person in participant_ids if person in timezones]
    if not known:
        return DEFAULT_TIMEZONE
    counts = Counter(known)
    return max(known, key=lambda name: counts[name])  # max keeps the first of equal counts


def cadence_of(mentor: Person | None, mentee: Person | None, default: Cadence) -> Cadence:
    for person in (mentor, mentee):
        if person is not None and person.preferred_cadence is not None:
            return person.preferred_cadence
    return default


def modality_of(mentor: Person | None, mentee: Person | None) -> tuple[str | None, str | None]:
    offered = [m for m in (mentor.modalities if mentor else ()) if m in MODALITIES]
    accepted = set(mentee.modalities if mentee else ())
    shared = [m for m in offered if m in accepted] if accepted else offered
    chosen = shared or offered
    return MODALITIES[chosen[0]] if chosen else (None, None)


def _timezone_of(person: Person | None) -> str:
    return person.timezone if person is not None and person.timezone else DEFAULT_TIMEZONE


def kickoff_window(
    started_at: datetime, terms: AgreementTerms, policy: SessionsPolicy
) -> tuple[datetime, datetime]:
    """The kick-off: at least `first_session_after` after pairing (time to read the draft) and
    within `first_session_within`, on a working day in everyone's working hours, at the agreement's
    usual time when it fits that day. Timezones that share no working hours: the schedule
    timezone's working hours alone. `kickoff_in_working_hours` off (runs in seconds): exactly
    `first_session_after` after pairing."""
    duration = policy.duration  # the program's (the agreement's is whole minutes; runs in seconds use less)
    earliest = started_at + policy.first_session_after
    if not policy.kickoff_in_working_hours:
        return earliest, earliest + duration
    latest = started_at + max(policy.first_session_within, policy.first_session_after)
    schedule_tz = zone(terms.timezone)
    everyone = [zone(name) for name in dict.fromkeys([terms.timezone, *terms.timezones.values()])]
    usual = time.fromisoformat(terms.local_time)
    hours = policy.working_hours
    starts_at = (
        first_slot(earliest, latest, duration, schedule_tz, everyone, hours, usual)
        or first_slot(earliest, latest, duration, schedule_tz, [schedule_tz], hours, usual)
        or earliest
    )
    return starts_at, starts_at + duration
