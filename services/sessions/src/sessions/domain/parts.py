"""The typed parts of a relationship besides its agreement (`agreement.py`): sessions (with agenda,
feedback and reschedules), action items, goals with milestones, and health. Each part keeps its own version
counter (its events carry it) and the small state changes that touch only itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mentorship_schemas.events import Severity
from pydantic import BaseModel, ConfigDict, Field

from sessions.domain.statuses import ActionItemStatus, SessionKind, SessionStatus

ERASED_TEXT = "Removed at its author's request."


class Part(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# ---------------------------------------------------------------- sessions


class AgendaItem(Part):
    item_id: str
    text: str
    author_id: str
    added_at: datetime


@dataclass(frozen=True)
class FeedbackAnswers:
    useful: bool
    learned: bool  # "did I learn something": health compares these over time
    thanks: bool = False
    text: str | None = None  # private to its author


class Feedback(Part):
    useful: bool
    learned: bool
    thanks: bool = False
    text: str | None = None
    at: datetime


class Reschedule(Part):
    by: str
    reason: str | None = None
    at: datetime
    moved_from: datetime = Field(alias="from")
    to: datetime


class Session(Part):
    session_id: str
    seq: int  # 1-based position in the relationship (the facilitator rota follows it)
    kind: SessionKind
    index: int | None = None  # the occurrence number, for cadence sessions
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus = SessionStatus.SCHEDULED
    location: str | None = None
    facilitator_id: str | None = None
    agenda: list[AgendaItem] = Field(default_factory=list)
    feedback: dict[str, Feedback] = Field(default_factory=dict)
    reschedules: list[Reschedule] = Field(default_factory=list)
    sequence: int = 0  # iCalendar SEQUENCE: bumps on every move or cancellation
    version: int = 1
    held_at: datetime | None = None
    held_by: str | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None  # words: the person's own, or the platform's sentence
    cancel_code: str | None = None  # why the platform cancelled it, for programs (e.g. pair_ended)
    cancelled_at: datetime | None = None
    missed_at: datetime | None = None
    missed_in_a_row: int | None = None

    def hold(self, by: str, now: datetime) -> None:
        self.status, self.held_at, self.held_by = SessionStatus.HELD, now, by
        self.version += 1

    def cancel(self, by: str, reason: str | None, now: datetime, *, code: str | None = None) -> None:
        self.status, self.cancelled_by, self.cancel_reason, self.cancelled_at = (
            SessionStatus.CANCELLED,
            by,
            reason,
            now,
        )
        self.cancel_code = code
        self.version += 1
        self.sequence += 1

    def move(
        self, by: str, reason: str | None, starts_at: datetime, ends_at: datetime, now: datetime
    ) -> None:
        self.reschedules.append(
            Reschedule(by=by, reason=reason, at=now, moved_from=self.starts_at, to=starts_at)
        )
        self.starts_at, self.ends_at = starts_at, ends_at
        self.version += 1
        self.sequence += 1

    def miss(self, in_a_row: int, now: datetime) -> None:
        self.status, self.missed_at, self.missed_in_a_row = SessionStatus.MISSED, now, in_a_row
        self.version += 1

    def erase(self, person_id: str) -> None:
        """The person's words go; their yes/no answers stay (health counts them)."""
        feedback = self.feedback.get(person_id)
        if feedback is not None:
            feedback.text = None
        for item in self.agenda:
            if item.author_id == person_id:
                item.text = ERASED_TEXT


# ---------------------------------------------------------------- action items and goals


class ActionItem(Part):
    item_id: str
    title: str
    owner_id: str
    due_at: datetime
    session_id: str | None = None
    status: ActionItemStatus = ActionItemStatus.OPEN
    created_at: datetime
    created_by: str
    done_at: datetime | None = None
    version: int = 1
    overdue_at: datetime | None = None

    def is_overdue(self, now: datetime) -> bool:
        """Open, past its due date, and not yet announced as overdue."""
        return self.status == ActionItemStatus.OPEN and self.overdue_at is None and self.due_at <= now


class Milestone(Part):
    milestone_id: str
    title: str
    done_at: datetime | None = None


class Goal(Part):
    goal_id: str
    title: str
    milestones: list[Milestone] = Field(default_factory=list)
    progress: int = 0  # percent
    progress_at: list[datetime] = Field(default_factory=list)  # when it moved forward
    achieved_at: datetime | None = None
    created_at: datetime
    version: int = 1

    @property
    def reached(self) -> bool:
        return self.progress >= 100 or (bool(self.milestones) and all(m.done_at for m in self.milestones))

    def reach(self, milestone: Milestone, now: datetime) -> None:
        milestone.done_at = now
        self.progress_at.append(now)
        done = sum(1 for m in self.milestones if m.done_at)
        self.progress = max(self.progress, round(100 * done / len(self.milestones)))

    def set_progress(self, progress: int, now: datetime) -> None:
        if progress > self.progress:
            self.progress_at.append(now)
        self.progress = progress

    def achieve(self, now: datetime) -> None:
        self.achieved_at, self.progress = now, 100
        self.version += 1


# ---------------------------------------------------------------- health


class Health(Part):
    """The last assessment and the stagnation episodes (one RelationshipStagnant per episode)."""

    episode_open: bool = False
    episodes: int = 0
    episode_id: str | None = None
    since: datetime | None = None
    recovered_at: datetime | None = None
    reasons: list[str] = Field(default_factory=list)
    severity: Severity | None = None
    suggested_actions: list[str] = Field(default_factory=list)
    assessed_at: datetime | None = None
    next_check_at: datetime | None = None  # when time alone may change the assessment


# ---------------------------------------------------------------- due dates


class DueKind(StrEnum):
    SESSION_END = "session_end"  # the missed-session sweep looks then
    ACTION_ITEM = "action_item"  # the overdue sweep looks then
    HEALTH_CHECK = "health_check"  # the health sweep looks then


@dataclass(frozen=True)
class DueDate:
    """A moment a sweep must look at the relationship again; indexed before the change is saved."""

    kind: DueKind
    key: str
    at: datetime
