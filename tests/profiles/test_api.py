"""Profiles' HTTP API against the real store and Kafka: every endpoint and each bad-input case."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mentorship_schemas import InclusionAttributesChanged, ProfileErased, ProfileUpdated
from profiles.domain.person import Person
from profiles.store import ERASED, PeopleStore

from tests.conftest import Infra
from tests.kafka_records import read_topic
from tests.profiles.conftest import ProfilesClient
from tests.waiting import eventually

ADA: dict[str, Any] = {
    "display_name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "title": "Analyst",
    "department": "research",
    "level": "mid",
    "years_experience": 4,
    "manager_id": "charles",
    "timezone": "Europe/London",
    "languages": ["en", "fr"],
    "roles": ["mentee", "mentor"],
    "skills_offered": [{"name": "Python", "level": "expert"}, {"name": "poetry", "level": "advanced"}],
    "skills_wanted": ["leadership"],
    "goals": "Lead a team within a year",
    "communication_style": "reflective",
    "mentor_capacity": 2,
    "boundaries": {"topics_out": ["salary"], "longest_cadence": "monthly"},
    "preferred_cadence": "biweekly",
    "modalities": ["video"],
}


async def _register(client: ProfilesClient, person: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.http.post("/profiles", headers=client.auth(person), json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_registering_stores_the_full_profile_with_skills_from_the_taxonomy(
    profiles: ProfilesClient,
) -> None:
    profile = await _register(profiles, "ada", ADA)
    assert profile["email"] == "ada@example.com"
    assert profile["skills_offered"] == [
        {"name": "python", "level": "expert", "in_taxonomy": True},
        {"name": "poetry", "level": "advanced", "in_taxonomy": False},  # free-text fallback
    ]
    assert profile["skills_wanted"] == [{"name": "leadership", "target_level": None, "in_taxonomy": True}]
    assert profile["availability"] == "available"
    assert profile["version"] == 1
    read = await profiles.http.get("/profiles/ada", headers=profiles.auth("ada"))
    assert read.json() == profile


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"skills_offered": [{"name": "python", "level": "wizard"}]}, "skills_offered"),
        ({"mentor_capacity": 21}, "mentor_capacity"),
        ({"mentor_capacity": -1}, "mentor_capacity"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"languages": ["english"]}, "languages"),
        ({"languages": ["en-gb"]}, "languages"),
        ({"email": "ada-at-example.com"}, "email"),
        ({"display_name": "x" * 201}, "display_name"),
        ({"goals": "x" * 2001}, "goals"),
        ({"skills_wanted": ["s"] * 51}, "skills_wanted"),
        ({"roles": []}, "roles"),
        ({"preferred_cadence": "daily"}, "preferred_cadence"),
        ({"favourite_colour": "green"}, "favourite_colour"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(
    profiles: ProfilesClient, change: dict[str, Any], field: str
) -> None:
    response = await profiles.http.post("/profiles", headers=profiles.auth("ada"), json={**ADA, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"].split(".")[0] for e in response.json()["errors"]}
    assert await profiles.people.count_documents({}) == 0


async def test_duplicate_employee_id_or_email_in_the_org_is_a_conflict(profiles: ProfilesClient) -> None:
    await _register(profiles, "ada", ADA)
    same_id = await profiles.http.post(
        "/profiles", headers=profiles.auth("ada"), json={**ADA, "email": "x@e.com"}
    )
    assert same_id.status_code == 409
    assert same_id.json()["field"] == "person_id"
    same_email = await profiles.http.post("/profiles", headers=profiles.auth("grace"), json=ADA)
    assert same_email.status_code == 409
    assert same_email.json()["field"] == "email"
    other_org = await profiles.http.post(
        "/profiles", headers=profiles.auth("grace", org=f"{profiles.org}-b"), json=ADA
    )
    assert other_org.status_code == 201, "the same email in another org is another person"
    assert await profiles.people.count_documents({"org_id": profiles.org}) == 1


async def test_updating_a_profile_emits_profile_updated_with_the_changed_fields(
    profiles: ProfilesClient, infra: Infra
) -> None:
    await _register(profiles, "ada", ADA)
    response = await profiles.http.patch(
        "/profiles/ada", headers=profiles.auth("ada"), json={"title": "Lead analyst", "languages": ["en"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    unchanged = await profiles.http.patch(
        "/profiles/ada", headers=profiles.auth("ada"), json={"title": "Lead analyst"}
    )
    assert unchanged.json()["version"] == 2, "no change, no new version"

    def updated(records: list[Any]) -> list[dict[str, Any]]:
        return [
            json.loads(r.value)
            for r in records
            if r.headers.get("ce_type") == ProfileUpdated.ce_type()
            and json.loads(r.value)["org_id"] == profiles.org
        ]

    records = await read_topic(
        infra.kafka_bootstrap_servers, ProfileUpdated.topic(), until=lambda rs: updated(rs)
    )
    (event,) = updated(records)
    assert event["changed_fields"] == ["languages", "title"]
    assert event["version"] == 2


async def test_pause_and_resume_announce_availability_once_each(profiles: ProfilesClient) -> None:
    await _register(profiles, "ada", ADA)
    for path, expected in (("pause", "paused"), ("pause", "paused"), ("resume", "available")):
        response = await profiles.http.post(f"/profiles/ada/{path}", headers=profiles.auth("ada"))
        assert response.status_code == 200
        assert response.json()["availability"] == expected
    assert (await profiles.people.find_one({"person_id": "ada"}))["version"] == 3, (
        "the second pause changed nothing"
    )


async def test_another_persons_profile_is_forbidden_and_another_orgs_is_not_found(
    profiles: ProfilesClient,
) -> None:
    await _register(profiles, "ada", ADA)
    assert (await profiles.http.get("/profiles/ada", headers=profiles.auth("grace"))).status_code == 403
    patch = await profiles.http.patch("/profiles/ada", headers=profiles.auth("grace"), json={"title": "x"})
    assert patch.status_code == 403
    admin_elsewhere = profiles.auth("boss", "program_admin", org="another-org")
    assert (await profiles.http.get("/profiles/ada", headers=admin_elsewhere)).status_code == 404
    assert (
        await profiles.http.get("/profiles/ada", headers=profiles.auth("boss", "program_admin"))
    ).status_code == 200
    assert (await profiles.people.find_one({"person_id": "ada"}))["title"] == "Analyst"


async def test_admins_search_by_role_skill_department_level_availability_and_text(
    profiles: ProfilesClient,
) -> None:
    await _register(profiles, "ada", ADA)
    grace = {"display_name": "Grace Hopper", "email": "grace@example.com", "roles": ["mentor"]}
    grace |= {"level": "principal", "department": "engineering", "skills_offered": ["cobol"]}
    await _register(profiles, "grace", {**grace, "mentor_capacity": 1, "accepting_mentees": False})
    await _register(
        profiles, "alan", {"display_name": "Alan Turing", "email": "alan@example.com", "roles": ["mentee"]}
    )
    admin = profiles.auth("boss", "program_admin")

    async def ids(**params: Any) -> list[str]:
        response = await profiles.http.get("/profiles", headers=admin, params=params)
        assert response.status_code == 200, response.text
        return [p["person_id"] for p in response.json()["items"]]

    assert await ids(role="mentor") == ["ada", "grace"]
    assert await ids(skill="PYTHON") == ["ada"]
    assert await ids(department="engineering") == ["grace"]
    assert await ids(level="principal") == ["grace"]
    assert await ids(availability="paused") == ["grace"]
    assert await ids(q="turing") == ["alan"]
    first = (await profiles.http.get("/profiles", headers=admin, params={"page_size": 2})).json()
    second = (await profiles.http.get("/profiles", headers=admin, params={"page_size": 2, "page": 2})).json()
    assert first["total"] == second["total"] == 3
    assert [p["person_id"] for p in first["items"] + second["items"]] == ["ada", "alan", "grace"]
    assert (await profiles.http.get("/profiles", headers=profiles.auth("ada"))).status_code == 403
    bad = await profiles.http.get("/profiles", headers=admin, params={"availability": "sometimes"})
    assert bad.status_code == 422


async def test_hr_import_upserts_valid_rows_reports_invalid_ones_and_is_idempotent(
    profiles: ProfilesClient,
) -> None:
    csv_body = (
        "person_id,display_name,email,roles,department,skills_offered,mentor_capacity,languages\n"
        "e1,Edsger Dijkstra,edsger@example.com,mentor,research,algorithms:expert;go:advanced,3,nl;en\n"
        "e2,Barbara Liskov,barbara@example.com,mentor;mentee,engineering,,25,en\n"
        "e3,Ken Thompson,ken@example.com,mentee,engineering,,,en-XX\n"
        "e4,Dennis Ritchie,edsger@example.com,mentee,engineering,,,en\n"
    )
    admin = profiles.auth("hr", "hr_admin")
    headers = {**admin, "content-type": "text/csv"}
    report = (await profiles.http.post("/profiles/import", headers=headers, content=csv_body)).json()
    assert (report["created"], report["invalid"]) == (2, 2), report
    statuses = {row["person_id"]: row for row in report["rows"]}
    assert statuses["e2"]["errors"][0]["field"] == "mentor_capacity"
    assert statuses["e4"]["errors"][0]["field"] == "email"
    assert await profiles.people.count_documents({"org_id": profiles.org}) == 2
    e1 = await profiles.people.find_one({"person_id": "e1"})
    assert e1["skills_offered"][0] == {"name": "algorithms", "level": "expert", "in_taxonomy": False}

    again = (await profiles.http.post("/profiles/import", headers=headers, content=csv_body)).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2), "re-import changes nothing"

    json_rows = [
        {
            "person_id": "e1",
            "display_name": "Edsger W. Dijkstra",
            "email": "edsger@example.com",
            "roles": ["mentor"],
        },
        {"person_id": "e5", "email": "missing-name@example.com", "roles": ["mentee"]},
    ]
    mixed = (await profiles.http.post("/profiles/import", headers=admin, json={"rows": json_rows})).json()
    assert (mixed["updated"], mixed["invalid"]) == (1, 1)
    assert (await profiles.people.find_one({"person_id": "e1"}))["display_name"] == "Edsger W. Dijkstra"
    employee = await profiles.http.post("/profiles/import", headers=profiles.auth("e1"), json=json_rows)
    assert employee.status_code == 403
    garbage = await profiles.http.post("/profiles/import", headers=admin, content=b"{not json")
    assert garbage.status_code == 400


async def test_inclusion_attributes_are_stored_with_consent_and_sent_only_on_the_restricted_topic(
    profiles: ProfilesClient, infra: Infra
) -> None:
    body = {**ADA, "inclusion": {"consented": True, "attributes": {"erg": "women-in-tech"}}}
    profile = await _register(profiles, "ada", body)
    assert profile["inclusion"] == {"consented": True, "attributes": {"erg": "women-in-tech"}}
    seen_by_admin = await profiles.http.get("/profiles/ada", headers=profiles.auth("boss", "program_admin"))
    assert seen_by_admin.json()["inclusion"] is None

    def mine(records: list[Any]) -> list[Any]:
        return [r for r in records if json.loads(r.value).get("org_id") == profiles.org]

    restricted = await read_topic(
        infra.kafka_bootstrap_servers, InclusionAttributesChanged.topic(), until=lambda rs: mine(rs)
    )
    assert json.loads(mine(restricted)[0].value)["attributes"] == {"erg": "women-in-tech"}
    general = await read_topic(
        infra.kafka_bootstrap_servers, ProfileUpdated.topic(), until=lambda rs: mine(rs)
    )
    assert all(b"women-in-tech" not in r.value for r in general)

    withdrawn = await profiles.http.patch(
        "/profiles/ada", headers=profiles.auth("ada"), json={"inclusion": {"consented": False}}
    )
    assert withdrawn.json()["inclusion"] is None
    assert "inclusion" not in (await profiles.people.find_one({"person_id": "ada"}))  # unset


async def test_erasure_leaves_an_anonymous_tombstone_and_announces_it(
    profiles: ProfilesClient, infra: Infra
) -> None:
    await _register(profiles, "ada", ADA)
    assert (
        await profiles.http.delete("/profiles/ada", headers=profiles.auth("boss", "program_admin"))
    ).status_code == 403
    assert (await profiles.http.delete("/profiles/ada", headers=profiles.auth("ada"))).status_code == 204
    assert (await profiles.http.get("/profiles/ada", headers=profiles.auth("ada"))).status_code == 404
    stored = await profiles.people.find_one({"person_id": "ada"})
    text = json.dumps(stored, default=str).lower()
    for personal in ("lovelace", "ada@example.com", "lead a team", "python"):
        assert personal not in text, f"{personal!r} survived erasure"

    def erased(records: list[Any]) -> bool:
        return any(
            r.headers.get("ce_type") == ProfileErased.ce_type()
            and json.loads(r.value)["org_id"] == profiles.org
            for r in records
        )

    await eventually(
        lambda: read_topic(infra.kafka_bootstrap_servers, ProfileErased.topic(), until=erased),
        what="ProfileErased",
    )


async def test_once_its_events_are_out_an_erased_profile_leaves_no_id_and_the_person_cannot_return(
    profiles: ProfilesClient,
) -> None:
    await _register(profiles, "ada", ADA)
    assert (await profiles.http.delete("/profiles/ada", headers=profiles.auth("ada"))).status_code == 204
    people = PeopleStore(profiles.people, Person, profiles.runtime)

    async def sealed() -> bool:
        await people.seal_erasures()  # the sweep's step: waits for ProfileErased to be relayed
        return await profiles.people.find_one({"org_id": profiles.org, "person_id": "ada"}) is None

    await eventually(sealed, what="the tombstone sealed")
    everything = [d async for d in profiles.people.database[ERASED].find({"org_id": profiles.org})]
    everything += [d async for d in profiles.people.find({"org_id": profiles.org})]
    assert everything, "a mark of the erasure stays"
    text = json.dumps(everything, default=str).lower()
    assert '"ada"' not in text, text
    assert ":ada" not in text, text
    again = await profiles.http.post("/profiles", json=ADA, headers=profiles.auth("ada"))
    assert again.status_code == 409
