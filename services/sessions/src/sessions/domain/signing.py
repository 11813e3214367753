"""How a relationship's agreement is redrafted and signed, and the events each step causes:
AgreementDrafted (a new revision awaits everyone's signature), AgreementSignatureAdded (one signed,
others are awaited), AgreementSigned (the last signature; it fixes the recurring slot, which starts
after the kick-off). The `Relationship` methods of the same names delegate here."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from servicekit.aggregates import Emitted

from sessions.domain import cadence as cadence_rules
from sessions.domain import events
from sessions.domain.agreement import AgreementChange, Series
from sessions.domain.errors import InvalidInput, Rejected
from sessions.domain.statuses import SessionKind, SessionStatus

if TYPE_CHECKING:
    from sessions.domain.relationship import Relationship


def redraft(relationship: Relationship, change: AgreementChange, now: datetime) -> list[Emitted]:
    """Everyone is asked to sign the new revision; a change that changes nothing is no redraft."""
    agreement = relationship.agreement
    if agreement.signed_at:
        raise Rejected("The agreement is signed; agree on changes in a new agreement.")
    terms = change.applied_to(agreement.terms(), agreement.prefilled)
    for field in ("roles", "timezones"):
        strangers = [person for person in getattr(terms, field) if not relationship.is_member(person)]
        if strangers:
            verb = "is not a member" if len(strangers) == 1 else "are not members"
            raise InvalidInput(field, f"{', '.join(strangers)} {verb} of this pair.")
    if terms.ends_on is not None and terms.ends_on <= max(now, terms.starts_on or now):
        raise InvalidInput("ends_on", "The agreement must end after it starts.")
    if not agreement.set_terms(terms):
        return []
    return [events.agreement_drafted(relationship, relationship.version + 1)]


def sign(relationship: Relationship, person: str, now: datetime, timezone: str | None) -> list[Emitted]:
    """Signing this revision twice changes nothing (and announces nothing)."""
    agreement = relationship.agreement
    if agreement.signed_at:
        raise Rejected("The agreement is already signed by everyone.")
    if timezone:
        agreement.timezones[person] = timezone
    if person in agreement.signatures:
        return []
    agreement.signatures[person] = now
    awaiting = agreement.awaiting(relationship.participant_ids)
    if awaiting:
        return [events.agreement_signature_added(relationship, person, awaiting)]
    return seal(relationship, now)


def seal(relationship: Relationship, now: datetime) -> list[Emitted]:
    """Everyone has signed: the recurring slot is fixed -> AgreementSigned."""
    agreement = relationship.agreement
    agreement.signed_at = now
    tz = cadence_rules.zone(agreement.timezone)
    first = cadence_rules.first_local_start(
        series_after(relationship, now, tz), tz, time.fromisoformat(agreement.local_time), agreement.weekday
    )
    agreement.series = Series(
        first_local=first.isoformat(), timezone=agreement.timezone, revision=agreement.revision
    )
    return [events.agreement_signed(relationship)]


def series_after(relationship: Relationship, now: datetime, tz: ZoneInfo) -> datetime:
    """The regular sessions start after `starts_on`, and one cadence period after the kick-off
    (scheduled or held), so the kick-off always comes first and is not followed the next day."""
    agreement = relationship.agreement
    after = max(now, agreement.starts_on or now)
    kickoff = next(
        (
            session
            for session in relationship.sessions
            if session.kind == SessionKind.KICKOFF
            and session.status in (SessionStatus.SCHEDULED, SessionStatus.HELD)
        ),
        None,
    )
    if kickoff is not None:
        local = kickoff.starts_at.astimezone(tz).replace(tzinfo=None)
        next_period = cadence_rules.local_occurrence(local, agreement.cadence, 1)
        after = max(after, cadence_rules.to_utc(next_period, tz) - timedelta(minutes=1))
    return after
