"""Hostile input against the real app (real store and Kafka): explicit nulls, control characters,
huge numbers, a mentee's mentor capacity, bad import rows, and documents that are somehow malformed
in the store. Each is a 4xx naming the field (or a per-row report) and writes nothing; never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.profiles.conftest import ProfilesClient

ADA: dict[str, Any] = {
    "display_name": "Ada Lovelace",
    "email": "ada@example.com",
    "roles": ["mentee", "mentor"],
    "mentor_capacity": 1,
    "personality": {"energy": "calm"},
}
NOT_NULL = (
    "locale", "timezone", "accepting_mentees", "interests", "peer_mentoring", "modalities", "personality",
    "roles", "display_name", "email", "languages", "reverse_mentoring", "skills_offered", "skills_wanted",
    "mentor_capacity", "boundaries", "inclusion",
)  # fmt: skip
CONTROL_CHARACTERS = (
    ({"personality": {"energy\x00": "calm"}}, "personality"),
    ({"personality": {"$where": "calm"}}, "personality"),
    ({"display_name": "Ada\x00"}, "display_name"),
    ({"display_name": "Ada\nLovelace"}, "display_name"),
    ({"display_name": "\ud800"}, "display_name"),
    ({"email": "ada\x00@example.com"}, "email"),
    ({"title": "Analyst\x07"}, "title"),
    ({"interests": ["chess\x1b[31m"]}, "interests"),
    ({"skills_offered": [{"name": "py\x00thon"}]}, "skills_offered"),
    ({"manager_id": "charles\x00"}, "manager_id"),
    ({"person_id": "ada\x00"}, "person_id"),
    ({"goals": "grow\x00"}, "goals"),
    ({"inclusion": {"consented": True, "attributes": {"erg\x00": "x"}}}, "inclusion"),
)


def _named(response: httpx.Response, field: str) -> bool:
    problem = response.json()
    return field in {error["field"].split(".")[0] for error in problem.get("errors", [])}


def _assert_refused(response: httpx.Response, field: str, case: object) -> None:
    assert response.status_code == 422, (case, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert _named(response, field), (case, response.text)


async def _send(
    profiles: ProfilesClient, method: str, path: str, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    """JSON as a hostile client may send it: escapes such as a lone surrogate (\\ud800) kept as is."""
    content = json.dumps(body)
    headers = {**headers, "content-type": "application/json"}
    return await profiles.http.request(method, path, headers=headers, content=content)


async def _register(profiles: ProfilesClient, person: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await profiles.http.post("/profiles", headers=profiles.auth(person), json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _search(profiles: ProfilesClient, **params: Any) -> httpx.Response:
    return await profiles.http.get("/profiles", headers=profiles.auth("boss", "hr_admin"), params=params)


async def test_null_for_a_field_that_may_not_be_null_is_refused_naming_it_and_nothing_is_stored(
    profiles: ProfilesClient,
) -> None:
    for field in NOT_NULL:
        response = await profiles.http.post(
            "/profiles", headers=profiles.auth("ada"), json={**ADA, field: None}
        )
        _assert_refused(response, field, field)
    assert await profiles.people.count_documents({}) == 0
    await _register(profiles, "ada", ADA)
    for field in NOT_NULL:
        response = await profiles.http.patch(
            "/profiles/ada", headers=profiles.auth("ada"), json={field: None}
        )
        _assert_refused(response, field, field)
    read = await profiles.http.get("/profiles/ada", headers=profiles.auth("ada"))
    assert read.status_code == 200
    assert (read.json()["version"], read.json()["locale"]) == (1, "en"), "no refused change was stored"
    assert (await _search(profiles)).json()["total"] == 1


async def test_null_clears_a_field_that_may_be_empty(profiles: ProfilesClient) -> None:
    await _register(profiles, "ada", {**ADA, "title": "Analyst", "goals": "Lead"})
    cleared = await profiles.http.patch(
        "/profiles/ada", headers=profiles.auth("ada"), json={"title": None, "goals": None}
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["title"], cleared.json()["goals"]) == (None, None)


async def test_control_characters_are_refused_where_they_do_not_belong_and_free_text_keeps_line_breaks(
    profiles: ProfilesClient,
) -> None:
    for change, field in CONTROL_CHARACTERS:
        response = await _send(
            profiles, "POST", "/profiles", profiles.auth("ada", "hr_admin"), {**ADA, **change}
        )
        _assert_refused(response, field, change)
    assert await profiles.people.count_documents({}) == 0
    created = await _register(profiles, "ada", {**ADA, "goals": "Lead a team.\n\tThen a department."})
    assert created["goals"] == "Lead a team.\n\tThen a department."
    for change, field in CONTROL_CHARACTERS:
        response = await _send(profiles, "PATCH", "/profiles/ada", profiles.auth("ada"), change)
        _assert_refused(response, field, change)
    assert (await profiles.people.find_one({"person_id": "ada"}))["version"] == 1


async def test_query_and_path_parameters_are_bounded_and_refuse_control_characters(
    profiles: ProfilesClient,
) -> None:
    await _register(profiles, "ada", ADA)
    for params, field in (
        ({"page": 2**62}, "page"),
        ({"page": 0}, "page"),
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"q": "ada\x00"}, "q"),
        ({"skill": "py\x00"}, "skill"),
        ({"department": "x" * 121}, "department"),
        ({"role": "overlord"}, "role"),
    ):
        _assert_refused(await _search(profiles, **params), field, params)
    last_page = await _search(profiles, page=10_000)
    assert (last_page.status_code, last_page.json()["items"]) == (200, [])
    for path in ("/profiles/ada%00", "/profiles/" + "a" * 129, "/profiles/%ED%A0%80"):
        _assert_refused(await profiles.http.get(path, headers=profiles.auth("ada")), "person_id", path)


async def test_a_mentee_only_profile_that_sends_a_mentor_capacity_is_refused_clearly(
    profiles: ProfilesClient,
) -> None:
    mentee = {"display_name": "Alan", "email": "alan@example.com", "roles": ["mentee"]}
    refused = await profiles.http.post(
        "/profiles", headers=profiles.auth("alan"), json={**mentee, "mentor_capacity": 2}
    )
    _assert_refused(refused, "mentor_capacity", "register")
    assert "mentor role" in refused.json()["errors"][0]["message"]
    assert await profiles.people.count_documents({}) == 0
    await _register(profiles, "alan", mentee)
    patch = await profiles.http.patch(
        "/profiles/alan", headers=profiles.auth("alan"), json={"mentor_capacity": 1}
    )
    _assert_refused(patch, "mentor_capacity", "patch")
    became_mentor = await profiles.http.patch(
        "/profiles/alan",
        headers=profiles.auth("alan"),
        json={"roles": ["mentee", "mentor"], "mentor_capacity": 1},
    )
    assert became_mentor.status_code == 200, became_mentor.text


async def test_bad_import_rows_are_reported_per_row_and_change_nothing(profiles: ProfilesClient) -> None:
    hr = profiles.auth("hr", "hr_admin")
    rows = [
        {"person_id": "e1", "display_name": "Edsger", "email": "edsger@example.com", "roles": ["mentor"]},
        {"person_id": "e2", "display_name": "Barbara", "email": "barbara@example.com", "roles": ["mentor"],
         "locale": None},
        {"person_id": "e3", "display_name": "Ken", "email": "ken@example.com", "roles": ["mentee"],
         "personality": {"a\x00": "b"}},
        {"person_id": "e4", "display_name": "Dennis", "email": "dennis@example.com", "roles": ["mentee"],
         "mentor_capacity": 3},
        {"person_id": {"$gt": ""}, "display_name": "Eve", "email": "eve@example.com", "roles": ["mentee"]},
    ]  # fmt: skip
    report = (await profiles.http.post("/profiles/import", headers=hr, json=rows)).json()
    assert (report["created"], report["invalid"]) == (1, 4), report
    errors = {row["row"]: row["errors"][0]["field"].split(".")[0] for row in report["rows"] if row["errors"]}
    assert errors == {2: "locale", 3: "personality", 4: "mentor_capacity", 5: "person_id"}
    csv_body = (
        "person_id,display_name,email,roles,mentor_capacity\n"
        "e1,Edsger\x00Dijkstra,edsger@example.com,mentor,\n"
        "e6,Frances,frances@example.com,mentor,99999999999999999999999\n"
    )
    csv_report = (
        await profiles.http.post(
            "/profiles/import", headers={**hr, "content-type": "text/csv"}, content=csv_body
        )
    ).json()
    assert csv_report["invalid"] == 2, csv_report
    assert [row["errors"][0]["field"] for row in csv_report["rows"]] == ["display_name", "mentor_capacity"]
    assert await profiles.people.count_documents({}) == 1
    assert (await profiles.people.find_one({"person_id": "e1"}))["display_name"] == "Edsger"
    nested = await profiles.http.post(
        "/profiles/import", headers={**hr, "content-type": "application/json"}, content=b"[" * 50_000
    )
    assert nested.status_code == 400
    oversized = await profiles.http.post(
        "/profiles/import", headers={**hr, "content-type": "text/csv"}, content=b"x" * 5_000_001
    )
    assert oversized.status_code == 413, "the route's own limit (5 MB), above the app's default"


async def test_a_malformed_stored_profile_never_breaks_the_orgs_search_and_is_repaired_on_its_next_change(
    profiles: ProfilesClient,
) -> None:
    await _register(profiles, "ada", ADA)
    stored = await profiles.people.find_one({"person_id": "ada"})
    assert stored is not None
    org = profiles.org

    def copy(person: str, **fields: Any) -> dict[str, Any]:
        base = {k: v for k, v in stored.items() if k not in ("outbox", "outbox_pending")}
        return {
            **base,
            "_id": f"{org}:{person}",
            "person_id": person,
            "email": f"{person}@example.com",
            **fields,
        }

    nameless = copy("nameless")
    del nameless["display_name"]
    await profiles.people.insert_many(
        [
            copy("grace", locale=None, interests=None, personality={"x": 1}, modalities="video"),
            nameless,
            copy("roleless", roles="mentor"),
            copy("alan", skills_offered=[{"level": "wizard"}], boundaries="none"),
        ]
    )
    search = await _search(profiles)
    assert search.status_code == 200, search.text
    assert [item["person_id"] for item in search.json()["items"]] == ["ada", "alan", "grace"]
    grace = await profiles.http.get("/profiles/grace", headers=profiles.auth("grace"))
    assert grace.status_code == 200, grace.text
    read = grace.json()
    assert (read["locale"], read["interests"], read["modalities"], read["personality"]) == ("en", [], [], {})
    for unreadable in ("nameless", "roleless"):
        response = await profiles.http.get(f"/profiles/{unreadable}", headers=profiles.auth(unreadable))
        assert response.status_code == 404, response.text
    changed = await profiles.http.patch(
        "/profiles/grace", headers=profiles.auth("grace"), json={"title": "Admiral"}
    )
    assert changed.status_code == 200, changed.text
    repaired = await profiles.people.find_one({"person_id": "grace"})
    assert (repaired["locale"], repaired["interests"], repaired["personality"]) == ("en", [], {})
