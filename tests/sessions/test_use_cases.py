"""The sessions use cases on in-memory stores (no Kafka, no server): what PairCreated, PairEnded,
CircleFormed and ProfileErased do, what members may do and what they are refused, what the sweeps
find as time passes, and that due dates are indexed before the relationship is written."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mentorship_schemas import CircleFormed, PairCreated, ProfileErased, RelationshipStagnant, SessionMissed
from mentorship_schemas.events import Cadence, PairEndReason
from servicekit.erasure import pseudonym
from servicekit.ids import derived_id
from sessions import handlers
from sessions.domain.agreement import AgreementTerms
from sessions.domain.errors import InvalidInput, NotFound, Rejected
from sessions.domain.parts import FeedbackAnswers
from sessions.domain.policy import SessionsPolicy
from sessions.domain.statuses import RelationshipKind, RelationshipStatus, SessionKind, SessionStatus
from sessions.use_cases import Actor, Forbidden, lifecycle, members, reports
from sessions.use_cases.lifecycle import Pairing

from tests.kafka_records import cloud_event
from tests.sessions.fakes import T0, World

pytestmark = pytest.mark.fast

ORG = "acme"
ADA, GRACE = Actor("ada", ORG), Actor("grace", ORG)
ADMIN, STRANGER = Actor("boss", ORG, is_admin=True), Actor("mallory", ORG)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def _pairing(pair_id: str = "pair-1", program_id: str = "prog") -> Pairing:
    return Pairing(
        relationship_id=pair_id,
        org_id=ORG,
        program_id=program_id,
        kind=RelationshipKind.PAIR,
        participant_ids=("ada", "grace"),
        mentor_id="grace",
        mentee_id="ada",
    )


async def _started(world: World, pair_id: str = "pair-1", program_id: str = "prog") -> str:
    assert await lifecycle.start_relationship(world.context, _pairing(pair_id, program_id), world.clock.now())
    return pair_id


async def _signed(world: World, pair_id: str = "pair-1") -> str:
    await _started(world, pair_id)
    for actor in (ADA, GRACE):
        await members.sign_agreement(world.context, actor, pair_id, None)
    return pair_id


async def _sweep_all(world: World) -> int:
    now, ctx = world.clock.now(), world.context
    missed = await handlers.sweep_missed_sessions(ctx, now, 100)
    overdue = await handlers.sweep_overdue_action_items(ctx, now, 100)
    return missed + overdue + await handlers.sweep_relationship_health(ctx, now, 100)


@pytest.fixture
def world() -> World:
    return World(policy=SessionsPolicy(default_cadence=Cadence.WEEKLY))


async def test_pair_created_drafts_the_agreement_and_schedules_the_kickoff_once(world: World) -> None:
    event = PairCreated(
        org_id=ORG,
        version=1,
        pair_id="pair-1",
        program_id="prog",
        mentor_id="grace",
        mentee_id="ada",
        score=1,
    )
    envelope = cloud_event(event, "matching").model_copy(update={"time": world.clock.now()})
    for _ in range(2):  # redelivered: still one relationship, one kick-off
        await handlers.on_pair_created(world.context, event, envelope)
    relationship = await world.relationship("pair-1")
    assert relationship.agreement.roles == {"grace": "mentor", "ada": "mentee"}
    assert relationship.agreement.cadence == Cadence.WEEKLY
    (kickoff,) = relationship.sessions
    # Two days after pairing (Monday 09:00), a Wednesday, at the usual 10:00 (no profiles: UTC).
    assert (kickoff.kind, kickoff.starts_at) == (SessionKind.KICKOFF, datetime(2030, 1, 9, 10, 0, tzinfo=UTC))
    assert world.published() == ["AgreementDrafted", "SessionScheduled"]
    assert [e.key for e in world.session_ends.entries.values()] == [kickoff.session_id]
    assert len(world.health_checks.entries) == 1  # unsigned for too long: time alone may tell


async def test_due_dates_are_indexed_before_the_relationship_is_written(world: World) -> None:
    pair_id = await _started(world)
    await members.sign_agreement(world.context, ADA, pair_id, None)
    await members.sign_agreement(world.context, GRACE, pair_id, None)
    await members.add_action_item(
        world.context, ADA, pair_id, title="Read", owner_id="ada", due_at=T0 + DAY, session_id=None
    )
    final = (await world.relationship(pair_id)).version
    puts = world.session_ends.puts + world.action_items.puts + world.health_checks.puts
    assert len(world.session_ends.puts) == 5  # the kick-off and four cadence sessions
    assert puts[0].version_stored is None, "the kick-off's entry is written before the insert"
    assert all(put.version_stored is None or put.version_stored < final for put in puts)
    cadence_puts = world.session_ends.puts[1:]
    assert {put.version_stored for put in cadence_puts} == {2}, "written before the signing write (version 3)"


async def test_a_refused_change_writes_nothing_and_indexes_nothing(world: World) -> None:
    pair_id = await _started(world)
    before = (await world.relationship(pair_id)).to_document()
    puts = len(world.session_ends.puts)
    with pytest.raises(InvalidInput) as refused:
        await members.schedule_session(world.context, ADA, pair_id, (T0 - HOUR, T0), None)
    assert refused.value.field == "starts_at"
    with pytest.raises(InvalidInput) as refused:
        await members.add_action_item(
            world.context, ADA, pair_id, title="x", owner_id="mallory", due_at=T0 + DAY, session_id=None
        )
    assert refused.value.field == "owner_id"
    assert (await world.relationship(pair_id)).to_document() == before
    assert len(world.session_ends.puts) == puts
    assert world.published() == ["AgreementDrafted", "SessionScheduled"]


async def test_strangers_see_nothing_admins_only_look_and_an_ended_pair_refuses_changes(world: World) -> None:
    pair_id = await _started(world)
    with pytest.raises(NotFound, match="no such pair"):
        await reports.pair(world.context, STRANGER, pair_id)
    with pytest.raises(NotFound, match="no such pair"):
        await reports.pair(world.context, Actor("boss", "another-org", is_admin=True), pair_id)
    assert (await reports.pair(world.context, ADMIN, pair_id)).id == pair_id
    with pytest.raises(Forbidden, match="members can change it"):
        await members.sign_agreement(world.context, ADMIN, pair_id, None)
    await lifecycle.end_relationship(world.context, _pairing(pair_id), PairEndReason.COMPLETED, T0)
    with pytest.raises(Rejected, match="has ended"):
        await members.add_goal(world.context, ADA, pair_id, "More", [])


async def test_both_signing_emits_agreement_signed_and_schedules_the_cadence_in_its_timezone(
    world: World,
) -> None:
    pair_id = await _started(world)
    terms = AgreementTerms(
        goals=["Grow as a tech lead"],
        roles={"ada": "mentee", "grace": "mentor"},
        cadence=Cadence.BIWEEKLY,
        ends_on=T0 + 180 * DAY,
        starts_on=None,
        boundaries=None,
        channel=None,
        modality="remote",
        meeting_link=None,
        timezone="America/New_York",
        timezones={"ada": "Europe/London", "grace": "America/New_York"},
        local_time="10:00",
        weekday=1,
        duration_minutes=45,
    )
    await members.redraft_agreement(world.context, ADA, pair_id, terms)
    first = await members.sign_agreement(world.context, ADA, pair_id, None)
    assert (sorted(first.agreement.signatures), first.agreement.signed_at) == (["ada"], None)
    signed = await members.sign_agreement(world.context, GRACE, pair_id, "America/New_York")
    assert signed.agreement.signed_at == T0
    cadence = [s for s in signed.sessions if s.kind == SessionKind.CADENCE]
    # The kick-off is on Wednesday 9 January; the regular sessions start a cadence period
    # later, on the agreed Tuesday at 10:00 in New York (15:00 UTC): 29 January.
    new_york = ZoneInfo("America/New_York")
    local = [s.starts_at.astimezone(new_york) for s in cadence]
    assert [moment.date() for moment in local] == [date(2030, 1, 29) + n * 14 * DAY for n in range(4)]
    assert {(moment.weekday(), moment.hour, moment.minute) for moment in local} == {(1, 10, 0)}
    assert all(s.ends_at - s.starts_at == timedelta(minutes=45) for s in cadence)
    assert world.published().count("AgreementSigned") == 1
    assert {e.key for e in world.session_ends.entries.values()} >= {s.session_id for s in cadence}
    with pytest.raises(Rejected, match="already signed"):
        await members.sign_agreement(world.context, ADA, pair_id, None)


async def test_two_missed_sessions_make_the_pair_stagnant_once_and_a_late_check_in_recovers_it(
    world: World,
) -> None:
    pair_id = await _started(world)
    world.clock.advance(7 * DAY + 3 * HOUR)
    assert await _sweep_all(world) == 1  # the kick-off passed unattended
    now = world.clock.now()
    _, extra = await members.schedule_session(
        world.context, GRACE, pair_id, (now + DAY, now + DAY + HOUR), None
    )
    world.clock.advance(DAY + 3 * HOUR)
    assert await handlers.sweep_missed_sessions(world.context, world.clock.now(), 100) == 2
    relationship = await world.relationship(pair_id)
    assert relationship.session(extra.session_id).missed_in_a_row == 2
    assert relationship.health.episode_open
    assert world.published().count("RelationshipStagnant") == 1
    assert await handlers.sweep_relationship_health(world.context, world.clock.now() + 30 * DAY, 100) == 0
    assert world.published().count("RelationshipStagnant") == 1, "once per episode"
    relationship, session = await members.check_in(world.context, ADA, pair_id, extra.session_id)
    assert session.status == SessionStatus.HELD
    assert world.published()[-2:] == ["SessionCompleted", "RelationshipRecovered"]
    assert not relationship.health.episode_open


async def test_a_second_sweep_over_the_same_due_entries_misses_each_session_only_once(world: World) -> None:
    pair_ids = [await _started(world, f"pair-{n}") for n in range(3)]
    world.clock.advance(7 * DAY + 3 * HOUR)
    now = world.clock.now()
    read_by_another_replica = await world.session_ends.find_due(now, 100)
    assert await handlers.sweep_missed_sessions(world.context, now, 100) == 3
    for entry in read_by_another_replica:
        world.session_ends.entries[(entry.key, entry.due_at)] = entry
    assert await handlers.sweep_missed_sessions(world.context, now, 100) == 0
    missed = [item for item in world.relationships.published if isinstance(item.event, SessionMissed)]
    assert sorted(item.event.pair_id for item in missed) == pair_ids
    assert {item.event_id for item in missed} == {
        derived_id(item.event.session_id, "missed") for item in missed
    }


async def test_a_moved_session_is_not_missed_at_its_old_time_and_cancelled_ones_never(world: World) -> None:
    pair_id = await _started(world)
    kickoff = (await world.relationship(pair_id)).sessions[0].session_id
    moved_to = T0 + 9 * DAY + 5 * HOUR
    await members.reschedule_session(
        world.context, GRACE, pair_id, kickoff, (moved_to, moved_to + HOUR), "travel"
    )
    world.clock.advance(8 * DAY)
    assert await handlers.sweep_missed_sessions(world.context, world.clock.now(), 100) == 0
    _, cancelled = await members.cancel_session(world.context, GRACE, pair_id, kickoff, "ill")
    assert (cancelled.status, cancelled.cancelled_by, cancelled.sequence) == (
        SessionStatus.CANCELLED,
        "grace",
        2,
    )
    world.clock.advance(5 * DAY)
    assert await handlers.sweep_missed_sessions(world.context, world.clock.now(), 100) == 0
    assert world.published() == [
        "AgreementDrafted",
        "SessionScheduled",
        "SessionScheduled",
        "SessionCancelled",
    ]


async def test_an_overdue_action_item_is_announced_once_and_an_achieved_goal_once(world: World) -> None:
    pair_id = await _started(world)
    item = await members.add_action_item(
        world.context,
        ADA,
        pair_id,
        title="Read the doc",
        owner_id="ada",
        due_at=T0 + 2 * DAY,
        session_id=None,
    )
    assert await handlers.sweep_overdue_action_items(world.context, T0 + DAY, 100) == 0
    world.clock.advance(3 * DAY)
    assert await handlers.sweep_overdue_action_items(world.context, world.clock.now(), 100) == 1
    assert await handlers.sweep_overdue_action_items(world.context, world.clock.now(), 100) == 0
    assert (await world.relationship(pair_id)).action_item(item.item_id).overdue_at == world.clock.now()
    goal = await members.add_goal(world.context, ADA, pair_id, "Lead a design review", ["draft", "review"])
    for milestone in goal.milestones:
        reached = await members.reach_milestone(
            world.context, ADA, pair_id, goal.goal_id, milestone.milestone_id
        )
    assert (reached.progress, reached.achieved_at) == (100, world.clock.now())
    await members.set_goal_progress(world.context, ADA, pair_id, goal.goal_id, 100)
    assert world.published().count("ActionItemOverdue") == 1
    assert world.published().count("GoalAchieved") == 1
    done = await members.complete_action_item(world.context, GRACE, pair_id, item.item_id)
    assert done.done_at == world.clock.now()
    with pytest.raises(NotFound, match="no such action item"):
        await members.complete_action_item(world.context, GRACE, pair_id, "nope")


async def test_time_alone_makes_a_silent_pair_stagnant_through_the_health_sweep(world: World) -> None:
    pair_id = await _started(world)
    assert await handlers.sweep_relationship_health(world.context, T0 + 13 * DAY, 100) == 0
    world.clock.advance(15 * DAY)
    assert await handlers.sweep_relationship_health(world.context, world.clock.now(), 100) == 1
    stagnant = world.relationships.published[-1]
    assert stagnant.event_id == derived_id(pair_id, "stagnant", "1")
    assert isinstance(stagnant.event, RelationshipStagnant)
    assert stagnant.event.reasons == ["no_session_for_2x_cadence", "agreement_unsigned"]
    assert await handlers.sweep_relationship_health(world.context, world.clock.now(), 100) == 0


async def test_pair_ended_cancels_future_sessions_once_even_when_redelivered(world: World) -> None:
    pair_id = await _signed(world)
    for _ in range(2):
        await lifecycle.end_relationship(world.context, _pairing(pair_id), PairEndReason.COMPLETED, T0)
    relationship = await world.relationship(pair_id)
    assert relationship.status == RelationshipStatus.ENDED
    assert {s.status for s in relationship.sessions} == {SessionStatus.CANCELLED}
    assert world.published().count("SessionCancelled") == len(relationship.sessions) == 5


async def test_pair_ended_before_pair_created_leaves_a_closed_relationship_with_no_sessions(
    world: World,
) -> None:
    await lifecycle.end_relationship(world.context, _pairing("late"), PairEndReason.NOT_A_FIT, T0)
    assert not await lifecycle.start_relationship(world.context, _pairing("late"), T0)
    relationship = await world.relationship("late")
    assert (relationship.status, relationship.sessions, relationship.version) == (
        RelationshipStatus.ENDED,
        [],
        1,
    )
    assert world.published() == []
    assert not world.session_ends.entries
    assert not world.health_checks.entries


async def test_a_circle_rotates_its_facilitator_and_all_members_must_sign(world: World) -> None:
    formed = CircleFormed(
        org_id=ORG,
        version=1,
        circle_id="circle-1",
        program_id="circles",
        member_ids=["ada", "grace", "linus"],
        facilitator_rota=["grace", "linus"],
        topics=["public speaking"],
    )
    await handlers.on_circle_formed(world.context, formed, cloud_event(formed, "matching"))
    for actor in (ADA, GRACE):
        assert (
            await members.sign_agreement(world.context, actor, "circle-1", None)
        ).agreement.signed_at is None
    circle = await members.sign_agreement(world.context, Actor("linus", ORG), "circle-1", None)
    assert circle.kind == RelationshipKind.CIRCLE
    assert circle.agreement.goals == ["public speaking"]
    assert [s.facilitator_id for s in circle.sessions] == ["grace", "linus", "grace", "linus", "grace"]


async def test_checking_in_by_session_id_alone_finds_the_pair(world: World) -> None:
    pair_id = await _started(world)
    kickoff = (await world.relationship(pair_id)).sessions[0]
    with pytest.raises(NotFound, match="no such session"):
        await members.check_in_by_session(world.context, ADA, "nope")
    with pytest.raises(Rejected, match="has not started"):
        await members.check_in_by_session(world.context, ADA, kickoff.session_id)
    world.clock.advance(7 * DAY + 5 * 60 * timedelta(seconds=1))
    relationship, held = await members.check_in_by_session(world.context, ADA, kickoff.session_id)
    assert (relationship.id, held.status, held.held_by) == (pair_id, SessionStatus.HELD, "ada")


async def test_notes_are_private_and_erasure_forgets_notes_feedback_text_and_agenda_words(
    world: World,
) -> None:
    pair_id = await _started(world)
    kickoff = (await world.relationship(pair_id)).sessions[0].session_id
    await members.add_agenda_item(world.context, ADA, pair_id, kickoff, "My promotion case")
    await members.add_note(world.context, ADA, pair_id, "secret worry", kickoff)
    with pytest.raises(InvalidInput) as refused:
        await members.add_note(world.context, ADA, pair_id, "x", "nope")
    assert refused.value.field == "session_id"
    with pytest.raises(Forbidden, match="keep notes"):
        await members.add_note(world.context, ADMIN, pair_id, "x", None)
    assert [n.text for n in await members.my_notes(world.context, ADA, pair_id)] == ["secret worry"]
    assert await members.my_notes(world.context, GRACE, pair_id) == []
    world.clock.advance(7 * DAY + HOUR)
    await members.check_in(world.context, GRACE, pair_id, kickoff)
    answers = FeedbackAnswers(useful=True, learned=False, thanks=True, text="personal")
    await members.give_feedback(world.context, ADA, pair_id, kickoff, answers)
    erased = ProfileErased(org_id=ORG, version=3, person_id="ada", erased_at=world.clock.now())
    await handlers.on_profile_erased(world.context, erased, cloud_event(erased, "profiles"))
    with pytest.raises(NotFound):  # she is in no pair any more: her id became a pseudonym
        await members.my_notes(world.context, ADA, pair_id)
    session = (await world.relationship(pair_id)).session(kickoff)
    stand_in = pseudonym(ORG, "ada")
    assert (session.feedback[stand_in].text, session.feedback[stand_in].learned) == (None, False)
    assert '"ada"' not in json.dumps(world.relationships.documents, default=str)
    assert [item.text for item in session.agenda] == ["Removed at its author's request."]
    assert "personal" not in str(world.relationships.documents)
    assert (await world.relationship(pair_id)).status == RelationshipStatus.ENDED


async def test_pair_health_shows_the_assessment_now_and_the_pairs_figures(world: World) -> None:
    pair_id = await _signed(world)
    world.clock.advance(15 * DAY)
    report = await reports.pair_health(world.context, ADA, pair_id)
    assert report.now.stagnant
    assert not report.relationship.health.episode_open  # nothing swept yet
    assert report.figures.sessions_held == 0
    assert report.figures.cadence_adherence == 0.0
    await _sweep_all(world)
    report = await reports.pair_health(world.context, ADA, pair_id)
    assert report.relationship.health.episode_open
    # The kick-off (day 2) and the first weekly session, a week after it (day 9).
    assert report.figures.sessions_missed == 2


async def test_program_health_is_for_admins_totals_every_pair_and_pages_by_id(world: World) -> None:
    pair_ids = sorted([await _started(world, f"pair-{uuid.uuid4().hex[:6]}") for _ in range(3)])
    await _started(world, "elsewhere", program_id="other")
    world.clock.advance(7 * DAY + 3 * HOUR)
    await _sweep_all(world)
    with pytest.raises(Forbidden, match="admins"):
        await reports.program_health(world.context, ADA, "prog", reports.ProgramPage(1, 50))
    first = await reports.program_health(world.context, ADMIN, "prog", reports.ProgramPage(1, 2))
    second = await reports.program_health(world.context, ADMIN, "prog", reports.ProgramPage(2, 2))
    assert [r.id for r, _ in first.items + second.items] == pair_ids
    totals = first.totals
    assert (totals.pairs, totals.pairs_active, totals.sessions_missed, totals.pairs_at_risk) == (3, 3, 3, 0)
    ended = await reports.program_health(
        world.context, ADMIN, "prog", reports.ProgramPage(1, 50), status=RelationshipStatus.ENDED
    )
    assert ended.totals.pairs == 0
    assert ended.totals.cadence_adherence is None
