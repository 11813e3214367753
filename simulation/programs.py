"""The company's programmes: one of every type and approval mode, who goes where, and what the
program admin does to each (cohort runs, approvals, circles)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from simulation.org import Person


@dataclass(frozen=True)
class ProgramPlan:
    program_id: str
    settings: dict[str, Any]
    share: float  # of the mentees
    cohort_runs: bool = False  # the admin runs matching at the start and every month
    circles: bool = False  # the admin forms circles every month
    requests: bool = False  # mentees ask mentors themselves (suggestions, requests)

    @property
    def continuous(self) -> bool:
        return bool(self.settings.get("continuous", True))

    @property
    def type(self) -> str:
        return str(self.settings.get("type", "one_to_one"))


def program_plans(start: datetime, months: int) -> list[ProgramPlan]:
    """`open` is the built-in one-to-one, continuous, final program; the rest are created."""
    skills_end = start + timedelta(days=30 * max(1, months // 2) + 15)
    return [
        ProgramPlan("open", {"name": "Open mentoring"}, share=0.25),
        ProgramPlan(
            "cohort",
            {"name": "Spring cohort", "approval": "admin_approval", "continuous": False},
            share=0.14,
            cohort_runs=True,
        ),
        ProgramPlan(
            "ask-a-mentor",
            {
                "name": "Ask a mentor",
                "approval": "mentor_acceptance",
                "continuous": False,
                "request_ttl_hours": 120,
            },
            share=0.12,
            requests=True,
        ),
        ProgramPlan("peer", {"name": "Peer mentoring", "type": "peer"}, share=0.1),
        ProgramPlan(
            "reverse",
            {"name": "Reverse mentoring", "type": "reverse", "continuous": False},
            share=0.07,
            cohort_runs=True,
        ),
        ProgramPlan(
            "python-guild",
            {
                "name": "Python guild",
                "type": "skills_based",
                "focus_skill": "python",
                "ends_on": skills_end.isoformat(),
            },
            share=0.1,
        ),
        # A circles program with its defaults: continuous (issue 11, defect 1 is about this).
        ProgramPlan("circles", {"name": "Leadership circles", "type": "circles"}, share=0.1, circles=True),
        ProgramPlan(
            "two-mentors",
            {"name": "Two mentors", "mentors_per_mentee": 2, "default_cadence": "monthly"},
            share=0.12,
        ),
    ]


def assign_programs(people: list[Person], plans: list[ProgramPlan], rng: random.Random) -> dict[str, str]:
    """Each mentee's programme, as its rules allow (opt-ins, a wanted skill)."""
    chosen: dict[str, str] = {}
    weights = [plan.share for plan in plans]
    for person in people:
        if not person.is_mentee:
            continue
        for _ in range(20):
            plan = rng.choices(plans, weights=weights)[0]
            if _fits(person, plan):
                chosen[person.person_id] = plan.program_id
                break
        else:
            chosen[person.person_id] = "open"
    return chosen


def _fits(person: Person, plan: ProgramPlan) -> bool:
    if plan.type == "peer":
        return person.peer
    if plan.type == "reverse":
        return person.reverse and person.level in ("lead", "principal", "executive", "senior")
    if plan.type == "skills_based":
        return "python" in person.skills_wanted
    if plan.settings.get("mentors_per_mentee", 1) > 1:
        return len(person.skills_wanted) >= 2
    return True
