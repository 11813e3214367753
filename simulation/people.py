"""What HR, the program admin and the people around the pairs do: the HR import (at the start and
for late joiners), programmes and who joins which, cohort runs, approvals, circles, mentee requests
and mentors' answers, mentors pausing and leaving, people erasing their profiles."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from simulation.client import ADMIN, Portal
from simulation.org import Person
from simulation.programs import ProgramPlan
from simulation.world import World

IMPORT_CHUNK = 500


async def set_up_programs(portal: Portal, world: World) -> None:
    """The admin receives escalations; `open` waits (not continuous) until everyone is enrolled."""
    await portal.ok("notifications", "PUT", "/escalation-contacts/me", admin=True)
    await portal.ok("matching", "PATCH", "/programs/open", admin=True, json={"continuous": False})
    for plan in world.plans.values():
        if plan.program_id != "open":
            await portal.ok(
                "matching",
                "POST",
                "/programs",
                admin=True,
                json={"program_id": plan.program_id, **plan.settings},
            )


async def import_people(portal: Portal, world: World, people: list[Person], now: datetime) -> None:
    """HR imports the people, then each mentee joins their programme (the admin enrols them)."""
    for start in range(0, len(people), IMPORT_CHUNK):
        rows = [person.import_row() for person in people[start : start + IMPORT_CHUNK]]
        report = await portal.ok("profiles", "POST", "/profiles/import", admin=True, json=rows)
        if report["invalid"]:
            bad = [row for row in report["rows"] if row["status"] == "invalid"][:3]
            raise RuntimeError(f"the HR import refused {report['invalid']} rows, e.g. {bad}")
    world.present.update(person.person_id for person in people)
    world.journal.count("people imported", len(people))
    for person in people:
        program = world.program_of.get(person.person_id)
        if program is None:
            continue
        status, _ = await portal.call(
            "matching", "POST", f"/programs/{program}/join", admin=True, json={"person_id": person.person_id}
        )
        if status == 404:  # matching has not heard of the new profile yet
            await portal.ok("matching", "GET", "/programs", admin=True)
            await _join_when_known(portal, person.person_id, program)
        world.journal.joined_at[person.person_id] = now


async def _join_when_known(portal: Portal, person_id: str, program: str, attempts: int = 60) -> None:
    for _ in range(attempts):
        status, _ = await portal.call(
            "matching", "POST", f"/programs/{program}/join", admin=True, json={"person_id": person_id}
        )
        if status != 404:
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"matching never heard of {person_id}")


async def open_the_open_program(portal: Portal) -> None:
    await portal.ok("matching", "PATCH", "/programs/open", admin=True, json={"continuous": True})
    await portal.ok("matching", "POST", "/programs/open/cohort-runs", admin=True, json={"apply": True})


async def monthly(portal: Portal, world: World, month: int, now: datetime) -> None:
    """Late joiners arrive; the admin runs the cohorts and forms circles."""
    late = [
        p for p in world.people.values() if p.joins_in_month == month and p.person_id not in world.present
    ]
    if late:
        await import_people(portal, world, late, now)
    for plan in world.plans.values():
        if plan.cohort_runs:
            await portal.ok(
                "matching",
                "POST",
                f"/programs/{plan.program_id}/cohort-runs",
                admin=True,
                json={"apply": True},
            )
            world.journal.count("cohort runs")
        if plan.circles:
            await portal.ok("matching", "POST", f"/programs/{plan.program_id}/circles", admin=True)
            world.journal.count("circle formations")


async def approvals(portal: Portal, world: World) -> None:
    """The admin answers the proposals waiting for approval: most approved, some rejected."""
    for proposal in await portal.ok("matching", "GET", "/proposals", admin=True):
        verdict, done = ("approve", "approved") if world.rng.random() < 0.85 else ("reject", "rejected")
        status, _ = await portal.call(
            "matching", "POST", f"/proposals/{proposal['id']}/{verdict}", admin=True
        )
        if status == 200:
            world.journal.count(f"proposals {done}")


async def mentee_requests(portal: Portal, world: World, plan: ProgramPlan, now: datetime) -> None:
    """Waiting mentees of a request-driven programme ask their best suggestion; they also look at
    their open requests (the platform asks the next suggestion by itself when one expires)."""
    paired = world.paired()
    for mentee in world.mentees_in(plan.program_id):
        if mentee in paired or world.rng.random() > 0.35:
            continue
        mine = [
            r
            for r in await portal.ok("matching", "GET", "/requests", person=mentee)
            if r["mentee_id"] == mentee
        ]
        for request in mine:
            world.journal.requests.setdefault(
                request["id"], {"mentee": mentee, "mentor": request["mentor_id"]}
            )
        if mine:
            continue
        status, suggestions = await portal.call("matching", "GET", "/suggestions", person=mentee)
        if status != 200 or not suggestions:
            continue
        body = {"mentor_id": suggestions[0]["mentor_id"], "message": "Would you mentor me?"}
        status, made = await portal.call("matching", "POST", "/requests", person=mentee, json=body)
        if status == 201:
            world.journal.requests[made["id"]] = {"mentee": mentee, "mentor": made["mentor_id"]}
            world.journal.asked.add(made["id"])
            world.journal.count("requests made")


async def mentor_answers(portal: Portal, world: World) -> None:
    """Mentors answer the requests they got: most accept, some decline, some never answer."""
    for request_id, request in list(world.journal.requests.items()):
        if request.get("answered") or world.rng.random() > 0.3:
            continue
        request["answered"] = True
        roll = world.rng.random()
        if roll < 0.15 or request["mentor"] not in world.present:
            continue  # never answered: it expires
        verdict, done = ("accept", "accepted") if roll < 0.8 else ("decline", "declined")
        status, _ = await portal.call(
            "matching", "POST", f"/requests/{request_id}/{verdict}", person=request["mentor"]
        )
        if status == 200:
            world.journal.count(f"requests {done}")


async def mentor_moods(portal: Portal, world: World, now: datetime) -> None:
    """Mentors pause for a few weeks and resume; a few stop mentoring altogether."""
    for person_id in sorted(world.present):
        person = world.people[person_id]
        if not person.is_mentor:
            continue
        resume_at = world.paused_until.get(person_id)
        if resume_at is not None and now >= resume_at:
            await portal.call("profiles", "POST", f"/profiles/{person_id}/resume", person=person_id)
            del world.paused_until[person_id]
            world.journal.count("mentors resumed")
        elif resume_at is None and world.rng.random() < 1 / 400:
            await portal.call("profiles", "POST", f"/profiles/{person_id}/pause", person=person_id)
            world.paused_until[person_id] = now + timedelta(days=world.rng.randint(14, 42))
            world.journal.count("mentors paused")
        elif resume_at is None and person.is_mentee and world.rng.random() < 1 / 2000:
            await portal.call(
                "profiles", "PATCH", f"/profiles/{person_id}", person=person_id, json={"roles": ["mentee"]}
            )
            person.roles = ["mentee"]
            world.journal.count("mentors stopped mentoring")


async def erase(portal: Portal, world: World, person_id: str, now: datetime, why: str) -> None:
    """The person erases their profile (right to be forgotten)."""
    status, _ = await portal.call("profiles", "DELETE", f"/profiles/{person_id}", person=person_id)
    if status != 204:
        return
    pairs = [p for p in world.active_pairs() if person_id in p.participants]
    world.present.discard(person_id)
    world.journal.erasures.append(
        {
            "person": person_id, "at": now, "why": why,
            "pairs": [p.pair_id for p in pairs],
            "partners": sorted({q for p in pairs for q in p.participants if q != person_id}),
        }
    )  # fmt: skip


async def erasures(portal: Portal, world: World, days: tuple[float, float, int], now: datetime) -> None:
    """A paired mentee erases their profile a third of the way in, a mentor halfway, and now and
    then someone else does."""
    day, step, total = days
    active = [p for p in world.active_pairs() if p.kind == "pair" and p.mentee_id in world.present]
    if day <= total // 3 < day + step and active:
        pair = world.rng.choice(active)
        await erase(portal, world, str(pair.mentee_id), now, "a paired mentee leaves the company")
    elif day <= total // 2 < day + step and active:
        pair = world.rng.choice(active)
        await erase(portal, world, str(pair.mentor_id), now, "a mentor leaves the company")
    elif world.rng.random() < len(world.present) / 40_000:
        person = world.rng.choice(sorted(world.present - {ADMIN}))
        await erase(portal, world, person, now, "someone asks to be forgotten")
