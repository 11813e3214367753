"""Helpers for the aggregate-per-document pattern with optimistic concurrency on `version`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


class ConcurrentUpdate(Exception):
    """The document changed between read and write too many times in a row."""


async def update_with_retry(
    collection: AsyncCollection[Document],
    filter_: Document,
    decide: Callable[[Document], Awaitable[Document | None]],
    *,
    attempts: int = 10,
) -> Document | None:
    """Read the document, let `decide` return an update (or None for no change), and apply it only
    if `version` is unchanged; re-read and decide again when another writer got there first.

    Returns the document as read when the update applied (or None if there was nothing to do).
    """
    for _ in range(attempts):
        current = await collection.find_one(filter_)
        if current is None:
            return None
        update = await decide(current)
        if update is None:
            return None
        result = await collection.update_one({"_id": current["_id"], "version": current["version"]}, update)
        if result.modified_count == 1:
            return current
    raise ConcurrentUpdate(f"gave up updating {filter_} after {attempts} conflicts")
