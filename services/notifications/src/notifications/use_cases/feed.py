"""A person's in-app feed: reading it, marking read, and retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from notifications.domain.notification import Notification
from notifications.ports import FeedPage, Stores


class Feed:
    def __init__(self, stores: Stores, now: Callable[[], datetime], *, keep: timedelta) -> None:
        self._stores = stores
        self._now = now
        self._keep = keep

    async def page(
        self, org_id: str, recipient_id: str, *, unread_only: bool = False, offset: int = 0, limit: int = 50
    ) -> FeedPage:
        """Newest first, with the total and the unread count."""
        return await self._stores.index.feed(
            org_id, recipient_id, unread_only=unread_only, offset=offset, limit=limit
        )

    async def mark_read(self, org_id: str, person_id: str, notification_id: str) -> Notification | None:
        """None unless it is in this person's own feed."""
        notifications = self._stores.notifications
        found = await notifications.get(notification_id, org_id)
        if found is None or found.recipient_id != person_id or not found.in_feed:
            return None
        if found.read_at is not None:
            return found
        now = self._now()
        saved = await notifications.change(notification_id, lambda n: n.mark_read(now), org_id=org_id)
        return saved.aggregate if saved is not None else None

    async def mark_all_read(self, org_id: str, person_id: str) -> int:
        """Returns how many were unread."""
        now = self._now()
        marked = 0
        for unread in await self._stores.index.unread(org_id, person_id):
            saved = await self._stores.notifications.change(unread, lambda n: n.mark_read(now), org_id=org_id)
            marked += saved is not None
        return marked

    async def forget_old(self, now: datetime) -> int:
        """Retention: notifications older than the retention period whose events are published."""
        await self._stores.index.forget_published_before(now - self._keep)
        return 0  # no events written
