"""The relationship use cases on a document in memory (no I/O): signing starts the cadence, the
horizon is kept topped up within the agreement's end, and health changes open and close one
episode each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas.events import Cadence
from sessions.relationships import (
    Change,
    Rejected,
    SessionsPolicy,
    reassess,
    sign_agreement,
    top_up_cadence,
)

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
POLICY = SessionsPolicy(horizon_sessions=3, default_cadence=Cadence.WEEKLY)


def _pair(cadence: str = "weekly", ends_on: datetime | None = None) -> dict[str, Any]:
    return {
        "_id": "pair-1",
        "org_id": "org",
        "program_id": "p",
        "kind": "pair",
        "participant_ids": ["ada", "grace"],
        "facilitator_rota": [],
        "status": "active",
        "started_at": T0,
        "agreement": {
            "revision": 1,
            "drafted_at": T0,
            "cadence": cadence,
            "duration_minutes": 60,
            "ends_on": ends_on,
            "starts_on": None,
            "timezone": "Europe/London",
            "timezones": {"ada": "Europe/London", "grace": "UTC"},
            "local_time": "10:00",
            "weekday": None,
            "meeting_link": "https://meet.example/abc",
            "signatures": {},
            "signed_at": None,
        },
        "sessions": [],
        "action_items": [],
        "goals": [],
        "health": {"episode_open": False, "episodes": 0},
        "version": 1,
    }


def _types(change: Change) -> list[str]:
    return [type(event).__name__ for event, _ in change.events]


def test_the_last_signature_emits_agreement_signed_and_starts_the_cadence() -> None:
    document, change = _pair(), Change()
    sign_agreement(document, "ada", T0, change)
    top_up_cadence(document, T0, POLICY, change)
    assert change.events == []
    assert document["sessions"] == []
    sign_agreement(document, "grace", T0 + timedelta(hours=1), change)
    top_up_cadence(document, T0 + timedelta(hours=1), POLICY, change)
    assert _types(change) == ["AgreementSigned"] + ["SessionScheduled"] * 3
    assert [s["starts_at"].isoformat() for s in document["sessions"]] == [
        "2030-01-08T10:00:00+00:00",
        "2030-01-15T10:00:00+00:00",
        "2030-01-22T10:00:00+00:00",
    ]
    assert {s["location"] for s in document["sessions"]} == {"https://meet.example/abc"}
    with pytest.raises(Rejected):
        sign_agreement(document, "ada", T0, Change())


def test_resolving_a_cadence_session_schedules_the_next_one_and_only_once() -> None:
    document, change = _pair(), Change()
    for person in ("ada", "grace"):
        sign_agreement(document, person, T0, change)
    top_up_cadence(document, T0, POLICY, change)
    document["sessions"][0]["status"] = "held"
    later = Change()
    top_up_cadence(document, T0 + timedelta(days=2), POLICY, later)
    top_up_cadence(document, T0 + timedelta(days=2), POLICY, later)
    assert _types(later) == ["SessionScheduled"]
    assert [s["index"] for s in document["sessions"]] == [0, 1, 2, 3]


def test_no_session_is_scheduled_past_the_agreements_end() -> None:
    document, change = _pair(ends_on=T0 + timedelta(days=10)), Change()
    for person in ("ada", "grace"):
        sign_agreement(document, person, T0, change)
    top_up_cadence(document, T0, POLICY, change)
    assert len(document["sessions"]) == 2


@settings(max_examples=50, deadline=None)
@given(
    cadence=st.sampled_from([c.value for c in Cadence]),
    resolved=st.lists(st.sampled_from(["held", "missed", "cancelled"]), max_size=12),
)
def test_horizon_is_kept_and_session_ids_never_repeat(cadence: str, resolved: list[str]) -> None:
    document, change = _pair(cadence), Change()
    for person in ("ada", "grace"):
        sign_agreement(document, person, T0, change)
    now = T0
    top_up_cadence(document, now, POLICY, change)
    for status in resolved:
        upcoming = next(s for s in document["sessions"] if s["status"] == "scheduled")
        upcoming["status"] = status
        now = max(now, upcoming["starts_at"])
        top_up_cadence(document, now, POLICY, change)
    ids = [s["session_id"] for s in document["sessions"]]
    assert len(ids) == len(set(ids))
    assert sum(1 for s in document["sessions"] if s["status"] == "scheduled" and s["starts_at"] > now) >= 2
    starts = [s["starts_at"] for s in document["sessions"]]
    assert starts == sorted(starts)


def test_stagnation_is_announced_once_per_episode_and_recovery_closes_it() -> None:
    document = _pair()
    document["agreement"]["signed_at"] = T0
    document["sessions"] = [
        {"session_id": f"s{n}", "starts_at": T0 + timedelta(days=n), "status": "missed", "feedback": {}}
        for n in (1, 2)
    ]
    first, second = Change(), Change()
    reassess(document, T0 + timedelta(days=3), POLICY, first)
    reassess(document, T0 + timedelta(days=4), POLICY, second)
    assert _types(first) == ["RelationshipStagnant"]
    assert second.events == []
    document["sessions"].append(
        {"session_id": "s3", "starts_at": T0 + timedelta(days=5), "status": "held", "feedback": {}}
    )
    recovered = Change()
    reassess(document, T0 + timedelta(days=5), POLICY, recovered)
    assert _types(recovered) == ["RelationshipRecovered"]
    stagnant_event, stagnant_id = first.events[0]
    recovered_event, recovered_id = recovered.events[0]
    assert stagnant_event.episode_id == recovered_event.episode_id  # type: ignore[attr-defined]
    assert stagnant_id != recovered_id
    again = Change()
    document["sessions"] += [
        {"session_id": f"s{n}", "starts_at": T0 + timedelta(days=n), "status": "missed", "feedback": {}}
        for n in (6, 7)
    ]
    reassess(document, T0 + timedelta(days=8), POLICY, again)
    assert again.events[0][0].episode_id != stagnant_event.episode_id  # type: ignore[attr-defined]
