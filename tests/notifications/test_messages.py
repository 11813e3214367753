"""What each event tells each person (domain, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

from mentorship_schemas import PairCreated, SessionMissed
from notifications.domain.messages import for_pair_created, for_session_missed


def test_pair_created_tells_both_people_who_and_why() -> None:
    event = PairCreated(
        org_id="o",
        version=1,
        pair_id="p",
        program_id="open",
        mentor_id="m",
        mentee_id="e",
        score=0.9,
        reasons=["offers python"],
    )
    messages = for_pair_created(event, {"m": "Grace Hopper", "e": "Ada"})
    assert {m.recipient_id for m in messages} == {"m", "e"}
    to_mentee = next(m for m in messages if m.recipient_id == "e")
    assert "Grace Hopper" in to_mentee.title
    assert "offers python" in to_mentee.body


def test_session_missed_tells_every_participant_and_the_streak() -> None:
    event = SessionMissed(
        org_id="o",
        version=2,
        session_id="s",
        pair_id="p",
        participant_ids=["a", "b"],
        starts_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
        missed_in_a_row=2,
    )
    messages = for_session_missed(event)
    assert [m.recipient_id for m in messages] == ["a", "b"]
    assert all("2 missed in a row" in m.body and m.kind == "session_missed" for m in messages)
