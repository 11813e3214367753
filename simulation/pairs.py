"""What pairs and circles do: find out about new pairs (the admin's programme health view), agree
and sign, meet on their cadence or not, give feedback, set goals and action items and finish them,
go quiet for a while and come back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from simulation.client import ADMIN, Portal
from simulation.world import PairState, SessionPlan, World

CADENCES = ("weekly", "biweekly", "biweekly", "monthly")
PAIRS_AT_ONCE = 8
FEEDBACK_TEXT = "Useful conversation; we agreed on next steps."


async def discover(portal: Portal, world: World, now: datetime) -> dict[str, dict[str, Any]]:
    """Every active relationship of every programme, as its admins see it; pairs not listed any
    more have ended. Returns the listing by pair id (with each one's health)."""
    listed: dict[str, dict[str, Any]] = {}
    for program_id in world.plans:
        page = 1
        while True:
            body = await portal.ok(
                "sessions", "GET", f"/programs/{program_id}/health",
                admin=True, params={"status": "active", "page": page, "page_size": 200},
            )  # fmt: skip
            listed.update({item["pair_id"]: item for item in body["items"]})
            if len(body["items"]) < 200:
                break
            page += 1
    for pair_id in listed:
        if pair_id not in world.pairs:
            status, detail = await portal.call("sessions", "GET", f"/pairs/{pair_id}", admin=True)
            if status == 200:
                world.new_pair(pair_id, detail)
    for pair in world.active_pairs():
        if pair.pair_id not in listed:
            pair.ended = True
    return listed


async def each_pair(world: World, act: Callable[[PairState], Awaitable[None]]) -> None:
    """`act` for every active pair whose people are all still here, several pairs at once (people
    act in parallel; one pair's own steps stay in order)."""
    gate = asyncio.Semaphore(PAIRS_AT_ONCE)

    async def gated(pair: PairState) -> None:
        async with gate:
            await act(pair)

    await asyncio.gather(
        *(
            gated(pair)
            for pair in world.active_pairs()
            if all(p in world.present for p in pair.participants)  # else the platform decides
        )
    )


async def daily(portal: Portal, world: World, now: datetime) -> None:
    """Agreements, quiet spells and the weekly look at each pair's calendar."""

    async def act(pair: PairState) -> None:
        if pair.attendance > 0 and not pair.silent(now) and pair.rng.random() < 1 / 150:
            pair.silent_until = now + timedelta(days=pair.rng.randint(20, 60))
            world.journal.count("quiet spells")
        if pair.kind == "pair" and not pair.signed and pair.attendance > 0 and pair.rng.random() < 0.3:
            await _agree(portal, world, pair)
        if pair.fetched_at is None or now - pair.fetched_at >= timedelta(days=6):
            await refresh_sessions(portal, world, pair, now)

    await each_pair(world, act)


async def _agree(portal: Portal, world: World, pair: PairState) -> None:
    if pair.mentee_id is None or pair.mentor_id is None:
        return
    people = world.people
    terms = {
        "goals": [people[pair.mentee_id].goals[:200]],
        "cadence": pair.rng.choice(CADENCES),
        "timezone": people[pair.mentee_id].timezone,
        "timezones": {p: people[p].timezone for p in pair.participants},
        "local_time": pair.rng.choice(("09:30", "10:00", "14:00", "16:00")),
        "weekday": pair.rng.randint(0, 4),
        "duration_minutes": 60,
    }
    status, _ = await portal.call(
        "sessions", "PUT", f"/pairs/{pair.pair_id}/agreement", person=pair.mentee_id, json=terms
    )
    if status != 200:
        return
    for person in (pair.mentee_id, pair.mentor_id):
        status, _ = await portal.call(
            "sessions", "POST", f"/pairs/{pair.pair_id}/agreement/sign",
            person=person, json={"timezone": people[person].timezone},
        )  # fmt: skip
    if status == 200:
        pair.signed = True
        pair.fetched_at = None  # the cadence's sessions are on the calendar now
        world.journal.count("agreements signed")
        await _set_goal(portal, world, pair)


async def _set_goal(portal: Portal, world: World, pair: PairState) -> None:
    body = {"title": "Reach the goal we agreed on", "milestones": ["first step", "halfway", "done"]}
    status, goal = await portal.call(
        "sessions", "POST", f"/pairs/{pair.pair_id}/goals", person=pair.mentee_id or ADMIN, json=body
    )
    if status == 201:
        pair.goal = (goal["goal_id"], [m["milestone_id"] for m in goal["milestones"]])


async def refresh_sessions(portal: Portal, world: World, pair: PairState, now: datetime) -> None:
    status, sessions = await portal.call(
        "sessions", "GET", f"/pairs/{pair.pair_id}/sessions", person=pair.participants[0]
    )
    if status != 200:
        return
    for item in sessions:
        known = pair.sessions.get(item["session_id"])
        starts_at = datetime.fromisoformat(item["starts_at"])
        if known is None:
            pair.sessions[item["session_id"]] = SessionPlan(item["session_id"], starts_at, item["status"])
        else:
            known.starts_at, known.status = starts_at, item["status"]
    pair.fetched_at = now


async def check_in(portal: Portal, world: World, now: datetime) -> None:
    """Sessions that started by now are held (checked in, with feedback) or left to be missed."""

    async def act(pair: PairState) -> None:
        for session in sorted(pair.sessions.values(), key=lambda s: s.starts_at):
            if session.decided or session.status != "scheduled" or session.starts_at > now:
                continue
            session.decided = True
            if pair.silent(now) or pair.rng.random() >= pair.attendance:
                world.journal.count("sessions skipped")
                continue
            await _hold(portal, world, pair, session, now)

    await each_pair(world, act)


async def _hold(portal: Portal, world: World, pair: PairState, session: SessionPlan, now: datetime) -> None:
    who = pair.rng.choice(pair.participants)
    status, _ = await portal.call(
        "sessions", "POST", f"/pairs/{pair.pair_id}/sessions/{session.session_id}/held", person=who
    )
    if status != 200:
        return
    session.status = "held"
    world.journal.count("sessions held")
    for person in pair.participants:
        if pair.rng.random() < 0.8:
            answers = {"useful": pair.rng.random() < 0.85, "learned": pair.rng.random() < 0.75}
            await portal.call(
                "sessions", "PUT", f"/pairs/{pair.pair_id}/sessions/{session.session_id}/feedback",
                person=person, json={**answers, "text": FEEDBACK_TEXT},
            )  # fmt: skip
    await _progress(portal, world, pair, session, now)


async def _progress(
    portal: Portal, world: World, pair: PairState, session: SessionPlan, now: datetime
) -> None:
    """After a held session: finish an open action item, maybe agree a new one, reach a milestone."""
    owner = pair.mentee_id or pair.participants[0]
    if pair.open_items and pair.rng.random() < 0.75:
        item = pair.open_items.pop(0)
        await portal.call("sessions", "POST", f"/pairs/{pair.pair_id}/action-items/{item}/done", person=owner)
        world.journal.count("action items done")
    if pair.rng.random() < 0.4:
        body = {
            "title": "Read up and try it out",
            "owner_id": owner,
            "due_at": (now + timedelta(days=pair.rng.randint(5, 20))).isoformat(),
            "session_id": session.session_id,
        }
        status, item = await portal.call(
            "sessions", "POST", f"/pairs/{pair.pair_id}/action-items", person=owner, json=body
        )
        if status == 201:
            pair.open_items.append(item["item_id"])
    if pair.goal and pair.goal[1] and pair.rng.random() < 0.35:
        goal_id, milestones = pair.goal
        milestone = milestones.pop(0)
        await portal.call(
            "sessions", "POST", f"/pairs/{pair.pair_id}/goals/{goal_id}/milestones/{milestone}/done",
            person=owner,
        )  # fmt: skip
        world.journal.count("milestones reached")


async def admin_escalations(
    portal: Portal, world: World, listed: dict[str, dict[str, Any]], now: datetime
) -> None:
    """The admin escalates some stagnant pairs (always the first in a programme that is not
    matched continuously): the pair ends and the mentee should be matched again or told why not."""
    escalated_programs = {e["program"] for e in world.journal.escalations}
    for pair_id, item in sorted(listed.items()):
        pair = world.pairs.get(pair_id)
        if pair is None or pair.kind != "pair" or not item["health"]["stagnant"]:
            continue
        first_here = pair.program_id not in escalated_programs
        if not first_here and pair.rng.random() > 0.03:
            continue
        status, body = await portal.call("matching", "POST", f"/pairs/{pair_id}/escalate", admin=True)
        if status == 200:
            escalated_programs.add(pair.program_id)
            world.journal.escalations.append(
                {"pair": pair_id, "mentee": pair.mentee_id, "mentor": pair.mentor_id,
                 "program": pair.program_id, "at": now, "rematching": body.get("rematching")}
            )  # fmt: skip
            pair.ended = True
