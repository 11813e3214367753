"""What each event tells each person: pure functions from an event to in-app messages."""

from __future__ import annotations

from dataclasses import dataclass

from mentorship_schemas import PairCreated, SessionMissed


@dataclass(frozen=True)
class Message:
    recipient_id: str
    kind: str
    title: str
    body: str


def for_pair_created(event: PairCreated, names: dict[str, str]) -> list[Message]:
    mentor = names.get(event.mentor_id, "your mentor")
    mentee = names.get(event.mentee_id, "your mentee")
    why = f" Why: {'; '.join(event.reasons)}." if event.reasons else ""
    prompt = " Agree on your goals and how often you will meet in your first session."
    return [
        Message(
            event.mentee_id,
            "pair_created",
            f"You have a mentor: {mentor}",
            f"You and {mentor} are now a mentorship pair.{why}{prompt}",
        ),
        Message(
            event.mentor_id,
            "pair_created",
            f"You have a new mentee: {mentee}",
            f"You and {mentee} are now a mentorship pair.{why}{prompt}",
        ),
    ]


def for_session_missed(event: SessionMissed) -> list[Message]:
    streak = f" That is {event.missed_in_a_row} missed in a row." if event.missed_in_a_row > 1 else ""
    when = event.starts_at.strftime("%Y-%m-%d %H:%M UTC")
    return [
        Message(
            person,
            "session_missed",
            "Your mentorship session was missed",
            f"The session planned for {when} did not take place.{streak} Pick a new time now.",
        )
        for person in event.participant_ids
    ]
