"""The words people read (domain, no I/O): every message kind is written in each recipient's
language, German as complete as English; codes from events become sentences; an unknown locale
reads English."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from mentorship_schemas import (
    ActionItemOverdue,
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    CircleFormed,
    Event,
    GoalAchieved,
    MatchProposed,
    MenteeUnmatched,
    MentorshipRequested,
    PairCreated,
    PairDeclined,
    PairEnded,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
    RelationshipStagnant,
    SessionCancelled,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import Cadence, PairEndReason, Severity
from notifications import handlers
from notifications.domain.announcements import Announced, messages_for
from notifications.domain.calendar import unfold
from notifications.domain.messages import Directory, Message, Person, SessionTiming, for_session_scheduled
from notifications.domain.messages.reasons import match_reason
from notifications.domain.notification import Cause, DigestEntry, Notification, Planning
from notifications.domain.preferences import Category
from notifications.domain.texts import LANGUAGES, language_of, texts_for

pytestmark = pytest.mark.fast
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
STARTS = datetime(2026, 11, 27, 12, tzinfo=UTC)
# Every reason and action code sessions' health rules emit (sessions/domain/health.py).
STAGNATION_REASONS = [
    "no_session_for_2x_cadence",
    "missed_sessions_in_a_row",
    "no_progress_over_last_sessions",
    "learning_declining",
    "end_near_with_open_goals",
    "agreement_unsigned",
]
SUGGESTED_ACTIONS = [
    "schedule_the_next_session",
    "reevaluate_goals",
    "try_new_topics",
    "consider_a_transition_or_rematch",
    "review_and_sign_the_agreement",
]
# One phrase of each shape matching writes (matching/domain/compatibility.py), with profile codes.
MATCH_REASONS = [
    "offers python (advanced), data analysis (expert)",
    "senior mentor for a junior mentee",
    "same communication style (direct)",
    "similar answers to the personality questions",
    "3 working hours overlap",
    "speaks de, it",
    "both can meet video or in_person",
    "from another department (Finanzen)",
]
KINDS = {
    "pair_created",
    "mentorship_requested",
    "request_declined",
    "request_withdrawn",
    "match_proposed",
    "mentee_unmatched",
    "circle_formed",
    "pair_ended",
    "session_scheduled",
    "session_invite",
    "session_reminder",
    "agenda_prompt",
    "session_missed",
    "session_missed_escalation",
    "relationship_stagnant",
    "relationship_stagnant_escalation",
    "action_item_overdue",
    "goal_achieved",
    "agreement_signature_awaited",
    "agreement_signature_added",
    "agreement_signed",
}
# Words that are English and not German: one of them in a German text is an English leak.
ENGLISH = re.compile(
    r"\b(the|your|you|and|with|was|is|has|have|been|of|to|for|on|at|please|this|that|our|we|not|be|are|"
    r"by|or|now|new|session|sessions|mentorship|agreement|request|match|goal|goals|signed|missed|"
    r"scheduled|who|what|when|a|ask|why|overdue|reminder|summary|update|updates)\b",
    re.IGNORECASE,
)
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
LEFTOVER = re.compile(r"[{}]|\(\s*(other|stagnant|[a-z]+_[a-z_]+)\s*\)")


def _directory(locale: str) -> Directory:
    return Directory(
        {
            "e": Person("e", "Ada", "ada@example.com", "Europe/Berlin", locale),
            "m": Person("m", "Grace Hopper", "grace@example.com", "Europe/Rome", locale),
            "admin": Person("admin", "Pat Admin", "pat@example.com", "Europe/Berlin", locale),
            "x": Person("x", locale=locale),  # no name yet: counted, not named
        },
        admins=["admin"],
    )


def _pair_events() -> list[Announced]:
    common = {"org_id": "o", "program_id": "fruehjahr", "mentor_id": "m", "mentee_id": "e"}
    return [
        PairCreated(version=1, pair_id="p", score=0.9, reasons=MATCH_REASONS, **common),
        MatchProposed(version=1, proposal_id="q", score=0.87, reasons=MATCH_REASONS, **common),
        MentorshipRequested(version=1, request_id="r", answer_by=STARTS, **common),
        *(
            PairDeclined(version=2, request_id="r", reason=reason, **common)
            for reason in ("declined", "expired", "mentor_unavailable", "withdrawn", "closed_by_program")
        ),
        *(
            PairEnded(version=5, pair_id="p", reason=reason, ended_at=NOW, **common)
            for reason in PairEndReason
        ),
        *(
            MenteeUnmatched(
                org_id="o",
                version=6,
                mentee_id="e",
                program_id="fruehjahr",
                cause=cause,
                ended_pair_id="p",
                rule="full",
                reason="Every suitable mentor is full.",
            )
            for cause in ("escalated", "proposal_rejected")
        ),
    ]


def _session_events() -> list[Announced]:
    pair = {"org_id": "o", "pair_id": "p", "participant_ids": ["e", "m"]}
    return [
        CircleFormed(
            org_id="o",
            version=1,
            circle_id="c",
            program_id="kreise",
            member_ids=["e", "m", "admin", "x"],
            facilitator_rota=["m"],
            topics=["Führung"],
        ),
        SessionMissed(version=2, session_id="s", starts_at=STARTS, missed_in_a_row=3, **pair),
        *(
            RelationshipStagnant(
                version=3,
                episode_id="ep",
                reasons=reasons,
                severity=Severity.HIGH,
                suggested_actions=actions,
                **pair,
            )
            for reasons, actions in ((STAGNATION_REASONS, SUGGESTED_ACTIONS), (["a_future_code"], []))
        ),
        ActionItemOverdue(
            org_id="o",
            version=1,
            action_item_id="a",
            pair_id="p",
            owner_id="e",
            title="Kapitel lesen",
            due_at=NOW,
        ),
        GoalAchieved(version=4, goal_id="g", title="Vortrag halten", **pair),
        AgreementDrafted(version=1, awaiting_ids=["e", "m"], revision=1, **pair),
        AgreementDrafted(version=3, awaiting_ids=["e", "m"], revision=2, **pair),
        AgreementSignatureAdded(version=4, signer_id="m", awaiting_ids=["e"], revision=2, **pair),
        *(AgreementSigned(version=5, cadence=cadence, **pair) for cadence in Cadence),
    ]


def _everything(locale: str) -> list[Message]:
    """Every message every announced event and a scheduled (and moved) session make, for people
    who all read `locale`."""
    directory = _directory(locale)
    found = [m for event in [*_pair_events(), *_session_events()] for m in messages_for(event, directory)]
    scheduled = SessionScheduled(
        org_id="o",
        version=1,
        session_id="s",
        pair_id="p",
        participant_ids=["e", "m"],
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
    )
    for moved in (False, True):
        found += for_session_scheduled(
            scheduled,
            directory,
            mentee_id="e",
            now=NOW,
            timing=SessionTiming(),
            organizer_email="mentorship@example.com",
            moved=moved,
        )
    return found


def _readable_parts(message: Message) -> list[str]:
    parts = [message.title, message.body, message.action]
    if message.calendar:
        lines = unfold(message.calendar)
        parts += [line.split(":", 1)[1] for line in lines if line.startswith(("SUMMARY:", "DESCRIPTION:"))]
        parts += [re.findall(r'CN="([^"]*)"', line)[0] for line in lines if line.startswith("ORGANIZER")]
    return parts


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    def placeholders(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    english = LANGUAGES["en"].catalogue
    for language, texts in LANGUAGES.items():
        assert set(texts.catalogue) == set(english), language
        for key, template in texts.catalogue.items():
            assert placeholders(template) == placeholders(english[key]), (language, key)


def test_the_battery_reaches_every_announced_event_type_and_every_message_kind() -> None:
    told_by_profiles_or_sessions = {
        ProfileRegistered,
        ProfileUpdated,
        ProfileErased,
        SessionScheduled,
        SessionCancelled,
    }
    handled: set[type[Event]] = {event_type for event_type, _ in handlers.HANDLERS}
    battery = {type(event) for event in [*_pair_events(), *_session_events()]}
    assert handled - told_by_profiles_or_sessions == battery
    assert {m.kind for m in _everything("en")} == KINDS


def test_every_message_kind_has_a_german_text_without_english_or_raw_codes() -> None:
    german, english = _everything("de-DE"), _everything("en")
    assert {m.kind for m in german} == KINDS
    assert len(german) == len(english)
    for de, en in zip(german, english, strict=True):
        assert (de.kind, de.recipient_id, de.language) == (en.kind, en.recipient_id, "de")
        for de_part, en_part in zip(_readable_parts(de), _readable_parts(en), strict=True):
            assert de_part != en_part, (de.kind, de_part)
            assert not ENGLISH.search(de_part), (de.kind, ENGLISH.findall(de_part), de_part)
            assert not RAW_CODE.search(de_part), (de.kind, de_part)
            assert not LEFTOVER.search(de_part), (de.kind, de_part)


def test_every_english_message_is_sentences_without_raw_codes() -> None:
    for message in _everything("en"):
        for part in _readable_parts(message):
            assert not RAW_CODE.search(part), (message.kind, part)
            assert not LEFTOVER.search(part), (message.kind, part)
        assert message.body[-1] in '.?"', (message.kind, message.body)
        assert message.action[-1] in ".?", (message.kind, message.action)
        assert message.action[0].isupper(), (message.kind, message.action)


def test_codes_from_events_read_as_sentences() -> None:
    by_kind = {(m.kind, m.recipient_id): m for m in _everything("en")}
    stagnant = next(m for m in _everything("en") if m.kind == "relationship_stagnant")
    assert "Several sessions in a row were missed." in stagnant.body
    assert "Book your next session now. Revisit your goals together." in stagnant.body
    assert "schedule_the_next_session" not in stagnant.body
    assert stagnant.action == "Book your next session now."
    pair_created = by_kind[("pair_created", "e")]
    assert "offers python (advanced), data analysis (expert)" in pair_created.body
    assert "both can meet by video or in person" in pair_created.body
    assert "speaks German and Italian" in pair_created.body
    assert "a senior mentor for a junior mentee" in pair_created.body


def test_a_pair_ended_says_why_in_a_sentence_and_what_next_for_each() -> None:
    def ended(reason: PairEndReason) -> dict[str, Message]:
        event = PairEnded(
            org_id="o",
            version=5,
            pair_id="p",
            program_id="open",
            mentor_id="m",
            mentee_id="e",
            reason=reason,
            ended_at=NOW,
        )
        return {m.recipient_id: m for m in messages_for(event, _directory("en"))}

    other = ended(PairEndReason.OTHER)["e"]
    assert other.body.startswith("Your mentorship with Grace Hopper has ended. ")
    assert "(other)" not in other.body
    stagnant = ended(PairEndReason.STAGNANT)
    assert "because you had stopped meeting" in stagnant["e"].body
    assert stagnant["e"].action.startswith("We are looking for a new mentor for you")
    assert stagnant["m"].action == "You can take on a new mentee whenever you are ready."
    left = ended(PairEndReason.MENTOR_LEFT)
    assert "because your mentor left the program" in left["e"].body
    assert "because you left the program as a mentor" in left["m"].body


def test_a_rejected_proposal_tells_neither_person() -> None:
    rejected = PairDeclined(
        org_id="o", version=2, request_id="r", program_id="p", mentor_id="m", mentee_id="e", reason="rejected"
    )
    assert messages_for(rejected, _directory("en")) == []


def test_german_times_are_local_with_german_weekday_and_date() -> None:
    directory = _directory("de")
    assert directory.local_time(STARTS, "e") == "Fr., 27.11.2026, 13:00 Uhr (Europe/Berlin)"
    assert _directory("en").local_time(STARTS, "m") == "Fri 27 Nov 2026, 13:00 (Europe/Rome)"


def test_each_recipient_reads_their_own_language_and_an_unknown_locale_reads_english() -> None:
    directory = Directory(
        {
            "e": Person("e", "Ada", timezone="Europe/Berlin", locale="de-AT"),
            "m": Person("m", "Grace Hopper", timezone="Europe/Rome", locale="fr"),
        }
    )
    event = GoalAchieved(
        org_id="o", version=1, goal_id="g", pair_id="p", participant_ids=["e", "m"], title="X"
    )
    by_person = {m.recipient_id: m for m in messages_for(event, directory)}
    assert by_person["e"].title == "Ziel erreicht: X"
    assert by_person["m"].title == "Goal achieved: X"
    assert [language_of(tag) for tag in ("de", "de-DE", "de_CH", "DE", "fr", "", None)] == [
        "de",
        "de",
        "de",
        "de",
        "en",
        "en",
        "en",
    ]


def test_matching_phrases_of_an_unknown_shape_stay_english_and_are_left_out_in_german() -> None:
    assert match_reason("shares a passion for sailing", texts_for("en")) == "shares a passion for sailing"
    assert match_reason("shares a passion for sailing", texts_for("de")) is None
    assert match_reason("offers python (advanced)", texts_for("de")) == "bietet python (sehr gute Kenntnisse)"
    assert match_reason("1 working hours overlap", texts_for("en")) == "1 working hour in common"
    assert match_reason("2.5 working hours overlap", texts_for("de")) == "2,5 gemeinsame Arbeitsstunden"


def test_a_german_summary_and_a_scrubbed_name_read_german() -> None:
    def planned(title: str, event_id: str) -> Notification:
        message = Message("e", "goal_achieved", Category.PROGRESS, title, "Text.", "Tun.", language="de")
        notification, _ = Notification.plan(
            message,
            org_id="o",
            cause=Cause(event_id, "t"),
            recipient=None,
            mentions=["e", "m"],
            planning=Planning(available=frozenset()),
            now=NOW,
        )
        return notification

    weekly = planned("Ziel erreicht: X", "weekly:2026-W48")
    weekly.cause_event_id = "weekly:2026-W48"
    title, body = weekly.summary([DigestEntry(notification_id="n", title="Ziel erreicht: X", body="Text.")])
    assert title == "Ihre wöchentliche Mentoring-Übersicht: 1 Neuigkeit"
    assert body.startswith("Seit Ihrer letzten Übersicht:")
    named = planned("Ihr Mentoring mit Grace Hopper beginnt", "event-2")
    named.forget_person("m", ["Grace Hopper"])
    assert named.title == "Ihr Mentoring mit (Name entfernt) beginnt"
