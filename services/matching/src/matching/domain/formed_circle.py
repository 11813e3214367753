"""A mentoring circle once formed: its members, facilitator rota and topics, announced by
CircleFormed. Its id is derived from the program and the members, so a replay forms it once."""

from __future__ import annotations

from datetime import datetime

from mentorship_schemas import CircleFormed
from servicekit.aggregates import AggregateRoot, Emitted
from servicekit.ids import derived_id

from matching.domain.circles import Circle
from matching.domain.program import Program
from matching.domain.seat_parts import CircleRecord


def circle_record(program: Program, circle: Circle, now: datetime) -> CircleRecord:
    """What each member carries of the circle they are claimed for."""
    return CircleRecord(
        circle_id=derived_id(program.org_id, program.program_id, *circle.member_ids, "circle"),
        org_id=program.org_id,
        program_id=program.program_id,
        member_ids=list(circle.member_ids),
        facilitator_rota=list(circle.facilitator_rota),
        topics=list(circle.topics),
        created_at=now,
    )


class FormedCircle(AggregateRoot):
    circle_id: str
    program_id: str
    member_ids: list[str]
    facilitator_rota: list[str]
    topics: list[str]
    created_at: datetime

    @classmethod
    def form(cls, record: CircleRecord) -> tuple[FormedCircle, list[Emitted]]:
        circle = cls(id=record.circle_id, **record.model_dump())
        formed = CircleFormed(
            org_id=circle.org_id,
            version=circle.version + 1,
            circle_id=circle.circle_id,
            program_id=circle.program_id,
            member_ids=circle.member_ids,
            facilitator_rota=circle.facilitator_rota,
            topics=circle.topics,
        )
        return circle, [Emitted(formed, derived_id(circle.circle_id, "formed"))]

    def forget_person(self, person_id: str) -> list[Emitted]:
        """A member was erased: the circle keeps its shape, not their id."""
        record = CircleRecord.model_validate(self.model_dump(exclude={"id", "version"}))
        record.without(person_id)
        self.member_ids, self.facilitator_rota = record.member_ids, record.facilitator_rota
        return []
