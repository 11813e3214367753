"""Profiles' use cases on the in-memory people store: who may do what, conflicts, pause and resume,
erasure, search, the HR import and the mentor load, without Kafka or a server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from profiles.domain.availability import Availability
from profiles.domain.person import InvalidProfile, ProfileStatus
from profiles.hr_import import UnreadableImport, import_profiles
from profiles.models import ProfileChanges, ProfileIn
from profiles.use_cases import (
    Actor,
    Conflict,
    ImportStatus,
    NotAllowed,
    ProfileNotFound,
    ProfileQuery,
)
from pydantic import ValidationError

from tests.profiles.fakes import profiles_on_memory

pytestmark = pytest.mark.fast

ADA: dict[str, Any] = {
    "display_name": "Ada Lovelace",
    "email": "ada@example.com",
    "roles": ["mentee", "mentor"],
    "skills_offered": ["Python"],
    "mentor_capacity": 1,
}


def actor(person: str, *, admin: bool = False, hr: bool = False, org: str = "acme") -> Actor:
    return Actor(person_id=person, org_id=org, is_admin=admin or hr, is_hr_admin=hr)


def published(people: Any) -> list[str]:
    return [type(item.event).__name__ for item in people.published]


async def test_a_person_registers_themselves_and_only_admins_register_someone_else() -> None:
    profiles, people, _ = profiles_on_memory()
    ada = await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    assert (ada.person_id, ada.skills_offered[0].name, ada.skills_offered[0].in_taxonomy) == (
        "ada",
        "python",
        True,
    )
    other = ProfileIn.model_validate({**ADA, "person_id": "grace", "email": "grace@example.com"})
    with pytest.raises(NotAllowed):
        await profiles.register(actor("ada"), other)
    assert (await profiles.register(actor("boss", admin=True), other)).person_id == "grace"
    assert published(people) == ["ProfileRegistered", "MentorAvailable"] * 2


async def test_a_second_profile_with_the_same_employee_id_or_email_is_a_conflict_naming_it() -> None:
    profiles, _, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    with pytest.raises(Conflict) as same_id:
        await profiles.register(actor("ada"), ProfileIn.model_validate({**ADA, "email": "x@example.com"}))
    assert same_id.value.field == "person_id"
    with pytest.raises(Conflict) as same_email:
        await profiles.register(actor("grace"), ProfileIn.model_validate(ADA))
    assert same_email.value.field == "email"
    await profiles.register(actor("grace"), ProfileIn.model_validate({**ADA, "email": "grace@example.com"}))
    with pytest.raises(Conflict) as taken:
        await profiles.revise(actor("grace"), "grace", ProfileChanges(email="ada@example.com"))
    assert taken.value.field == "email"
    assert (await profiles.read(actor("grace"), "grace")).email == "grace@example.com"
    assert await profiles.register(actor("ada", org="globex"), ProfileIn.model_validate(ADA))


async def test_a_caller_whose_token_names_no_valid_employee_id_cannot_register() -> None:
    profiles, people, _ = profiles_on_memory()
    with pytest.raises(InvalidProfile) as refused:
        await profiles.register(actor("ada\x00"), ProfileIn.model_validate(ADA))
    assert refused.value.field == "person_id"
    assert people.documents == {}


async def test_a_mentee_only_profile_with_a_mentor_capacity_is_refused_and_not_stored() -> None:
    profiles, people, _ = profiles_on_memory()
    mentee = ProfileIn.model_validate({**ADA, "roles": ["mentee"], "mentor_capacity": 2})
    with pytest.raises(InvalidProfile) as refused:
        await profiles.register(actor("ada"), mentee)
    assert refused.value.field == "mentor_capacity"
    assert people.documents == {}
    assert people.published == []


async def test_another_persons_profile_is_not_allowed_and_another_orgs_is_not_found() -> None:
    profiles, _, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    with pytest.raises(NotAllowed):
        await profiles.read(actor("grace"), "ada")
    with pytest.raises(NotAllowed):
        await profiles.revise(actor("grace"), "ada", ProfileChanges(title="x"))
    with pytest.raises(ProfileNotFound):
        await profiles.read(actor("boss", admin=True, org="globex"), "ada")
    assert (await profiles.read(actor("boss", admin=True), "ada")).title is None


async def test_pause_and_resume_announce_availability_once_each() -> None:
    profiles, people, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    for change, expected in (
        (profiles.pause, Availability.PAUSED),
        (profiles.pause, Availability.PAUSED),
        (profiles.resume, Availability.AVAILABLE),
    ):
        assert (await change(actor("ada"), "ada")).availability is expected
    assert published(people)[2:] == [
        "ProfileUpdated",
        "MentorUnavailable",
        "ProfileUpdated",
        "MentorAvailable",
    ]
    assert (await profiles.read(actor("ada"), "ada")).version == 3, "the second pause changed nothing"


async def test_erasure_by_the_person_or_hr_leaves_a_tombstone_and_drops_unsent_events() -> None:
    profiles, people, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    with pytest.raises(NotAllowed):
        await profiles.erase(actor("boss", admin=True), "ada")
    await profiles.erase(actor("ada"), "ada")
    erasure = people.published[-2:]
    assert [type(item.event).__name__ for item in erasure] == ["ProfileErased", "MentorUnavailable"]
    assert people.discarded_except == [[item.event_id for item in erasure]]
    with pytest.raises(ProfileNotFound):
        await profiles.read(actor("ada"), "ada")
    with pytest.raises(ProfileNotFound):
        await profiles.erase(actor("hr", hr=True), "ada")
    assert people.documents["acme:ada"]["status"] == ProfileStatus.ERASED.value
    assert "Lovelace" not in json.dumps(people.documents["acme:ada"], default=str)


async def test_search_is_for_admins_and_matches_skills_through_the_taxonomy() -> None:
    profiles, _, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate(ADA))
    grace = {"display_name": "Grace", "email": "grace@example.com", "roles": ["mentee"]}
    await profiles.register(actor("grace"), ProfileIn.model_validate(grace))
    with pytest.raises(NotAllowed):
        await profiles.search(actor("ada"), ProfileQuery(), 1, 20)
    admin = actor("boss", admin=True)
    found = await profiles.search(admin, ProfileQuery(skill="PYTHON"), 1, 20)
    assert [p.person_id for p in found.people] == ["ada"]
    second_page = await profiles.search(admin, ProfileQuery(), 2, 1)
    assert (second_page.total, [p.person_id for p in second_page.people]) == (2, ["grace"])


async def test_an_import_row_creates_then_leaves_unchanged_then_updates_and_never_revives_the_erased() -> (
    None
):
    profiles, _, _ = profiles_on_memory()
    hr = actor("hr", hr=True)
    row = ProfileIn.model_validate({**ADA, "person_id": "e1"})
    assert await profiles.import_profile(hr, "e1", row) is ImportStatus.CREATED
    assert await profiles.import_profile(hr, "e1", row) is ImportStatus.UNCHANGED
    renamed = ProfileIn.model_validate({**ADA, "person_id": "e1", "display_name": "Ada King"})
    assert await profiles.import_profile(hr, "e1", renamed) is ImportStatus.UPDATED
    await profiles.erase(hr, "e1")
    with pytest.raises(Conflict) as erased:
        await profiles.import_profile(hr, "e1", row)
    assert erased.value.field == "person_id"
    with pytest.raises(NotAllowed):
        await profiles.import_profile(actor("ada"), "e1", row)


async def test_a_csv_import_reports_each_bad_row_and_applies_only_the_good_ones() -> None:
    profiles, people, _ = profiles_on_memory()
    body = (
        b"person_id,display_name,email,roles,mentor_capacity,accepting_mentees,personality\n"
        b"e1,Edsger,edsger@example.com,mentor,3,yes,\n"
        b"e2,Barbara,barbara@example.com,mentee,2,,\n"  # a mentee with a capacity
        b"e3,Ken,ken@example.com,mentor,lots,,\n"  # not a number
        b"e4,Dennis,dennis@example.com,mentor,1,maybe,\n"  # not a yes/no
        b"e5,Niklaus\x00,niklaus@example.com,mentee,,,\n"  # a NUL in a name
        b"e6,Frances,frances@example.com,mentee,,,calm\n"  # personality is not a CSV cell
        b",Nobody,nobody@example.com,mentee,,,\n"  # no employee id
    )
    report = await import_profiles(profiles, actor("hr", hr=True), body, "text/csv")
    assert (report.created, report.invalid) == (1, 6), report
    fields = {row.row: row.errors[0].field for row in report.rows if row.status is ImportStatus.INVALID}
    assert fields == {
        2: "mentor_capacity",
        3: "mentor_capacity",
        4: "accepting_mentees",
        5: "display_name",
        6: "personality",
        7: "person_id",
    }
    assert list(people.documents) == ["acme:e1"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\xff\xfe not utf-8", "text/csv"),
        (b"{not json", "application/json"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"rows": "everyone"}', "application/json"),
        (b"person_id\n" + b"x" * 200_000, "text/csv"),  # a cell over the CSV reader's limit
    ],
)
async def test_an_unreadable_import_body_is_refused_as_a_whole(body: bytes, content_type: str) -> None:
    profiles, people, _ = profiles_on_memory()
    with pytest.raises(UnreadableImport):
        await import_profiles(profiles, actor("hr", hr=True), body, content_type)
    assert people.documents == {}


async def test_an_employee_may_not_import() -> None:
    profiles, _, _ = profiles_on_memory()
    with pytest.raises(NotAllowed):
        await import_profiles(profiles, actor("ada"), b"[]", "application/json")


async def test_mentor_load_counts_each_pair_once_in_any_order_and_announces_transitions_only() -> None:
    profiles, people, _ = profiles_on_memory()
    await profiles.register(actor("ada"), ProfileIn.model_validate({**ADA, "mentor_capacity": 2}))
    for pair, cause in (("p1", "c1"), ("p1", "c1-again"), ("p2", "c2")):
        await profiles.count_pair_started("acme", "ada", pair, cause)
    await profiles.count_pair_ended("acme", "ada", "p3", "e3")
    await profiles.count_pair_started("acme", "ada", "p3", "c3")
    await profiles.count_pair_ended("acme", "ada", "p1", "e1")
    await profiles.count_pair_ended("acme", "ada", "p1", "e1-again")
    await profiles.count_pair_started("acme", "nobody", "p9", "c9")  # no such mentor: nothing
    ada = await profiles.read(actor("ada"), "ada")
    assert ada.active_pair_ids == ["p2"]
    assert published(people) == [
        "ProfileRegistered",
        "MentorAvailable",
        "MentorUnavailable",
        "MentorAvailable",
    ]
    await profiles.count_pair_started("globex", "ada", "p4", "c4")
    assert (await profiles.read(actor("ada"), "ada")).active_pair_ids == ["p2"]


def test_null_for_a_field_that_has_a_default_is_refused_by_the_request_model() -> None:
    for field in ("locale", "timezone", "accepting_mentees", "interests", "peer_mentoring", "modalities"):
        with pytest.raises(ValidationError) as refused:
            ProfileIn.model_validate({**ADA, field: None})
        assert [error["loc"] for error in refused.value.errors()] == [(field,)]
    assert ProfileChanges.model_validate({"title": None}).model_fields_set == {"title"}, "null clears a title"


def test_a_role_language_or_modality_given_twice_counts_once() -> None:
    twice = {"roles": ["mentor", "mentor"], "languages": ["en", "fr", "en"], "modalities": ["chat", "chat"]}
    profile = ProfileIn.model_validate({**ADA, **twice})
    assert (profile.roles, profile.languages, profile.modalities) == (["mentor"], ["en", "fr"], ["chat"])


async def test_a_sealed_erasure_keeps_no_id_and_still_refuses_the_person_back() -> None:
    profiles, people, _ = profiles_on_memory()
    hr = actor("hr", hr=True)
    await profiles.import_profile(hr, "e1", ProfileIn.model_validate({**ADA, "person_id": "e1"}))
    await profiles.erase(hr, "e1")
    assert await people.seal_erasures() == 1
    assert not any("e1" in json.dumps(doc, default=str) for doc in people.documents.values())
    with pytest.raises(Conflict):
        await profiles.import_profile(hr, "e1", ProfileIn.model_validate({**ADA, "person_id": "e1"}))
    with pytest.raises(Conflict):
        await profiles.register(actor("e1"), ProfileIn.model_validate(ADA))
