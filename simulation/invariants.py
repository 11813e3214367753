"""The invariants that span the services, each checked against the stores and the topics, each
answering held or broken with the evidence. Names are stable: the test and the report use them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulation.observe import Document, Snapshot
from simulation.world import World

EVIDENCE_LINES = 8


@dataclass
class Verdict:
    name: str
    held: bool
    checked: int  # how many things it looked at
    evidence: list[str] = field(default_factory=list)
    when: list[str] = field(default_factory=list)  # the checkpoints where it broke


def _verdict(name: str, checked: int, problems: Iterable[str]) -> Verdict:
    found = list(problems)
    shown = found[:EVIDENCE_LINES] + (
        [f"... and {len(found) - EVIDENCE_LINES} more"] if len(found) > EVIDENCE_LINES else []
    )
    return Verdict(name, not found, checked, shown)


def _erased(world: World) -> set[str]:
    return {e["person"] for e in world.journal.erasures}


def current_pairs(snapshot: Snapshot) -> dict[str, Document]:
    """Matching's current pairs by id: the mentee documents that are paired."""
    return {
        doc["pair"]["pair_id"]: doc
        for doc in snapshot.collection("matching", "candidates")
        if doc.get("role") == "mentee" and doc.get("status") == "paired" and doc.get("pair")
    }


def active_relationships(snapshot: Snapshot) -> list[Document]:
    return [doc for doc in snapshot.collection("sessions", "relationships") if doc.get("status") == "active"]


# ------------------------------------------------------------------ what the stores agree on


def mentor_load_consistent(snapshot: Snapshot, world: World) -> Verdict:
    """A mentor's load is the same in profiles, matching and sessions, and never above capacity.
    Someone who stopped mentoring keeps the mentees they have until those pairs end: their load
    still counts (the default run flagged such a former mentor when only mentors were compared)."""
    profiles = {
        doc["person_id"]: doc
        for doc in snapshot.collection("profiles", "people")
        if ("mentor" in doc.get("roles", []) or doc.get("active_pair_ids")) and doc.get("status") != "erased"
    }
    matching = Counter(doc["pair"]["mentor_id"] for doc in current_pairs(snapshot).values())
    sessions = Counter(
        str(doc.get("mentor_id")) for doc in active_relationships(snapshot) if doc.get("kind") == "pair"
    )
    problems = []
    for mentor in sorted(set(profiles) | set(matching) | set(sessions)):
        if mentor in (None, "erased") or mentor not in world.people:
            continue
        doc = profiles.get(mentor, {})
        in_profiles = len(doc.get("active_pair_ids", []))
        counts = (in_profiles, matching[mentor], sessions[mentor])
        if len(set(counts)) > 1:
            problems.append(
                f"{mentor}: profiles {counts[0]}, matching {counts[1]}, sessions {counts[2]} mentees"
            )
        capacity = doc.get("mentor_capacity", 0)
        if "mentor" in doc.get("roles", []) and max(counts) > capacity:
            problems.append(f"{mentor}: {max(counts)} mentees above capacity {capacity}")
    return _verdict("mentor_load_consistent", len(profiles), problems)


def mentor_free_places_agree(snapshot: Snapshot, world: World) -> Verdict:
    """Where profiles says a mentor takes mentees and has a free place, matching offers it too."""
    holds = Counter(
        doc["hold"]["mentor_id"]
        for doc in snapshot.collection("matching", "candidates")
        if doc.get("role") == "mentee" and doc.get("status") == "held" and doc.get("hold")
    )
    mentors = {
        doc["person_id"]: doc
        for doc in snapshot.collection("matching", "candidates")
        if doc.get("role") == "mentor"
    }
    problems, checked = [], 0
    for doc in snapshot.collection("profiles", "people"):
        if (
            doc.get("status") == "erased"
            or "mentor" not in doc.get("roles", [])
            or not doc.get("accepting_mentees")
        ):
            continue
        checked += 1
        free = doc["mentor_capacity"] - len(doc.get("active_pair_ids", [])) - holds[doc["person_id"]]
        offered = mentors.get(doc["person_id"], {})
        slots = offered.get("free_slots", 0) if offered.get("status") == "available" else 0
        if max(free, 0) != slots:
            problems.append(
                f"{doc['person_id']}: profiles says {max(free, 0)} free place(s) (capacity "
                f"{doc['mentor_capacity']}, {len(doc.get('active_pair_ids', []))} mentees, "
                f"{holds[doc['person_id']]} "
                f"held), matching offers {slots} ({offered.get('status', 'no candidate')})"
            )
    return _verdict("mentor_free_places_agree", checked, problems)


def no_active_relationship_for_ended_pair(snapshot: Snapshot, world: World) -> Verdict:
    pairs = current_pairs(snapshot)
    ended = {r.data["pair_id"]: r.data.get("reason") for r in snapshot.events("PairEnded")}
    relationships = [doc for doc in active_relationships(snapshot) if doc.get("kind") == "pair"]
    problems = [
        f"relationship {doc['_id']} ({doc.get('program_id')}) is active but matching "
        + (f"ended the pair ({ended[doc['_id']]})" if doc["_id"] in ended else "has no such current pair")
        for doc in relationships
        if doc["_id"] not in pairs
    ]
    return _verdict("no_active_relationship_for_ended_pair", len(relationships), problems)


def no_active_relationship_for_erased_person(snapshot: Snapshot, world: World) -> Verdict:
    """An erased person's pairs have ended, and no active relationship lists them. A circle they
    were in carries on without them (it ends below two members), so it may stay active."""
    erased = _erased(world)
    erased_pairs = {
        pair for e in world.journal.erasures for pair in e["pairs"] if _kind(world, pair) == "pair"
    }
    problems = [
        f"relationship {doc['_id']} is active with participants {doc.get('participant_ids')}"
        + (" (a pair of an erased person)" if doc["_id"] in erased_pairs else "")
        for doc in active_relationships(snapshot)
        if doc["_id"] in erased_pairs or erased & set(doc.get("participant_ids", []))
    ]
    return _verdict("no_active_relationship_for_erased_person", len(erased), problems)


def _kind(world: World, pair_id: str) -> str:
    pair = world.pairs.get(pair_id)
    return pair.kind if pair is not None else "pair"


STORE_INVARIANTS: tuple[Callable[[Snapshot, World], Verdict], ...] = (
    mentor_load_consistent,
    mentor_free_places_agree,
    no_active_relationship_for_ended_pair,
    no_active_relationship_for_erased_person,
)


# ------------------------------------------------------------------ erasure


# Other people's HR data may name the erased person as their manager: that is theirs, not the
# erased person's.
NOT_ABOUT_THE_PERSON = frozenset({"manager_id"})


def _mentions(value: Any, needle: str) -> bool:
    if isinstance(value, str):
        return needle in value
    if isinstance(value, dict):
        return any(
            _mentions(k, needle) or _mentions(v, needle)
            for k, v in value.items()
            if k not in NOT_ABOUT_THE_PERSON
        )
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, needle) for v in value)
    return False


def erased_person_forgotten(snapshot: Snapshot, world: World) -> Verdict:
    """No store keeps an erased person's id (profiles keeps only a keyed hash, to refuse them back)."""
    problems = []
    for person in sorted(_erased(world)):
        for where, documents in snapshot.documents.items():
            found = [str(doc.get("_id"))[:60] for doc in documents if _mentions(doc, person)]
            if found:
                problems.append(f"{person} is still in {where}: {len(found)} document(s), e.g. {found[0]}")
    return _verdict("erased_person_forgotten", len(_erased(world)), problems)


def _notifications(snapshot: Snapshot) -> list[Document]:
    return snapshot.collection("notifications", "notifications")


def erased_persons_partner_told(snapshot: Snapshot, world: World) -> Verdict:
    """When a paired person is erased, the other side of each of their pairs is told. (Not the
    other members of a circle that carries on without them: no event says a member left.)"""
    problems, checked = [], 0
    for erasure in world.journal.erasures:
        for pair_id in erasure["pairs"]:
            pair = world.pairs[pair_id]
            if pair.kind != "pair":
                continue
            for partner in pair.participants:
                if partner == erasure["person"] or partner in _erased(world):
                    continue
                checked += 1
                told = [
                    n for n in _notifications(snapshot)
                    if n.get("recipient_id") == partner and n["created_at"] >= erasure["at"]
                    and ((n.get("kind") == "pair_ended" and n.get("subject_id") == pair_id)
                         or "ProfileErased" in str(n.get("cause_type")))
                ]  # fmt: skip
                if not told:
                    problems.append(
                        f"{partner} was not told that {erasure['person']} left pair {pair_id} "
                        f"({erasure['why']})"
                    )
    return _verdict("erased_persons_partner_told", checked, problems)


def erased_persons_place_free(snapshot: Snapshot, world: World) -> Verdict:
    """An erased mentee's place is free again: no service counts their pair against the mentor."""
    pairs = current_pairs(snapshot)
    people = {doc["person_id"]: doc for doc in snapshot.collection("profiles", "people")}
    problems, checked = [], 0
    for erasure in world.journal.erasures:
        for pair_id in erasure["pairs"]:
            mentor = world.pairs[pair_id].mentor_id
            if mentor is None or mentor == erasure["person"]:
                continue
            checked += 1
            if pair_id in people.get(mentor, {}).get("active_pair_ids", []):
                problems.append(
                    f"profiles still counts pair {pair_id} of erased {erasure['person']} for {mentor}"
                )
            if pair_id in pairs:
                problems.append(
                    f"matching still holds pair {pair_id} of erased {erasure['person']} with {mentor}"
                )
    return _verdict("erased_persons_place_free", checked, problems)


def within(moment: datetime, start: datetime, days: float) -> bool:
    return start <= moment <= start + timedelta(days=days)


def by_key(records: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = defaultdict(list)
    for record in records:
        grouped[key(record)].append(record)
    return grouped
