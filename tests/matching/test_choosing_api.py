"""Over HTTP (issue 13): a mentee's suggestions show who each mentor is and why they fit, and
nothing private; an admin pairs by hand and rejects a proposal with a reason, both audited."""

from __future__ import annotations

from tests.matching.conftest import Matching, auth, candidate

MIRA = {
    "display_name": "Mira Okafor", "title": "Staff engineer", "department": "platform",
    "skills_offered": ["python", "sql"], "skill_levels": {"python": "expert"}, "level": "lead",
    "languages": ["en", "fr"], "timezone": "Europe/Paris", "manager_id": "boss",
    "goals": "grow into architecture", "personality": {"energy": "calm"},
}  # fmt: skip


async def test_suggestions_show_who_the_mentor_is_and_why_they_fit_and_nothing_private(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    program = {"program_id": "asking", "name": "Asking", "continuous": False, "approval": "mentor_acceptance"}
    assert (await http.post("/programs", json=program, headers=admin)).status_code == 201
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="asking", skills_wanted=["python"], level="mid"),
            candidate(org, "mira", "mentor", **MIRA),
        ]
    )
    response = await http.get("/suggestions", headers=auth(org, "ada"))
    assert response.status_code == 200, response.text
    (card,) = response.json()
    assert {
        key: card[key] for key in ("mentor_id", "name", "title", "department", "timezone", "languages")
    } == {
        "mentor_id": "mira",
        "name": "Mira Okafor",
        "title": "Staff engineer",
        "department": "platform",
        "timezone": "Europe/Paris",
        "languages": ["English", "French"],
    }
    assert card["skills"] == [{"name": "python", "level": "expert"}, {"name": "sql", "level": "intermediate"}]
    assert card["why"].startswith("Why Mira Okafor fits: ")
    assert card["why"].endswith(".")
    assert "offers python (expert)" in card["reasons"]
    private = ("manager_id", "email", "goals", "personality", "places", "free_slots")
    assert not set(private) & set(card)
    assert "boss" not in response.text
    assert "architecture" not in response.text


async def test_an_admin_pairs_by_hand_and_rejects_a_proposal_with_a_reason_kept_in_the_audit(
    matching: Matching,
) -> None:
    http, org = matching.http, matching.org
    admin = auth(org, "hr", "program_admin")
    program = {
        "program_id": "approved",
        "name": "Approved",
        "continuous": False,
        "approval": "admin_approval",
    }
    assert (await http.post("/programs", json=program, headers=admin)).status_code == 201
    await matching.candidates.insert_many(
        [
            candidate(org, "ada", "mentee", program_id="approved", skills_wanted=["python"], level="mid"),
            candidate(org, "bob", "mentee", program_id="approved", skills_wanted=["python"], level="mid"),
            candidate(org, "mira", "mentor", skills_offered=["python"], level="lead"),
            candidate(org, "sam", "mentor", skills_offered=["go"], level="lead"),
        ]
    )
    body = {"mentee_id": "ada", "mentor_id": "sam"}
    refused = await http.post("/programs/approved/pairs", json=body, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["field"] == "reason"
    assert "offers none of the skills" in refused.json()["detail"]
    assert (
        await http.post("/programs/approved/pairs", json=body, headers=auth(org, "ada"))
    ).status_code == 403
    made = await http.post(
        "/programs/approved/pairs", json=body | {"reason": "Ada joins the go team."}, headers=admin
    )
    assert made.status_code == 201, made.text
    assert (made.json()["mentor_id"], made.json()["overridden"]) == ("sam", ["no_wanted_skill"])

    run = await http.post("/programs/approved/cohort-runs", json={}, headers=admin)
    assert run.status_code == 201, run.text
    (proposal,) = (await http.get("/proposals", headers=admin)).json()
    assert (proposal["mentee_id"], proposal["mentor_id"]) == ("bob", "mira")
    rejected = await http.post(
        f"/proposals/{proposal['id']}/reject", json={"reason": "Mira leaves in May."}, headers=admin
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["next"]["outcome"] == "unmatched"
    assert rejected.json()["next"]["reason"].endswith(".")
    audit = (await http.get("/mentees/bob/audit", headers=admin)).json()
    assert [(e["action"], e["mentor_id"], e["note"]) for e in audit] == [
        ("proposal_rejected", "mira", "Mira leaves in May.")
    ]
    ada_audit = (await http.get("/mentees/ada/audit", headers=admin)).json()
    assert [(e["action"], e["subject_id"]) for e in ada_audit] == [("paired_by_hand", made.json()["pair_id"])]
    assert (await http.get("/mentees/bob/audit", headers=auth(org, "bob"))).status_code == 403
