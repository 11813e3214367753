"""The relationship aggregate: one pair or circle with its agreement, its sessions (embedded), its
action items, goals and health, stored as one document.

Each state change is a method that checks its rules, takes the time as a parameter and returns
the events it caused (`list[Emitted]`). After any change, `settle` keeps the signed agreement's
cadence topped up and re-assesses health. The moments a sweep must look again (a session's end, an
action item's due date, the next health check) are collected in `due_dates()`, so the use case can
index them before it saves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from mentorship_schemas.events import PairEndReason
from pydantic import Field, PrivateAttr
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.ids import derived_id

from sessions.domain import cadence as cadence_rules
from sessions.domain import drafting, events, signing, words
from sessions.domain import health as health_rules
from sessions.domain.agreement import Agreement, AgreementChange, AgreementTerms
from sessions.domain.attendance import is_missed, may_check_in, sessions_missed_in_a_row
from sessions.domain.errors import InvalidInput, NotFound, Rejected
from sessions.domain.parts import (
    ActionItem,
    AgendaItem,
    DueDate,
    DueKind,
    Feedback,
    FeedbackAnswers,
    Goal,
    Health,
    Milestone,
    Session,
)
from sessions.domain.people import Person
from sessions.domain.policy import SessionsPolicy
from sessions.domain.statuses import (
    ActionItemStatus,
    HealthChange,
    RelationshipKind,
    RelationshipStatus,
    SessionKind,
    SessionStatus,
)

SYSTEM_ACTOR = "system"  # cancelled_by when the platform (not a person) cancels, e.g. on PairEnded
FIRST_VERSION = 1  # a relationship's insert is its first write
LONGEST_SESSION = timedelta(hours=12)
MIN_CIRCLE = 2  # a circle that would fall below this ends


class Relationship(AggregateRoot):
    program_id: str
    kind: RelationshipKind
    participant_ids: list[str]
    mentor_id: str | None = None
    mentee_id: str | None = None
    facilitator_rota: list[str] = Field(default_factory=list)
    status: RelationshipStatus = RelationshipStatus.ACTIVE
    started_at: datetime
    ended_at: datetime | None = None
    end_reason: PairEndReason | None = None
    agreement: Agreement
    sessions: list[Session] = Field(default_factory=list)
    action_items: list[ActionItem] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    health: Health = Field(default_factory=Health)
    _due: list[DueDate] = PrivateAttr(default_factory=list)

    # ------------------------------------------------------------ beginning and end

    @classmethod
    def draft(
        cls,
        *,
        relationship_id: str,
        org_id: str,
        program_id: str,
        kind: RelationshipKind,
        participant_ids: Sequence[str],
        started_at: datetime,
        policy: SessionsPolicy,
        mentor_id: str | None = None,
        mentee_id: str | None = None,
        facilitator_rota: Sequence[str] = (),
        topics: Sequence[str] = (),
        people: Mapping[str, Person] | None = None,
    ) -> Relationship:
        """A new relationship whose agreement is pre-filled from the pairing and the people's
        profiles (`drafting`); people we know nothing of get the program's defaults."""
        terms = drafting.drafted_terms(
            participant_ids,
            people or {},
            policy,
            started_at,
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            topics=topics,
        )
        return cls(
            id=relationship_id,
            org_id=org_id,
            version=FIRST_VERSION,
            program_id=program_id,
            kind=kind,
            participant_ids=list(participant_ids),
            mentor_id=mentor_id,
            mentee_id=mentee_id,
            facilitator_rota=list(facilitator_rota),
            started_at=started_at,
            agreement=Agreement.drafted(terms, started_at),
        )

    def open(self, policy: SessionsPolicy) -> list[Emitted]:
        """What a new relationship announces: its draft agreement awaits everyone's signature, and
        the kick-off is scheduled."""
        return [events.agreement_drafted(self, self.version), *self.schedule_kickoff(policy)]

    def schedule_kickoff(self, policy: SessionsPolicy) -> list[Emitted]:
        """The first session, to agree on the agreement: in the first week, in working hours."""
        starts_at, ends_at = drafting.kickoff_window(self.started_at, self.agreement.terms(), policy)
        # The kick-off keeps the id the first version of this service gave it.
        session_id = derived_id(self.id, "session", "1")
        return [self._add_session(session_id, SessionKind.KICKOFF, starts_at, ends_at)]

    def end(self, reason: PairEndReason, ended_at: datetime, now: datetime) -> list[Emitted]:
        """Close the relationship and cancel its future sessions; ending twice changes nothing.
        An open stagnation episode closes with it (an ended pair is no longer at risk)."""
        if self.status == RelationshipStatus.ENDED:
            return []
        self.status, self.ended_at, self.end_reason = RelationshipStatus.ENDED, ended_at, reason
        self.health.episode_open = False
        return self._cancel_future_sessions(words.cancelled_as_ended(reason, self.kind.value), now)

    def require_active(self) -> None:
        if self.status != RelationshipStatus.ACTIVE:
            raise Rejected("This pair has ended, so it can no longer be changed.")

    def erase_person(self, person_id: str, now: datetime) -> list[Emitted]:
        """An erased person is in no active relationship: a pair ends (its future sessions are
        cancelled), a circle carries on without them (and ends below two members). Their feedback
        text and agenda words go; what they answered stays for health."""
        for session in self.sessions:
            session.erase(person_id)
        if not self.is_member(person_id) or self.status == RelationshipStatus.ENDED:
            return []
        if self.kind == RelationshipKind.PAIR or len(self.participant_ids) <= MIN_CIRCLE:
            return self.end(PairEndReason.ERASED, now, now)
        return self._leave_circle(person_id, now)

    def _leave_circle(self, person_id: str, now: datetime) -> list[Emitted]:
        self.participant_ids = [p for p in self.participant_ids if p != person_id]
        self.facilitator_rota = [p for p in self.facilitator_rota if p != person_id]
        self.agreement.forget(person_id)
        rota = self.facilitator_rota
        for session in self.sessions:
            if session.status == SessionStatus.SCHEDULED and session.facilitator_id == person_id:
                session.facilitator_id = rota[(session.seq - 1) % len(rota)] if rota else None
        agreement = self.agreement
        if (
            agreement.signed_at is None
            and agreement.signatures
            and not agreement.awaiting(self.participant_ids)
        ):
            return signing.seal(self, now)  # the one who left was the last one awaited
        return []

    def _cancel_future_sessions(self, reason: str, now: datetime) -> list[Emitted]:
        emitted = []
        for session in self.sessions:
            if session.status == SessionStatus.SCHEDULED and session.starts_at > now:
                session.cancel(SYSTEM_ACTOR, reason, now, code=words.PAIR_ENDED)
                emitted.append(events.session_cancelled(self, session))
        return emitted

    # ------------------------------------------------------------ the agreement

    def note_timezone(self, person_id: str, timezone: str) -> list[Emitted]:
        """A member's profile moved to another timezone: their local times follow (a fact about
        them, not a term: no new revision, the agreed slot stays where it is)."""
        if self.status == RelationshipStatus.ACTIVE and self.is_member(person_id):
            self.agreement.timezones[person_id] = timezone
        return []

    def redraft_agreement(self, change: AgreementChange | AgreementTerms, now: datetime) -> list[Emitted]:
        """A member changes the draft (PATCH or PUT, see `AgreementChange`) -> AgreementDrafted."""
        if isinstance(change, AgreementTerms):
            change = AgreementChange.of_terms(change)
        return signing.redraft(self, change, now)

    def sign_agreement(self, person: str, now: datetime, timezone: str | None = None) -> list[Emitted]:
        """Sign -> AgreementSignatureAdded while others are awaited, AgreementSigned by the last."""
        return signing.sign(self, person, now, timezone)

    # ------------------------------------------------------------ sessions

    def session(self, session_id: str) -> Session:
        for session in self.sessions:
            if session.session_id == session_id:
                return session
        raise NotFound("There is no such session in this pair.")

    def schedule_session(
        self, session_id: str, window: tuple[datetime, datetime], location: str | None, now: datetime
    ) -> list[Emitted]:
        starts_at, ends_at = window
        _check_future_window(starts_at, ends_at, now)
        return [self._add_session(session_id, SessionKind.EXTRA, starts_at, ends_at, location=location)]

    def reschedule_session(
        self,
        session_id: str,
        by: str,
        window: tuple[datetime, datetime],
        reason: str | None,
        now: datetime,
    ) -> list[Emitted]:
        session = self._scheduled(session_id)
        starts_at, ends_at = window
        _check_future_window(starts_at, ends_at, now)
        session.move(by, reason, starts_at, ends_at, now)
        self._due.append(DueDate(DueKind.SESSION_END, session_id, ends_at))
        return [events.session_scheduled(self, session)]

    def cancel_session(self, session_id: str, by: str, reason: str | None, now: datetime) -> list[Emitted]:
        session = self._scheduled(session_id)
        session.cancel(by, reason, now)
        return [events.session_cancelled(self, session)]

    def check_in(self, session_id: str, person: str, now: datetime) -> list[Emitted]:
        """The session was held; checking in twice is harmless."""
        session = self.session(session_id)
        if session.status == SessionStatus.HELD:
            return []
        if not may_check_in(session.status, session.starts_at, now):
            raise Rejected(
                f"This session is {session.status} and has not started yet, so it cannot be checked in."
            )
        session.hold(person, now)
        return [events.session_completed(self, session)]

    def miss_session(self, session_id: str, now: datetime, grace: timedelta) -> list[Emitted]:
        """Not held by its end plus the grace period, nor cancelled nor moved -> SessionMissed."""
        session = next((s for s in self.sessions if s.session_id == session_id), None)
        if session is None or not is_missed(session.status, session.ends_at, now, grace):
            return []  # an orphan due entry, or held, cancelled, or moved later
        earlier = sorted(
            (s for s in self.sessions if s.starts_at < session.starts_at),
            key=lambda s: s.starts_at,
            reverse=True,
        )
        session.miss(sessions_missed_in_a_row(s.status for s in earlier), now)
        return [events.session_missed(self, session)]

    def add_agenda_item(
        self, session_id: str, item_id: str, text: str, author: str, now: datetime
    ) -> list[Emitted]:
        session = self.session(session_id)
        if session.status != SessionStatus.SCHEDULED or session.ends_at <= now:
            raise Rejected("Agenda items are added before the session.")
        session.agenda.append(AgendaItem(item_id=item_id, text=text, author_id=author, added_at=now))
        return []

    def give_feedback(
        self, session_id: str, person: str, answers: FeedbackAnswers, now: datetime
    ) -> list[Emitted]:
        session = self.session(session_id)
        if session.status != SessionStatus.HELD:
            raise Rejected("Feedback is given after a held session.")
        session.feedback[person] = Feedback(
            useful=answers.useful, learned=answers.learned, thanks=answers.thanks, text=answers.text, at=now
        )
        return []

    def _scheduled(self, session_id: str) -> Session:
        session = self.session(session_id)
        if session.status != SessionStatus.SCHEDULED:
            raise Rejected(f"This session is {session.status}, so it can no longer be changed.")
        return session

    def _add_session(
        self,
        session_id: str,
        kind: SessionKind,
        starts_at: datetime,
        ends_at: datetime,
        *,
        location: str | None = None,
        index: int | None = None,
    ) -> Emitted:
        rota = self.facilitator_rota
        seq = len(self.sessions) + 1
        session = Session(
            session_id=session_id,
            seq=seq,
            kind=kind,
            index=index,
            starts_at=starts_at,
            ends_at=ends_at,
            location=location or self.agreement.meeting_link,
            facilitator_id=rota[(seq - 1) % len(rota)] if rota else None,
        )
        self.sessions.append(session)
        self._due.append(DueDate(DueKind.SESSION_END, session_id, ends_at))
        return events.session_scheduled(self, session)

    # ------------------------------------------------------------ action items

    def action_item(self, item_id: str) -> ActionItem:
        for item in self.action_items:
            if item.item_id == item_id:
                return item
        raise NotFound("There is no such action item in this pair.")

    def add_action_item(self, item: ActionItem, now: datetime) -> list[Emitted]:
        self._require_member(item.owner_id, "owner_id")
        if item.due_at <= now:
            raise InvalidInput("due_at", "An action item cannot be due in the past.")
        if item.session_id is not None:
            self.session(item.session_id)
        self.action_items.append(item)
        self._due.append(DueDate(DueKind.ACTION_ITEM, item.item_id, item.due_at))
        return []

    def complete_action_item(self, item_id: str, now: datetime) -> list[Emitted]:
        item = self.action_item(item_id)
        if item.status != ActionItemStatus.DONE:
            item.status, item.done_at = ActionItemStatus.DONE, now
            item.version += 1
        return []

    def flag_overdue_action_item(self, item_id: str, now: datetime) -> list[Emitted]:
        """Open and past its due date -> ActionItemOverdue, once per due date."""
        item = next((i for i in self.action_items if i.item_id == item_id), None)
        if item is None or not item.is_overdue(now):
            return []
        item.overdue_at = now
        item.version += 1
        return [events.action_item_overdue(self, item)]

    # ------------------------------------------------------------ goals

    def goal(self, goal_id: str) -> Goal:
        for goal in self.goals:
            if goal.goal_id == goal_id:
                return goal
        raise NotFound("There is no such goal in this pair.")

    def add_goal(
        self, goal_id: str, title: str, milestones: Iterable[tuple[str, str]], now: datetime
    ) -> list[Emitted]:
        """A goal with its milestones, given as (milestone id, title)."""
        parts = [Milestone(milestone_id=m_id, title=m_title) for m_id, m_title in milestones]
        self.goals.append(Goal(goal_id=goal_id, title=title, milestones=parts, created_at=now))
        return []

    def reach_milestone(self, goal_id: str, milestone_id: str, now: datetime) -> list[Emitted]:
        goal = self.goal(goal_id)
        milestone = next((m for m in goal.milestones if m.milestone_id == milestone_id), None)
        if milestone is None:
            raise NotFound("This goal has no such milestone.")
        if milestone.done_at is not None:
            return []
        goal.reach(milestone, now)
        return self._achieve_if_reached(goal, now)

    def set_goal_progress(self, goal_id: str, progress: int, now: datetime) -> list[Emitted]:
        """Set a goal's progress in percent; 100 (or every milestone done) -> GoalAchieved."""
        goal = self.goal(goal_id)
        if goal.achieved_at:
            return []
        goal.set_progress(progress, now)
        return self._achieve_if_reached(goal, now)

    def _achieve_if_reached(self, goal: Goal, now: datetime) -> list[Emitted]:
        if not goal.reached or goal.achieved_at:
            return []
        goal.achieve(now)
        return [events.goal_achieved(self, goal)]

    # ------------------------------------------------------------ after every change

    def settle(self, now: datetime, policy: SessionsPolicy) -> list[Emitted]:
        """What follows any change: the cadence horizon topped up, health re-assessed, and the
        next moment time alone may change health planned."""
        emitted = self.top_up_cadence(now, policy) + self.reassess_health(now, policy.health)
        self.plan_health_check(now, policy.health)
        return emitted

    def top_up_cadence(self, now: datetime, policy: SessionsPolicy) -> list[Emitted]:
        """Keep `horizon_sessions` cadence sessions scheduled ahead, per the signed agreement."""
        agreement, series = self.agreement, self.agreement.series
        if self.status != RelationshipStatus.ACTIVE or series is None:
            return []
        cadence_sessions = [s for s in self.sessions if s.kind == SessionKind.CADENCE]
        ahead = sum(1 for s in cadence_sessions if s.status == SessionStatus.SCHEDULED and s.starts_at > now)
        wanted = policy.horizon_sessions - ahead
        if wanted <= 0:
            return []
        found = cadence_rules.occurrences(
            datetime.fromisoformat(series.first_local),
            cadence_rules.zone(series.timezone),
            agreement.cadence,
            timedelta(minutes=agreement.duration_minutes),
            start_index=max((s.index for s in cadence_sessions if s.index is not None), default=-1) + 1,
            count=wanted,
            until=agreement.ends_on,
        )
        return [
            self._add_session(
                derived_id(self.id, "cadence", str(series.revision), str(occurrence.index)),
                SessionKind.CADENCE,
                occurrence.starts_at,
                occurrence.ends_at,
                index=occurrence.index,
            )
            for occurrence in found
        ]

    def reassess_health(self, now: datetime, policy: health_rules.HealthPolicy) -> list[Emitted]:
        """Open or close a stagnation episode as the health rules say (at most one event)."""
        if self.status != RelationshipStatus.ACTIVE:
            return []
        health = self.health
        assessment = health_rules.assess(self.health_facts(), now, policy)
        step = health_rules.transition(health.episode_open, health.episodes, assessment)
        health.reasons, health.severity = list(assessment.reasons), assessment.severity
        health.suggested_actions, health.assessed_at = list(assessment.suggested_actions), now
        if step.kind == HealthChange.STAGNANT:
            health.episode_open, health.episodes, health.since = True, step.episode_number, now
            health.episode_id = events.episode_id(self, step.episode_number)
            return [events.relationship_stagnant(self, step.episode_number, assessment)]
        if step.kind == HealthChange.RECOVERED:
            health.episode_open, health.recovered_at = False, now
            return [events.relationship_recovered(self, step.episode_number)]
        return []

    def plan_health_check(self, now: datetime, policy: health_rules.HealthPolicy) -> None:
        if self.status != RelationshipStatus.ACTIVE:
            return
        check = health_rules.next_time_check(self.health_facts(), now, policy)
        if check is not None and check != self.health.next_check_at:
            self.health.next_check_at = check
            self._due.append(DueDate(DueKind.HEALTH_CHECK, f"{self.id}@{check.isoformat()}", check))

    def due_dates(self) -> list[DueDate]:
        """The moments this change asks a sweep to look again, in the order they arose."""
        return list(self._due)

    # ------------------------------------------------------------ reading

    def is_member(self, person: str) -> bool:
        return person in self.participant_ids

    def health_facts(self) -> health_rules.RelationshipFacts:
        agreement = self.agreement
        progress = [item.done_at for item in self.action_items if item.done_at]
        progress += [moment for goal in self.goals for moment in goal.progress_at]
        return health_rules.RelationshipFacts(
            cadence=agreement.cadence,
            active_since=agreement.signed_at or self.started_at,
            drafted_at=agreement.drafted_at,
            signed=agreement.signed_at is not None,
            sessions=[
                health_rules.SessionFacts(
                    starts_at=s.starts_at,
                    status=s.status,
                    learned=tuple(feedback.learned for feedback in s.feedback.values()),
                )
                for s in self.sessions
            ],
            progress_at=progress,
            goals_open=sum(1 for goal in self.goals if not goal.achieved_at),
            ends_on=agreement.ends_on,
        )

    def _require_member(self, person: str, field: str) -> None:
        if not self.is_member(person):
            raise InvalidInput(field, f"{person} is not a member of this pair.")


def _check_future_window(starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise InvalidInput("starts_at", "A session cannot start in the past.")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "A session must end after it starts.")
    if ends_at - starts_at > LONGEST_SESSION:
        raise InvalidInput("ends_at", "A session lasts at most 12 hours.")
