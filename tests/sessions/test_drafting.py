"""Pure rules of a new relationship and its agreement (no I/O): the pre-filled terms come from the
people's profiles, the kick-off falls in shared working hours in the first week and before the
cadence, PATCH and PUT keep what they do not name, each signature step announces itself once, an
erased person leaves every relationship, and the figures do not judge a pair before anything was due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mentorship_schemas import AgreementDrafted, AgreementSignatureAdded, AgreementSigned, SessionCancelled
from mentorship_schemas.events import Cadence, PairEndReason
from servicekit.aggregates import Emitted
from servicekit.ids import derived_id
from sessions.domain.agreement import AgreementChange
from sessions.domain.cadence import to_utc
from sessions.domain.drafting import drafted_terms, kickoff_window
from sessions.domain.figures import at_risk, pair_figures
from sessions.domain.people import Person
from sessions.domain.policy import SessionsPolicy
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipKind, RelationshipStatus, SessionKind, SessionStatus
from sessions.domain.working_hours import WorkingHours, first_slot

pytestmark = pytest.mark.fast

T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday
POLICY = SessionsPolicy()
ZONES = [
    "Europe/Paris",
    "Europe/Rome",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Kolkata",
]


def _person(person_id: str, timezone: str, **facts: object) -> Person:
    return Person.model_validate(
        {
            "org_id": "org",
            "person_id": person_id,
            "display_name": person_id.title(),
            "timezone": timezone,
            **facts,
        }
    )


ADA = _person("ada", "Europe/Paris", modalities=("video", "in_person"), preferred_cadence="monthly")
GRACE = _person("grace", "Europe/Rome", modalities=("in_person", "video"), preferred_cadence="biweekly")


def _pair(
    people: dict[str, Person] | None = None, started_at: datetime = T0
) -> tuple[Relationship, list[Emitted]]:
    relationship = Relationship.draft(
        relationship_id="pair-1",
        org_id="org",
        program_id="p",
        kind=RelationshipKind.PAIR,
        participant_ids=["ada", "grace"],
        started_at=started_at,
        policy=POLICY,
        mentor_id="grace",
        mentee_id="ada",
        people={"ada": ADA, "grace": GRACE} if people is None else people,
    )
    return relationship, relationship.open(POLICY)


def _circle(members: list[str]) -> Relationship:
    return Relationship.draft(
        relationship_id="circle-1",
        org_id="org",
        program_id="c",
        kind=RelationshipKind.CIRCLE,
        participant_ids=members,
        started_at=T0,
        policy=POLICY,
        facilitator_rota=members[:2],
    )


def _types(emitted: list[Emitted]) -> list[str]:
    return [type(item.event).__name__ for item in emitted]


def test_the_draft_takes_each_timezone_the_mentees_for_the_slot_and_the_mentors_cadence_and_modality() -> (
    None
):
    relationship, _ = _pair()
    agreement = relationship.agreement
    assert agreement.timezones == {"ada": "Europe/Paris", "grace": "Europe/Rome"}
    assert agreement.timezone == "Europe/Paris"
    assert agreement.cadence == Cadence.BIWEEKLY  # the mentor's, not the mentee's monthly
    assert (agreement.modality, agreement.channel) == ("in_person", None)  # her first, ada accepts it
    assert agreement.local_time == "10:00"
    assert agreement.roles == {"grace": "mentor", "ada": "mentee"}


def test_without_profiles_the_draft_falls_back_to_utc_and_the_programs_cadence() -> None:
    relationship, _ = _pair(people={})
    agreement = relationship.agreement
    assert (agreement.timezone, agreement.timezones) == ("UTC", {"ada": "UTC", "grace": "UTC"})
    assert (agreement.cadence, agreement.modality) == (POLICY.default_cadence, None)


def test_a_mentor_offering_only_video_makes_a_remote_agreement_by_video_call() -> None:
    grace = GRACE.model_copy(update={"modalities": ("video",)})
    relationship, _ = _pair({"ada": ADA, "grace": grace})
    assert (relationship.agreement.modality, relationship.agreement.channel) == ("remote", "video call")


def test_far_apart_timezones_get_a_usual_time_inside_both_working_days() -> None:
    ada = _person("ada", "America/New_York")
    grace = _person("grace", "Europe/Paris")
    relationship, _ = _pair({"ada": ada, "grace": grace})
    # 10:00 in New York is 16:00 in Paris: the 1-hour meeting ends at 17:00, still inside her day.
    assert relationship.agreement.local_time == "10:00"
    tokyo = _person("grace", "Asia/Tokyo")
    relationship, _ = _pair({"ada": _person("ada", "Europe/London"), "grace": tokyo})
    # London 09:00 is Tokyo 18:00: no shared hour, so the mentee's usual time stays.
    assert relationship.agreement.local_time == "10:00"


def test_the_kickoff_is_two_days_on_at_the_usual_time_on_a_weekday_in_everyones_working_hours() -> None:
    relationship, emitted = _pair()
    (kickoff,) = relationship.sessions
    paris = kickoff.starts_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (paris.date().isoformat(), paris.hour, paris.minute) == ("2030-01-09", 10, 0)
    assert _types(emitted) == ["AgreementDrafted", "SessionScheduled"]
    drafted = emitted[0].event
    assert isinstance(drafted, AgreementDrafted)
    assert (drafted.awaiting_ids, drafted.revision, drafted.version) == (["ada", "grace"], 1, 1)
    assert emitted[0].event_id == derived_id("pair-1", "agreement-drafted", "1")


def test_a_pair_formed_on_friday_evening_meets_on_a_working_day_not_on_the_weekend() -> None:
    friday_evening = datetime(2030, 1, 11, 18, 30, tzinfo=UTC)
    relationship, _ = _pair(started_at=friday_evening)
    starts = relationship.sessions[0].starts_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (starts.strftime("%A"), starts.hour) == ("Monday", 10)


@settings(max_examples=60, deadline=None)
@given(
    mentee=st.sampled_from(ZONES),
    mentor=st.sampled_from(ZONES),
    started_at=st.datetimes(
        min_value=datetime(2030, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)
    ),
)
def test_the_kickoff_is_always_within_the_first_week_on_a_working_day_of_the_mentee(
    mentee: str, mentor: str, started_at: datetime
) -> None:
    terms = drafted_terms(
        ["ada", "grace"],
        {"ada": _person("ada", mentee), "grace": _person("grace", mentor)},
        POLICY,
        started_at,
        mentor_id="grace",
        mentee_id="ada",
    )
    starts_at, ends_at = kickoff_window(started_at, terms, POLICY)
    assert started_at + POLICY.first_session_after <= starts_at <= started_at + timedelta(days=7)
    assert WorkingHours().fits(starts_at, ends_at, [ZoneInfo(mentee)])


def test_signing_before_the_kickoff_starts_the_cadence_a_period_after_it() -> None:
    relationship, _ = _pair()
    kickoff = relationship.sessions[0]
    first = relationship.sign_agreement("ada", T0)
    assert _types(first) == ["AgreementSignatureAdded"]
    signature = first[0].event
    assert isinstance(signature, AgreementSignatureAdded)
    assert (signature.signer_id, signature.awaiting_ids) == ("ada", ["grace"])
    assert relationship.sign_agreement("ada", T0 + timedelta(minutes=5)) == []
    last = relationship.sign_agreement("grace", T0 + timedelta(hours=1))
    assert _types(last) == ["AgreementSigned"]
    assert isinstance(last[0].event, AgreementSigned)
    relationship.top_up_cadence(T0 + timedelta(hours=1), POLICY)
    cadence = sorted(s.starts_at for s in relationship.sessions if s.kind == SessionKind.CADENCE)
    assert cadence[0] == kickoff.starts_at + timedelta(days=14)  # biweekly, the kick-off's time and day
    assert min(s.starts_at for s in relationship.sessions) == kickoff.starts_at


def test_patch_keeps_what_it_does_not_name_and_put_falls_back_to_the_prefilled_terms() -> None:
    relationship, _ = _pair()
    (drafted,) = relationship.redraft_agreement(AgreementChange({"cadence": Cadence.WEEKLY}), T0)
    agreement = relationship.agreement
    assert (agreement.cadence, agreement.revision, agreement.roles) == (
        Cadence.WEEKLY,
        2,
        {"grace": "mentor", "ada": "mentee"},
    )
    assert isinstance(drafted.event, AgreementDrafted)
    assert drafted.event.revision == 2
    relationship.redraft_agreement(AgreementChange({"goals": ["Lead a review"], "roles": {"ada": None}}), T0)
    assert (agreement.roles, agreement.cadence, agreement.goals) == (
        {"grace": "mentor"},
        Cadence.WEEKLY,
        ["Lead a review"],
    )
    relationship.redraft_agreement(AgreementChange({"local_time": "14:00"}, replace=True), T0)
    assert agreement.roles == {"grace": "mentor", "ada": "mentee"}, "PUT never wipes the pre-filled roles"
    assert (agreement.cadence, agreement.goals, agreement.local_time) == (Cadence.BIWEEKLY, [], "14:00")
    assert agreement.timezones == {"ada": "Europe/Paris", "grace": "Europe/Rome"}


def test_a_change_that_changes_nothing_keeps_the_signatures_and_announces_nothing() -> None:
    relationship, _ = _pair()
    relationship.sign_agreement("ada", T0)
    assert relationship.redraft_agreement(AgreementChange({"cadence": Cadence.BIWEEKLY}), T0) == []
    assert list(relationship.agreement.signatures) == ["ada"]
    assert relationship.agreement.revision == 1


def test_erasing_a_pairs_member_ends_it_and_cancels_its_future_sessions_once() -> None:
    relationship, _ = _pair()
    relationship.health.episode_open = True
    emitted = relationship.erase_person("ada", T0 + timedelta(hours=1))
    assert _types(emitted) == ["SessionCancelled"]
    assert isinstance(emitted[0].event, SessionCancelled)
    assert (relationship.status, relationship.end_reason) == (RelationshipStatus.ENDED, PairEndReason.ERASED)
    (kickoff,) = relationship.sessions
    assert (kickoff.status, kickoff.cancel_code) == (SessionStatus.CANCELLED, "pair_ended")
    assert kickoff.cancel_reason == "Cancelled because the pair ended: a participant left the platform."
    assert not at_risk(relationship)
    assert relationship.erase_person("ada", T0 + timedelta(hours=2)) == []
    assert relationship.end(PairEndReason.ERASED, T0, T0 + timedelta(hours=2)) == [], (
        "PairEnded after: nothing"
    )


def test_a_circle_carries_on_without_an_erased_member_and_ends_below_two() -> None:
    circle = _circle(["ada", "grace", "linus"])
    circle.open(POLICY)
    for person in ("grace", "linus"):
        circle.sign_agreement(person, T0)
    emitted = circle.erase_person("ada", T0)
    assert _types(emitted) == ["AgreementSigned"], "the one who left was the last one awaited"
    assert (circle.status, circle.participant_ids, circle.facilitator_rota) == (
        RelationshipStatus.ACTIVE,
        ["grace", "linus"],
        ["grace"],
    )
    assert "ada" not in circle.agreement.timezones
    assert circle.sessions[0].facilitator_id == "grace"
    ended = circle.erase_person("linus", T0)
    assert "SessionCancelled" in _types(ended)
    assert (circle.status, circle.end_reason) == (RelationshipStatus.ENDED, PairEndReason.ERASED)


def test_a_pair_minutes_old_has_no_adherence_yet_and_one_with_a_missed_kickoff_has_zero() -> None:
    relationship, _ = _pair()
    figures = pair_figures(relationship, T0 + timedelta(minutes=5))
    assert (figures.sessions_due, figures.cadence_adherence) == (0, None)
    relationship.sessions[0].status = SessionStatus.MISSED
    figures = pair_figures(relationship, T0 + timedelta(days=3))
    assert (figures.sessions_due, figures.cadence_adherence) == (1, 0.0)


def _every_slot_converted(
    earliest: datetime,
    latest: datetime,
    duration: timedelta,
    schedule_tz: ZoneInfo,
    zones: list[ZoneInfo],
    hours: WorkingHours,
    preferred: time | None,
) -> datetime | None:
    """`first_slot` as its contract reads, each candidate's wall time converted on its own."""
    day = earliest.astimezone(schedule_tz).date()
    while day <= latest.astimezone(schedule_tz).date():
        walls = [] if preferred is None else [datetime.combine(day, preferred)]
        wall = datetime.combine(day, hours.start)
        while wall.time() < hours.end and wall.date() == day:
            walls.append(wall)
            wall += timedelta(minutes=30)
        for start in (to_utc(wall, schedule_tz) for wall in walls):
            if earliest <= start <= latest and hours.fits(start, start + duration, zones):
                return start
        day += timedelta(days=1)
    return None


ZONES = [
    ZoneInfo(name)
    for name in (
        "UTC", "Europe/Berlin", "America/New_York", "America/Santiago", "Australia/Lord_Howe",
        "Asia/Kolkata", "Pacific/Chatham", "America/St_Johns",
    )
]  # fmt: skip


def _clock_changes() -> list[tuple[ZoneInfo, datetime]]:
    """Each change of clocks of `ZONES` in 2026-2027: the zone, and the hour before it (UTC)."""
    changes, hour = [], datetime(2026, 1, 1, tzinfo=UTC)
    while hour.year < 2028:
        after = hour + timedelta(hours=1)
        changes += [
            (tz, hour) for tz in ZONES if hour.astimezone(tz).utcoffset() != after.astimezone(tz).utcoffset()
        ]
        hour = after
    return changes


@settings(max_examples=500, deadline=None)
@given(
    # Near a change of clocks of the schedule's zone, at any quarter hour: slots on those days,
    # and `earliest` exactly on a slot, are where a shortcut would go wrong.
    change=st.sampled_from(_clock_changes()),
    others=st.lists(st.sampled_from(ZONES), max_size=2),
    quarters=st.integers(min_value=-12, max_value=12) | st.integers(min_value=-4 * 24 * 3, max_value=4 * 24),
    days=st.integers(min_value=0, max_value=10),
    start=st.integers(min_value=0, max_value=20),
    length=st.integers(min_value=1, max_value=28),
    preferred=st.none() | st.integers(min_value=0, max_value=95).map(lambda q: time(q // 4, 15 * (q % 4))),
    minutes=st.sampled_from([15, 30, 60, 90]),
    weekdays=st.sampled_from([range(5), range(7), range(4, 7)]),  # clocks change on weekends
    schedule_counts=st.booleans(),  # the schedule's own zone among those that must fit, or not
)
def test_the_first_slot_is_the_one_every_candidate_converted_on_its_own_finds(
    change: tuple[ZoneInfo, datetime],
    others: list[ZoneInfo],
    quarters: int,
    days: int,
    start: int,
    length: int,
    preferred: time | None,
    minutes: int,
    weekdays: range,
    schedule_counts: bool,
) -> None:
    """Slots are worked out from the day's offset, those before `earliest` and days off skipped:
    the same slot as converting every candidate, on days the clocks change included."""
    opens = time(start // 2, 30 * (start % 2))
    closes = min(
        datetime.combine(date.min, opens) + timedelta(minutes=30 * length),
        datetime.combine(date.min, time(23, 30)),
    )
    hours = WorkingHours(start=opens, end=max(closes.time(), opens), days=frozenset(weekdays))
    schedule, changed_at = change
    after = changed_at + timedelta(minutes=15 * quarters)
    args = (
        after,
        after + timedelta(days=days),
        timedelta(minutes=minutes),
        schedule,
        [schedule, *others] if schedule_counts else others,
        hours,
        preferred,
    )
    assert first_slot(*args) == _every_slot_converted(*args)


def test_on_the_days_clocks_change_the_first_slot_is_the_one_every_candidate_converted_finds() -> None:
    """Every change of clocks of 2026-2027 in `ZONES`, working hours round the clock on every day,
    `earliest` at each quarter hour from three hours before the change to three after."""
    hours = WorkingHours(start=time(0, 0), end=time(23, 30), days=frozenset(range(7)))
    for schedule, changed_at in _clock_changes():
        for quarter in range(-12, 13):
            after = changed_at + timedelta(minutes=15 * quarter)
            args = (
                after,
                after + timedelta(days=1),
                timedelta(minutes=30),
                schedule,
                [schedule],
                hours,
                None,
            )
            assert first_slot(*args) == _every_slot_converted(*args), (schedule, after)
