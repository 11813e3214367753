"""Matching's use cases over the mentee lifecycle (`pool`): continuous matching, requests and
their expiry, approvals, ending and rematching pairs, and the time-driven sweeps."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from mentorship_schemas.events import PairEndReason
from servicekit.runtime import ServiceRuntime

from matching.domain.cohort_run import run_cohort
from matching.domain.compatibility import Explanation
from matching.domain.suggestions import rank_mentors
from matching.pool import (
    HELD,
    PAIRED,
    REQUEST,
    Match,
    OrgView,
    drop_hold,
    end_pair,
    offer,
    org_view,
    seat_waiting_mentees,
)
from matching.programs import Approval, Program, ProgramStatus, load_program, org_programs
from matching.store import match_profile

log = logging.getLogger(__name__)
Document = dict[str, Any]


def as_match(explanation: Explanation) -> Match:
    return Match(
        mentor_id=explanation.mentor_id,
        score=min(1.0, max(0.0, round(explanation.score, 6))),
        reasons=explanation.reasons,
        breakdown=explanation.breakdown,
    )


def suggestions_for(
    view: OrgView, program: Program, mentee: Document, at: datetime, limit: int = 10
) -> list[Explanation]:
    """The seat's best mentors in this program, best first, never one it must not get (again)."""
    return rank_mentors(
        program.policy(),
        match_profile(mentee, at),
        view.mentor_profiles(program, at),
        managers=view.managers,
        excluded_mentors=view.excluded_for(mentee),
        limit=limit,
    )


async def match_continuously(runtime: ServiceRuntime, org_id: str) -> int:
    """For every open program that matches continuously, run the engine over the mentees waiting
    in it and the mentors available now, and apply the optimum as the program's approval says
    (seat by seat when mentees get one mentor per focus area). Returns the number of pairs,
    proposals or requests made."""
    programs = [
        p
        for p in (await org_programs(runtime, org_id)).values()
        if p.continuous and p.status is ProgramStatus.OPEN
    ]
    if not programs:
        return 0
    view = await org_view(runtime, org_id)
    now = runtime.clock.now()
    made = 0
    for program in programs:
        if await seat_waiting_mentees(runtime, view, program):
            view = await org_view(runtime, org_id)
        for seat in range(1, program.mentors_per_mentee + 1):
            waiting = view.waiting_in(program, seat)
            if not waiting:
                continue
            mentors = view.mentor_profiles(program, now)
            if not any(m.accepting_mentees and m.free_capacity > 0 for m in mentors):
                break
            result = await asyncio.to_thread(
                run_cohort,
                program.policy(),
                [match_profile(doc, now) for doc in waiting],
                mentors,
                managers=view.managers,
                previous_pairs=[(doc["person_id"], m) for doc in waiting for m in view.excluded_for(doc)],
            )
            by_person = {doc["person_id"]: doc for doc in waiting}
            offered = 0
            for pair in result.pairs:
                if await offer(runtime, program, by_person[pair.mentee_id], as_match(pair), automatic=True):
                    offered += 1
            made += offered
            if offered and seat < program.mentors_per_mentee:
                view = await org_view(runtime, org_id)  # the next seat must see these mentors taken
    return made


async def next_suggestion(
    runtime: ServiceRuntime, org_id: str, mentee_key: str, message: str | None
) -> str | None:
    """After an expired request: ask the seat's next best mentor (same note), if there is one."""
    view = await org_view(runtime, org_id)
    mentee = view.mentees.get(mentee_key)
    if mentee is None or mentee.get("status") != "waiting":
        return None
    program = await load_program(runtime, org_id, mentee.get("program_id", "open"))
    if program is None or program.status is not ProgramStatus.OPEN:
        return None
    for suggestion in suggestions_for(view, program, mentee, runtime.clock.now(), limit=5):
        made = await offer(
            runtime, program, mentee, as_match(suggestion), approval=Approval.MENTOR, message=message,
            automatic=True,
        )  # fmt: skip
        if made:
            return made
        mentee = await runtime.db["candidates"].find_one({"_id": mentee["_id"]}) or mentee
        if mentee.get("status") != "waiting":
            return None
    return None


async def expire_requests(runtime: ServiceRuntime, now: datetime, limit: int = 500) -> int:
    """Requests unanswered by their deadline: PairDeclined (expired), then the next suggestion;
    the places given back then go to whoever waits in a continuous program."""
    changed_orgs: set[str] = set()
    due = runtime.db["candidates"].find(
        {"role": "mentee", "status": HELD, "hold.kind": REQUEST, "hold.expires_at": {"$lte": now}},
        limit=limit,
    )
    expired = 0
    async for mentee in due:
        if await drop_hold(runtime, mentee, "expired"):
            expired += 1
            changed_orgs.add(mentee["org_id"])
            await next_suggestion(runtime, mentee["org_id"], mentee["_id"], mentee["hold"].get("message"))
    await _match_where_places_freed(runtime, changed_orgs)
    return expired


async def end_pairs_at_end_date(runtime: ServiceRuntime, now: datetime, limit: int = 500) -> int:
    """Pairs whose program end date or duration has come: PairEnded (completed)."""
    changed_orgs: set[str] = set()
    due = runtime.db["candidates"].find(
        {"role": "mentee", "status": PAIRED, "pair.ends_at": {"$lte": now}}, limit=limit
    )
    ended = 0
    async for mentee in due:
        if await end_pair(runtime, mentee, PairEndReason.COMPLETED):
            ended += 1
            changed_orgs.add(mentee["org_id"])
    await _match_where_places_freed(runtime, changed_orgs)
    return ended


async def _match_where_places_freed(runtime: ServiceRuntime, org_ids: set[str]) -> None:
    """Matching gave mentors' places back by itself (profiles announces no availability for a
    dropped request), so continuous matching must run now or the places would idle until the
    next unrelated event."""
    for org_id in sorted(org_ids):
        await match_continuously(runtime, org_id)


async def sweep(runtime: ServiceRuntime, now: datetime) -> int:
    """Requests past their deadline, then pairs past their end date; returns how many changed."""
    return await expire_requests(runtime, now) + await end_pairs_at_end_date(runtime, now)


async def decline_open_holds_of(runtime: ServiceRuntime, org_id: str, mentor_id: str) -> int:
    """A mentor became unavailable: every open request and proposal to them is declined at once."""
    declined = 0
    async for mentee in runtime.db["candidates"].find(
        {"org_id": org_id, "role": "mentee", "status": HELD, "hold.mentor_id": mentor_id}
    ):
        if await drop_hold(runtime, mentee, "mentor_unavailable"):
            declined += 1
    # Those mentees wait again: in a continuous program, another mentor now. (Also when nothing
    # was declined this time: a redelivery after a crash must not leave them waiting.)
    await match_continuously(runtime, org_id)
    return declined


async def end_pairs_of_mentor(runtime: ServiceRuntime, org_id: str, mentor_id: str) -> int:
    """The mentor left: their pairs end (mentor_left) and each mentee is matched again."""
    ended = 0
    async for mentee in runtime.db["candidates"].find(
        {"org_id": org_id, "role": "mentee", "status": PAIRED, "pair.mentor_id": mentor_id}
    ):
        if await end_pair(runtime, mentee, PairEndReason.MENTOR_LEFT):
            ended += 1
    await match_continuously(runtime, org_id)
    return ended
