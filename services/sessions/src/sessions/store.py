"""Sessions' collections.

- `relationships`: one document per pair or circle, the aggregate: its agreement, its sessions
  (embedded, with agenda, attendance and feedback), action items, goals, health, and its outbox.
  Every change to a relationship and the events it causes is one single-document write.
- `notes`: private notes, one document per note, read only by their author; never in an event.
- Due-date indexes, time-partitioned (see `servicekit.due_index`): `due_sessions_*` (a session's
  end, for the missed sweep), `due_actions_*` (an action item's due date), `due_health_*` (the next
  moment a pair's health may change with time alone). Sweeps read only the partitions that are due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from servicekit.due_index import TimePartitionedDueIndex

Document = dict[str, Any]

RELATIONSHIPS = "relationships"
NOTES = "notes"


def session_due_index(
    db: AsyncDatabase[Document], width: timedelta = timedelta(hours=6)
) -> TimePartitionedDueIndex:
    # Narrower partitions hold less beyond what is due, but listing collections grows with their
    # number. 6 h partitions keep a sweep's read to about what is due (benchmarks/sessions_sweep.py).
    return TimePartitionedDueIndex(db, "due_sessions", width=width)


def action_due_index(db: AsyncDatabase[Document]) -> TimePartitionedDueIndex:
    return TimePartitionedDueIndex(db, "due_actions")


def health_due_index(db: AsyncDatabase[Document]) -> TimePartitionedDueIndex:
    return TimePartitionedDueIndex(db, "due_health")


async def create_indexes(relationships: AsyncCollection[Document], notes: AsyncCollection[Document]) -> None:
    await relationships.create_index([("org_id", ASCENDING), ("program_id", ASCENDING)], name="org_program")
    await relationships.create_index(
        [("org_id", ASCENDING), ("participant_ids", ASCENDING)], name="org_participants"
    )
    await relationships.create_index([("sessions.session_id", ASCENDING)], name="session_id")
    await notes.create_index(
        [("org_id", ASCENDING), ("pair_id", ASCENDING), ("author_id", ASCENDING)], name="org_pair_author"
    )
