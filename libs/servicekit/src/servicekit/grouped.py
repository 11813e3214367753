"""Reads by `_id` (or by one indexed field's values) and conditional single-document updates of
one collection, sent together.

A consumer's batch runs hundreds of handlers at once, each reading one aggregate and writing it
back conditionally on its version. Sent one by one, that is hundreds of round trips, and the
driver's cost per command (about 0.2 ms of Python each) bounds the whole service. Here every read
or write asked for while the previous group is on its way joins the next group, sent as ONE
`find {_id: {$in}}` or ONE unordered `bulk_write`: nothing waits for a timer, a lone request goes
at once, and the groups grow with the load. Reads of the documents whose field holds a value
(`find_where`: a mentor's seats) group the same way, one `find {..., field: {$in}}` for the
callers that share the rest of the query.

What a grouped update must tell its caller is whether IT was applied (another writer may have
changed the document first). A bulk write reports only totals, so each update also appends an id
of its own to the document's `write_ids` (the last 16 kept); when the totals say some update
matched nothing, the documents are read back, and an update was applied exactly when its
document holds its id. Only a document written more than 16 times more between the bulk write
and the read-back (milliseconds) would leave its fate unknown: it then counts as lost, and the
caller applies its change again to what is stored. Grouping is on only where changes must be
idempotent anyway (`grouping()`: a consumer's handlers, which a crash may replay), so even that
would double nothing; elsewhere every call is its own command.

Errors keep their meaning: an update that breaks a unique index raises `DuplicateKeyError` to its
own caller only; an error of the whole command (the store unreachable) raises to every caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections import defaultdict
from collections.abc import Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, WriteError

from servicekit.mongo import in_one_reply

Document = dict[str, Any]
WRITE_IDS = "write_ids"  # the ids of the last grouped updates of a document
_KEPT_WRITE_IDS = 16
# A write id need only differ from every other writer's among a document's last 16: this process's
# random prefix (64 bits) and a counter. A uuid4 (a random read from the kernel each, 2 us) was 1.3%
# of a matching replica's main thread in its flood, and twice the bytes in every document's list.
_write_prefix = os.urandom(8).hex()
_write_counter = itertools.count()


def _write_id() -> str:
    return f"{_write_prefix}{next(_write_counter):x}"


def _new_write_prefix() -> None:
    """A forked child writes under a prefix of its own, not its parent's."""
    global _write_prefix, _write_counter
    _write_prefix, _write_counter = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_new_write_prefix)

_grouping: ContextVar[bool] = ContextVar("servicekit_grouping", default=False)


@contextlib.contextmanager
def grouping() -> Iterator[None]:
    """Within this context (and the tasks it starts), reads and writes through `Grouped` join groups."""
    token = _grouping.set(True)
    try:
        yield
    finally:
        _grouping.reset(token)


@dataclass
class _Write:
    operation: InsertOne[Document] | UpdateOne
    document_id: Any
    write_id: str | None  # set for a conditional update, whose outcome the caller needs
    done: asyncio.Future[bool]


@dataclass
class _Read:
    document_ids: list[Any]
    done: asyncio.Future[list[Document]]


@dataclass
class _ReadWhere:
    query: Document  # the rest of the query, shared by the group
    path: str  # a (dotted) field holding one plain value
    values: list[Any]  # the caller's: a document holding any of them is its
    done: asyncio.Future[list[Document]]


@dataclass
class _Queue:
    reads: list[_Read] = field(default_factory=list)
    reads_where: list[_ReadWhere] = field(default_factory=list)
    writes: list[_Write] = field(default_factory=list)
    sending: bool = False


class Grouped:
    """One collection's reads by `_id`, inserts, upserts and conditional updates, grouped while in
    `grouping()` (one command each otherwise)."""

    def __init__(self, collection: AsyncCollection[Document], *, max_group: int = 500) -> None:
        self.collection = collection
        self._max_group = max_group
        self._queue = _Queue()
        self._sender: asyncio.Task[None] | None = None

    async def find_by_id(self, document_id: Any) -> Document | None:
        if not _grouping.get():
            return await self.collection.find_one({"_id": document_id})
        found = await self.find_by_ids([document_id])
        return found[0] if found else None

    async def find_by_ids(self, document_ids: list[Any]) -> list[Document]:
        """The documents with these ids (those that exist, in no particular order)."""
        if not _grouping.get():
            found = self.collection.find(
                {"_id": {"$in": document_ids}}, batch_size=in_one_reply(document_ids)
            )
            return [d async for d in found]
        read = _Read(document_ids, asyncio.get_running_loop().create_future())
        self._queue.reads.append(read)
        self._start()
        return await read.done

    async def find_where(self, query: Document, path: str, value: Any) -> list[Document]:
        """The documents that match `query` and hold `value` (a string or number, not a list) at
        `path`, in the collection's order. Grouped with the callers whose `query` is the same."""
        if not _grouping.get():
            return [d async for d in self.collection.find({**query, path: value})]
        return await self._where(query, path, [value])

    async def find_where_any(self, query: Document, path: str, values: list[Any]) -> list[Document]:
        """`find_where` for several values at once: the documents that match `query` and hold any
        of `values` at `path`, each once, in no particular order."""
        if not _grouping.get():
            return [d async for d in self.collection.find({**query, path: {"$in": values}})]
        found = {id(document): document for document in await self._where(query, path, values)}
        return list(found.values())

    def _where(self, query: Document, path: str, values: list[Any]) -> asyncio.Future[list[Document]]:
        read = _ReadWhere(query, path, values, asyncio.get_running_loop().create_future())
        self._queue.reads_where.append(read)
        self._start()
        return read.done

    async def insert(self, document: Document) -> None:
        """Insert one document; DuplicateKeyError as `insert_one` would raise it."""
        if not _grouping.get():
            await self.collection.insert_one(document)
            return
        await self._join(InsertOne(document), document.get("_id"), None)

    async def upsert(self, filter: Document, update: Document) -> None:
        """Update the one document `filter` matches (it names its `_id`), creating it if absent."""
        if not _grouping.get():
            await self.collection.update_one(filter, update, upsert=True)
            return
        await self._join(UpdateOne(filter, update, upsert=True), filter["_id"], None)

    async def update(self, filter: Document, update: Document) -> bool:
        """Apply `update` to the one document `filter` matches (the filter names its `_id`);
        whether it was applied (False: nothing matched, or, grouped, the outcome is unknown)."""
        if not _grouping.get():
            return (await self.collection.update_one(filter, update)).matched_count == 1
        write_id = _write_id()
        appended = {WRITE_IDS: {"$each": [write_id], "$slice": -_KEPT_WRITE_IDS}}
        update = {**update, "$push": {**update.get("$push", {}), **appended}}
        return await self._join(UpdateOne(filter, update), filter["_id"], write_id)

    async def _join(
        self, operation: InsertOne[Document] | UpdateOne, document_id: Any, write_id: str | None
    ) -> bool:
        item = _Write(operation, document_id, write_id, asyncio.get_running_loop().create_future())
        self._queue.writes.append(item)
        self._start()
        return await item.done

    def _start(self) -> None:
        if not self._queue.sending:
            self._queue.sending = True
            self._sender = asyncio.get_running_loop().create_task(self._send_all())

    async def _send_all(self) -> None:
        queue = self._queue
        try:
            while queue.reads or queue.reads_where or queue.writes:
                reads, queue.reads = queue.reads[: self._max_group], queue.reads[self._max_group :]
                where = queue.reads_where[: self._max_group]
                queue.reads_where = queue.reads_where[self._max_group :]
                writes, queue.writes = queue.writes[: self._max_group], queue.writes[self._max_group :]
                await asyncio.gather(self._read(reads), *self._reads_where(where), self._write(writes))
        finally:
            queue.sending = False

    async def _read(self, reads: list[_Read]) -> None:
        if not reads:
            return
        try:
            ids = list({document_id for read in reads for document_id in read.document_ids})
            cursor = self.collection.find({"_id": {"$in": ids}}, batch_size=in_one_reply(ids))
            found = {document["_id"]: document async for document in cursor}
        except Exception as error:
            _fail(reads, error)
            return
        for read in reads:
            wanted = dict.fromkeys(read.document_ids)
            _settle(read.done, [found[key] for key in wanted if key in found])

    def _reads_where(self, reads: list[_ReadWhere]) -> list[Coroutine[Any, Any, None]]:
        """One find per shared query and path."""
        groups: dict[str, list[_ReadWhere]] = defaultdict(list)
        for read in reads:
            groups[repr((sorted(read.query.items()), read.path))].append(read)
        return [self._read_where(group) for group in groups.values()]

    async def _read_where(self, reads: list[_ReadWhere]) -> None:
        first = reads[0]
        try:
            values = list(dict.fromkeys(value for read in reads for value in read.values))
            wanted = set(values)
            cursor = self.collection.find({**first.query, first.path: {"$in": values}})
            by_value: dict[Any, list[Document]] = defaultdict(list)
            async for document in cursor:
                held = _at(document, first.path)  # a list matches $in by any of its elements
                values_held = held if isinstance(held, list) else [held]
                plain = (v for v in values_held if isinstance(v, str | int | float))
                for value in dict.fromkeys(plain):
                    if value in wanted:
                        by_value[value].append(document)
        except Exception as error:
            _fail(reads, error)
            return
        for read in reads:
            _settle(read.done, [document for value in read.values for document in by_value.get(value, ())])

    async def _write(self, writes: list[_Write]) -> None:
        if not writes:
            return
        failed: dict[int, BaseException] = {}
        try:
            result = await self.collection.bulk_write([item.operation for item in writes], ordered=False)
            matched, upserted = result.matched_count, result.upserted_count
        except BulkWriteError as error:
            for write_error in error.details.get("writeErrors", []):
                failed[write_error["index"]] = _as_error(write_error)
            matched, upserted = error.details.get("nMatched", 0), error.details.get("nUpserted", 0)
        except Exception as error:
            _fail(writes, error)
            return
        for index, reason in failed.items():
            _settle(writes[index].done, error=reason)
        done = [item for index, item in enumerate(writes) if index not in failed]
        upserts = sum(1 for item in done if isinstance(item.operation, UpdateOne) and item.write_id is None)
        conditional = [item for item in done if item.write_id is not None]
        for item in done:
            if item.write_id is None:
                _settle(item.done, True)
        # Matches counted for upserts that found their document belong to them, not to ours.
        if matched - (upserts - upserted) == len(conditional):
            for item in conditional:
                _settle(item.done, True)
            return
        try:
            applied = await self._applied(conditional)
        except Exception as error:
            _fail(conditional, error)
            return
        for item in conditional:
            _settle(item.done, item.write_id in applied)

    async def _applied(self, writes: list[_Write]) -> set[str]:
        """The write ids that their documents hold now (read back after a group that missed)."""
        ids = list({item.document_id for item in writes})
        cursor = self.collection.find({"_id": {"$in": ids}}, {WRITE_IDS: 1}, batch_size=in_one_reply(ids))
        return {str(write_id) async for document in cursor for write_id in document.get(WRITE_IDS) or []}


def _settle(done: asyncio.Future[Any], result: Any = None, *, error: BaseException | None = None) -> None:
    if done.done():  # its caller was cancelled
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)


def _at(document: Document, path: str) -> Any:
    """The value at a dotted path (None where the path ends early)."""
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fail(items: list[_Read] | list[_ReadWhere] | list[_Write], error: BaseException) -> None:
    for item in items:
        _settle(item.done, error=error)


def _as_error(write_error: Document) -> BaseException:
    if write_error.get("code") == 11000:
        return DuplicateKeyError(write_error.get("errmsg", "duplicate key"), 11000, write_error)
    return WriteError(write_error.get("errmsg", "write error"), write_error.get("code"), write_error)
