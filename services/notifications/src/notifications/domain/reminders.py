"""A session's reminders: the version of the session they were planned for and the notifications
still ahead of it (reminder, agenda prompt), so a reschedule or a cancellation withdraws them and a
stale schedule arriving late sets none again. Pure."""

from __future__ import annotations

from pydantic import Field
from servicekit.aggregates import AggregateRoot, Emitted


def reminders_id(org_id: str, session_id: str) -> str:
    return f"{org_id}:{session_id}"


class SessionReminders(AggregateRoot):
    session_version: int = 0
    notification_ids: list[str] = Field(default_factory=list)

    @classmethod
    def new(cls, org_id: str, session_id: str) -> SessionReminders:
        return cls(id=reminders_id(org_id, session_id), org_id=org_id)

    def is_stale(self, session_version: int) -> bool:
        """A schedule older than the one the reminders follow (it arrived late)."""
        return session_version < self.session_version

    def superseded_by(self, session_version: int) -> list[str]:
        """The pending reminders a newer version of the session withdraws."""
        return list(self.notification_ids) if session_version > self.session_version else []

    def schedule(self, session_version: int, notification_ids: list[str]) -> list[Emitted]:
        if not self.is_stale(session_version):
            self.session_version = session_version
            self.notification_ids = notification_ids
        return []

    def cancel(self, session_version: int) -> list[Emitted]:
        """Nothing is pending any more; the version stays, so a stale schedule sets nothing again."""
        if session_version > self.session_version:
            self.session_version = session_version
            self.notification_ids = []
        return []
