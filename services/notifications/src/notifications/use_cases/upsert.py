"""Change an aggregate, or create it first when it does not exist yet (a recipient we hear of for the
first time, a digest's first entry). On the aggregate store's contract alone, so it works the same
on MongoDB and in memory."""

from __future__ import annotations

from typing import TypeVar

from servicekit.aggregates import AggregateRoot, Aggregates, Change, ConcurrentUpdate, Saved

A = TypeVar("A", bound=AggregateRoot)
R = TypeVar("R")


async def change_or_create(store: Aggregates[A], new: A, change: Change[A, R]) -> Saved[A, R | None]:
    """Apply `change` to the stored aggregate with `new`'s id, or to `new` and insert it."""
    for _ in range(5):
        saved = await store.change(new.id, change, org_id=new.org_id)
        if saved is not None:
            return saved
        fresh = new.model_copy(deep=True)
        returned = change(fresh)
        result, emitted = returned if isinstance(returned, tuple) else (None, returned)
        if await store.create(fresh, emitted):
            return Saved(fresh, list(emitted), result)
    raise ConcurrentUpdate(f"gave up creating or changing {new.id}")
