"""The simulated company: departments, reporting lines, levels, skills with levels, goals,
timezones on several continents and languages, as rows for the profiles HR import."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

DEPARTMENTS = (
    "engineering", "data", "product", "design", "sales", "marketing", "finance", "people",
)  # fmt: skip
SKILLS_BY_DEPARTMENT: dict[str, tuple[str, ...]] = {
    "engineering": ("python", "java", "go", "kubernetes", "security", "testing", "devops"),
    "data": ("python", "sql", "data analysis", "machine learning"),
    "product": ("product management", "stakeholder management", "strategy"),
    "design": ("ux design", "public speaking", "stakeholder management"),
    "sales": ("sales", "negotiation", "public speaking"),
    "marketing": ("public speaking", "strategy", "data analysis"),
    "finance": ("finance", "sql", "negotiation"),
    "people": ("people management", "leadership", "public speaking"),
}
SHARED_SKILLS = ("leadership", "people management", "public speaking", "python", "strategy")
LEVELS = ("junior", "mid", "senior", "lead", "principal", "executive")
SKILL_LEVELS = ("beginner", "intermediate", "advanced", "expert")
# Offices on five continents: (timezone, location, languages besides English).
OFFICES = (
    ("America/New_York", "New York", ()),
    ("America/Sao_Paulo", "São Paulo", ("pt",)),
    ("Europe/London", "London", ()),
    ("Europe/Berlin", "Berlin", ("de",)),
    ("Africa/Lagos", "Lagos", ("fr",)),
    ("Asia/Kolkata", "Bengaluru", ("hi",)),
    ("Asia/Tokyo", "Tokyo", ("ja",)),
    ("Australia/Sydney", "Sydney", ()),
)
GOALS = (
    "grow into a tech lead role and learn to delegate",
    "get better at presenting to senior stakeholders",
    "move from analysis into machine learning engineering",
    "build confidence negotiating with customers",
    "learn how to run a team through a reorganisation",
    "prepare for a promotion to senior",
    "understand the business side of product decisions",
    "write cleaner, better tested code",
)
# The portal's questionnaire, as matching documents it (matching/domain/personality.py): each
# answer a pole word, a Likert phrase or a number from 1 to 5.
PERSONALITY_QUESTIONS = ("energy", "structure", "feedback", "pace")
PERSONALITY_ANSWERS = {
    "energy": ("calm", "outgoing", "3", "energetic", "reserved"),
    "structure": ("structured", "flexible", "agree", "strongly disagree"),
    "feedback": ("direct", "gentle", "2", "candid"),
    "pace": ("steady", "fast", "neutral", "4"),
}


@dataclass
class Person:
    person_id: str
    department: str
    level: str
    manager_id: str | None
    timezone: str
    location: str
    languages: list[str]
    roles: list[str]
    skills_offered: list[dict[str, str]] = field(default_factory=list)
    skills_wanted: list[str] = field(default_factory=list)
    capacity: int = 0
    peer: bool = False
    reverse: bool = False
    goals: str = ""
    personality: dict[str, str] = field(default_factory=dict)
    joins_in_month: int = 0  # 0: in the first import; later: a late joiner's month

    @property
    def is_mentor(self) -> bool:
        return "mentor" in self.roles

    @property
    def is_mentee(self) -> bool:
        return "mentee" in self.roles

    def import_row(self) -> dict[str, Any]:
        """The row the HR system sends for this person."""
        row: dict[str, Any] = {
            "person_id": self.person_id,
            "display_name": f"Employee {self.person_id[4:]}",
            "email": f"{self.person_id}@example.com",
            "title": f"{self.level.title()} {self.department}",
            "department": self.department,
            "level": self.level,
            "years_experience": 1 + LEVELS.index(self.level) * 4,
            "location": self.location,
            "timezone": self.timezone,
            "languages": self.languages,
            "roles": self.roles,
            "peer_mentoring": self.peer,
            "reverse_mentoring": self.reverse,
            "skills_offered": self.skills_offered,
            "skills_wanted": self.skills_wanted,
            "goals": self.goals,
            "personality": self.personality,
            "mentor_capacity": self.capacity,
            "modalities": ["video"],
        }
        if self.manager_id:
            row["manager_id"] = self.manager_id
        return row


def _level(rng: random.Random, index: int) -> str:
    if index == 0:
        return "executive"
    weights = (30, 30, 20, 12, 6, 2)
    return rng.choices(LEVELS, weights=weights)[0]


def _roles(rng: random.Random, level: str) -> list[str]:
    rank = LEVELS.index(level)
    if rank >= 2:
        return rng.choices([["mentor"], ["mentor", "mentee"], ["mentee"]], weights=(55, 30, 15))[0]
    if rank == 1:
        return rng.choices([["mentee"], ["mentor", "mentee"]], weights=(80, 20))[0]
    return rng.choices([["mentee"], ["mentor", "mentee"]], weights=(85, 15))[0]


def _skills(rng: random.Random, department: str, level: str) -> tuple[list[dict[str, str]], list[str]]:
    own = SKILLS_BY_DEPARTMENT[department]
    rank = LEVELS.index(level)
    offered_names = rng.sample(own, k=min(len(own), 2 + rank // 2))
    if rank >= 2:
        offered_names.append(rng.choice(SHARED_SKILLS))
    offered = [
        {"name": name, "level": SKILL_LEVELS[min(3, 1 + rank // 2 + rng.randint(0, 1))]}
        for name in dict.fromkeys(offered_names)
    ]
    pool = [s for s in (*own, *SHARED_SKILLS) if s not in offered_names] or list(SHARED_SKILLS)
    wanted = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
    return offered, list(dict.fromkeys(wanted))


def build_org(people: int, months: int, rng: random.Random) -> list[Person]:
    """`people` employees in a reporting tree (department heads report to the chief executive);
    about one in ten joins in a later month."""
    staff: list[Person] = []
    heads: dict[str, str] = {}
    for index in range(people):
        department = DEPARTMENTS[index % len(DEPARTMENTS)] if index else "people"
        level = _level(rng, index)
        timezone, location, extra_languages = rng.choice(OFFICES)
        person_id = f"emp-{index:05d}"
        manager = None if index == 0 else heads.get(department, "emp-00000")
        if index and department not in heads:
            heads[department], level = person_id, "principal"
        elif index and LEVELS.index(level) >= 3 and rng.random() < 0.5:
            manager = heads[department]
        elif index:
            leads = [
                p.person_id for p in staff if p.department == department and p.level in ("lead", "senior")
            ]
            manager = rng.choice(leads) if leads else heads[department]
        offered, wanted = _skills(rng, department, level)
        roles = _roles(rng, level)
        person = Person(
            person_id=person_id, department=department, level=level, manager_id=manager,
            timezone=timezone, location=location, languages=["en", *extra_languages], roles=roles,
            skills_offered=offered if "mentor" in roles else offered[:1], skills_wanted=wanted,
            capacity=rng.choice((1, 2, 2, 3, 3, 4)) if "mentor" in roles else 0,
            peer=rng.random() < 0.3, reverse=rng.random() < 0.2 or (level == "junior" and rng.random() < 0.3),
            goals=rng.choice(GOALS),
            personality={q: rng.choice(PERSONALITY_ANSWERS[q]) for q in PERSONALITY_QUESTIONS},
            joins_in_month=rng.randint(1, max(1, months - 1)) if index > 20 and rng.random() < 0.1 else 0,
        )  # fmt: skip
        staff.append(person)
    return staff
