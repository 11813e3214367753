"""What the routes answer: one response model per shape, each made from the domain's types.

Feedback text is private to its author: a session shows the caller's own feedback and only who
else gave some. Notes never leave their author.
"""

from __future__ import annotations

from datetime import datetime

from mentorship_schemas.events import Cadence, Severity
from pydantic import BaseModel, Field

from sessions.domain import cadence as cadence_rules
from sessions.domain.figures import PairFigures, ProgramTotals
from sessions.domain.health import HealthAssessment
from sessions.domain.notes import Note
from sessions.domain.parts import ActionItem, Agreement, Goal, Health, Session
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import (
    ActionItemStatus,
    RelationshipKind,
    RelationshipStatus,
    SessionKind,
    SessionStatus,
)
from sessions.use_cases.reports import PairHealth, ProgramHealth

# ---------------------------------------------------------------- the pair


class AgreementOut(BaseModel):
    revision: int
    drafted_at: datetime
    goals: list[str]
    roles: dict[str, str]
    cadence: Cadence
    duration_minutes: int
    ends_on: datetime | None
    starts_on: datetime | None
    boundaries: str | None
    channel: str | None
    modality: str | None
    meeting_link: str | None
    timezone: str
    timezones: dict[str, str]
    local_time: str
    weekday: int | None
    signed_at: datetime | None
    signed_by: list[str] = Field(description="Who has signed this revision.")

    @classmethod
    def of(cls, agreement: Agreement) -> AgreementOut:
        shown = agreement.model_dump(exclude={"series", "signatures"})
        return cls(**shown, signed_by=sorted(agreement.signatures))


class HealthOut(BaseModel):
    stagnant: bool = Field(description="A stagnation episode is open.")
    episode_id: str | None
    reasons: list[str]
    severity: Severity | None
    suggested_actions: list[str]
    assessed_at: datetime | None
    episodes: int

    @classmethod
    def health_fields(cls, health: Health) -> dict[str, object]:
        return {
            "stagnant": health.episode_open,
            "episode_id": health.episode_id if health.episode_open else None,
            "reasons": health.reasons,
            "severity": health.severity,
            "suggested_actions": health.suggested_actions,
            "assessed_at": health.assessed_at,
            "episodes": health.episodes,
        }

    @classmethod
    def of(cls, health: Health) -> HealthOut:
        return cls.model_validate(cls.health_fields(health))


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    kind: RelationshipKind
    status: RelationshipStatus
    participant_ids: list[str]
    mentor_id: str | None
    mentee_id: str | None
    agreement: AgreementOut
    health: HealthOut
    version: int

    @classmethod
    def of(cls, relationship: Relationship) -> PairOut:
        return cls(
            pair_id=relationship.id,
            program_id=relationship.program_id,
            kind=relationship.kind,
            status=relationship.status,
            participant_ids=relationship.participant_ids,
            mentor_id=relationship.mentor_id,
            mentee_id=relationship.mentee_id,
            agreement=AgreementOut.of(relationship.agreement),
            health=HealthOut.of(relationship.health),
            version=relationship.version,
        )


# ---------------------------------------------------------------- sessions


class AgendaItemOut(BaseModel):
    item_id: str
    text: str
    author_id: str
    added_at: datetime


class FeedbackOut(BaseModel):
    useful: bool
    learned: bool
    thanks: bool
    text: str | None
    at: datetime


class SessionOut(BaseModel):
    session_id: str
    pair_id: str
    participant_ids: list[str]
    kind: SessionKind
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus
    location: str | None = None
    facilitator_id: str | None = None
    local_times: dict[str, dict[str, str]] = Field(default_factory=dict)
    agenda: list[AgendaItemOut] = Field(default_factory=list)
    held_at: datetime | None = None
    held_by: str | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    missed_in_a_row: int | None = None
    my_feedback: FeedbackOut | None = Field(default=None, description="The caller's own feedback.")
    feedback_from: list[str] = Field(default_factory=list, description="Who gave feedback.")
    version: int

    @classmethod
    def of(cls, relationship: Relationship, session: Session, viewer: str) -> SessionOut:
        mine = session.feedback.get(viewer)  # feedback text is private to its author
        return cls(
            session_id=session.session_id,
            pair_id=relationship.id,
            participant_ids=relationship.participant_ids,
            kind=session.kind,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            status=session.status,
            location=session.location,
            facilitator_id=session.facilitator_id,
            local_times=cadence_rules.local_times(
                session.starts_at, session.ends_at, relationship.agreement.timezones
            ),
            agenda=[AgendaItemOut.model_validate(item.model_dump()) for item in session.agenda],
            held_at=session.held_at,
            held_by=session.held_by,
            cancelled_by=session.cancelled_by,
            cancel_reason=session.cancel_reason,
            missed_in_a_row=session.missed_in_a_row,
            my_feedback=FeedbackOut.model_validate(mine.model_dump()) if mine else None,
            feedback_from=sorted(session.feedback),
            version=session.version,
        )

    @classmethod
    def listing(cls, relationship: Relationship, viewer: str) -> list[SessionOut]:
        ordered = sorted(relationship.sessions, key=lambda s: s.starts_at)
        return [cls.of(relationship, session, viewer) for session in ordered]


# ---------------------------------------------------------------- action items, goals, notes


class ActionItemOut(BaseModel):
    """`overdue_at` is present once the item was announced overdue (routes omit unset fields)."""

    item_id: str
    title: str
    owner_id: str
    due_at: datetime
    session_id: str | None
    status: ActionItemStatus
    created_at: datetime
    created_by: str
    done_at: datetime | None
    version: int
    overdue_at: datetime | None = None

    @classmethod
    def of(cls, item: ActionItem) -> ActionItemOut:
        shown = item.model_dump(exclude={"overdue_at"} if item.overdue_at is None else set())
        return cls.model_validate(shown)


class MilestoneOut(BaseModel):
    milestone_id: str
    title: str
    done_at: datetime | None


class GoalOut(BaseModel):
    goal_id: str
    title: str
    milestones: list[MilestoneOut]
    progress: int = Field(description="Percent; 100 once achieved.")
    progress_at: list[datetime]
    achieved_at: datetime | None
    created_at: datetime
    version: int

    @classmethod
    def of(cls, goal: Goal) -> GoalOut:
        return cls.model_validate(goal.model_dump())


class NoteOut(BaseModel):
    note_id: str
    pair_id: str
    session_id: str | None
    author_id: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        return cls.model_validate(note.model_dump(exclude={"org_id"}))


class MyNoteOut(BaseModel):
    note_id: str
    session_id: str | None
    text: str
    created_at: datetime

    @classmethod
    def of(cls, note: Note) -> MyNoteOut:
        return cls(
            note_id=note.note_id, session_id=note.session_id, text=note.text, created_at=note.created_at
        )


# ---------------------------------------------------------------- health


class AssessmentOut(BaseModel):
    stagnant: bool
    reasons: list[str]
    severity: Severity | None
    suggested_actions: list[str]

    @classmethod
    def of(cls, assessment: HealthAssessment) -> AssessmentOut:
        return cls(
            stagnant=assessment.stagnant,
            reasons=list(assessment.reasons),
            severity=assessment.severity,
            suggested_actions=list(assessment.suggested_actions),
        )


class FiguresOut(BaseModel):
    sessions_held: int
    sessions_missed: int
    cadence_adherence: float = Field(description="Held sessions over those the cadence expected (at most 1).")
    goals_achieved: int

    @classmethod
    def figure_fields(cls, figures: PairFigures) -> dict[str, object]:
        return dict(vars(figures))


class PairHealthOut(HealthOut, FiguresOut):
    """The last assessment (as of the pair's last change), `now` assessed at this moment, and figures."""

    now: AssessmentOut

    @classmethod
    def of_report(cls, report: PairHealth) -> PairHealthOut:
        return cls.model_validate(
            {
                **HealthOut.health_fields(report.relationship.health),
                "now": AssessmentOut.of(report.now),
                **FiguresOut.figure_fields(report.figures),
            }
        )


class ProgramPairOut(FiguresOut):
    pair_id: str
    kind: RelationshipKind
    status: RelationshipStatus
    participant_ids: list[str]
    health: HealthOut

    @classmethod
    def of(cls, relationship: Relationship, figures: PairFigures) -> ProgramPairOut:
        return cls.model_validate(
            {
                "pair_id": relationship.id,
                "kind": relationship.kind,
                "status": relationship.status,
                "participant_ids": relationship.participant_ids,
                "health": HealthOut.of(relationship.health),
                **FiguresOut.figure_fields(figures),
            }
        )


class ProgramTotalsOut(BaseModel):
    pairs: int
    pairs_active: int
    sessions_held: int
    sessions_missed: int
    pairs_at_risk: int
    goals_achieved: int
    cadence_adherence: float | None = Field(description="The mean of the pairs' adherence.")

    @classmethod
    def of(cls, totals: ProgramTotals) -> ProgramTotalsOut:
        return cls(
            pairs=totals.pairs,
            pairs_active=totals.pairs_active,
            sessions_held=totals.sessions_held,
            sessions_missed=totals.sessions_missed,
            pairs_at_risk=totals.pairs_at_risk,
            goals_achieved=totals.goals_achieved,
            cadence_adherence=totals.cadence_adherence,
        )


class ProgramHealthOut(BaseModel):
    program_id: str
    totals: ProgramTotalsOut
    page: int
    page_size: int
    items: list[ProgramPairOut]

    @classmethod
    def of(cls, report: ProgramHealth) -> ProgramHealthOut:
        return cls(
            program_id=report.program_id,
            totals=ProgramTotalsOut.of(report.totals),
            page=report.page.page,
            page_size=report.page.page_size,
            items=[ProgramPairOut.of(relationship, figures) for relationship, figures in report.items],
        )
