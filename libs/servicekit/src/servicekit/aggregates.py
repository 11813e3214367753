"""One aggregate store for every service: load a typed aggregate, let a domain method change it,
and save it with the events it caused in ONE conditional single-document write (the outbox).

An aggregate is a pydantic model stored as one document (`_id` is its `id`), carrying `org_id` and
its own `version`. A domain method changes the aggregate in place and returns the events it caused
as `Emitted` values; the store bumps the version, diffs the document, and writes
`{$set: changed fields, $push: outbox}` only if the version it read is still current. Another
writer in between means: read again and decide again (bounded). Then it wakes the relay.

Use cases are tested against `InMemoryAggregates` (no server), which keeps the same contract.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, Protocol, TypeVar

from mentorship_schemas import Event
from pydantic import BaseModel, ConfigDict, Field
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from servicekit.erasure import without_person
from servicekit.grouped import WRITE_IDS, Grouped
from servicekit.outbox import new_document, outbox_entry, trace_carrier, with_outbox

Document = dict[str, Any]
# Fields the store keeps beside the aggregate's own (a change never sets or removes them).
_STORE_FIELDS = ("_id", "outbox", "outbox_pending", WRITE_IDS)
_UNWRITTEN = frozenset((*_STORE_FIELDS, "version"))  # by a change's `$set` (the version is its own)


class AggregateRoot(BaseModel):
    """Base of every aggregate: its id (stored as `_id`), its tenant and its version counter."""

    model_config = ConfigDict(populate_by_name=True, use_enum_values=False, validate_assignment=False)

    id: str = Field(alias="_id")
    org_id: str
    version: int = 0

    def forget_person_id(self, person_id: str, replacement: str) -> list[Emitted]:
        """An erased person's id, wherever it sits in this aggregate (a member list, a key of
        answers, an author), becomes `replacement` (see `servicekit.erasure.pseudonym`)."""
        document = without_person(self.to_document(), person_id, replacement)
        document.update(_id=self.id, org_id=self.org_id, version=self.version)
        forgotten = type(self).model_validate(document)
        for name in type(self).model_fields:
            setattr(self, name, getattr(forgotten, name))
        return []

    def to_document(self) -> Document:
        """The aggregate as BSON stores it. Its enums are `StrEnum`s, which BSON writes as their
        values and which compare equal to the strings read back; a tuple is written as an array
        and reads back a list (`same_as_stored` compares it as such). Walking the dump to turn
        them into plain values took a quarter of sessions' domain work on a new pair (120 us).

        Fields that are None are left out, here and in every nested model (not in dicts or
        lists): they read back as their default, None, and a query for null matches a missing
        field as it does a stored null (pinned in tests/store). Half of a new relationship's
        fields are empty: left out, its document is a quarter smaller (1,501 -> 1,121 bytes), and
        the store decodes every field name it receives. A field that becomes None is unset by
        `_save`, as any field the document no longer has."""
        document: Document = self.model_dump(mode="python", by_alias=True, exclude_none=True)
        return document


def same_as_stored(value: Any, stored: Any) -> bool:
    """Whether `value` (from `to_document`) reads back as `stored`: equal, or equal once its
    tuples are lists and its enums their values. It is walked only when that may decide: a list
    or a document of the stored one's size and keys (a field that changed, say a pair where the
    seat had none or an audit list one entry longer, is not walked to find out)."""
    if value == stored:
        return True
    if isinstance(value, Enum):
        return bool(value.value == stored)
    if isinstance(value, list | tuple):
        return isinstance(stored, list) and len(value) == len(stored) and _plain(value) == stored
    if isinstance(value, dict):
        return isinstance(stored, dict) and value.keys() == stored.keys() and _plain(value) == stored
    return False


# What BSON stores as it is: a document's leaves are mostly these, and skipping the call for them
# is most of the cost of `_plain` on a large aggregate.
_LEAVES = frozenset({str, int, float, bool, type(None), datetime, bytes})


def _plain(value: Any) -> Any:
    """Plain values, as they read back: enums become their values, tuples lists."""
    kind = type(value)
    if kind is dict:
        return {key: item if type(item) in _LEAVES else _plain(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [item if type(item) in _LEAVES else _plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Emitted:
    """An event a change caused, with its id derived from the cause (so a replay yields the same).
    `local`: what this service's own effect of the event needs and the event does not carry (plain
    values), kept beside it in the outbox for the relay's `on_published` handlers, never published."""

    event: Event
    event_id: str
    local: Mapping[str, Any] | None = None


A = TypeVar("A", bound=AggregateRoot)
R = TypeVar("R")


class ConcurrentUpdate(Exception):
    """The aggregate changed between read and write too many times in a row."""


class Outbox(Protocol):
    """Where the store gets event envelopes and whom it tells that events are waiting."""

    source: str

    def now(self) -> datetime: ...

    def check_publishes(self, event: Event) -> None: ...

    def events_written(
        self, collection: str, aggregate_id: str, entries: list[Document] | None = None
    ) -> None: ...


@dataclass(frozen=True)
class Saved(Generic[A, R]):
    """What a change did: the aggregate as saved (to read: the store's observers may keep it), the
    events it caused and the method's result."""

    aggregate: A
    emitted: list[Emitted]
    result: R


Change = Callable[[A], tuple[R, list[Emitted]] | list[Emitted]]
# Awaited with the changed aggregate right before its write (on every attempt): for what must be
# stored first, e.g. due-date index entries (an entry without its aggregate is harmless, the
# reverse would be lost).
BeforeWrite = Callable[[A], Awaitable[None]]


class Aggregates(Protocol[A]):
    """What a use case needs of its aggregates' storage: `AggregateStore` or `InMemoryAggregates`."""

    async def get(self, aggregate_id: str, org_id: str | None = None) -> A | None: ...

    async def get_many(self, aggregate_ids: Sequence[str], org_id: str | None = None) -> dict[str, A]: ...

    async def create(
        self, aggregate: A, emitted: Iterable[Emitted] = (), *, before_write: BeforeWrite[A] | None = None
    ) -> bool: ...

    async def change(
        self,
        aggregate_id: str,
        change: Change[A, R],
        *,
        org_id: str | None = None,
        before_write: BeforeWrite[A] | None = None,
    ) -> Saved[A, R | None] | None: ...


class _Turn:
    """The turn of one aggregate's change in this process (`async with`): its lock, shared by the
    changes waiting for it and dropped with the last. A class, not a generator: the
    `asynccontextmanager` around every change was 2% of matching's main thread in its flood."""

    __slots__ = ("_key", "_lock", "_locks")

    def __init__(self, locks: dict[str, tuple[asyncio.Lock, int]], key: str) -> None:
        lock, waiting = locks.get(key) or (asyncio.Lock(), 0)
        locks[key] = (lock, waiting + 1)
        self._locks, self._key, self._lock = locks, key, lock

    async def __aenter__(self) -> None:
        try:
            await self._lock.acquire()
        except BaseException:  # cancelled while waiting: no turn taken
            self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self._lock.release()
        self._leave()

    def _leave(self) -> None:
        lock, waiting = self._locks[self._key]
        if waiting == 1:
            del self._locks[self._key]
        else:
            self._locks[self._key] = (lock, waiting - 1)


class AggregateStore(Generic[A]):
    """Loads and saves one aggregate type in one collection; the only writer of that collection."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        model: type[A],
        outbox: Outbox,
        *,
        attempts: int = 30,
        cached: int = 10_000,
        keep_created: bool = False,
    ) -> None:
        self.collection = collection
        self.model = model
        self._grouped = Grouped(collection)
        self._outbox = outbox
        self._attempts = attempts
        # Changes of one aggregate in this process wait for each other instead of racing (a
        # consumer's batch may hold several records for one mentor), and the document each change
        # wrote is kept, so the next change of it skips the read. Both are only shortcuts: the
        # write stays conditional on the version, so another replica's change is never lost (a
        # conflict drops the kept document and reads it again).
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._written: OrderedDict[str, Document] = OrderedDict()
        self._cached = cached
        # What a create wrote is kept too when its first change usually follows soon (matching
        # offers a seat it has just stored); not by default: most created documents (a
        # notification, a session) stay as they are for a while and would only fill the cache
        # (kept, they cost notifications 35 MB more in the journey benchmark).
        self._keep_created = keep_created
        self._observers: list[Callable[[A, Document], None]] = []

    def observe(self, saved: Callable[[A, Document], None]) -> None:
        """Call `saved` with every aggregate this store creates or changes (after the write) and
        its document as stored (as written, outbox aside, or as read when the change wrote
        nothing), so a read model kept in memory (an incremental view) follows this process's own
        writes. Neither is to be changed: the observer may keep the aggregate itself (the caller
        of a create or a change does not change it after the write; `Saved.aggregate` is read
        only), and each change works on an aggregate validated afresh."""
        self._observers.append(saved)

    def _saved(self, aggregate: A, document: Document) -> None:
        for saved in self._observers:
            saved(aggregate, document)

    async def get(self, aggregate_id: str, org_id: str | None = None) -> A | None:
        document = await self._grouped.find_by_id(aggregate_id)
        if document is None or (org_id is not None and document.get("org_id") != org_id):
            return None
        return self._loaded(document)

    async def get_many(self, aggregate_ids: Sequence[str], org_id: str | None = None) -> dict[str, A]:
        """Those of the aggregates that exist (in `org_id`, when given), by id: in one read, where
        `get` of each would wait for its own."""
        documents = await self._grouped.find_by_ids(list(aggregate_ids))
        loaded = (
            (document["_id"], self._loaded(document))
            for document in documents
            if org_id is None or document.get("org_id") == org_id
        )
        return {aggregate_id: aggregate for aggregate_id, aggregate in loaded if aggregate is not None}

    def _loaded(self, document: Document) -> A | None:
        """The aggregate a stored document holds."""
        return self.model.model_validate(document)

    async def create(
        self, aggregate: A, emitted: Iterable[Emitted] = (), *, before_write: BeforeWrite[A] | None = None
    ) -> bool:
        """Insert a new aggregate with its first events; False if one with its id exists."""
        entries = self._entries(emitted)
        if before_write is not None:
            await before_write(aggregate)
        document = aggregate.to_document()
        async with self._turn(aggregate.id):
            try:
                await self._grouped.insert(new_document(document, entries))
            except DuplicateKeyError:
                return False
            if self._keep_created:
                self._keep(aggregate.id, document)
        if entries:
            self._outbox.events_written(self.collection.name, aggregate.id, entries)
        self._saved(aggregate, document)
        return True

    async def change(
        self,
        aggregate_id: str,
        change: Change[A, R],
        *,
        org_id: str | None = None,
        before_write: BeforeWrite[A] | None = None,
    ) -> Saved[A, R | None] | None:
        """Apply `change` to the current aggregate and save it with its events; None if absent.

        `change` mutates the aggregate it is given and returns its events (or `(result, events)`);
        what it raises propagates and nothing is written. `before_write` is awaited before a write.
        """
        async with self._turn(aggregate_id):
            read: Document | None = None  # read from the store for this attempt already
            for attempt in range(1, self._attempts + 1):
                kept = None if read is not None else self._written.pop(aggregate_id, None)
                document = read or kept or await self._grouped.find_by_id(aggregate_id)
                read = None
                if document is None or (org_id is not None and document.get("org_id") != org_id):
                    return None
                aggregate = self.model.model_validate(document)
                returned = change(aggregate)
                result, emitted = returned if isinstance(returned, tuple) else (None, returned)
                # Its outbox is known when this process wrote the document last (the relay was
                # named everything it holds) or when the read shows it empty.
                known = kept is not None or not document.get("outbox")
                stored = await self._save(document, aggregate, emitted, before_write, known)
                if stored is document and kept is not None:
                    # Nothing to write, as the kept copy says; with no write, no conflict would
                    # tell that another replica changed the document since, and a stale copy would
                    # decide the same way every time (a mentor full on this replica's copy after
                    # the other gave a place back). So the store's version decides.
                    current = await self._grouped.find_by_id(aggregate_id)
                    if current is None or current.get("version") != kept.get("version"):
                        read = current
                        continue
                if stored is not None:
                    self._keep(aggregate_id, stored)
                    self._saved(aggregate, stored)
                    return Saved(aggregate, list(emitted), result)
                # Another writer won: step aside a little (more after each loss) so the losers
                # of one round do not collide again in the next.
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))
        raise ConcurrentUpdate(f"gave up changing {self.collection.name}/{aggregate_id} after conflicts")

    def _turn(self, aggregate_id: str) -> _Turn:
        return _Turn(self._locks, aggregate_id)

    def _keep(self, aggregate_id: str, document: Document) -> None:
        self._written[aggregate_id] = document
        if len(self._written) > self._cached:
            self._written.popitem(last=False)

    async def _save(
        self,
        before: Document,
        aggregate: A,
        emitted: list[Emitted],
        before_write: BeforeWrite[A] | None,
        outbox_known: bool,
    ) -> Document | None:
        """Write the change (conditional on the version read); returns the document as now
        stored (outbox aside), or None when another writer changed it first. `outbox_known`: the
        document held no event the relay was not named, so its new events are handed over."""
        after = aggregate.to_document()
        stored_as = before.get
        # Most fields are unchanged: one comparison each decides (`same_as_stored` then reads a
        # tuple as a list), and only a changed one is looked up among those not to write.
        fields = {
            key: value
            for key, value in after.items()
            if not (value == (stored := stored_as(key)) or same_as_stored(value, stored))
            and key not in _UNWRITTEN
        }
        removed = [key for key in before if key not in after and key not in _STORE_FIELDS]
        if not fields and not removed and not emitted:
            return before
        if before_write is not None:
            await before_write(aggregate)
        aggregate.version = before.get("version", 0) + 1
        fields["version"] = aggregate.version
        update: Document = {"$set": fields}
        if removed:
            update["$unset"] = dict.fromkeys(removed, "")
        entries = self._entries(emitted)
        if entries:
            update = with_outbox(update, entries)
        # A document written before it had a version counter matches "no version yet".
        unchanged = before.get("version", {"$exists": False})
        if not await self._grouped.update({"_id": before["_id"], "version": unchanged}, update):
            return None
        if entries:
            self._outbox.events_written(self.collection.name, aggregate.id, entries if outbox_known else None)
        stored = {key: value for key, value in after.items() if key not in _STORE_FIELDS}
        stored["_id"], stored["version"] = before["_id"], aggregate.version
        return stored

    def _entries(self, emitted: Iterable[Emitted]) -> list[Document]:
        now = self._outbox.now()
        entries = []
        carrier: dict[str, str] | None = None  # the change's trace context, read once
        for item in emitted:
            self._outbox.check_publishes(item.event)
            carrier = carrier if carrier is not None else trace_carrier()
            entries.append(
                outbox_entry(
                    item.event,
                    source=self._outbox.source,
                    time=now,
                    event_id=item.event_id,
                    trace=carrier,
                    local=item.local,
                )
            )
        return entries


class InMemoryAggregates(Generic[A]):
    """The same contract as `AggregateStore`, in a dict: for use-case tests without a server.

    It keeps the events it would have published in `published`, in order.
    """

    def __init__(self, model: type[A]) -> None:
        self.model = model
        self.documents: dict[str, Document] = {}
        self.published: list[Emitted] = []

    async def get(self, aggregate_id: str, org_id: str | None = None) -> A | None:
        document = self.documents.get(aggregate_id)
        if document is None or (org_id is not None and document.get("org_id") != org_id):
            return None
        return self.model.model_validate(copy.deepcopy(document))

    async def get_many(self, aggregate_ids: Sequence[str], org_id: str | None = None) -> dict[str, A]:
        found = {aggregate_id: await self.get(aggregate_id, org_id) for aggregate_id in aggregate_ids}
        return {aggregate_id: aggregate for aggregate_id, aggregate in found.items() if aggregate is not None}

    async def create(
        self, aggregate: A, emitted: Iterable[Emitted] = (), *, before_write: BeforeWrite[A] | None = None
    ) -> bool:
        if aggregate.id in self.documents:
            return False
        if before_write is not None:
            await before_write(aggregate)
        self.documents[aggregate.id] = aggregate.to_document()
        self.published.extend(emitted)
        return True

    async def change(
        self,
        aggregate_id: str,
        change: Change[A, R],
        *,
        org_id: str | None = None,
        before_write: BeforeWrite[A] | None = None,
    ) -> Saved[A, R | None] | None:
        aggregate = await self.get(aggregate_id, org_id)
        if aggregate is None:
            return None
        before = self.documents[aggregate_id]
        returned = change(aggregate)
        result, emitted = returned if isinstance(returned, tuple) else (None, returned)
        after = aggregate.to_document()
        if after != {**before, "version": after["version"]} or emitted:
            if before_write is not None:
                await before_write(aggregate)
            aggregate.version = before.get("version", 0) + 1
            self.documents[aggregate_id] = aggregate.to_document()
            self.published.extend(emitted)
        return Saved(aggregate, list(emitted), result)
