"""The mentee's lifecycle in the candidate read model, as conditional single-document writes.

One mentee document per person holds where they are:

    waiting --offer (final)--------------------------------------> paired --end--> waiting | ended
    waiting --offer (admin_approval: MatchProposed)----> held --approve--> paired
    waiting --offer / request (MentorshipRequested)---> held --accept---> paired
                                                        held --decline / reject / expire / withdraw
                                                             / mentor unavailable--> waiting

Each transition is one update of the mentee document, conditional on its `version`, that carries
the event it causes in the same document's outbox. A mentor's place is reserved first
(`free_slots > 0`) and given back when the claim loses a race or a hold is dropped. Ids are derived
from the mentee's version and the mentor, so a replay or a second replica makes the same ids.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from mentorship_schemas import (
    MatchProposed,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
)
from mentorship_schemas.events import PairEndReason
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import with_outbox
from servicekit.runtime import ServiceRuntime

from matching.domain.cohort import MatchProfile
from matching.programs import DEFAULT_PROGRAM, Approval, Program
from matching.store import candidate_key, match_profile, seat_key

log = logging.getLogger(__name__)
Document = dict[str, Any]

WAITING, HELD, PAIRED, ENDED = "waiting", "held", "paired", "ended"
PROPOSAL, REQUEST = "proposal", "request"
# Ending a pair for one of these puts the mentee back in the pool, without that mentor.
REMATCH_REASONS = frozenset({PairEndReason.NOT_A_FIT, PairEndReason.STAGNANT, PairEndReason.MENTOR_LEFT})


@dataclass(frozen=True)
class Match:
    """A mentor chosen for a mentee, with the explanation the portal shows."""

    mentor_id: str
    score: float
    reasons: tuple[str, ...] = ()
    breakdown: dict[str, float] = field(default_factory=dict)


@dataclass
class OrgView:
    """One read of an org's candidates: who waits where, who mentors, the reporting lines.
    Mentee documents are keyed by document id: a person has one per seat (focus area)."""

    org_id: str
    mentees: dict[str, Document]
    mentors: dict[str, Document]
    managers: dict[str, str]

    def mentee(self, person_id: str, seat: int = 1) -> Document | None:
        return self.mentees.get(seat_key(self.org_id, person_id, seat))

    def seats_of(self, person_id: str) -> list[Document]:
        return sorted(
            (doc for doc in self.mentees.values() if doc["person_id"] == person_id),
            key=lambda doc: doc.get("seat", 1),
        )

    def waiting_in(self, program: Program, seat: int | None = None) -> list[Document]:
        return sorted(
            (
                doc
                for doc in self.mentees.values()
                if doc.get("status") == WAITING
                and doc.get("program_id", DEFAULT_PROGRAM) == program.program_id
                and program.admits(doc["person_id"], "mentee")
                and (seat is None or doc.get("seat", 1) == seat)
                and doc.get("seat", 1) <= program.mentors_per_mentee
            ),
            key=lambda doc: (str(doc.get("waiting_since")), doc["person_id"], doc.get("seat", 1)),
        )

    def excluded_for(self, mentee: Document) -> list[str]:
        """Mentors this seat must not get: its own exclusions, and the mentors the person has (or
        is being offered) in their other seats, so each focus area gets a different mentor."""
        taken = {
            doc[part]["mentor_id"]
            for doc in self.seats_of(mentee["person_id"])
            if doc["_id"] != mentee["_id"]
            for part in ("pair", "hold")
            if doc.get("status") in (PAIRED, HELD) and part in doc
        }
        return sorted(set(excluded_mentors(mentee)) | taken)

    def program_load(self, program_id: str) -> Counter[str]:
        """Mentees each mentor has (or holds a place for) in this program."""
        load: Counter[str] = Counter()
        for doc in self.mentees.values():
            if doc.get("status") == PAIRED and doc["pair"].get("program_id") == program_id:
                load[doc["pair"]["mentor_id"]] += 1
            elif doc.get("status") == HELD and doc["hold"].get("program_id") == program_id:
                load[doc["hold"]["mentor_id"]] += 1
        return load

    def mentor_profiles(self, program: Program, at: datetime) -> list[MatchProfile]:
        load = self.program_load(program.program_id)
        return [
            replace(match_profile(doc, at), program_load=load[doc["person_id"]])
            for doc in self.mentors.values()
            if program.admits(doc["person_id"], "mentor")
        ]


async def org_view(runtime: ServiceRuntime, org_id: str) -> OrgView:
    mentees: dict[str, Document] = {}
    mentors: dict[str, Document] = {}
    managers: dict[str, str] = {}
    async for doc in runtime.db["candidates"].find({"org_id": org_id}):
        if doc.get("manager_id"):
            managers[doc["person_id"]] = doc["manager_id"]
        if doc.get("role") == "mentee":
            mentees[doc["_id"]] = doc
        else:
            mentors[doc["person_id"]] = doc
    return OrgView(org_id, mentees, mentors, managers)


def excluded_mentors(mentee: Document) -> list[str]:
    """Mentors this mentee must not be offered again: former mentors, and those who declined or
    let a request expire in this waiting episode."""
    return sorted(set(mentee.get("previous_mentors", [])) | set(mentee.get("declined_mentors", [])))


# ---------------------------------------------------------------- mentor places


async def reserve_place(runtime: ServiceRuntime, org_id: str, mentor_id: str) -> bool:
    reserved = await runtime.db["candidates"].update_one(
        {"_id": candidate_key(org_id, mentor_id, "mentor"), "status": "available", "free_slots": {"$gt": 0}},
        {"$inc": {"free_slots": -1}},
    )
    return reserved.modified_count == 1


async def give_back_place(runtime: ServiceRuntime, org_id: str, mentor_id: str) -> None:
    await runtime.db["candidates"].update_one(
        {"_id": candidate_key(org_id, mentor_id, "mentor")}, {"$inc": {"free_slots": 1}}
    )


# ---------------------------------------------------------------- transitions


async def _transition(
    runtime: ServiceRuntime, mentee: Document, status: str, update: Document, events: list[Document]
) -> bool:
    """Apply `update` if the mentee is still in `status` at the version read."""
    versioned = {**update, "$inc": {"version": 1}}
    result = await runtime.db["candidates"].update_one(
        {"_id": mentee["_id"], "status": status, "version": mentee["version"]},
        with_outbox(versioned, events) if events else versioned,
    )
    if result.modified_count == 1:
        runtime.events_written()
        return True
    return False


def _pair_update(
    runtime: ServiceRuntime, program: Program, mentee: Document, match: Match, *, via: str | None = None
) -> tuple[Document, list[Document], str]:
    org_id, now = mentee["org_id"], runtime.clock.now()
    # The seat's document id (org, person, seat) and version: one id per pairing, the same on a replay.
    pair_id = derived_id(mentee["_id"], str(mentee["version"]), match.mentor_id, "pair")
    pair: Document = {
        "pair_id": pair_id,
        "mentor_id": match.mentor_id,
        "program_id": program.program_id,
        "score": match.score,
        "reasons": list(match.reasons),
        "breakdown": dict(match.breakdown),
        "created_at": now,
        "ends_at": program.pair_ends_at(now),
        "via": via,
        "focus": mentee.get("focus"),
    }
    event = PairCreated(
        org_id=org_id,
        version=1,
        pair_id=pair_id,
        program_id=program.program_id,
        mentor_id=match.mentor_id,
        mentee_id=mentee["person_id"],
        score=match.score,
        reasons=list(match.reasons),
        focus_area=mentee.get("focus"),
    )
    update = {"$set": {"status": PAIRED, "pair": pair, "declined_mentors": []}, "$unset": {"hold": ""}}
    return update, [runtime.entry(event, event_id=derived_id(pair_id, "created"))], pair_id


async def offer(
    runtime: ServiceRuntime,
    program: Program,
    mentee: Document,
    match: Match,
    *,
    approval: Approval | None = None,
    run_id: str | None = None,
    message: str | None = None,
    automatic: bool = False,
) -> str | None:
    """Pair, propose or request, as the program's approval (or `approval`) says. Returns the pair,
    proposal or request id, or None when the mentor's place or the mentee was taken meanwhile.
    `automatic`: the platform chose this mentor (a run, continuous matching, the next suggestion),
    not the mentee."""
    org_id = mentee["org_id"]
    if not await reserve_place(runtime, org_id, match.mentor_id):
        return None
    mode = approval or program.approval
    if mode is Approval.FINAL:
        update, events, made = _pair_update(runtime, program, mentee, match, via=run_id)
    else:
        update, events, made = _hold_update(runtime, program, mentee, match, mode, run_id, message, automatic)
    if await _transition(runtime, mentee, WAITING, update, events):
        log.info("%s: mentee %s, mentor %s (%s)", mode.value, mentee["person_id"], match.mentor_id, made)
        return made
    await give_back_place(runtime, org_id, match.mentor_id)
    return None


def _hold_update(
    runtime: ServiceRuntime,
    program: Program,
    mentee: Document,
    match: Match,
    mode: Approval,
    run_id: str | None,
    message: str | None,
    automatic: bool,
) -> tuple[Document, list[Document], str]:
    org_id, now = mentee["org_id"], runtime.clock.now()
    kind = PROPOSAL if mode is Approval.ADMIN else REQUEST
    hold_id = derived_id(mentee["_id"], str(mentee["version"]), match.mentor_id, kind)
    hold: Document = {
        "id": hold_id,
        "kind": kind,
        "mentor_id": match.mentor_id,
        "program_id": program.program_id,
        "score": match.score,
        "reasons": list(match.reasons),
        "breakdown": dict(match.breakdown),
        "run_id": run_id,
        "message": message,
        "automatic": automatic,
        "focus": mentee.get("focus"),
        "created_at": now,
        "expires_at": now + timedelta(hours=program.request_ttl_hours) if kind == REQUEST else None,
    }
    event: MatchProposed | MentorshipRequested
    if kind == PROPOSAL:
        event = MatchProposed(
            org_id=org_id, version=1, proposal_id=hold_id, run_id=run_id, program_id=program.program_id,
            mentor_id=match.mentor_id, mentee_id=mentee["person_id"], score=match.score,
            reasons=list(match.reasons),
        )  # fmt: skip
    else:
        event = MentorshipRequested(
            org_id=org_id, version=1, request_id=hold_id, program_id=program.program_id,
            mentor_id=match.mentor_id, mentee_id=mentee["person_id"], message=message,
            answer_by=hold["expires_at"], focus_area=mentee.get("focus"),
        )  # fmt: skip
    entry = runtime.entry(event, event_id=derived_id(hold_id, kind))
    return {"$set": {"status": HELD, "hold": hold}}, [entry], hold_id


async def accept_hold(runtime: ServiceRuntime, program: Program, mentee: Document) -> str | None:
    """The held proposal or request becomes a pair (its mentor's place is already reserved)."""
    hold = mentee["hold"]
    match = Match(hold["mentor_id"], hold["score"], tuple(hold["reasons"]), dict(hold.get("breakdown", {})))
    update, events, pair_id = _pair_update(runtime, program, mentee, match, via=hold["id"])
    return pair_id if await _transition(runtime, mentee, HELD, update, events) else None


async def drop_hold(runtime: ServiceRuntime, mentee: Document, reason: str) -> bool:
    """The held proposal or request ends without a pair: the mentee waits again (without this
    mentor, unless the mentee withdrew), PairDeclined says why, and the mentor's place is freed."""
    hold = mentee["hold"]
    event = PairDeclined(
        org_id=mentee["org_id"],
        version=2,
        request_id=hold["id"],
        program_id=hold["program_id"],
        mentor_id=hold["mentor_id"],
        mentee_id=mentee["person_id"],
        reason=reason,
    )
    update: Document = {
        "$set": {"status": WAITING, "waiting_since": runtime.clock.now()},
        "$unset": {"hold": ""},
    }
    if reason != "withdrawn":
        update["$addToSet"] = {"declined_mentors": hold["mentor_id"]}
    entry = runtime.entry(event, event_id=derived_id(hold["id"], "declined"))
    if not await _transition(runtime, mentee, HELD, update, [entry]):
        return False
    await give_back_place(runtime, mentee["org_id"], hold["mentor_id"])
    return True


async def move_pair(
    runtime: ServiceRuntime, program: Program, mentee: Document, match: Match, *, run_id: str
) -> str | None:
    """A re-run that was asked not to keep existing pairs gives this seat another mentor: in one
    write the old pair ends (PairEnded, other) and the new one starts (PairCreated). The new
    mentor's place is reserved first; the old one is freed after. None if either side changed."""
    old, org_id, now = mentee["pair"], mentee["org_id"], runtime.clock.now()
    if not await reserve_place(runtime, org_id, match.mentor_id):
        return None
    update, events, pair_id = _pair_update(runtime, program, mentee, match, via=run_id)
    ended = PairEnded(
        org_id=org_id, version=2, pair_id=old["pair_id"], program_id=old["program_id"],
        mentor_id=old["mentor_id"], mentee_id=mentee["person_id"], reason=PairEndReason.OTHER, ended_at=now,
    )  # fmt: skip
    update["$set"]["last_pair"] = {**old, "ended_at": now, "end_reason": "reassigned by a cohort run"}
    update["$addToSet"] = {"previous_mentors": old["mentor_id"]}
    entries = [runtime.entry(ended, event_id=derived_id(old["pair_id"], "ended")), *events]
    if await _transition(runtime, mentee, PAIRED, update, entries):
        await give_back_place(runtime, org_id, old["mentor_id"])
        return pair_id
    await give_back_place(runtime, org_id, match.mentor_id)
    return None


async def end_pair(runtime: ServiceRuntime, mentee: Document, reason: PairEndReason) -> bool:
    """PairEnded; for not_a_fit, stagnant or mentor_left the mentee waits again in the same program,
    never to be offered this mentor again. The mentor's place is freed."""
    pair, now = mentee["pair"], runtime.clock.now()
    rematch = reason in REMATCH_REASONS
    event = PairEnded(
        org_id=mentee["org_id"],
        version=2,
        pair_id=pair["pair_id"],
        program_id=pair["program_id"],
        mentor_id=pair["mentor_id"],
        mentee_id=mentee["person_id"],
        reason=reason,
        ended_at=now,
    )
    update: Document = {
        "$set": {
            "status": WAITING if rematch else ENDED,
            "program_id": pair["program_id"],
            "waiting_since": now,
            "last_pair": {**pair, "ended_at": now, "end_reason": reason.value},
        },
        "$unset": {"pair": ""},
        "$addToSet": {"previous_mentors": pair["mentor_id"]},
    }
    entry = runtime.entry(event, event_id=derived_id(pair["pair_id"], "ended"))
    if not await _transition(runtime, mentee, PAIRED, update, [entry]):
        return False
    await give_back_place(runtime, mentee["org_id"], pair["mentor_id"])
    return True


async def rejoin(runtime: ServiceRuntime, mentee: Document, program_id: str) -> bool:
    """Wait in another program (from waiting or after an ended pair); focus seats are made by
    `seat_mentee` for the new program."""
    status = mentee.get("status")
    if status not in (WAITING, ENDED):
        return False
    update = {
        "$set": {"status": WAITING, "program_id": program_id, "waiting_since": runtime.clock.now()},
        "$unset": {"focus": "", "seated_for": ""},
    }
    return await _transition(runtime, mentee, status, update, [])


# What a focus seat does not copy from the person's own mentee document.
_NOT_COPIED = frozenset(
    {
        "_id", "status", "pair", "hold", "outbox", "outbox_pending", "version", "last_pair",
        "declined_mentors", "circle", "seat", "focus", "seated_for", "waiting_since", "program_id",
    }
)  # fmt: skip


async def seat_mentee(runtime: ServiceRuntime, view: OrgView, program: Program, primary: Document) -> bool:
    """Seats for a mentee waiting in `program`: with several mentors per mentee, seat n wants the
    n-th skill the person wants (their own document is seat 1); otherwise only seat 1 waits.
    Seats already paired or held stay as they are. Returns whether anything changed."""
    person_id, now = primary["person_id"], runtime.clock.now()
    wanted = list(dict.fromkeys(primary.get("skills_wanted") or []))
    seats = min(program.mentors_per_mentee, len(wanted)) if program.mentors_per_mentee > 1 else 1
    changed = False
    for extra in view.seats_of(person_id):
        # Waiting seats the program does not want (fewer focus areas now, or another program).
        if extra.get("seat", 1) > seats and extra.get("status") == WAITING:
            changed |= await _transition(runtime, extra, WAITING, {"$set": {"status": ENDED}}, [])
    if seats <= 1 or primary.get("seated_for") == program.program_id:
        return changed
    focus_of_primary = {"$set": {"focus": wanted[0], "seat": 1, "seated_for": program.program_id}}
    if not await _transition(runtime, primary, WAITING, focus_of_primary, []):
        return changed
    for seat in range(2, seats + 1):
        fields = {
            "status": WAITING, "program_id": program.program_id, "focus": wanted[seat - 1], "seat": seat,
            "waiting_since": now,
        }  # fmt: skip
        existing = view.mentee(person_id, seat)
        if existing is None:
            copied = {k: v for k, v in primary.items() if k not in _NOT_COPIED}
            with contextlib.suppress(DuplicateKeyError):
                await runtime.db["candidates"].insert_one(
                    {**copied, "_id": seat_key(primary["org_id"], person_id, seat), "version": 1, **fields}
                )
        elif existing.get("status") in (WAITING, ENDED):
            await _transition(runtime, existing, existing["status"], {"$set": fields}, [])
    return True


async def seat_waiting_mentees(runtime: ServiceRuntime, view: OrgView, program: Program) -> bool:
    """`seat_mentee` for every person whose own document waits in the program."""
    changed = False
    for doc in view.waiting_in(program, seat=1):
        changed |= await seat_mentee(runtime, view, program, doc)
    return changed
