"""Programs over HTTP on the real store: admins create and change them, bad settings are refused
naming the problem and store nothing, employees see no enrollment lists, invitations hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.matching.conftest import Matching, auth, candidate

SPRING: dict[str, Any] = {
    "program_id": "spring",
    "name": "Spring cohort",
    "approval": "admin_approval",
    "continuous": False,
    "enrollment": "invite",
    "enrolled_mentees": ["ada"],
    "enrolled_mentors": ["mira"],
    "fairness": {"attribute": "gender", "value": "woman", "min_match_rate": 0.8},
}

# Each refused setting, and what the problem must name.
BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"weights": {"skills": 1.0, "astrology": 0.5}}, "astrology"),
    ({"type": "skills_based", "focus_skill": "sql"}, "focus_skill and ends_on"),
    ({"type": "skills_based", "ends_on": "2026-06-30T00:00:00Z"}, "focus_skill and ends_on"),
    ({"circle_min_size": 6, "circle_max_size": 4}, "circle_min_size must not exceed circle_max_size"),
    ({"colour": "teal"}, "colour"),
]


async def test_admin_creates_a_program_once_bad_settings_store_nothing_and_employees_see_no_lists(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")

    created = await http.post("/programs", json=SPRING, headers=admin)
    assert created.status_code == 201, created.text
    program = created.json()
    assert (program["program_id"], program["org_id"], program["version"]) == ("spring", org, 1)
    assert (program["approval"], program["continuous"], program["enrollment"]) == (
        "admin_approval",
        False,
        "invite",
    )
    assert program["created_at"] == program["updated_at"] == "2026-03-02T09:00:00Z"

    duplicate = await http.post("/programs", json={**SPRING, "name": "Another"}, headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert duplicate.json()["field"] == "program_id"

    employee = await http.post(
        "/programs", json={"program_id": "mine", "name": "Mine"}, headers=auth(org, "ada")
    )
    assert employee.status_code == 403

    stored = (await http.get("/programs/spring", headers=admin)).json()
    assert stored["name"] == "Spring cohort", "the duplicate changed nothing"

    for settings, named in BAD_SETTINGS:
        refused = await http.post(
            "/programs", json={"program_id": "bad", "name": "Bad", **settings}, headers=admin
        )
        assert refused.status_code == 422, (settings, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["status"] == 422
        assert any(named in error["message"] or named == error["field"] for error in problem["errors"]), (
            problem
        )
    assert (await http.get("/programs/bad", headers=admin)).status_code == 404
    listed = (await http.get("/programs", headers=admin)).json()
    assert [p["program_id"] for p in listed] == ["open", "spring"], "nothing refused was stored"
    assert (listed[1]["enrolled_mentees"], listed[1]["enrolled_mentors"]) == (["ada"], ["mira"])
    assert listed[1]["fairness"]["attribute"] == "gender"

    # Employees see the programs, without who is enrolled and without the fairness group.
    seen = await http.get("/programs", headers=auth(org, "ada"))
    assert seen.status_code == 200
    spring = seen.json()[1]
    assert (spring["program_id"], spring["name"]) == ("spring", "Spring cohort")
    assert (spring["enrolled_mentees"], spring["enrolled_mentors"], spring["fairness"]) == ([], [], None)
    one = (await http.get("/programs/spring", headers=auth(org, "ada"))).json()
    assert (one["enrolled_mentees"], one["fairness"]) == ([], None)


async def test_patch_changes_a_field_bumps_the_version_validates_the_result_and_stores_open(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    assert (await http.post("/programs", json=SPRING, headers=admin)).status_code == 201
    matching.clock.advance(timedelta(hours=1))

    changed = await http.patch("/programs/spring", json={"request_ttl_hours": 48}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["request_ttl_hours"], changed.json()["version"]) == (48, 2)
    stored = (await http.get("/programs/spring", headers=admin)).json()
    assert (stored["request_ttl_hours"], stored["version"], stored["name"]) == (48, 2, "Spring cohort")
    assert (stored["created_at"], stored["updated_at"]) == ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")

    # The merged settings are validated as a whole: a minimum above the stored maximum is refused.
    too_big = await http.patch("/programs/spring", json={"circle_min_size": 9}, headers=admin)
    assert too_big.status_code == 422
    assert "circle_min_size" in too_big.json()["detail"]
    unknown = await http.patch("/programs/spring", json={"colour": "teal"}, headers=admin)
    assert unknown.status_code == 422
    by_employee = await http.patch("/programs/spring", json={"name": "Mine"}, headers=auth(org, "ada"))
    assert by_employee.status_code == 403
    missing = await http.patch("/programs/nope", json={"name": "Nope"}, headers=admin)
    assert missing.status_code == 404
    after = (await http.get("/programs/spring", headers=admin)).json()
    assert (after["version"], after["circle_min_size"], after["name"]) == (2, 4, "Spring cohort")

    # The built-in program is stored the first time it is changed.
    built_in = (await http.get("/programs/open", headers=admin)).json()
    assert (built_in["version"], built_in["request_ttl_hours"], built_in["created_at"]) == (1, 72, None)

    open_changed = await http.patch("/programs/open", json={"request_ttl_hours": 24}, headers=admin)
    assert open_changed.status_code == 200, open_changed.text
    assert (open_changed.json()["version"], open_changed.json()["request_ttl_hours"]) == (2, 24)
    document = await matching.runtime.db["programs"].find_one({"_id": f"{org}:open"})
    assert document is not None
    assert (document["request_ttl_hours"], document["version"], document["name"]) == (24, 2, "Open mentoring")
    again = await http.patch("/programs/open", json={"name": "Everyone"}, headers=admin)
    assert again.status_code == 200, again.text
    served = (await http.get("/programs/open", headers=auth(org, "ada"))).json()
    assert (served["name"], served["request_ttl_hours"], served["version"]) == ("Everyone", 24, 3)


async def test_invite_only_program_refuses_a_mentee_who_is_not_enrolled(matching: Matching) -> None:
    http, org = matching.http, matching.org
    assert (
        await http.post("/programs", json=SPRING, headers=auth(org, "hr", "program_admin"))
    ).status_code == 201
    await matching.candidates.insert_many([candidate(org, "ada", "mentee"), candidate(org, "bob", "mentee")])

    refused = await http.post("/programs/spring/join", json={}, headers=auth(org, "bob"))
    assert refused.status_code == 403
    assert "bob is not enrolled" in refused.json()["detail"]
    by_admin = await http.post(
        "/programs/spring/join", json={"person_id": "bob"}, headers=auth(org, "hr", "program_admin")
    )
    assert by_admin.status_code == 403
    bob = await matching.candidates.find_one({"org_id": org, "person_id": "bob"})
    assert (bob["program_id"], bob["version"]) == ("open", 1)

    joined = await http.post("/programs/spring/join", json={}, headers=auth(org, "ada"))
    assert joined.status_code == 200, joined.text
    assert joined.json() == {"person_id": "ada", "program_id": "spring", "status": "waiting"}
