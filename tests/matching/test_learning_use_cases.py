"""Semantic goals and learning from outcomes through the handlers and use cases, on in-memory stores and
a word-hashing stand-in for the model: profile texts embedded once per change and used by suggestions,
outcome records built from events in any order, labelled, fitted, adopted, reverted, and forgotten."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from matching import handlers
from matching.domain.mentor import mentor_key
from matching.domain.outcome_record import Counted, OutcomeChange
from matching.domain.outcomes import label_outcome
from matching.domain.program import Approval, Program, ProgramSettings
from matching.domain.programs import COMPONENTS, DEFAULT_WEIGHTS
from matching.domain.semantic import Vectors
from matching.embeddings import ModelUnavailable
from matching.use_cases import outcomes, pairs, programs, requests, weights
from matching.use_cases.context import Caller, Conflict, Matching, NotFound, Refused
from mentorship_schemas import (
    AgreementSigned,
    Event,
    GoalAchieved,
    MentorAvailable,
    PairCreated,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    SessionCompleted,
    SessionMissed,
)
from mentorship_schemas.events import Cadence, PairEndReason, PersonRole

from tests.kafka_records import cloud_event
from tests.matching.fakes import InMemoryMatching
from tests.matching.learning_fakes import (
    MemoryEmbeddedProfiles,
    MemoryPairOutcomes,
    WordsEncoder,
    with_memory_learning,
)

pytestmark = pytest.mark.fast
ORG = "acme"
ADMIN = Caller(ORG, "hr", is_admin=True)


async def _handle(context: Matching, event: Event, source: str = "profiles") -> None:
    handler = dict(handlers.HANDLERS)[type(event)]
    await handler(context, event, cloud_event(event, source))


async def _published(
    mem: InMemoryMatching, context: Matching, event: Event, local: Mapping[str, Any] | None = None
) -> None:
    """Matching's own event as its relay applies it, with what the change kept for it (that
    change's `Emitted.local` unless `local` is given)."""
    if local is None:
        emitted = [e.local for e in mem.seats.published if e.event == event]
        local = emitted[0] if emitted and emitted[0] is not None else {}
    handler = dict(handlers.PUBLISHED)[type(event)]
    await handler(context, event, cloud_event(event, "matching"), local)


def _person(person: str, role: PersonRole, version: int = 1, **facts: object) -> ProfileRegistered:
    return ProfileRegistered(
        org_id=ORG, version=version, person_id=person, roles=[role], display_name=person.title(),
        email=f"{person}@example.com", languages=["en"], **facts,
    )  # fmt: skip


async def _org_with_texts() -> tuple[InMemoryMatching, Matching, WordsEncoder]:
    mem = InMemoryMatching.new()
    encoder = WordsEncoder()
    context = with_memory_learning(mem.context, encoder)
    for event in (
        _person("ada", PersonRole.MENTEE, goals="Lead a data team.", challenges="Hiring analysts"),
        _person("mira", PersonRole.MENTOR, title="Led a data team of analysts", skills_offered=["sql"]),
        _person("sam", PersonRole.MENTOR, title="Ran the office bakery", skills_offered=["sql"]),
    ):
        await _handle(context, event)
    for mentor in ("mira", "sam"):
        # Capacity 0: no free place (matching counts places itself), so nobody is paired by itself.
        available = MentorAvailable(org_id=ORG, version=1, person_id=mentor, capacity=0, active_mentees=0)
        await _handle(context, available)
    return mem, context, encoder


async def test_profile_texts_are_embedded_once_per_change_and_suggestions_explain_the_goal_in_words() -> None:
    mem, context, encoder = await _org_with_texts()
    assert context.semantic is not None
    profiles = context.semantic.profiles
    assert isinstance(profiles, MemoryEmbeddedProfiles)
    assert set(profiles.records) == {(ORG, "ada"), (ORG, "mira"), (ORG, "sam")}
    encoded = len(encoder.encoded)
    # A repeated event, and a change that leaves the texts alone, encode nothing more.
    await _handle(
        context, _person("ada", PersonRole.MENTEE, goals="Lead a data team.", challenges="Hiring analysts")
    )
    update = ProfileUpdated(
        **_person(
            "ada", PersonRole.MENTEE, 2, goals="Lead a data team.", challenges="Hiring analysts"
        ).model_dump()
    )
    await _handle(context, update)
    assert len(encoder.encoded) == encoded
    assert profiles.records[(ORG, "ada")][0] == 2
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="mira", capacity=2, active_mentees=1)
    )
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="sam", capacity=2, active_mentees=1)
    )
    # Both mentors were free for a moment: continuous matching paired ada with the one whose
    # experience matches her goal, and said why.
    (created,) = mem.published(PairCreated)
    assert created.mentor_id == "mira"
    assert (
        "your goal 'Lead a data team' matches their experience 'Led a data team of analysts'"
        in created.reasons
    )


async def test_a_role_written_nothing_for_keeps_no_vectors_and_scores_goals_zero_as_before() -> None:
    """Nothing to embed: no record is stored for it, and its goals are valued on TF-IDF, 0 for an
    empty text, as the zero direction of a profile with no passages valued them. A first profile
    does not look at what is stored (nothing older can be). A profile whose texts are all removed
    has its older vectors replaced, not kept."""
    mem = InMemoryMatching.new()
    encoder = WordsEncoder()
    context = with_memory_learning(mem.context, encoder)
    assert context.semantic is not None
    profiles = context.semantic.profiles
    assert isinstance(profiles, MemoryEmbeddedProfiles)
    looked_up: list[str] = []
    stamp_of = profiles.stamp_of

    async def counted_stamp_of(org_id: str, person_id: str) -> tuple[int, str] | None:
        looked_up.append(person_id)
        return await stamp_of(org_id, person_id)

    profiles.stamp_of = counted_stamp_of  # type: ignore[method-assign]
    await _handle(context, _person("lee", PersonRole.MENTEE))
    assert profiles.records == {}
    assert encoder.encoded == []
    assert looked_up == []
    await _handle(context, _person("ada", PersonRole.MENTEE, goals="Lead a data team."))
    mira = _person("mira", PersonRole.MENTOR, title="Led a data team", skills_offered=["sql"])
    await _handle(context, mira)
    assert set(profiles.records) == {(ORG, "ada"), (ORG, "mira")}
    # Ada removes her goals: her stored vectors go with them.
    update = ProfileUpdated(**_person("ada", PersonRole.MENTEE, 2).model_dump())
    await _handle(context, update)
    assert profiles.records[(ORG, "ada")][0] == 2
    assert looked_up == ["ada"]  # the update: only a first profile has nothing older stored
    goals = await profiles.of_people(ORG)
    assert goals is not None
    assert (set(goals.mentees), set(goals.mentors)) == (set(), {"mira"})
    await _handle(
        context, MentorAvailable(org_id=ORG, version=1, person_id="mira", capacity=2, active_mentees=0)
    )
    for mentee in ("lee", "ada"):
        pair = (await mem.seat(ORG, mentee)).pair
        assert pair is not None
        assert pair.mentor_id == "mira"
        assert pair.components is not None
        assert pair.components["goals"] == 0.0
        assert not any("goal" in reason for reason in pair.reasons)


async def test_suggestions_use_the_semantic_goals_component_when_the_mentee_asks() -> None:
    mem, context, _ = await _org_with_texts()
    for mentor in ("mira", "sam"):
        saved = await mem.mentors.change(mentor_key(ORG, mentor), lambda m: m.announce_available(5, 3))
        assert saved is not None
    settings = ProgramSettings(name="Ask", continuous=False, approval=Approval.MENTOR)
    await mem.programs.create(Program.create(ORG, "asking", settings, mem.clock.now()))
    await requests.join(context, ORG, "ada", "asking")
    found = await requests.suggestions(context, Caller(ORG, "ada"), None, 5)
    assert [s.mentor_id for s in found] == ["mira", "sam"]
    assert found[0].breakdown["goals"] > found[1].breakdown["goals"]
    assert any(reason.startswith("your goal 'Lead a data team' matches") for reason in found[0].reasons)
    assert not any(reason.startswith("your goal") for reason in found[1].reasons)


def _outcome_events(pair_id: str, session: str) -> list[Event]:
    people = ["ada", "mira"]
    at = datetime(2026, 3, 10, tzinfo=UTC)
    return [
        AgreementSigned(
            org_id=ORG, version=1, pair_id=pair_id, participant_ids=people, cadence=Cadence.WEEKLY
        ),
        SessionCompleted(
            org_id=ORG, version=1, session_id=f"{session}1", pair_id=pair_id, participant_ids=people,
            starts_at=at, held_at=at,
        ),
        SessionMissed(
            org_id=ORG, version=1, session_id=f"{session}2", pair_id=pair_id, participant_ids=people,
            starts_at=at, missed_in_a_row=1,
        ),
        GoalAchieved(
            org_id=ORG, version=1, goal_id="g1", pair_id=pair_id, participant_ids=people, title="Hire"
        ),
    ]  # fmt: skip


async def test_a_pairs_outcome_record_comes_from_events_in_any_order_and_repeated() -> None:
    mem, context, _ = await _org_with_texts()
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="mira", capacity=2, active_mentees=1)
    )
    (created,) = mem.published(PairCreated)
    events = _outcome_events(created.pair_id, "s")
    for event in [*events[::-1], *events]:  # in any order, and again
        await _handle(context, event, "sessions")
    assert context.learning is not None
    # The pair lasts: its start is on its seat, and a proposal writes it (`complete_starts`).
    assert await context.learning.outcomes.of_program(ORG, "open") == [], "no start: in no program yet"
    assert await outcomes.complete_starts(context, ORG, "open") == 1
    (record,) = await context.learning.outcomes.of_program(ORG, "open")
    assert (record.cadence_days, record.sessions_held, record.sessions_missed) == (7, ["s1"], ["s2"])
    assert record.goals_achieved == ["g1"]
    assert record.components is not None
    assert set(record.components) == set(COMPONENTS)
    # What the pair was matched on, semantic goals included: the pair's breakdown is weight x value.
    pair = (await mem.seat(ORG, "ada")).pair
    assert pair is not None
    for name in ("goals", "level_gap", "timezone"):
        assert record.components[name] == pytest.approx(
            pair.breakdown[name] / DEFAULT_WEIGHTS[name], abs=1e-4
        )
    assert record.components["goals"] > 0.3
    assert record.components == pair.components  # as the run that made the pair valued them
    assert record.started_at == pair.created_at
    ended_at = record.started_at + timedelta(days=21)
    ended = PairEnded(
        org_id=ORG, version=2, pair_id=created.pair_id, program_id="open", mentor_id="mira", mentee_id="ada",
        reason=PairEndReason.COMPLETED, ended_at=ended_at,
    )  # fmt: skip
    await _published(mem, context, ended)
    (record,) = await context.learning.outcomes.of_program(ORG, "open")
    outcome = record.outcome()
    assert outcome is not None
    assert (outcome.sessions_held, outcome.sessions_missed, outcome.goals_achieved) == (1, 1, 1)
    label = label_outcome(outcome, ended_at)
    # Attendance 1 of 3 weekly sessions and the goal achieved: (0.4 x 1/3 + 0.3 x 1) / 0.7.
    assert (label.success, label.quality) == (True, pytest.approx((0.4 / 3 + 0.3) / 0.7, abs=1e-4))
    assert "1 of 3 expected sessions" in label.reason


async def test_a_pair_no_run_valued_is_valued_from_both_people_when_its_start_is_written() -> None:
    """A pair stored without its values (made before runs kept them): worked out from the people,
    when a proposal writes its start and when its PairEnded does."""
    mem, context, _ = await _org_with_texts()
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="mira", capacity=2, active_mentees=1)
    )
    (created,) = mem.published(PairCreated)
    seat = await mem.seat(ORG, "ada")
    valued = mem.seats.documents[seat.id]["pair"].pop("components")
    assert (await mem.seat(ORG, "ada")).pair.components is None  # type: ignore[union-attr]
    assert await outcomes.complete_starts(context, ORG, "open") == 1
    assert context.learning is not None
    (record,) = await context.learning.outcomes.of_program(ORG, "open")
    assert record.components is not None
    # The same people alone in the run: the same values, worked out again.
    assert record.components == pytest.approx(valued, abs=1e-5)

    await context.learning.outcomes.forget_person(ORG, "ada")
    await pairs.end(context, ADMIN, created.pair_id, PairEndReason.COMPLETED)
    (ended,) = mem.published(PairEnded)
    await _published(mem, context, ended)
    (record,) = await context.learning.outcomes.of_program(ORG, "open")
    assert record.components == pytest.approx(valued, abs=1e-5)
    assert record.ending is not None


async def test_a_lasting_pair_gets_its_start_from_its_seat_at_a_proposal_once_and_never_once_erased() -> None:
    """Nothing writes the start of a pair that lasts (not its PairCreated): sessions' events made a
    record without it. Proposing weights completes it from the seat, once; never for an erased
    person."""
    mem, context, _ = await _org_with_texts()
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="mira", capacity=2, active_mentees=1)
    )
    (created,) = mem.published(PairCreated)
    for event in _outcome_events(created.pair_id, "s"):
        await _handle(context, event, "sessions")
    assert context.learning is not None
    assert await context.learning.outcomes.of_program(ORG, "open") == [], "no start: in no program yet"
    pair = (await mem.seat(ORG, "ada")).pair
    assert pair is not None
    assert pair.components is not None
    with pytest.raises(Conflict, match="not enough outcomes"):
        await weights.propose(context, ORG, "open")  # one pair is too few, but it is completed
    (record,) = await context.learning.outcomes.of_program(ORG, "open")
    assert (record.started_at, record.components) == (pair.created_at, pair.components)
    assert (record.sessions_held, record.goals_achieved) == (["s1"], ["g1"])
    assert await outcomes.complete_starts(context, ORG, "open") == 0, "once"

    erased = ProfileErased(org_id=ORG, version=3, person_id="ada", erased_at=datetime(2026, 3, 3, tzinfo=UTC))
    await _handle(context, erased)
    assert await context.learning.outcomes.of_program(ORG, "open") == []
    assert [s.pair for s in await context.reads.seats_with_pairs_in(ORG, "open")] != [], "the seat stays"
    assert await outcomes.complete_starts(context, ORG, "open") == 0
    assert await context.learning.outcomes.of_program(ORG, "open") == [], "what erasure took stays gone"


async def test_a_pair_that_ends_brings_its_start_to_its_record() -> None:
    """The seat paired again and that pair ended too: no seat holds the first pair, so a proposal
    could not complete it; its PairEnded brought the start. A record with its start (a proposal
    wrote it while the pair lasted) keeps it, and a pair ended by an erasure brings none."""
    mem, context, _ = await _org_with_texts()
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="mira", capacity=2, active_mentees=1)
    )
    await _handle(
        context, MentorAvailable(org_id=ORG, version=2, person_id="sam", capacity=2, active_mentees=0)
    )
    first = (await mem.seat(ORG, "ada")).pair
    assert first is not None
    assert first.components is not None
    assert context.learning is not None
    # Not a fit: ada waits again and is paired with sam; that pair ends as well.
    assert await pairs.end(context, ADMIN, first.pair_id, PairEndReason.NOT_A_FIT)
    second = (await mem.seat(ORG, "ada")).pair
    assert second is not None
    assert (second.mentor_id, second.pair_id != first.pair_id) == ("sam", True)
    await pairs.end(context, ADMIN, second.pair_id, PairEndReason.COMPLETED)
    seat = await mem.seat(ORG, "ada")
    assert seat.last_pair is not None
    assert first.pair_id not in {seat.last_pair.pair_id, seat.pair and seat.pair.pair_id}
    assert await outcomes.complete_starts(context, ORG, "open") == 1, "no seat holds the first pair"
    # The second pair's start, written from its seat: marked, to see that its PairEnded keeps it.
    outcomes_kept = context.learning.outcomes
    assert isinstance(outcomes_kept, MemoryPairOutcomes)
    second_start = second.created_at - timedelta(seconds=1)
    outcomes_kept.records[(ORG, second.pair_id)]["started_at"] = second_start

    for ended in mem.published(PairEnded):
        await _published(mem, context, ended)
    records = {r.pair_id: r for r in await context.learning.outcomes.of_program(ORG, "open")}
    assert set(records) == {first.pair_id, second.pair_id}
    assert (records[first.pair_id].started_at, records[first.pair_id].components) == (
        first.created_at,
        first.components,
    )
    assert records[first.pair_id].participant_ids == ["ada", "mira"]
    assert records[first.pair_id].ending is not None
    assert records[second.pair_id].started_at == second_start, "the start written first is kept"

    # Bo is paired, then erased: that PairEnded brings no start.
    await _handle(context, _person("bo", PersonRole.MENTEE, goals="Grow a data team."))
    third = (await mem.seat(ORG, "bo")).pair
    assert third is not None
    erased = ProfileErased(org_id=ORG, version=2, person_id="bo", erased_at=datetime(2026, 3, 3, tzinfo=UTC))
    await _handle(context, erased)
    (ended_by_erasure,) = [
        e for e in mem.seats.published if isinstance(e.event, PairEnded) and e.event.pair_id == third.pair_id
    ]
    assert ended_by_erasure.event.reason is PairEndReason.ERASED
    assert ended_by_erasure.local is None


async def test_erasure_forgets_the_persons_embeddings_and_the_outcome_records_of_their_pairs() -> None:
    _, context, _ = await _org_with_texts()
    assert context.learning is not None
    await context.learning.outcomes.note(ORG, "p1", OutcomeChange(participants=("ada", "mira")))
    await context.learning.outcomes.note(ORG, "p2", OutcomeChange(participants=("bob", "sam")))
    erased = ProfileErased(org_id=ORG, version=3, person_id="ada", erased_at=datetime(2026, 3, 3, tzinfo=UTC))
    await _handle(context, erased)
    assert context.semantic is not None
    assert await context.semantic.profiles.stamp_of(ORG, "ada") is None
    assert await context.semantic.profiles.stamp_of(ORG, "mira") is not None
    assert isinstance(context.learning.outcomes, MemoryPairOutcomes)
    assert list(context.learning.outcomes.records) == [(ORG, "p2")]


async def _past_pairs(context: Matching, count: int = 240, seed: int = 3) -> None:
    """Ended pairs of the built-in program over two years: they went well when the level gap and the
    timezone fitted, whatever the other components."""
    rng = random.Random(seed)
    assert context.learning is not None
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for k in range(count):
        components = {name: round(rng.random(), 3) for name in COMPONENTS}
        good = components["level_gap"] + components["timezone"] + rng.gauss(0, 0.2) > 1.0
        started = start + timedelta(days=k * 2)
        fields = {
            "program_id": "open", "started_at": started, "components": components, "cadence_days": 14,
            "ending": "completed" if good else "not_a_fit", "ended_at": started + timedelta(days=84),
        }  # fmt: skip
        await context.learning.outcomes.note(
            ORG, f"p{k}", OutcomeChange(participants=(f"e{k}", "m"), fields=fields)
        )
        for session in range(6 if good else 1):
            change = OutcomeChange(counted=(Counted.SESSIONS_HELD, f"p{k}s{session}"))
            await context.learning.outcomes.note(ORG, f"p{k}", change)


async def test_admin_fits_adopts_and_reverts_learned_weights_as_versions_of_the_program() -> None:
    mem = InMemoryMatching.new()
    context = with_memory_learning(mem.context)
    with pytest.raises(Conflict, match="no pair of program 'open' has an outcome"):
        await weights.propose(context, ORG, "open")
    await _past_pairs(context)
    mem.clock.advance(timedelta(days=3 * 365))
    proposal = await weights.propose(context, ORG, "open")
    assert proposal.learned_auc.value > proposal.current_auc.value + 0.1
    assert proposal.lift.low > 0
    assert proposal.weights["level_gap"] + proposal.weights["timezone"] > 0.6
    assert await weights.history(context, ORG, "open") == []  # a proposal changes nothing

    adopted = await weights.adopt(context, ADMIN, "open", proposal.proposal_id)
    assert (adopted.version, adopted.author, adopted.weights) == (1, "hr", proposal.weights)
    assert adopted.replaced_weights["skills"] == pytest.approx(DEFAULT_WEIGHTS["skills"])
    stored = await mem.programs.get(f"{ORG}:open")
    assert stored is not None
    assert stored.weights == proposal.weights
    # The same proposal again is stale: it was judged against the weights it replaced.
    with pytest.raises(Conflict, match="fit again"):
        await weights.adopt(context, ADMIN, "open", proposal.proposal_id)
    with pytest.raises(NotFound):
        await weights.adopt(context, ADMIN, "open", "nope")
    with pytest.raises(Conflict, match="not the latest"):
        await weights.revert(context, ADMIN, "open", 2)

    reverted = await weights.revert(context, Caller(ORG, "lead", is_admin=True), "open", 1)
    assert (reverted.version, reverted.author, reverted.source) == (2, "lead", "revert of version 1")
    stored = await mem.programs.get(f"{ORG}:open")
    assert stored is not None
    assert stored.weights == pytest.approx({name: DEFAULT_WEIGHTS[name] for name in COMPONENTS})
    assert [v.version for v in await weights.history(context, ORG, "open")] == [2, 1]


async def test_adoption_is_refused_without_a_clear_lift_unless_the_admin_says_so() -> None:
    mem = InMemoryMatching.new()
    context = with_memory_learning(mem.context)
    await _past_pairs(context)
    mem.clock.advance(timedelta(days=3 * 365))
    proposal = await weights.propose(context, ORG, "open")
    weak = dataclasses.replace(proposal, lift=dataclasses.replace(proposal.lift, low=-0.01))
    assert context.learning is not None
    await context.learning.proposals.save(weak)
    with pytest.raises(Conflict, match="does not exclude zero"):
        await weights.adopt(context, ADMIN, "open", weak.proposal_id)
    adopted = await weights.adopt(context, ADMIN, "open", weak.proposal_id, accept_without_lift=True)
    assert adopted.version == 1
    # Weights changed by hand since: reverting would silently undo that change.
    await programs.change_program(context, ORG, "open", {"weights": dict(DEFAULT_WEIGHTS)})
    with pytest.raises(Conflict, match="changed by hand"):
        await weights.revert(context, ADMIN, "open", 1)
    with pytest.raises(Refused, match="no weights were adopted"):
        await weights.revert(with_memory_learning(InMemoryMatching.new().context), ADMIN, "open", 1)


class BrokenEncoder(WordsEncoder):
    def encode(self, texts: Sequence[str]) -> Vectors:
        raise ModelUnavailable("model.onnx is missing")


async def test_a_profile_change_is_kept_without_embeddings_when_the_model_cannot_run() -> None:
    mem = InMemoryMatching.new()
    context = with_memory_learning(mem.context, BrokenEncoder())
    await _handle(context, _person("ada", PersonRole.MENTEE, goals="Lead a data team."))
    assert (await mem.seat(ORG, "ada")).person_id == "ada"
    assert context.semantic is not None
    assert await context.semantic.profiles.stamp_of(ORG, "ada") is None
