"""Goals, challenges, a mentor's topics and personality answers reach the engine from the profile
events (issue 11, defect 4), and erasure forgets them with the rest."""

from __future__ import annotations

import pytest
from matching import handlers
from matching.domain.personality import QUESTIONS, personality_vector
from matching.domain.program import Program, ProgramSettings
from matching.use_cases import erasure, requests
from matching.use_cases.context import Caller
from mentorship_schemas import MentorAvailable, ProfileRegistered
from mentorship_schemas.events import PersonRole

from tests.kafka_records import cloud_event
from tests.matching.fakes import START, InMemoryMatching

pytestmark = pytest.mark.fast
ORG = "acme"


async def _register(mem: InMemoryMatching, person: str, role: PersonRole, **facts: object) -> None:
    event = ProfileRegistered(
        org_id=ORG, version=1, person_id=person, roles=[role], display_name=person.title(),
        email=f"{person}@example.com", languages=["en"], timezone="Europe/Paris", **facts,
    )  # fmt: skip
    await handlers.on_profile_registered(mem.context, event, cloud_event(event, "profiles"))
    if role is PersonRole.MENTOR:
        available = MentorAvailable(org_id=ORG, version=2, person_id=person, capacity=1, active_mentees=0)
        await handlers.on_mentor_available(mem.context, available, cloud_event(available, "profiles"))


async def test_goals_and_personality_answers_from_profile_events_show_in_the_breakdown() -> None:
    mem = InMemoryMatching.new()
    # Not continuous: nobody is paired, so the test reads ada's suggestions.
    await mem.programs.create(
        Program.create(ORG, "open", ProgramSettings(name="Open", continuous=False), START)
    )
    await _register(
        mem, "ada", PersonRole.MENTEE, skills_wanted=["python"],
        goals="Lead a data platform migration", challenges="stakeholder negotiation feels hard",
        personality={"energy": "calm", "Feedback": "direct", "favourite colour": "green"},
    )  # fmt: skip
    await _register(
        mem, "mira", PersonRole.MENTOR, skills_offered=["python"],
        can_help_with=["data platform migration", "negotiation with stakeholders"],
        personality={"energy": "introvert", "feedback": "5"},
    )  # fmt: skip
    await _register(
        mem, "otto", PersonRole.MENTOR, skills_offered=["python"], can_help_with=["kubernetes"],
        personality={"energy": "outgoing", "feedback": "gentle", "structure": "strongly agree"},
    )  # fmt: skip

    suggested = {s.mentor_id: s for s in await requests.suggestions(mem.context, Caller(ORG, "ada"), None, 5)}
    mira, otto = suggested["mira"], suggested["otto"]
    assert mira.breakdown["goals"] > 0, "ada's goals meet mira's topics"
    assert otto.breakdown["goals"] == 0
    assert mira.breakdown["personality"] > otto.breakdown["personality"] > 0

    # Her request's withdrawal keeps an anonymous tombstone: nothing of what she wrote stays.
    await requests.ask_mentor(mem.context, Caller(ORG, "ada"), "mira", None, None)
    await erasure.forget_person(mem.context, ORG, "ada")
    seat = await mem.seat(ORG, "ada")
    kept = (seat.goals, seat.challenges, seat.personality, seat.display_name, seat.title, seat.person_id)
    assert kept == (None, None, {}, None, None, "erased")
    assert "negotiation" not in str(mem.seats.documents)


def test_the_questionnaire_maps_known_answers_to_one_to_five_and_ignores_the_rest() -> None:
    assert QUESTIONS == ("energy", "structure", "feedback", "pace")
    assert personality_vector({"energy": "calm", "pace": "4", "mood": "happy"}) == (1, 3, 3, 4)
    assert personality_vector({"Structure": "Strongly Agree", "feedback": "blunt"}) == (3, 5, 5, 3)
    assert personality_vector({"energy": "purple", "hobby": "chess"}) == ()
    assert personality_vector({}) == ()
