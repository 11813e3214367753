"""The continuous-matching use case: pair waiting mentees with available mentors.

Without multi-document transactions a pair is made in two conditional steps: reserve a slot on the
mentor (`free_slots > 0`), then claim the mentee (`status == waiting`) in the same update that
puts PairCreated in its outbox. If the claim loses a race, the slot is given back. The pair id is
derived from the mentee's waiting episode and the mentor, so a replay makes the same pair.
"""

from __future__ import annotations

import logging
from typing import Any

from mentorship_schemas import PairCreated
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.runtime import ServiceRuntime

from matching.domain.scoring import MenteeCandidate, MentorCandidate, rank_mentors

log = logging.getLogger(__name__)
OPEN_PROGRAM = "open"


def _mentee(document: dict[str, Any]) -> MenteeCandidate:
    return MenteeCandidate(
        document["person_id"],
        document.get("department"),
        frozenset(document.get("skills_wanted", [])),
    )


def _mentor(document: dict[str, Any]) -> MentorCandidate:
    return MentorCandidate(
        document["person_id"],
        document.get("department"),
        frozenset(document.get("skills_offered", [])),
        document.get("free_slots", 0),
    )


async def match_waiting_mentees(runtime: ServiceRuntime, org_id: str) -> int:
    """Pair as many waiting mentees of the org as available mentors allow; returns pairs made."""
    candidates = runtime.db["candidates"]
    made = 0
    waiting = candidates.find(
        {"org_id": org_id, "role": "mentee", "status": "waiting"}, sort=[("waiting_since", 1)]
    )
    async for mentee in waiting:
        mentors = [
            _mentor(doc)
            async for doc in candidates.find(
                {
                    "org_id": org_id,
                    "role": "mentor",
                    "status": "available",
                    "free_slots": {"$gt": 0},
                }
            )
        ]
        if not mentors:
            break
        if await _pair(runtime, mentee, mentors):
            made += 1
    if made:
        runtime.events_written()
    return made


async def _pair(runtime: ServiceRuntime, mentee: dict[str, Any], mentors: list[MentorCandidate]) -> bool:
    candidates = runtime.db["candidates"]
    org_id = mentee["org_id"]
    for suggestion in rank_mentors(_mentee(mentee), mentors):
        mentor_key = f"{org_id}:{suggestion.mentor_id}:mentor"
        reserved = await candidates.update_one(
            {"_id": mentor_key, "status": "available", "free_slots": {"$gt": 0}},
            {"$inc": {"free_slots": -1}},
        )
        if reserved.modified_count != 1:
            continue
        pair_id = derived_id(org_id, mentee["person_id"], str(mentee["waiting_since"]), suggestion.mentor_id)
        version = mentee["version"] + 1
        event = PairCreated(
            org_id=org_id,
            version=1,
            pair_id=pair_id,
            program_id=OPEN_PROGRAM,
            mentor_id=suggestion.mentor_id,
            mentee_id=mentee["person_id"],
            score=suggestion.score,
            reasons=list(suggestion.reasons),
        )
        claimed = await candidates.update_one(
            {"_id": mentee["_id"], "status": "waiting", "version": mentee["version"]},
            with_outbox(
                {
                    "$set": {
                        "status": "paired",
                        "version": version,
                        "pair": {
                            "pair_id": pair_id,
                            "mentor_id": suggestion.mentor_id,
                            "program_id": OPEN_PROGRAM,
                            "score": suggestion.score,
                            "reasons": list(suggestion.reasons),
                            "created_at": runtime.clock.now(),
                        },
                    }
                },
                [runtime.entry(event, event_id=derived_id(pair_id, "created"))],
            ),
        )
        if claimed.modified_count == 1:
            log.info("paired mentee %s with mentor %s", mentee["person_id"], suggestion.mentor_id)
            return True
        # Someone else changed the mentee meanwhile: give the slot back.
        await candidates.update_one({"_id": mentor_key}, {"$inc": {"free_slots": 1}})
        return False
    return False
