"""What the routes answer: one response model per shape, each made from the domain's types.

Feedback text is private to its author: a session shows the caller's own feedback and only who
else gave some. Notes never leave their author.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from mentorship_schemas.events import Cadence, Severity
from pydantic import BaseModel, Field

from sessions.domain import cadence as cadence_rules
from sessions.domain import words
from sessions.domain.figures import PairFigures, ProgramTotals, at_risk
from sessions.domain.health import HealthAssessment
from sessions.domain.notes import Note
from sessions.domain.parts import ActionItem, Goal, Health, Session
from sessions.domain.people import Person
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import (
    ActionItemStatus,
    RelationshipKind,
    RelationshipStatus,
    SessionKind,
    SessionStatus,
)
from sessions.use_cases.reports import PairHealth, PairView, ProgramHealth

# ---------------------------------------------------------------- the pair


class SlotOut(BaseModel):
    timezone: str
    local_time: str = Field(description="HH:MM: the agreed time as it falls in this timezone.")


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
    timezone: str = Field(description="The timezone the recurring slot is kept in (the mentee's).")
    timezones: dict[str, str] = Field(description="Each participant's own timezone.")
    local_time: str = Field(description="HH:MM in `timezone`.")
    local_times: dict[str, SlotOut] = Field(
        default_factory=dict, description="The agreed time as each participant's clock shows it."
    )
    weekday: int | None
    signed_at: datetime | None
    signed_by: list[str] = Field(description="Who has signed this revision.")
    awaiting: list[str] = Field(default_factory=list, description="Whose signature this revision awaits.")

    @classmethod
    def of(cls, relationship: Relationship, now: datetime) -> AgreementOut:
        agreement = relationship.agreement
        shown = agreement.model_dump(exclude={"series", "signatures", "prefilled"})
        return cls(
            **shown,
            signed_by=sorted(agreement.signatures),
            awaiting=[] if agreement.signed_at else agreement.awaiting(relationship.participant_ids),
            local_times={
                person: SlotOut(timezone=name, local_time=local)
                for person, (name, local) in cadence_rules.slot_in_timezones(
                    agreement.local_time, agreement.timezone, agreement.timezones, now
                ).items()
            },
        )


class HealthOut(BaseModel):
    stagnant: bool = Field(description="A stagnation episode is open (never for an ended pair).")
    episode_id: str | None
    reasons: list[str] = Field(description="Why the pair looks stagnant, in words.")
    reason_codes: list[str] = Field(description="The same reasons as codes, e.g. missed_sessions_in_a_row.")
    severity: Severity | None
    suggested_actions: list[str] = Field(description="What to do about it, in words.")
    suggested_action_codes: list[str] = Field(
        description="The same as codes, e.g. schedule_the_next_session."
    )
    assessed_at: datetime | None
    episodes: int

    @classmethod
    def health_fields(cls, health: Health) -> dict[str, object]:
        return {
            "stagnant": health.episode_open,
            "episode_id": health.episode_id if health.episode_open else None,
            **_worded(health.reasons, health.suggested_actions),
            "severity": health.severity,
            "assessed_at": health.assessed_at,
            "episodes": health.episodes,
        }

    @classmethod
    def of(cls, health: Health) -> HealthOut:
        return cls.model_validate(cls.health_fields(health))


def _worded(reasons: Iterable[str], actions: Iterable[str]) -> dict[str, list[str]]:
    reasons, actions = list(reasons), list(actions)
    return {
        "reasons": [words.reason(code) for code in reasons],
        "reason_codes": reasons,
        "suggested_actions": [words.action(code) for code in actions],
        "suggested_action_codes": actions,
    }


class ParticipantOut(BaseModel):
    person_id: str
    name: str = Field(description="The person's display name (their id while we know no profile).")
    role: str | None = Field(description="mentor, mentee, or none (a circle member).")
    timezone: str | None

    @classmethod
    def listing(cls, relationship: Relationship, people: Mapping[str, Person]) -> list[ParticipantOut]:
        roles, timezones = relationship.agreement.roles, relationship.agreement.timezones
        shown = []
        for person_id in relationship.participant_ids:
            person = people.get(person_id)
            shown.append(
                cls(
                    person_id=person_id,
                    name=person.name if person is not None else person_id,
                    role=roles.get(person_id),
                    timezone=timezones.get(person_id),
                )
            )
        return shown


class PairOut(BaseModel):
    pair_id: str
    program_id: str
    kind: RelationshipKind
    status: RelationshipStatus
    participant_ids: list[str]
    participants: list[ParticipantOut]
    mentor_id: str | None
    mentee_id: str | None
    agreement: AgreementOut
    health: HealthOut
    version: int

    @classmethod
    def of(cls, view: PairView, now: datetime) -> PairOut:
        relationship = view.relationship
        return cls(
            pair_id=relationship.id,
            program_id=relationship.program_id,
            kind=relationship.kind,
            status=relationship.status,
            participant_ids=relationship.participant_ids,
            participants=ParticipantOut.listing(relationship, view.people),
            mentor_id=relationship.mentor_id,
            mentee_id=relationship.mentee_id,
            agreement=AgreementOut.of(relationship, now),
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
    local_times: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="When it falls for each participant, in their own timezone."
    )
    my_local_time: dict[str, str] | None = Field(default=None, description="When it falls for the caller.")
    agenda: list[AgendaItemOut] = Field(default_factory=list)
    held_at: datetime | None = None
    held_by: str | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = Field(default=None, description="Why it was cancelled, in words.")
    cancel_code: str | None = Field(default=None, description="pair_ended when the platform cancelled it.")
    missed_in_a_row: int | None = None
    my_feedback: FeedbackOut | None = Field(default=None, description="The caller's own feedback.")
    feedback_from: list[str] = Field(default_factory=list, description="Who gave feedback.")
    version: int

    @classmethod
    def of(cls, relationship: Relationship, session: Session, viewer: str) -> SessionOut:
        mine = session.feedback.get(viewer)  # feedback text is private to its author
        local_times = cadence_rules.local_times(
            session.starts_at, session.ends_at, relationship.agreement.timezones
        )
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
            local_times=local_times,
            my_local_time=local_times.get(viewer),
            agenda=[AgendaItemOut.model_validate(item.model_dump()) for item in session.agenda],
            held_at=session.held_at,
            held_by=session.held_by,
            cancelled_by=session.cancelled_by,
            cancel_reason=session.cancel_reason,
            cancel_code=session.cancel_code,
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
    reasons: list[str] = Field(description="In words.")
    reason_codes: list[str]
    severity: Severity | None
    suggested_actions: list[str] = Field(description="In words.")
    suggested_action_codes: list[str]

    @classmethod
    def of(cls, assessment: HealthAssessment) -> AssessmentOut:
        return cls.model_validate(
            {
                "stagnant": assessment.stagnant,
                "severity": assessment.severity,
                **_worded(assessment.reasons, assessment.suggested_actions),
            }
        )


class FiguresOut(BaseModel):
    sessions_held: int
    sessions_missed: int
    sessions_due: int = Field(description="Sessions the cadence and the calendar expected by now.")
    cadence_adherence: float | None = Field(
        description="Held sessions over those due (at most 1); null while none was due yet."
    )
    cadence_adherence_note: str | None = Field(
        default=None, description="Why adherence does not apply yet, in words."
    )
    goals_achieved: int

    @classmethod
    def figure_fields(cls, figures: PairFigures) -> dict[str, object]:
        note = words.NO_SESSION_DUE_YET if figures.cadence_adherence is None else None
        return {**vars(figures), "cadence_adherence_note": note}


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
    participants: list[ParticipantOut]
    at_risk: bool = Field(description="Stagnating and still going (an ended pair is not at risk).")
    health: HealthOut

    @classmethod
    def of(
        cls, relationship: Relationship, figures: PairFigures, people: Mapping[str, Person]
    ) -> ProgramPairOut:
        return cls.model_validate(
            {
                "pair_id": relationship.id,
                "kind": relationship.kind,
                "status": relationship.status,
                "participant_ids": relationship.participant_ids,
                "participants": ParticipantOut.listing(relationship, people),
                "at_risk": at_risk(relationship),
                "health": HealthOut.of(relationship.health),
                **FiguresOut.figure_fields(figures),
            }
        )


class ProgramTotalsOut(BaseModel):
    pairs: int
    pairs_active: int
    sessions_held: int
    sessions_missed: int
    pairs_at_risk: int = Field(description="Active pairs that are stagnating.")
    goals_achieved: int
    cadence_adherence: float | None = Field(
        description="The mean adherence of the pairs that had sessions due; null while none had."
    )

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
            items=[
                ProgramPairOut.of(relationship, figures, report.people)
                for relationship, figures in report.items
            ],
        )
