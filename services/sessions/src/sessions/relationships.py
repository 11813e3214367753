"""Use cases on one relationship (a pair or a circle), the aggregate of this service.

Every change loads the relationship document, applies a change to a copy, lets the domain rules
re-assess its health and top up its cadence sessions, and writes the result back in ONE
single-document update conditional on `version`, together with the events it caused (outbox).
Due dates the change creates are written to the time-partitioned due indexes first: an index entry
without its session is harmless (the sweep drops it), a session without its entry would be lost.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from mentorship_schemas import (
    AgreementSigned,
    Event,
    RelationshipRecovered,
    RelationshipStagnant,
    SessionCancelled,
    SessionScheduled,
)
from mentorship_schemas.events import Cadence
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from servicekit.due_index import TimePartitionedDueIndex
from servicekit.ids import derived_id
from servicekit.outbox import new_document, with_outbox
from servicekit.repository import ConcurrentUpdate
from servicekit.runtime import ServiceRuntime

from sessions.domain import cadence as cadence_rules
from sessions.domain import health as health_rules

Document = dict[str, Any]
SYSTEM_ACTOR = "system"  # cancelled_by when the platform (not a person) cancels, e.g. on PairEnded


@dataclass(frozen=True)
class SessionsPolicy:
    """The service's configurable rules, from settings."""

    first_session_after: timedelta = timedelta(days=7)
    duration: timedelta = timedelta(hours=1)
    grace: timedelta = timedelta(hours=1)
    horizon_sessions: int = 4  # cadence sessions kept scheduled ahead
    default_cadence: Cadence = Cadence.MONTHLY
    default_local_time: time = time(10, 0)
    health: health_rules.HealthPolicy = field(default_factory=health_rules.HealthPolicy)


@dataclass
class Change:
    """What a use case did to the copy of the document: events to publish and due dates to index."""

    events: list[tuple[Event, str]] = field(default_factory=list)
    session_due: list[Document] = field(default_factory=list)  # sessions scheduled or moved
    action_due: list[Document] = field(default_factory=list)  # action items created

    def emit(self, event: Event, event_id: str) -> None:
        self.events.append((event, event_id))


class NotFound(Exception):
    pass


class Rejected(Exception):
    """A request that the relationship's state does not allow (409)."""


Mutation = Callable[[Document, datetime, Change], None]


def participants(document: Document) -> list[str]:
    return list(document["participant_ids"])


def find_session(document: Document, session_id: str) -> Document:
    for session in document["sessions"]:
        if session["session_id"] == session_id:
            return session  # type: ignore[no-any-return]
    raise NotFound("no such session")


def session_scheduled(document: Document, session: Document) -> SessionScheduled:
    return SessionScheduled(
        org_id=document["org_id"],
        version=session["version"],
        session_id=session["session_id"],
        pair_id=document["_id"],
        participant_ids=participants(document),
        starts_at=session["starts_at"],
        ends_at=session["ends_at"],
    )


def new_session(
    document: Document,
    session_id: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    change: Change,
    *,
    location: str | None = None,
    index: int | None = None,
) -> Document:
    rota = document.get("facilitator_rota") or []
    seq = len(document["sessions"]) + 1
    session: Document = {
        "session_id": session_id,
        "seq": seq,
        "kind": kind,
        "index": index,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "status": "scheduled",
        "location": location or (document.get("agreement") or {}).get("meeting_link"),
        "facilitator_id": rota[(seq - 1) % len(rota)] if rota else None,
        "agenda": [],
        "feedback": {},
        "reschedules": [],
        "sequence": 0,
        "version": 1,
    }
    document["sessions"].append(session)
    change.emit(session_scheduled(document, session), derived_id(session_id, "scheduled", "0"))
    change.session_due.append(session)
    return session


def cancel_session(
    document: Document, session: Document, by: str, reason: str | None, now: datetime, change: Change
) -> None:
    session.update(
        status="cancelled",
        cancelled_by=by,
        cancel_reason=reason,
        cancelled_at=now,
        version=session["version"] + 1,
        sequence=session["sequence"] + 1,
    )
    change.emit(
        SessionCancelled(
            org_id=document["org_id"],
            version=session["version"],
            session_id=session["session_id"],
            pair_id=document["_id"],
            participant_ids=participants(document),
            starts_at=session["starts_at"],
            cancelled_by=by,
        ),
        derived_id(session["session_id"], "cancelled"),
    )


def facts_of(document: Document) -> health_rules.RelationshipFacts:
    agreement = document["agreement"]
    progress = [item["done_at"] for item in document.get("action_items", []) if item.get("done_at")]
    for goal in document.get("goals", []):
        progress += goal.get("progress_at", [])
    return health_rules.RelationshipFacts(
        cadence=Cadence(agreement["cadence"]),
        active_since=agreement.get("signed_at") or document["started_at"],
        drafted_at=agreement["drafted_at"],
        signed=agreement.get("signed_at") is not None,
        sessions=[
            health_rules.SessionFacts(
                starts_at=s["starts_at"],
                status=s["status"],
                learned=tuple(bool(f["learned"]) for f in s.get("feedback", {}).values() if "learned" in f),
            )
            for s in document["sessions"]
        ],
        progress_at=progress,
        goals_open=sum(1 for goal in document.get("goals", []) if not goal.get("achieved_at")),
        ends_on=agreement.get("ends_on"),
    )


def top_up_cadence(document: Document, now: datetime, policy: SessionsPolicy, change: Change) -> None:
    """Keep `horizon_sessions` cadence sessions scheduled ahead, per the signed agreement."""
    agreement = document["agreement"]
    series = agreement.get("series")
    if document["status"] != "active" or not series:
        return
    cadence_sessions = [s for s in document["sessions"] if s["kind"] == "cadence"]
    ahead = sum(1 for s in cadence_sessions if s["status"] == "scheduled" and s["starts_at"] > now)
    wanted = policy.horizon_sessions - ahead
    if wanted <= 0:
        return
    next_index = max((s["index"] for s in cadence_sessions), default=-1) + 1
    first = datetime.fromisoformat(series["first_local"])
    found = cadence_rules.occurrences(
        first,
        cadence_rules.zone(series["timezone"]),
        Cadence(agreement["cadence"]),
        timedelta(minutes=agreement["duration_minutes"]),
        start_index=next_index,
        count=wanted,
        until=agreement.get("ends_on"),
    )
    for occurrence in found:
        session_id = derived_id(document["_id"], "cadence", str(series["revision"]), str(occurrence.index))
        new_session(
            document,
            session_id,
            "cadence",
            occurrence.starts_at,
            occurrence.ends_at,
            change,
            index=occurrence.index,
        )


def reassess(document: Document, now: datetime, policy: SessionsPolicy, change: Change) -> None:
    """Open or close a stagnation episode as the domain rules say (at most one event)."""
    if document["status"] != "active":
        return
    health = document.setdefault("health", {"episode_open": False, "episodes": 0})
    assessment = health_rules.assess(facts_of(document), now, policy.health)
    step = health_rules.transition(health["episode_open"], health["episodes"], assessment)
    health.update(
        reasons=list(assessment.reasons),
        severity=assessment.severity.value if assessment.severity else None,
        suggested_actions=list(assessment.suggested_actions),
        assessed_at=now,
    )
    pair_id = document["_id"]
    episode_id = derived_id(pair_id, "episode", str(step.episode_number))
    if step.kind == "stagnant":
        assert assessment.severity is not None
        health.update(episode_open=True, episodes=step.episode_number, episode_id=episode_id, since=now)
        change.emit(
            RelationshipStagnant(
                org_id=document["org_id"],
                version=document["version"] + 1,
                pair_id=pair_id,
                episode_id=episode_id,
                participant_ids=participants(document),
                reasons=list(assessment.reasons),
                severity=assessment.severity,
                suggested_actions=list(assessment.suggested_actions),
            ),
            derived_id(pair_id, "stagnant", str(step.episode_number)),
        )
    elif step.kind == "recovered":
        health.update(episode_open=False, recovered_at=now)
        change.emit(
            RelationshipRecovered(
                org_id=document["org_id"],
                version=document["version"] + 1,
                pair_id=pair_id,
                episode_id=episode_id,
                participant_ids=participants(document),
            ),
            derived_id(pair_id, "recovered", str(step.episode_number)),
        )


def sign_agreement(document: Document, person: str, now: datetime, change: Change) -> None:
    agreement = document["agreement"]
    if agreement.get("signed_at"):
        raise Rejected("the agreement is already signed by everyone")
    agreement.setdefault("signatures", {})[person] = now
    if set(agreement["signatures"]) < set(participants(document)):
        return
    agreement["signed_at"] = now
    tz = cadence_rules.zone(agreement["timezone"])
    first = cadence_rules.first_local_start(
        max(now, agreement.get("starts_on") or now),
        tz,
        time.fromisoformat(agreement["local_time"]),
        agreement.get("weekday"),
    )
    agreement["series"] = {
        "first_local": first.isoformat(),
        "timezone": agreement["timezone"],
        "revision": agreement["revision"],
    }
    change.emit(
        AgreementSigned(
            org_id=document["org_id"],
            version=document["version"] + 1,
            pair_id=document["_id"],
            participant_ids=participants(document),
            cadence=Cadence(agreement["cadence"]),
            ends_on=agreement.get("ends_on"),
        ),
        derived_id(document["_id"], "agreement-signed", str(agreement["revision"])),
    )


class RelationshipStore:
    """Loads, changes and saves relationships; the one place that writes them."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        relationships: AsyncCollection[Document],
        session_due: TimePartitionedDueIndex,
        action_due: TimePartitionedDueIndex,
        health_due: TimePartitionedDueIndex,
        policy: SessionsPolicy,
    ) -> None:
        self.runtime = runtime
        self.relationships = relationships
        self.session_due = session_due
        self.action_due = action_due
        self.health_due = health_due
        self.policy = policy

    async def get(self, pair_id: str, org_id: str | None = None) -> Document | None:
        query: Document = {"_id": pair_id}
        document = await self.relationships.find_one(query)
        if document is None or (org_id is not None and document["org_id"] != org_id):
            return None
        return document

    async def create(self, document: Document, change: Change) -> bool:
        """Insert a new relationship with its first events; False if it already exists."""
        now = self.runtime.clock.now()
        top_up_cadence(document, now, self.policy, change)
        await self._index(document, change, now)
        entries = [self.runtime.entry(event, event_id=event_id) for event, event_id in change.events]
        try:
            await self.relationships.insert_one(new_document(document, entries))
        except DuplicateKeyError:
            return False
        self.runtime.events_written()
        return True

    async def change(
        self, pair_id: str, mutate: Mutation, *, org_id: str | None = None, attempts: int = 10
    ) -> tuple[Document, Change] | None:
        """Apply `mutate` and the follow-up rules; returns the new document and what changed, or
        None when the relationship does not exist. Raises what `mutate` raises (nothing written)."""
        for _ in range(attempts):
            current = await self.get(pair_id, org_id)
            if current is None:
                return None
            now = self.runtime.clock.now()
            updated = copy.deepcopy(current)
            updated.pop("outbox", None)
            change = Change()
            mutate(updated, now, change)
            top_up_cadence(updated, now, self.policy, change)
            reassess(updated, now, self.policy, change)
            await self._index(updated, change, now)
            fields = {
                key: value
                for key, value in updated.items()
                if key not in ("_id", "outbox", "outbox_pending") and value != current.get(key)
            }
            if not fields and not change.events:
                return current, change
            fields["version"] = current["version"] + 1
            updated["version"] = fields["version"]
            entries = [self.runtime.entry(event, event_id=event_id) for event, event_id in change.events]
            update: Document = {"$set": fields}
            if entries:
                update = with_outbox(update, entries)
            result = await self.relationships.update_one(
                {"_id": pair_id, "version": current["version"]}, update
            )
            if result.modified_count == 1:
                if entries:
                    self.runtime.events_written()
                return updated, change
        raise ConcurrentUpdate(f"gave up changing relationship {pair_id} after {attempts} conflicts")

    async def _index(self, document: Document, change: Change, now: datetime) -> None:
        pair = {"pair_id": document["_id"]}
        for session in change.session_due:
            await self.session_due.put(session["session_id"], session["ends_at"], pair, now=now)
        for item in change.action_due:
            await self.action_due.put(item["item_id"], item["due_at"], pair, now=now)
        if document["status"] == "active":
            check = health_rules.next_time_check(facts_of(document), now, self.policy.health)
            if check is not None and check != document.get("health", {}).get("next_check_at"):
                document.setdefault("health", {"episode_open": False, "episodes": 0})["next_check_at"] = check
                await self.health_due.put(f"{document['_id']}@{check.isoformat()}", check, pair, now=now)
