"""What the portal reads: a pair and its sessions, a session as iCalendar, a pair's health with
its figures, and a program's health for its admins."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessions.domain import health as health_rules
from sessions.domain.calendar import Attendee, CalendarSession, session_ics
from sessions.domain.figures import PairFigures, ProgramTotals, pair_figures
from sessions.domain.people import Person
from sessions.domain.relationship import Relationship
from sessions.domain.statuses import RelationshipKind, RelationshipStatus, SessionStatus
from sessions.use_cases.context import Actor, Forbidden, SessionsContext, visible
from sessions.use_cases.members import SessionView


async def pair(ctx: SessionsContext, actor: Actor, pair_id: str) -> Relationship:
    return await visible(ctx, actor, pair_id)


@dataclass(frozen=True)
class PairView:
    """A relationship with what we know of its people (names, timezones)."""

    relationship: Relationship
    people: dict[str, Person]


async def pair_view(ctx: SessionsContext, actor: Actor, pair_id: str) -> PairView:
    relationship = await visible(ctx, actor, pair_id)
    return await with_people(ctx, relationship)


async def with_people(ctx: SessionsContext, relationship: Relationship) -> PairView:
    return PairView(relationship, await ctx.people.of(relationship.org_id, relationship.participant_ids))


async def session(ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str) -> SessionView:
    relationship = await visible(ctx, actor, pair_id)
    return relationship, relationship.session(session_id)


async def session_calendar(ctx: SessionsContext, actor: Actor, pair_id: str, session_id: str) -> str:
    """The session as an iCalendar invitation (RFC 5545/5546): its people by name and email, the
    mentor (a circle: the session's facilitator) as organizer. People we cannot reach (no email
    known, or erased) are left out."""
    relationship, found = await session(ctx, actor, pair_id, session_id)
    people = await ctx.people.of(relationship.org_id, relationship.participant_ids)
    reachable = [
        Attendee(person.name, person.email)
        for person_id in relationship.participant_ids
        if (person := people.get(person_id)) is not None and person.email and not person.erased
    ]
    chair = relationship.mentor_id or found.facilitator_id or next(iter(relationship.facilitator_rota), None)
    chair_person = people.get(chair or "")
    organizer = next((a for a in reachable if chair_person and a.email == chair_person.email), None)
    goals = relationship.agreement.goals
    return session_ics(
        CalendarSession(
            session_id=session_id,
            summary="Mentoring session" if relationship.kind == RelationshipKind.PAIR else "Mentoring circle",
            starts_at=found.starts_at,
            ends_at=found.ends_at,
            stamp=ctx.now(),
            sequence=found.sequence,
            cancelled=found.status == SessionStatus.CANCELLED,
            location=found.location,
            description=("Goals: " + "; ".join(goals)) if goals else None,
            organizer=organizer or next(iter(reachable), None),
            attendees=reachable,
        )
    )


@dataclass(frozen=True)
class PairHealth:
    relationship: Relationship
    now: health_rules.HealthAssessment  # assessed at this moment (the stored one is the last change's)
    figures: PairFigures


async def pair_health(ctx: SessionsContext, actor: Actor, pair_id: str) -> PairHealth:
    relationship = await visible(ctx, actor, pair_id)
    now = ctx.now()
    current = health_rules.assess(relationship.health_facts(), now, ctx.policy.health)
    return PairHealth(relationship, current, pair_figures(relationship, now))


@dataclass(frozen=True)
class ProgramPage:
    page: int
    page_size: int


@dataclass
class ProgramHealth:
    program_id: str
    totals: ProgramTotals
    page: ProgramPage
    items: list[tuple[Relationship, PairFigures]] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)  # of the page's relationships


async def program_health(
    ctx: SessionsContext,
    actor: Actor,
    program_id: str,
    page: ProgramPage,
    *,
    at_risk: bool | None = None,
    status: RelationshipStatus | None = None,
) -> ProgramHealth:
    """Totals over every pair of the program (that matches), and one page of them by pair id."""
    if not actor.is_admin:
        raise Forbidden("Only program admins see a program's health.")
    now = ctx.now()
    report = ProgramHealth(program_id, ProgramTotals(), page)
    first, last = (page.page - 1) * page.page_size, page.page * page.page_size
    async for relationship in ctx.queries.in_program(
        actor.org_id, program_id, status=status, at_risk=at_risk
    ):
        figures = pair_figures(relationship, now)
        if first <= report.totals.pairs < last:
            report.items.append((relationship, figures))
        report.totals.add(relationship, figures)
    shown = [person for relationship, _ in report.items for person in relationship.participant_ids]
    report.people = await ctx.people.of(actor.org_id, shown)
    return report
