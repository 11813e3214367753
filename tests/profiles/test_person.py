"""The Person aggregate (domain, no I/O): registration, revision, mentor load, erasure, and reading a
stored document that is somehow malformed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mentorship_schemas import (
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from profiles.domain.availability import Availability
from profiles.domain.person import InvalidProfile, Person, PersonErased, ProfileStatus
from pydantic import ValidationError
from servicekit.aggregates import Emitted

pytestmark = pytest.mark.fast

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GRACE: dict[str, Any] = {
    "display_name": "Grace Hopper",
    "email": "grace@example.com",
    "roles": ["mentor"],
    "mentor_capacity": 2,
    "goals": "Grow mentors",
}


def types(emitted: list[Emitted]) -> list[str]:
    return [type(item.event).__name__ for item in emitted]


def registered(values: dict[str, Any] | None = None) -> Person:
    person, _ = Person.register("acme", "grace", values or GRACE, NOW)
    return person


def test_registering_a_mentor_with_free_places_announces_the_profile_and_availability_at_version_1() -> None:
    person, emitted = Person.register("acme", "grace", GRACE, NOW)
    assert types(emitted) == ["ProfileRegistered", "MentorAvailable"]
    assert {item.event.version for item in emitted} == {1}
    assert person.version == 1
    assert person.id == "acme:grace"
    assert (person.timezone, person.locale, person.accepting_mentees) == ("UTC", "en", True)
    assert person.availability is Availability.AVAILABLE
    facts = emitted[0].event
    assert isinstance(facts, ProfileRegistered)
    assert (facts.display_name, facts.roles) == ("Grace Hopper", ["mentor"])


def test_registering_a_mentee_announces_no_availability() -> None:
    _, emitted = Person.register(
        "acme", "ada", {"display_name": "Ada", "email": "ada@example.com", "roles": ["mentee"]}, NOW
    )
    assert types(emitted) == ["ProfileRegistered"]


def test_a_mentee_only_profile_may_not_offer_a_mentor_capacity() -> None:
    mentee = {"display_name": "Ada", "email": "ada@example.com", "roles": ["mentee"], "mentor_capacity": 3}
    with pytest.raises(InvalidProfile) as refused:
        Person.register("acme", "ada", mentee, NOW)
    assert refused.value.field == "mentor_capacity"
    ada = registered({**mentee, "mentor_capacity": 0})
    with pytest.raises(InvalidProfile):
        ada.revise({"mentor_capacity": 2}, NOW)
    changed, _ = ada.revise({"roles": ["mentee", "mentor"], "mentor_capacity": 2}, NOW)
    assert changed == ["mentor_capacity", "roles"], "with the mentor role the capacity is fine"


def test_revising_reports_only_the_fields_that_changed_and_stamps_the_time_only_then() -> None:
    person = registered()
    later = NOW + timedelta(hours=1)
    changed, emitted = person.revise({"display_name": "Grace Hopper", "title": "Rear admiral"}, later)
    assert changed == ["title"]
    assert types(emitted) == ["ProfileUpdated"]
    event = emitted[0].event
    assert isinstance(event, ProfileUpdated)
    assert (event.changed_fields, event.version, event.title) == (["title"], 2, "Rear admiral")
    assert person.updated_at == later
    assert person.revise({"title": "Rear admiral"}, later + timedelta(hours=1)) == ([], [])
    assert person.updated_at == later


def test_pausing_an_available_mentor_announces_unavailable_paused_and_resuming_announces_available() -> None:
    person = registered()
    _, emitted = person.revise({"accepting_mentees": False}, NOW)
    assert types(emitted) == ["ProfileUpdated", "MentorUnavailable"]
    unavailable = emitted[1].event
    assert isinstance(unavailable, MentorUnavailable)
    assert unavailable.reason == "paused"
    person.version += 1  # what the store does when it saves
    _, emitted = person.revise({"accepting_mentees": True}, NOW)
    assert types(emitted) == ["ProfileUpdated", "MentorAvailable"]
    assert emitted[1].event.version == 3


def test_a_revision_may_not_set_a_required_field_to_null() -> None:
    person = registered()
    with pytest.raises(ValidationError):
        person.revise({"locale": None}, NOW)
    assert person.locale == "en"


def test_inclusion_is_kept_only_with_consent_and_announced_on_change() -> None:
    person = registered()
    given = {"consented": True, "attributes": {"erg": "women-in-tech"}}
    changed, emitted = person.revise({"inclusion": given}, NOW)
    assert changed == ["inclusion"]
    assert types(emitted) == ["InclusionAttributesChanged"]
    assert person.inclusion is not None
    assert person.inclusion.attributes == {"erg": "women-in-tech"}
    assert person.revise({"inclusion": given}, NOW) == ([], []), "the same consent again changes nothing"
    _, emitted = person.revise({"inclusion": {"consented": False}}, NOW)
    withdrawn = emitted[0].event
    assert isinstance(withdrawn, InclusionAttributesChanged)
    assert (withdrawn.consented, withdrawn.attributes) == (False, {})
    assert person.inclusion is None


def test_each_pair_counts_once_whatever_the_delivery_order() -> None:
    person = registered()
    assert types(person.start_pair("p1", "created-p1")) == []
    assert person.start_pair("p1", "another-delivery") == [], "the same pair again"
    emitted = person.start_pair("p2", "created-p2")
    assert types(emitted) == ["MentorUnavailable"]
    assert person.availability is Availability.AT_CAPACITY
    assert person.end_pair("p3", "ended-p3") == []
    assert person.start_pair("p3", "created-p3") == [], "a PairCreated after its PairEnded never counts"
    emitted = person.end_pair("p1", "ended-p1")
    assert types(emitted) == ["MentorAvailable"]
    available = emitted[0].event
    assert isinstance(available, MentorAvailable)
    assert (available.capacity, available.active_mentees) == (2, 1)
    assert person.end_pair("p1", "ended-p1-again") == []
    assert person.active_pair_ids == ["p2"]


def test_an_effect_of_an_event_has_an_id_derived_from_that_event() -> None:
    first, second = registered(), registered()
    first.start_pair("p1", "cause")
    second.start_pair("p1", "cause")
    assert first.start_pair("p2", "cause-2")[0].event_id == second.start_pair("p2", "cause-2")[0].event_id


def test_erasure_leaves_an_anonymous_tombstone_and_tells_that_the_mentor_left() -> None:
    skills = [{"name": "cobol", "level": "expert", "in_taxonomy": False}]
    person, _ = Person.register("acme", "e42", {**GRACE, "skills_offered": skills}, NOW)
    emitted = person.erase(NOW)
    assert types(emitted) == ["ProfileErased", "MentorUnavailable"]
    erased, left = emitted[0].event, emitted[1].event
    assert isinstance(erased, ProfileErased)
    assert erased.erased_at == NOW
    assert isinstance(left, MentorUnavailable)
    assert left.reason == "left"
    assert person.status is ProfileStatus.ERASED
    stored = str(person.to_document()).lower()
    for personal in ("grace", "hopper", "grow mentors", "cobol"):
        assert personal not in stored, personal
    assert person.email == "erased:acme:e42", "unique per person, says nothing about them"
    assert person.erase(NOW) == [], "erasing twice changes nothing"
    with pytest.raises(PersonErased):
        person.revise({"title": "back"}, NOW)
    assert person.start_pair("p9", "late-pair") == []


def test_a_stored_document_with_a_null_default_field_reads_with_the_default_and_says_so() -> None:
    document = {**registered().to_document(), "locale": None, "interests": None, "personality": {"a": 1}}
    person = Person.model_validate(document)
    assert (person.locale, person.interests, person.personality) == ("en", [], {})
    assert person.repaired_fields == ("interests", "locale", "personality")


def test_a_stored_document_without_a_name_is_unreadable() -> None:
    document = registered().to_document()
    del document["display_name"]
    with pytest.raises(ValidationError):
        Person.model_validate(document)
