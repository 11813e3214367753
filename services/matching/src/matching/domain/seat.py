"""A mentee's seat: where one mentee (or one of their focus areas) is in matching, with its state
machine. Each transition checks where the seat is, changes it, and returns the events it causes:

    waiting --offer (final)--------------------------------------> paired --end--> waiting | ended
    waiting --offer (admin_approval: MatchProposed)----> held --approve--> paired
    waiting --offer / request (MentorshipRequested)---> held --accept---> paired
                                                        held --decline / reject / expire / withdraw
                                                             / mentor unavailable--> waiting
    waiting --claimed by a circle--> in_circle;  any --erasure--> erased

A person's own seat is seat 1; a program with several mentors per mentee gives seats 2, 3, ... one
per further focus area. Ids are derived from the seat's id and version and the mentor, so a replay
or a second replica makes the same ids; each event's version is the seat's next version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from mentorship_schemas import (
    MatchProposed,
    MenteeUnmatched,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
)
from mentorship_schemas.events import PairEndReason, PersonRole
from servicekit.aggregates import Emitted
from servicekit.ids import derived_id

from matching.domain.candidate import ANONYMOUS_FACTS, ERASED, Candidate, ProfileFacts
from matching.domain.cohort import MatchProfile
from matching.domain.program import DEFAULT_PROGRAM, Approval, Program
from matching.domain.seat_parts import (
    AuditEntry,
    CircleRecord,
    EndedPair,
    Hold,
    HoldKind,
    Match,
    Pair,
    Stagnation,
)


class SeatStatus(StrEnum):
    WAITING = "waiting"
    HELD = "held"  # by a proposal or a request, which holds the mentor's place
    PAIRED = "paired"
    ENDED = "ended"  # the last pair ended for good; joining a program makes it wait again
    IN_CIRCLE = "in_circle"
    ERASED = "erased"


class DeclineReason(StrEnum):
    """Why a proposal or request ended without a pair (PairDeclined.reason)."""

    DECLINED = "declined"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    MENTOR_UNAVAILABLE = "mentor_unavailable"


# Ending a pair for one of these puts the mentee back in the pool, without that mentor.
REMATCH_REASONS = frozenset({PairEndReason.NOT_A_FIT, PairEndReason.STAGNANT, PairEndReason.MENTOR_LEFT})
REASSIGNED = "reassigned by a cohort run"


class SeatChanged(Exception):
    """The seat is no longer where the caller saw it (answered, withdrawn, expired, paired...)."""


def seat_key(org_id: str, person_id: str, seat: int = 1) -> str:
    """A mentee's seat: 1 is their own mentee document; 2, 3, ... hold further focus areas."""
    key = f"{org_id}:{person_id}:{PersonRole.MENTEE.value}"
    return key if seat == 1 else f"{key}:{seat}"


class MenteeSeat(Candidate):
    role: PersonRole = PersonRole.MENTEE
    status: SeatStatus = SeatStatus.WAITING
    program_id: str = DEFAULT_PROGRAM
    waiting_since: datetime | None = None
    seat: int = 1
    focus: str | None = None  # the wanted skill this seat is for (several mentors per mentee)
    seated_for: str | None = None  # the program whose focus seats this person has
    hold: Hold | None = None
    pair: Pair | None = None
    last_pair: EndedPair | None = None
    previous_mentors: tuple[str, ...] = ()
    # Mentors who declined or let a request expire in this waiting episode.
    declined_mentors: tuple[str, ...] = ()
    circle: CircleRecord | None = None
    # What program admins decided about this seat by hand (pairs made, proposals rejected) and why.
    audit: tuple[AuditEntry, ...] = ()

    @classmethod
    def register(
        cls, org_id: str, person_id: str, facts: ProfileFacts, profile_version: int, now: datetime
    ) -> MenteeSeat:
        """A new mentee waits in the built-in program."""
        return cls(
            id=seat_key(org_id, person_id),
            org_id=org_id,
            person_id=person_id,
            version=1,
            profile_version=profile_version,
            waiting_since=now,
            **facts.model_dump(),
        )

    # ------------------------------------------------------------------ what the engine sees

    def match_profile_now(self, at: datetime) -> MatchProfile:
        # A focus seat wants just its focus area.
        return self.match_profile(
            at, skills_wanted=(self.focus,) if self.focus else None, accepting_mentees=False
        )

    @property
    def waiting(self) -> bool:
        return self.status is SeatStatus.WAITING

    def excluded_mentors(self) -> list[str]:
        """Mentors never to offer this seat again: former mentors, and those who declined or let a
        request expire in this waiting episode."""
        return sorted(set(self.previous_mentors) | set(self.declined_mentors))

    def current_mentor(self) -> str | None:
        """The mentor this seat is paired with or held for."""
        if self.status is SeatStatus.PAIRED and self.pair is not None:
            return self.pair.mentor_id
        if self.status is SeatStatus.HELD and self.hold is not None:
            return self.hold.mentor_id
        return None

    def _expect(self, *statuses: SeatStatus) -> None:
        if self.status not in statuses:
            raise SeatChanged(f"seat {self.id} is {self.status.value}, not {'/'.join(statuses)}")

    # ------------------------------------------------------------------ offers

    def offer(
        self,
        program: Program,
        match: Match,
        now: datetime,
        *,
        approval: Approval | None = None,
        run_id: str | None = None,
        message: str | None = None,
        automatic: bool = False,
        audit: AuditEntry | None = None,
    ) -> tuple[str, list[Emitted]]:
        """Pair, propose or request, as the program's approval (or `approval`) says; returns the
        pair, proposal or request id. `automatic`: the platform chose this mentor, not the mentee;
        `audit`: an admin decided it by hand (kept with the id made)."""
        self._expect(SeatStatus.WAITING)
        made, events = self._offer(program, match, now, approval, run_id, message, automatic)
        if audit is not None:
            self.audit = (*self.audit, audit.model_copy(update={"subject_id": made}))
        return made, events

    def _offer(
        self,
        program: Program,
        match: Match,
        now: datetime,
        approval: Approval | None,
        run_id: str | None,
        message: str | None,
        automatic: bool,
    ) -> tuple[str, list[Emitted]]:
        mode = approval or program.approval
        if mode is Approval.FINAL:
            return self._pair_with(program, match, now, via=run_id)
        kind = HoldKind.PROPOSAL if mode is Approval.ADMIN else HoldKind.REQUEST
        hold = Hold(
            id=derived_id(self.id, str(self.version), match.mentor_id, kind.value),
            kind=kind,
            mentor_id=match.mentor_id,
            program_id=program.program_id,
            score=match.score,
            reasons=list(match.reasons),
            breakdown=dict(match.breakdown),
            components=match.components,
            run_id=run_id,
            message=message,
            automatic=automatic,
            focus=self.focus,
            created_at=now,
            expires_at=program.request_deadline(now) if kind is HoldKind.REQUEST else None,
        )
        self.status, self.hold = SeatStatus.HELD, hold
        return hold.id, [Emitted(self._hold_event(hold), derived_id(hold.id, kind.value))]

    def _hold_event(self, hold: Hold) -> MatchProposed | MentorshipRequested:
        common: dict[str, Any] = {
            "org_id": self.org_id,
            "version": self.version + 1,
            "program_id": hold.program_id,
            "mentor_id": hold.mentor_id,
            "mentee_id": self.person_id,
        }
        if hold.kind is HoldKind.PROPOSAL:
            return MatchProposed(
                **common, proposal_id=hold.id, run_id=hold.run_id, score=hold.score, reasons=hold.reasons
            )
        assert hold.expires_at is not None
        return MentorshipRequested(
            **common,
            request_id=hold.id,
            message=hold.message,
            answer_by=hold.expires_at,
            focus_area=hold.focus,
        )

    def _pair_with(
        self, program: Program, match: Match, now: datetime, *, via: str | None
    ) -> tuple[str, list[Emitted]]:
        # The seat's id and the version read: one id per pairing, the same on a replay.
        pair_id = derived_id(self.id, str(self.version), match.mentor_id, "pair")
        self.pair = Pair(
            pair_id=pair_id,
            mentor_id=match.mentor_id,
            program_id=program.program_id,
            score=match.score,
            reasons=list(match.reasons),
            breakdown=dict(match.breakdown),
            components=match.components,
            created_at=now,
            ends_at=program.pair_ends_at(now),
            via=via,
            focus=self.focus,
        )
        self.status, self.hold, self.declined_mentors = SeatStatus.PAIRED, None, ()
        created = PairCreated(
            org_id=self.org_id,
            version=self.version + 1,
            pair_id=pair_id,
            program_id=program.program_id,
            mentor_id=match.mentor_id,
            mentee_id=self.person_id,
            score=match.score,
            reasons=list(match.reasons),
            focus_area=self.focus,
        )
        return pair_id, [Emitted(created, derived_id(pair_id, "created"))]

    # ------------------------------------------------------------------ answers to a hold

    def accept_hold(self, program: Program, now: datetime) -> tuple[str, list[Emitted]]:
        """The held proposal or request becomes a pair (its mentor's place is already reserved)."""
        self._expect(SeatStatus.HELD)
        assert self.hold is not None
        return self._pair_with(program, self.hold.as_match(), now, via=self.hold.id)

    def drop_hold(
        self, reason: DeclineReason, now: datetime, *, audit: AuditEntry | None = None
    ) -> list[Emitted]:
        """The proposal or request ends without a pair: the seat waits again (without this mentor,
        unless the mentee withdrew or the mentor is forgotten), and PairDeclined says why (its
        code; an admin's own words stay in `audit`)."""
        self._expect(SeatStatus.HELD)
        hold = self.hold
        assert hold is not None
        if audit is not None:
            self.audit = (
                *self.audit,
                audit.model_copy(update={"subject_id": hold.id, "mentor_id": hold.mentor_id}),
            )
        declined = PairDeclined(
            org_id=self.org_id,
            version=self.version + 1,
            request_id=hold.id,
            program_id=hold.program_id,
            mentor_id=hold.mentor_id,
            mentee_id=self.person_id,
            reason=reason.value,
        )
        self.status, self.waiting_since, self.hold = SeatStatus.WAITING, now, None
        if reason is not DeclineReason.WITHDRAWN:
            self.declined_mentors = _with(self.declined_mentors, hold.mentor_id)
        return [Emitted(declined, derived_id(hold.id, "declined"))]

    # ------------------------------------------------------------------ pairs

    def end_pair(self, reason: PairEndReason, now: datetime, *, rematch: bool | None = None) -> list[Emitted]:
        """PairEnded; for a rematch reason (or `rematch`) the seat waits again in the same program,
        never to be offered this mentor again; otherwise it has ended."""
        self._expect(SeatStatus.PAIRED)
        pair = self.pair
        assert pair is not None
        ended = self._close(pair, reason, reason.value, now)
        waits = reason in REMATCH_REASONS if rematch is None else rematch
        self.status = SeatStatus.WAITING if waits else SeatStatus.ENDED
        self.program_id, self.waiting_since, self.pair = pair.program_id, now, None
        return [ended]

    def move_pair(
        self, program: Program, match: Match, run_id: str, now: datetime
    ) -> tuple[str, list[Emitted]]:
        """A run asked not to keep existing pairs gives this seat another mentor: the old pair ends
        (PairEnded, other) and the new one starts (PairCreated), in one change."""
        self._expect(SeatStatus.PAIRED)
        old = self.pair
        assert old is not None
        ended = self._close(old, PairEndReason.OTHER, REASSIGNED, now)
        pair_id, created = self._pair_with(program, match, now, via=run_id)
        return pair_id, [ended, *created]

    def _close(self, pair: Pair, reason: PairEndReason, why: str, now: datetime) -> Emitted:
        self.last_pair = EndedPair(**pair.model_dump(), ended_at=now, end_reason=why)
        self.previous_mentors = _with(self.previous_mentors, pair.mentor_id)
        ended = PairEnded(
            org_id=self.org_id,
            version=self.version + 1,
            pair_id=pair.pair_id,
            program_id=pair.program_id,
            mentor_id=pair.mentor_id,
            mentee_id=self.person_id,
            reason=reason,
            ended_at=now,
        )
        # The pair's start, for its outcome record (handlers.PUBLISHED, `outcomes.write_start`):
        # once this seat is paired again and that pair ends, no seat holds it. Not for an erasure:
        # it took what they were matched on.
        start = {"started_at": pair.created_at, "components": pair.components, "focus": pair.focus}
        erased = reason is PairEndReason.ERASED
        return Emitted(ended, derived_id(pair.pair_id, "ended"), local=None if erased else start)

    def note_stagnation(self, pair_id: str, stagnation: Stagnation) -> list[Emitted]:
        if self.status is SeatStatus.PAIRED and self.pair is not None and self.pair.pair_id == pair_id:
            self.pair.stagnation = stagnation
        return []

    def note_recovery(self, pair_id: str, episode_id: str) -> list[Emitted]:
        pair = self.pair
        stagnation = pair.stagnation if pair is not None and pair.pair_id == pair_id else None
        if pair is not None and stagnation is not None and stagnation.episode_id == episode_id:
            pair.stagnation = None
        return []

    def unmatched(self, cause: str, rule: str, reason: str, ended_pair_id: str | None) -> list[Emitted]:
        """No mentor is possible for this waiting seat now: MenteeUnmatched tells the mentee and
        the program's admins why (once per seat version: a repeat makes the same event id)."""
        self._expect(SeatStatus.WAITING)
        event = MenteeUnmatched(
            org_id=self.org_id,
            version=self.version + 1,
            mentee_id=self.person_id,
            program_id=self.program_id,
            cause=cause,
            ended_pair_id=ended_pair_id,
            focus_area=self.focus,
            rule=rule,
            reason=reason,
        )
        return [Emitted(event, derived_id(self.id, str(self.version), "unmatched"))]

    # ------------------------------------------------------------------ programs and focus seats

    def rejoin(self, program_id: str, now: datetime) -> list[Emitted]:
        """Wait in another program (from waiting or after an ended pair); focus seats for it are
        made afterwards."""
        self._expect(SeatStatus.WAITING, SeatStatus.ENDED)
        self.status, self.program_id, self.waiting_since = SeatStatus.WAITING, program_id, now
        self.focus = self.seated_for = None
        return []

    def retire(self) -> list[Emitted]:
        """A waiting focus seat the program no longer wants."""
        self._expect(SeatStatus.WAITING)
        self.status = SeatStatus.ENDED
        return []

    def seat_for(self, program_id: str, focus: str) -> list[Emitted]:
        """The person's own seat takes their first focus area in a program with several."""
        self._expect(SeatStatus.WAITING)
        self.focus, self.seat, self.seated_for = focus, 1, program_id
        return []

    def focus_seat(self, program_id: str, seat: int, focus: str, now: datetime) -> list[Emitted]:
        """A further focus seat waits (again) for the focus area it stands for."""
        if self.status in (SeatStatus.WAITING, SeatStatus.ENDED):
            self.status, self.program_id, self.focus, self.seat = SeatStatus.WAITING, program_id, focus, seat
            self.waiting_since = now
        return []

    def new_focus_seat(self, program_id: str, seat: int, focus: str, now: datetime) -> MenteeSeat:
        """Seat `seat` of this person, for `focus`, waiting in `program_id`."""
        return MenteeSeat(
            id=seat_key(self.org_id, self.person_id, seat),
            org_id=self.org_id,
            person_id=self.person_id,
            version=1,
            profile_version=self.profile_version,
            program_id=program_id,
            previous_mentors=self.previous_mentors,
            seat=seat,
            focus=focus,
            waiting_since=now,
            **self.facts().model_dump(),
        )

    # ------------------------------------------------------------------ circles

    def join_circle(self, record: CircleRecord) -> list[Emitted]:
        self._expect(SeatStatus.WAITING)
        self.status, self.circle = SeatStatus.IN_CIRCLE, record
        return []

    def leave_circle(self, circle_id: str) -> list[Emitted]:
        """Let go of a claim for a circle that could not be formed."""
        if (
            self.status is SeatStatus.IN_CIRCLE
            and self.circle is not None
            and self.circle.circle_id == circle_id
        ):
            self.status, self.circle = SeatStatus.WAITING, None
        return []

    # ------------------------------------------------------------------ erasure

    def erase(self, now: datetime) -> tuple[str | None, list[Emitted]]:
        """This person is erased: an open request or proposal is withdrawn (returns the mentor whose
        place that frees), and the seat keeps only that its pairs existed, without who or why."""
        freed = self.current_mentor() if self.status is SeatStatus.HELD else None
        events = self.drop_hold(DeclineReason.WITHDRAWN, now) if freed is not None else []
        if self.circle is not None:
            self.circle.without(self.person_id)
        for name, value in ANONYMOUS_FACTS.items():
            setattr(self, name, value)
        self.focus, self.person_id, self.status = None, ERASED, SeatStatus.ERASED
        for entry in self.audit:
            entry.anonymised()
        for pair in (self.pair, self.last_pair):
            if pair is not None:
                pair.anonymised()
        return freed, events

    @property
    def keeps_history(self) -> bool:
        """Whether an erased seat holds something worth keeping (a pair that was, a circle)."""
        return self.pair is not None or self.last_pair is not None or self.circle is not None

    def forget_person(self, person_id: str, now: datetime) -> list[Emitted]:
        """Another person was erased: a request or proposal to them ends (mentor unavailable), the
        pairs with them keep no name, and they are no longer remembered as a former mentor."""
        events: list[Emitted] = []
        if self.status is SeatStatus.HELD and self.hold is not None and self.hold.mentor_id == person_id:
            events = self.drop_hold(DeclineReason.MENTOR_UNAVAILABLE, now)
        for pair in (self.pair, self.last_pair):
            if pair is not None and pair.mentor_id == person_id:
                pair.anonymised(mentor_erased=True)
        if self.circle is not None and person_id in self.circle.member_ids:
            self.circle.without(person_id)
        for entry in self.audit:
            if person_id in (entry.mentor_id, entry.by):
                entry.anonymised(person_id)
        self.previous_mentors = tuple(m for m in self.previous_mentors if m != person_id)
        self.declined_mentors = tuple(m for m in self.declined_mentors if m != person_id)
        return events


def _with(mentors: tuple[str, ...], mentor_id: str) -> tuple[str, ...]:
    return mentors if mentor_id in mentors else (*mentors, mentor_id)
