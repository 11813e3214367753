"""Notifications' collections: `notifications` (in-app feed, with the outbox for NotificationSent)
and `recipients` (names and contact points, from profile events)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


async def create_indexes(notifications: AsyncCollection[Document]) -> None:
    await notifications.create_index(
        [("org_id", ASCENDING), ("recipient_id", ASCENDING), ("created_at", DESCENDING)],
        name="org_recipient_created",
    )
