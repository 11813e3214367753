"""In-app notices (use cases on in-memory stores): a session scheduled or moved tells both people at
their own local time, a drafted agreement asks each awaited signature once per revision, the other
person's signature tells the one still awaited; each in the recipient's language. No server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mentorship_schemas import (
    AgreementDrafted,
    AgreementSignatureAdded,
    AgreementSigned,
    SessionMissed,
    SessionScheduled,
)
from mentorship_schemas.events import Cadence
from notifications.channels import EmailChannel
from notifications.domain.notification import DeliveryStatus
from notifications.domain.preferences import CategoryPreference, DigestMode, Preferences

from tests.notifications.memory import EMAIL, IN_APP, START, World, cause, world

pytestmark = pytest.mark.fast
PAIR = ["ada", "grace"]


async def _people(w: World) -> None:
    await w.register("ada", "Ada Lovelace", "Europe/Berlin", locale="de-DE")
    await w.register("grace", "Grace Hopper", "America/New_York")


def _drafted(w: World, revision: int, version: int) -> AgreementDrafted:
    return AgreementDrafted(
        org_id=w.org,
        version=version,
        pair_id="p1",
        participant_ids=PAIR,
        awaiting_ids=PAIR,
        revision=revision,
    )


def _scheduled(w: World, version: int, starts_at: datetime) -> SessionScheduled:
    return SessionScheduled(
        org_id=w.org,
        version=version,
        session_id="s1",
        pair_id="p1",
        participant_ids=PAIR,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
    )


async def _feed(w: World, person: str, kind: str) -> list[str]:
    return sorted(n.title for n in await w.of(person) if n.kind == kind and n.in_feed)


async def test_a_scheduled_session_is_a_notice_in_both_feeds_at_each_ones_local_time_and_language() -> None:
    w = world()
    await _people(w)
    event = _scheduled(w, 1, datetime(2026, 12, 3, 12, tzinfo=UTC))
    await w.use_cases.notify.session_scheduled(event, cause(event, "scheduled-1"))
    await w.use_cases.notify.session_scheduled(event, cause(event, "scheduled-1"))  # redelivered
    assert await _feed(w, "ada", "session_scheduled") == [
        "Sitzung mit Grace Hopper geplant: Do., 03.12.2026, 13:00 Uhr (Europe/Berlin)"
    ]
    assert await _feed(w, "grace", "session_scheduled") == [
        "Session scheduled with Ada Lovelace: Thu 03 Dec 2026, 07:00 (America/New_York)"
    ]
    notice = (await w.of("grace"))[0]
    assert notice.language == "en"
    assert set(next(n for n in await w.of("ada") if n.kind == "session_scheduled").deliveries) == {IN_APP}
    assert (await w.one("ada", "session_invite")).language == "de"


async def test_a_moved_session_says_so_in_the_feed_next_to_the_first_notice() -> None:
    w = world()
    await _people(w)
    first = _scheduled(w, 1, datetime(2026, 12, 3, 12, tzinfo=UTC))
    await w.use_cases.notify.session_scheduled(first, cause(first, "scheduled-1"))
    moved = _scheduled(w, 2, datetime(2026, 12, 4, 15, tzinfo=UTC))
    await w.use_cases.notify.session_scheduled(moved, cause(moved, "scheduled-2"))
    assert await _feed(w, "grace", "session_scheduled") == [
        "Session scheduled with Ada Lovelace: Thu 03 Dec 2026, 07:00 (America/New_York)",
        "Session with Ada Lovelace moved to Fri 04 Dec 2026, 10:00 (America/New_York)",
    ]
    assert "verschoben auf Fr., 04.12.2026, 16:00 Uhr" in (await _feed(w, "ada", "session_scheduled"))[1]


async def test_a_drafted_agreement_asks_each_awaited_signature_once_per_revision() -> None:
    w = world()
    await _people(w)
    draft = _drafted(w, revision=1, version=1)
    await w.use_cases.notify.announce(draft, cause(draft, "drafted-1"))
    await w.use_cases.notify.announce(draft, cause(draft, "drafted-1"))  # redelivered
    # The same revision announced again under another event id asks nobody twice.
    await w.use_cases.notify.announce(draft, cause(draft, "drafted-1-again"))
    assert await _feed(w, "grace", "agreement_signature_awaited") == [
        "Your mentorship agreement with Ada Lovelace awaits your signature"
    ]
    assert await _feed(w, "ada", "agreement_signature_awaited") == [
        "Ihre Mentoring-Vereinbarung mit Grace Hopper wartet auf Ihre Unterschrift"
    ]
    redraft = _drafted(w, revision=2, version=3)
    await w.use_cases.notify.announce(redraft, cause(redraft, "drafted-2"))
    assert len(await _feed(w, "grace", "agreement_signature_awaited")) == 2
    changed = next(n for n in await w.of("grace") if n.cause_event_id == "drafted-2")
    assert changed.body.startswith("The agreement with Ada Lovelace was changed")


async def test_the_other_persons_signature_tells_the_one_still_awaited_in_their_language() -> None:
    w = world()
    await _people(w)
    signed_by_grace = AgreementSignatureAdded(
        org_id=w.org,
        version=2,
        pair_id="p1",
        participant_ids=PAIR,
        signer_id="grace",
        awaiting_ids=["ada"],
        revision=1,
    )
    await w.use_cases.notify.announce(signed_by_grace, cause(signed_by_grace, "signature-1"))
    await w.use_cases.notify.announce(signed_by_grace, cause(signed_by_grace, "signature-1-again"))
    [notice] = [n for n in await w.of("ada") if n.kind == "agreement_signature_added"]
    assert notice.title == "Grace Hopper hat Ihre Mentoring-Vereinbarung unterschrieben"
    assert "Ihre Unterschrift steht noch aus" in notice.body
    assert notice.in_feed
    assert await w.of("grace") == [], "the signer is not told of their own signature"
    both = AgreementSigned(
        org_id=w.org, version=3, pair_id="p1", participant_ids=PAIR, cadence=Cadence.BIWEEKLY
    )
    await w.use_cases.notify.announce(both, cause(both, "signed"))
    signed = await w.one("grace", "agreement_signed")
    assert "you meet every two weeks" in signed.body


async def test_a_german_readers_summary_mail_is_german_from_subject_to_sender() -> None:
    w = world()
    await _people(w)
    daily = Preferences(default=CategoryPreference(digest=DigestMode.DAILY, chat=False))
    await w.use_cases.people.set_preferences(w.org, "ada", daily)
    for n in range(2):
        event = SessionMissed(
            org_id=w.org,
            version=2,
            session_id=f"s{n}",
            pair_id="p1",
            participant_ids=PAIR,
            starts_at=START - timedelta(days=1),
            missed_in_a_row=1,
        )
        await w.use_cases.notify.announce(event, cause(event, f"missed-{n}"))
    w.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    await w.sweep()
    [summary] = [o for o in w.email.sent if o.recipient_id == "ada"]
    assert summary.title == "Ihre tägliche Mentoring-Übersicht: 2 Neuigkeiten"
    assert summary.body.count("Ihre Mentoring-Sitzung hat nicht stattgefunden") == 2
    assert summary.action == "Öffnen Sie das Portal, um die Einzelheiten zu sehen."
    mail = EmailChannel(host="localhost", port=25, sender="mentorship@example.com").compose(summary)
    assert mail["From"] == "Mentoring-Programm <mentorship@example.com>"
    assert mail["Subject"] == summary.title
    assert (await w.one("ada", "digest")).deliveries[EMAIL].status is DeliveryStatus.SENT
