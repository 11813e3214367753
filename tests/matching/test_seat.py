"""The mentee seat's state machine, pure: each transition checks where the seat is, changes it and
returns the events it causes, with ids derived from the cause and the seat's next version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from matching.domain.candidate import ERASED, ProfileFacts
from matching.domain.program import Approval, Program, ProgramSettings
from matching.domain.seat import DeclineReason, MenteeSeat, SeatChanged, SeatStatus
from matching.domain.seat_parts import CircleRecord, HoldKind, Match, Stagnation
from mentorship_schemas import MatchProposed, MentorshipRequested, PairCreated, PairDeclined, PairEnded
from mentorship_schemas.events import PairEndReason
from servicekit.ids import derived_id

from tests.matching.fakes import START

pytestmark = pytest.mark.fast
ORG = "acme"
MIRA = Match("mira", 0.8, ("both want python",), {"skills": 0.8})


def program(approval: Approval = Approval.FINAL, **settings: object) -> Program:
    return Program.create(ORG, "spring", ProgramSettings(name="Spring", approval=approval, **settings), START)


def waiting_seat(version: int = 3) -> MenteeSeat:
    seat = MenteeSeat.register(ORG, "ada", ProfileFacts(skills_wanted=["python"]), 1, START)
    seat.version = version
    return seat


def paired_seat() -> MenteeSeat:
    seat = waiting_seat()
    seat.offer(program(), MIRA, START)
    seat.version += 1
    return seat


def test_an_offer_in_a_final_program_pairs_at_once_with_an_id_derived_from_the_seat_version() -> None:
    seat = waiting_seat(version=3)
    pair_id, events = seat.offer(program(duration_weeks=12), MIRA, START, run_id="run-1")
    assert pair_id == derived_id(seat.id, "3", "mira", "pair")
    assert (seat.status, seat.pair and seat.pair.mentor_id, seat.pair and seat.pair.via) == (
        SeatStatus.PAIRED,
        "mira",
        "run-1",
    )
    assert seat.pair is not None
    assert seat.pair.ends_at == START + timedelta(weeks=12)
    ((event, event_id),) = [(e.event, e.event_id) for e in events]
    assert isinstance(event, PairCreated)
    assert (event.pair_id, event.mentee_id, event.mentor_id, event.version) == (pair_id, "ada", "mira", 4)
    assert event_id == derived_id(pair_id, "created")


def test_an_offer_needing_approval_holds_the_seat_as_a_proposal_or_a_deadlined_request() -> None:
    proposed = waiting_seat()
    proposal_id, (proposal,) = proposed.offer(program(Approval.ADMIN), MIRA, START, run_id="run-1")
    assert proposed.status is SeatStatus.HELD
    assert proposed.hold is not None
    assert proposed.hold.kind is HoldKind.PROPOSAL
    assert isinstance(proposal.event, MatchProposed)
    assert (proposal.event.proposal_id, proposal.event.run_id) == (proposal_id, "run-1")

    asked = waiting_seat()
    request_id, (request,) = asked.offer(
        program(Approval.FINAL, request_ttl_hours=24), MIRA, START, approval=Approval.MENTOR, message="hi"
    )
    assert asked.hold is not None
    assert (asked.hold.kind, asked.hold.expires_at, asked.hold.message) == (
        HoldKind.REQUEST,
        START + timedelta(hours=24),
        "hi",
    )
    assert isinstance(request.event, MentorshipRequested)
    assert (request.event.request_id, request.event.answer_by) == (request_id, START + timedelta(hours=24))


def test_a_seat_that_is_not_waiting_refuses_an_offer_and_stays_as_it_is() -> None:
    seat = paired_seat()
    before = seat.to_document()
    with pytest.raises(SeatChanged):
        seat.offer(program(), Match("sam", 0.5), START)
    assert seat.to_document() == before


@pytest.mark.parametrize(
    ("reason", "excluded"),
    [
        (DeclineReason.DECLINED, ["mira"]),
        (DeclineReason.EXPIRED, ["mira"]),
        (DeclineReason.REJECTED, ["mira"]),
        (DeclineReason.WITHDRAWN, []),
    ],
)
def test_a_dropped_hold_waits_again_without_that_mentor_unless_withdrawn(
    reason: DeclineReason, excluded: list[str]
) -> None:
    seat = waiting_seat()
    request_id, _ = seat.offer(program(Approval.MENTOR), MIRA, START)
    seat.version += 1
    later = START + timedelta(hours=1)
    (declined,) = seat.drop_hold(reason, later)
    assert (seat.status, seat.hold, seat.waiting_since) == (SeatStatus.WAITING, None, later)
    assert seat.excluded_mentors() == excluded
    assert isinstance(declined.event, PairDeclined)
    assert (declined.event.request_id, declined.event.reason) == (request_id, reason.value)
    assert declined.event_id == derived_id(request_id, "declined")
    with pytest.raises(SeatChanged):
        seat.drop_hold(reason, later)


def test_accepting_a_hold_pairs_via_it() -> None:
    seat = waiting_seat()
    request_id, _ = seat.offer(program(Approval.MENTOR), MIRA, START)
    seat.version += 1
    pair_id, (created,) = seat.accept_hold(program(), START)
    assert seat.pair is not None
    assert seat.pair.via == request_id
    assert isinstance(created.event, PairCreated)
    assert (created.event.pair_id, created.event.score) == (pair_id, MIRA.score)


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (PairEndReason.NOT_A_FIT, SeatStatus.WAITING),
        (PairEndReason.STAGNANT, SeatStatus.WAITING),
        (PairEndReason.MENTOR_LEFT, SeatStatus.WAITING),
        (PairEndReason.COMPLETED, SeatStatus.ENDED),
        (PairEndReason.MENTEE_LEFT, SeatStatus.ENDED),
    ],
)
def test_ending_a_pair_rematches_for_a_rematch_reason_and_never_with_that_mentor(
    reason: PairEndReason, status: SeatStatus
) -> None:
    seat = paired_seat()
    assert seat.pair is not None
    pair_id = seat.pair.pair_id
    (ended,) = seat.end_pair(reason, START)
    assert (seat.status, seat.pair, seat.previous_mentors) == (status, None, ("mira",))
    assert seat.last_pair is not None
    assert (seat.last_pair.pair_id, seat.last_pair.end_reason) == (pair_id, reason.value)
    assert isinstance(ended.event, PairEnded)
    assert (ended.event.reason, ended.event.version, ended.event_id) == (
        reason,
        seat.version + 1,
        derived_id(pair_id, "ended"),
    )


def test_moving_a_pair_ends_the_old_and_creates_the_new_in_one_change() -> None:
    seat = paired_seat()
    assert seat.pair is not None
    old = seat.pair.pair_id
    new_id, (ended, created) = seat.move_pair(program(), Match("sam", 0.9), "run-2", START)
    assert isinstance(ended.event, PairEnded)
    assert isinstance(created.event, PairCreated)
    assert (ended.event.pair_id, ended.event.reason, created.event.pair_id) == (
        old,
        PairEndReason.OTHER,
        new_id,
    )
    assert seat.pair is not None
    assert (seat.pair.mentor_id, seat.previous_mentors) == ("sam", ("mira",))


def test_stagnation_is_noted_on_its_pair_and_cleared_only_by_its_own_episode() -> None:
    seat = paired_seat()
    assert seat.pair is not None
    pair_id = seat.pair.pair_id
    seat.note_stagnation("another-pair", Stagnation(episode_id="e0", severity="low", reasons=[]))
    assert seat.pair.stagnation is None
    seat.note_stagnation(pair_id, Stagnation(episode_id="e1", severity="medium", reasons=["quiet"]))
    seat.note_recovery(pair_id, "e0")
    assert seat.pair.stagnation is not None
    seat.note_recovery(pair_id, "e1")
    assert seat.pair.stagnation is None


def test_an_erased_mentee_withdraws_an_open_request_and_keeps_only_anonymous_history() -> None:
    held = waiting_seat()
    held.offer(program(Approval.MENTOR), MIRA, START)
    freed, (withdrawn,) = held.erase(START)
    assert freed == "mira"
    assert isinstance(withdrawn.event, PairDeclined)
    assert withdrawn.event.reason == "withdrawn"
    assert (held.person_id, held.status, held.skills_wanted, held.keeps_history) == (
        ERASED,
        SeatStatus.ERASED,
        (),
        False,
    )

    paired = paired_seat()
    assert paired.erase(START) == (None, [])
    assert paired.pair is not None
    assert paired.keeps_history
    assert (paired.pair.reasons, paired.pair.breakdown, paired.pair.mentor_id) == ([], {}, "mira")


def test_forgetting_an_erased_mentor_declines_their_request_and_removes_their_name() -> None:
    seat = waiting_seat()
    seat.offer(program(Approval.MENTOR), MIRA, START)
    (declined,) = seat.forget_person("mira", START)
    assert isinstance(declined.event, PairDeclined)
    assert declined.event.reason == "mentor_unavailable"
    assert (seat.status, seat.declined_mentors) == (SeatStatus.WAITING, ())

    paired = paired_seat()
    paired.circle = CircleRecord(
        circle_id="c", org_id=ORG, program_id="p", member_ids=["ada", "mira"], facilitator_rota=["mira"],
        topics=[], created_at=START,
    )  # fmt: skip
    assert paired.forget_person("mira", START) == []
    assert paired.pair is not None
    assert (paired.pair.mentor_id, paired.pair.reasons) == (ERASED, [])
    assert paired.circle is not None
    assert paired.circle.member_ids == ["ada", ERASED]


def test_a_document_leaves_out_the_parts_a_seat_does_not_have() -> None:
    seat = waiting_seat()
    document = seat.to_document()
    assert not {"hold", "pair", "last_pair", "circle", "focus"} & set(document)
    assert (document["_id"], document["status"], document["role"]) == (seat.id, "waiting", "mentee")
    assert MenteeSeat.model_validate(document) == seat
