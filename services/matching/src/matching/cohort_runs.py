"""The admin cohort-run use case: read the program's waiting mentees and the mentors it admits,
run the matching engine (off the event loop), store the audited run, then apply it as the program's
approval says (pairs, MatchProposed for an admin, or MentorshipRequested for each mentor).

Minimal disruption: only waiting mentees take part, so existing pairs stay, and their mentors'
program load counts them. The run id is derived from the program, the input digest and whether it
is a preview, so running again on unchanged inputs returns the stored run instead of a duplicate.
A preview (`apply: false`) stores the run and changes nobody."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from mentorship_schemas import MatchRunCompleted
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.runtime import ServiceRuntime

from matching.domain.cohort_run import run_cohort
from matching.domain.compatibility import Explanation
from matching.domain.fairness import GroupFloor
from matching.domain.programs import MatchingPolicy
from matching.flows import as_match
from matching.pool import Match, excluded_mentors, offer, org_view
from matching.programs import Program
from matching.store import match_profile

MATCH_RUNS = "match_runs"
INCLUSION = "inclusion"


async def fairness_floor(
    runtime: ServiceRuntime, program: Program, mentee_ids: list[str]
) -> GroupFloor | None:
    """The program's fairness floor over the waiting mentees who consented to share the attribute
    (matching keeps those attributes from the restricted topic, nowhere else)."""
    if program.fairness is None:
        return None
    rule = program.fairness
    members = frozenset(
        [
            doc["person_id"]
            async for doc in runtime.db[INCLUSION].find(
                {"org_id": program.org_id, "person_id": {"$in": mentee_ids}}
            )
            if doc.get("attributes", {}).get(rule.attribute) == rule.value
        ]
    )
    return GroupFloor(
        member_ids=members, min_match_rate=rule.min_match_rate, min_average_score=rule.min_average_score
    )


async def run_cohort_for_program(
    runtime: ServiceRuntime, program: Program, policy: MatchingPolicy, *, apply: bool = True
) -> dict[str, Any]:
    view = await org_view(runtime, program.org_id)
    now = runtime.clock.now()
    waiting = view.waiting_in(program)
    mentees = [match_profile(doc, now) for doc in waiting]
    mentors = view.mentor_profiles(program, now)
    previous = [(doc["person_id"], mentor) for doc in waiting for mentor in excluded_mentors(doc)]
    floor = await fairness_floor(runtime, program, [m.person_id for m in mentees])
    started = asyncio.get_running_loop().time()
    result = await asyncio.to_thread(
        run_cohort,
        policy,
        mentees,
        mentors,
        managers=view.managers,
        previous_pairs=previous,
        group_floor=floor,
    )
    seconds = asyncio.get_running_loop().time() - started
    run_id = derived_id(
        program.org_id, program.program_id, result.input_digest, "apply" if apply else "preview"
    )
    runs = runtime.db[MATCH_RUNS]
    stored = await runs.find_one({"_id": run_id})
    if stored is None:
        run = {
            "_id": run_id,
            "run_id": run_id,
            "org_id": program.org_id,
            "program_id": program.program_id,
            "created_at": now,
            "approval": program.approval.value,
            "preview": not apply,
            "mentees": len(mentees),
            "mentors": len(mentors),
            "seconds": round(seconds, 3),
            **result.summary(),
            "fairness_group_size": len(floor.member_ids) if floor else None,
            "pairs": [asdict(pair) for pair in result.pairs],
            "unmatched": [asdict(entry) for entry in result.unmatched],
            "applied": None,
        }
        completed = MatchRunCompleted(
            org_id=program.org_id, version=1, run_id=run_id, program_id=program.program_id,
            mentees=len(mentees), mentors=len(mentors), matched=result.matched, objective=result.objective,
            optimal=result.optimal, seconds=round(seconds, 3),
        )  # fmt: skip
        # The audited run and its summary event are one write; the same inputs give the same run id.
        try:
            await runs.insert_one(
                new_document(run, [runtime.entry(completed, event_id=derived_id(run_id, "completed"))])
            )
            runtime.events_written()
            stored = run
        except DuplicateKeyError:
            stored = await runs.find_one({"_id": run_id}) or run
    if apply and stored.get("applied") is None:
        stored["applied"] = await _apply(runtime, program, stored, {doc["person_id"]: doc for doc in waiting})
        await runs.update_one({"_id": run_id, "applied": None}, {"$set": {"applied": stored["applied"]}})
    return stored


async def _apply(
    runtime: ServiceRuntime, program: Program, run: dict[str, Any], waiting: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Offer each pair of the run; a mentee or mentor that changed since the run is skipped (and
    counted), never paired twice."""
    made: list[str] = []
    skipped: list[str] = []
    for pair in run["pairs"]:
        mentee = waiting.get(pair["mentee_id"])
        match = as_match_from_record(pair)
        if mentee is not None and await offer(
            runtime, program, mentee, match, run_id=run["run_id"], automatic=True
        ):
            made.append(pair["mentee_id"])
        else:
            skipped.append(pair["mentee_id"])
    return {"as": program.approval.value, "made": len(made), "skipped": skipped}


def as_match_from_record(pair: dict[str, Any]) -> Match:
    return as_match(
        Explanation(
            mentee_id=pair["mentee_id"],
            mentor_id=pair["mentor_id"],
            score=pair["score"],
            breakdown=pair["breakdown"],
            reasons=tuple(pair["reasons"]),
        )
    )
