"""The admin cohort-run use case: read the program's waiting mentees and the mentors it admits,
run the matching engine (off the event loop), store the audited run, then apply it as the program's
approval says (pairs, MatchProposed for an admin, or MentorshipRequested for each mentor).

With several mentors per mentee, each person's focus seats are matched in turn (seat 1 first,
then seat 2 without the mentors seat 1 took): each stage is solved exactly, and the record adds
them up. Minimal disruption: only waiting mentees take part, so existing pairs stay, and their mentors'
program load counts them. The run id is derived from the program, the input digest and whether it
is a preview, so running again on unchanged inputs returns the stored run instead of a duplicate.
A preview (`apply: false`) stores the run and changes nobody."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from typing import Any

from mentorship_schemas import MatchRunCompleted
from pymongo.errors import DuplicateKeyError
from servicekit.ids import derived_id
from servicekit.outbox import new_document
from servicekit.runtime import ServiceRuntime

from matching.domain.cohort_run import CohortRunResult, run_cohort
from matching.domain.compatibility import Explanation
from matching.domain.fairness import GroupFloor
from matching.domain.programs import MatchingPolicy
from matching.flows import as_match
from matching.pool import PAIRED, Document, Match, OrgView, move_pair, offer, org_view, seat_waiting_mentees
from matching.programs import Program
from matching.store import match_profile

MATCH_RUNS = "match_runs"
# A run's pairs and unmatched mentees, in chunks: a 50,000-mentee run would not fit in one document.
MATCH_RUN_ITEMS = "match_run_items"
ITEMS_PER_CHUNK = 2000
# How many pairs and unmatched mentees a run's own representation carries; the rest are paged.
FIRST_PAGE = 1000
INCLUSION = "inclusion"


async def _store_items(runtime: ServiceRuntime, run: Document, kind: str, items: list[Document]) -> None:
    """Write the run's items before the run itself (which is the commit point); idempotent ids, so
    a retry after a crash rewrites the same chunks."""
    collection = runtime.db[MATCH_RUN_ITEMS]
    for start in range(0, len(items), ITEMS_PER_CHUNK):
        chunk = start // ITEMS_PER_CHUNK
        document = {
            "_id": f"{run['run_id']}:{kind}:{chunk:06d}",
            "run_id": run["run_id"],
            "org_id": run["org_id"],
            "kind": kind,
            "chunk": chunk,
            "items": items[start : start + ITEMS_PER_CHUNK],
        }
        await collection.replace_one({"_id": document["_id"]}, document, upsert=True)


async def run_items(
    runtime: ServiceRuntime, run_id: str, kind: str, offset: int = 0, limit: int | None = None
) -> list[Document]:
    """A page of a stored run's `pairs` or `unmatched`, in the run's order."""
    first = offset // ITEMS_PER_CHUNK
    query: Document = {"run_id": run_id, "kind": kind, "chunk": {"$gte": first}}
    if limit is not None:
        query["chunk"]["$lte"] = (offset + max(limit, 1) - 1) // ITEMS_PER_CHUNK
    items: list[Document] = []
    async for chunk in runtime.db[MATCH_RUN_ITEMS].find(query, sort=[("chunk", 1)]):
        items.extend(chunk["items"])
    skip = offset - first * ITEMS_PER_CHUNK
    return items[skip : None if limit is None else skip + limit]


async def with_first_page(runtime: ServiceRuntime, run: Document) -> Document:
    """The run as served: its summary with the first page of pairs and of unmatched mentees."""
    return run | {
        "pairs": await run_items(runtime, run["run_id"], "pairs", 0, FIRST_PAGE),
        "unmatched": await run_items(runtime, run["run_id"], "unmatched", 0, FIRST_PAGE),
    }


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


@dataclass
class Stage:
    """One seat's run: with several mentors per mentee, seat 1 (each person's first focus area) is
    matched first, then seat 2 without the mentors seat 1 took, and so on."""

    seat: int
    waiting: list[Document]
    result: CohortRunResult


def _reconsidered(view: OrgView, program: Program, seat: int) -> list[Document]:
    """Current pairs of the program at this seat that a run asked not to keep them reconsiders
    (those whose mentor is not taking mentees now stay as they are)."""
    return [
        doc
        for doc in view.mentees.values()
        if doc.get("status") == PAIRED
        and doc["pair"].get("program_id") == program.program_id
        and doc.get("seat", 1) == seat
        and view.mentors.get(doc["pair"]["mentor_id"], {}).get("status") == "available"
    ]


async def _stages(
    runtime: ServiceRuntime, view: OrgView, program: Program, policy: MatchingPolicy, *, keep_existing: bool
) -> tuple[list[Stage], int, GroupFloor | None]:
    now = runtime.clock.now()
    current = (
        {}
        if keep_existing
        else {s: _reconsidered(view, program, s) for s in range(1, program.mentors_per_mentee + 1)}
    )
    # A reconsidered pair's place counts as free for the solver: it may keep it or give it away.
    released = Counter(doc["pair"]["mentor_id"] for docs in current.values() for doc in docs)
    mentors = [
        replace(
            m,
            free_capacity=m.free_capacity + released[m.person_id],
            program_load=m.program_load - released[m.person_id],
        )
        for m in view.mentor_profiles(program, now)
    ]
    used: Counter[str] = Counter()  # places taken by earlier seats of this run
    taken: dict[str, set[str]] = defaultdict(set)  # person -> mentors earlier seats gave them
    stages: list[Stage] = []
    floor: GroupFloor | None = None
    for seat in range(1, program.mentors_per_mentee + 1):
        waiting = view.waiting_in(program, seat) + current.get(seat, [])
        if not waiting and seat > 1:
            continue
        mentees = [match_profile(doc, now) for doc in waiting]
        available = [
            replace(
                m,
                free_capacity=m.free_capacity - used[m.person_id],
                program_load=m.program_load + used[m.person_id],
            )
            for m in mentors
        ]
        previous = [
            (doc["person_id"], mentor)
            for doc in waiting
            for mentor in sorted(set(view.excluded_for(doc)) | taken[doc["person_id"]])
        ]
        floor = await fairness_floor(runtime, program, [m.person_id for m in mentees])
        result = await asyncio.to_thread(
            run_cohort, policy, mentees, available, managers=view.managers, previous_pairs=previous,
            group_floor=floor,
        )  # fmt: skip
        for pair in result.pairs:
            used[pair.mentor_id] += 1
            taken[pair.mentee_id].add(pair.mentor_id)
        stages.append(Stage(seat, waiting, result))
    return stages, len(mentors), floor


def _merged(stages: list[Stage]) -> dict[str, Any]:
    """One audited record for the run: one stage as it is; several added up, each pair and each
    unmatched mentee naming its seat and focus area."""
    results = [stage.result for stage in stages]
    if len(results) == 1:
        summary = results[0].summary()
    else:
        digest = hashlib.sha256("".join(r.input_digest for r in results).encode()).hexdigest()
        summary = {
            "input_digest": digest,
            "weights": results[0].weights,
            "matched": sum(r.matched for r in results),
            "objective": sum(r.objective for r in results),
            "total_score": sum(r.total_score for r in results),
            "optimal": all(r.optimal for r in results),
            "optimality": "; ".join(f"seat {st.seat}: {st.result.optimality}" for st in stages),
            "blocking_pairs": sum(r.blocking_pairs for r in results),
            "greedy_matched": sum(r.greedy_matched for r in results),
            "greedy_objective": sum(r.greedy_objective for r in results),
            "fairness": {f"seat{st.seat}_{k}": v for st in stages for k, v in st.result.fairness.items()},
        }
    focus = {(doc["person_id"], st.seat): doc.get("focus") for st in stages for doc in st.waiting}
    current = {
        (doc["person_id"], st.seat): doc["pair"]["mentor_id"]
        for st in stages
        for doc in st.waiting
        if doc.get("status") == PAIRED
    }

    def change(mentee_id: str, seat: int, mentor_id: str) -> str:
        before = current.get((mentee_id, seat))
        return "new" if before is None else "kept" if before == mentor_id else "moved"

    summary["pairs"] = [
        asdict(pair)
        | {
            "seat": st.seat,
            "focus": focus.get((pair.mentee_id, st.seat)),
            "change": change(pair.mentee_id, st.seat, pair.mentor_id),
            "current_mentor_id": current.get((pair.mentee_id, st.seat)),
        }
        for st in stages
        for pair in st.result.pairs
    ]
    summary["unmatched"] = [
        asdict(entry) | {"seat": st.seat, "focus": focus.get((entry.mentee_id, st.seat))}
        for st in stages
        for entry in st.result.unmatched
    ]
    return summary


async def run_cohort_for_program(
    runtime: ServiceRuntime,
    program: Program,
    policy: MatchingPolicy,
    *,
    apply: bool = True,
    keep_existing_pairs: bool = True,
) -> dict[str, Any]:
    view = await org_view(runtime, program.org_id)
    # A mentee's focus seats are bookkeeping, not a match: a preview makes them too.
    if await seat_waiting_mentees(runtime, view, program):
        view = await org_view(runtime, program.org_id)
    now = runtime.clock.now()
    started = asyncio.get_running_loop().time()
    stages, mentor_count, floor = await _stages(
        runtime, view, program, policy, keep_existing=keep_existing_pairs
    )
    seconds = asyncio.get_running_loop().time() - started
    summary = _merged(stages)
    mentee_count = sum(len(stage.waiting) for stage in stages)
    run_id = derived_id(
        program.org_id,
        program.program_id,
        summary["input_digest"],
        "apply" if apply else "preview",
        "keep" if keep_existing_pairs else "reconsider",
    )
    runs = runtime.db[MATCH_RUNS]
    pairs, unmatched = summary.pop("pairs"), summary.pop("unmatched")
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
            "keep_existing_pairs": keep_existing_pairs,
            "mentees": mentee_count,
            "mentors": mentor_count,
            "seconds": round(seconds, 3),
            **summary,
            "fairness_group_size": len(floor.member_ids) if floor else None,
            "pair_count": len(pairs),
            "unmatched_count": len(unmatched),
            "applied": None,
        }
        await _store_items(runtime, run, "pairs", pairs)
        await _store_items(runtime, run, "unmatched", unmatched)
        completed = MatchRunCompleted(
            org_id=program.org_id, version=1, run_id=run_id, program_id=program.program_id,
            mentees=mentee_count, mentors=mentor_count, matched=summary["matched"],
            objective=summary["objective"], optimal=summary["optimal"], seconds=round(seconds, 3),
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
        waiting = {(doc["person_id"], stage.seat): doc for stage in stages for doc in stage.waiting}
        stored["applied"] = await _apply(runtime, program, run_id, pairs, waiting)
        await runs.update_one({"_id": run_id, "applied": None}, {"$set": {"applied": stored["applied"]}})
    return await with_first_page(runtime, stored)


async def _apply(
    runtime: ServiceRuntime,
    program: Program,
    run_id: str,
    pairs: list[Document],
    seats: dict[tuple[str, int], Document],
) -> dict[str, Any]:
    """Offer each new pair of the run and move each reassigned one; a mentee or mentor that changed
    since the run is skipped (and named), never paired twice. Pairs and moves wait for each other:
    one that finds its mentor full is retried after those that free places there."""
    pending: list[tuple[str, Document, Match]] = []
    skipped: list[str] = []
    kept = 0
    for pair in pairs:
        mentee = seats.get((pair["mentee_id"], pair.get("seat", 1)))
        change = pair.get("change", "new")
        if change == "kept":
            kept += 1
        elif mentee is None:
            skipped.append(pair["mentee_id"])
        else:
            pending.append((change, mentee, as_match_from_record(pair)))
    done = {"new": 0, "moved": 0}
    while pending:
        retry = []
        for change, mentee, match in pending:
            if change == "moved":
                ok = await move_pair(runtime, program, mentee, match, run_id=run_id)
            else:
                ok = await offer(runtime, program, mentee, match, run_id=run_id, automatic=True)
            if ok:
                done[change] += 1
                continue
            current = await runtime.db["candidates"].find_one({"_id": mentee["_id"]})
            if current is not None and current.get("status") == mentee.get("status"):
                retry.append((change, current, match))  # only the mentor's place was missing
            else:
                skipped.append(mentee["person_id"])
        if len(retry) == len(pending):  # no progress: these keep their state
            skipped += [mentee["person_id"] for _, mentee, _ in retry]
            break
        pending = retry
    made, moved = done["new"], done["moved"]
    return {"as": program.approval.value, "made": made, "moved": moved, "kept": kept, "skipped": skipped}


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
