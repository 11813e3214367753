"""The people of one matching run, and their encoding as integer arrays so that every mentee x
mentor score can be computed in bulk (numpy) and explained one pair at a time from the same code."""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]

from matching.domain.programs import MatchingPolicy, ProgramType
from matching.domain.rules import Rule

IntArray = npt.NDArray[np.int64]
# Mentor-side factor of a product (features x mentors): dense float32 when it is small enough and
# many mentee rows will be multiplied by it, which turns the bulk product into a fast sparse x dense
# one; sparse otherwise. Densifying costs a pass over every (feature, mentor) cell: for the few
# mentees of a continuous run (a dozen against 2,000 mentors, many times a second) the dense
# factors cost almost half the run (15 x 2,000 with semantic goals: 84.7 ms dense, 46.3 sparse),
# and the sparse product is as fast (measured with 15 to 400 mentees against 2,000 and 5,000
# mentors: sparse faster below about 300, dense faster from 300 x 5,000 up).
# (scipy.sparse is untyped, hence Any for the sparse case.)
MentorSide: TypeAlias = npt.NDArray[np.float32] | Any
DENSE_LIMIT = 64_000_000
DENSE_FROM_MENTEES = 256


def mentor_side(matrix: sparse.csr_array, mentees: int) -> MentorSide:
    """`matrix` (features x mentors) as the right factor of products with `mentees` rows."""
    rows, cols = matrix.shape
    if mentees >= DENSE_FROM_MENTEES and rows * cols <= DENSE_LIMIT:
        return np.asarray(matrix.toarray(), dtype=np.float32)
    return matrix.astype(np.float32)


# Seniority ladder; a few common synonyms map onto it.
LEVELS: dict[str, int] = {
    "intern": 0,
    "junior": 0,
    "mid": 1,
    "intermediate": 1,
    "senior": 2,
    "lead": 3,
    "staff": 3,
    "manager": 3,
    "principal": 4,
    "director": 4,
    "executive": 5,
    "vp": 5,
}
UNKNOWN_LEVEL = 6
PROFICIENCY: dict[str, int] = {"beginner": 1, "intermediate": 2, "advanced": 3, "expert": 4}
# A mentor who lists a skill without a level is taken as intermediate; a mentee wanting a skill as a
# beginner in it unless their profile says otherwise.
DEFAULT_MENTOR_PROFICIENCY = 2
DEFAULT_MENTEE_PROFICIENCY = 1
# Skill weights and fits are integers so that sums are exact whatever order they are added in:
# the bulk matrix and the one-pair explanation then agree to the last micro-point.
SKILL_WEIGHT_SCALE = 1000
FIT_SCALE = 20
TEXT_SCALE = 1000
STOP_WORDS = frozenset(
    {
        "the", "and", "for", "with", "from", "that", "this", "into", "about", "over", "more", "less",
        "want", "learn", "how", "our", "their", "your", "have", "has", "had", "been", "being", "are", "was",
        "were", "will", "would", "can", "could", "should", "get", "become", "make", "work", "team"
    }
)  # fmt: skip


@dataclass(frozen=True)
class MatchProfile:
    """What matching knows of a person taking part in one program, as mentee or mentor."""

    person_id: str
    org_id: str
    department: str | None = None
    level: str | None = None
    years_experience: int | None = None
    manager_id: str | None = None
    languages: tuple[str, ...] = ()
    utc_offset_minutes: int = 0
    skills_offered: tuple[str, ...] = ()
    skills_wanted: tuple[str, ...] = ()
    skill_levels: Mapping[str, str] = field(default_factory=dict)
    goals: str = ""
    experience: str = ""
    communication_style: str | None = None
    modalities: tuple[str, ...] = ()
    personality: tuple[int, ...] = ()
    peer_mentoring: bool = False
    reverse_mentoring: bool = False
    accepting_mentees: bool = True
    # Mentor: places left across all programs, and mentees already held in this program.
    free_capacity: int = 0
    program_load: int = 0

    def taking(self, accepting_mentees: bool, free_capacity: int, program_load: int) -> MatchProfile:
        """The same person's facts with other places and availability: what `dataclasses.replace`
        gives, without going through `__init__` field by field (0.4 us against 3.5 us; a run
        copies thousands of mentors' profiles this way)."""
        profile = object.__new__(MatchProfile)
        fields = profile.__dict__
        fields.update(self.__dict__)
        fields["accepting_mentees"] = accepting_mentees
        fields["free_capacity"] = free_capacity
        fields["program_load"] = program_load
        return profile


def level_rank(profile: MatchProfile) -> int:
    if profile.level and profile.level.lower() in LEVELS:
        return LEVELS[profile.level.lower()]
    if profile.years_experience is None:
        return UNKNOWN_LEVEL
    for rank, below in enumerate((2, 5, 9, 14, 20)):
        if profile.years_experience < below:
            return rank
    return 5


def skill_fit(program_type: ProgramType, gap: int) -> float:
    """How well a proficiency gap (mentor minus mentee) suits the program, in [0, 1]."""
    if program_type in (ProgramType.PEER, ProgramType.CIRCLES):
        # Peers learn best from someone a step ahead, not from an expert far away.
        return {0: 0.7, 1: 1.0, 2: 0.6}.get(gap, 0.3 if gap > 2 else 0.0)
    return 1.0 if gap >= 2 else {1: 0.7, 0: 0.3}.get(gap, 0.0)


def level_fit(program_type: ProgramType, mentor_rank: int, mentee_rank: int) -> float:
    """Seniority fit: mentor above for one-to-one, about equal for peers, reversed for reverse."""
    if UNKNOWN_LEVEL in (mentor_rank, mentee_rank):
        return 0.5
    gap = mentor_rank - mentee_rank
    if program_type in (ProgramType.PEER, ProgramType.CIRCLES):
        return {0: 1.0, 1: 0.6, -1: 0.6, 2: 0.2, -2: 0.2}.get(gap, 0.0)
    if program_type is ProgramType.REVERSE:
        return 1.0 if gap <= -2 else {-1: 0.8, 0: 0.3}.get(gap, 0.0)
    return 1.0 if gap == 1 else {2: 0.9, 3: 0.6, 0: 0.2}.get(gap, 0.4 if gap > 3 else 0.0)


def timezone_overlap_hours(offset_a_minutes: int, offset_b_minutes: int) -> float:
    """Shared hours of two 8-hour working days at the same local time."""
    difference = abs(offset_a_minutes - offset_b_minutes) % 1440
    difference = min(difference, 1440 - difference)
    return max(0.0, 8.0 - difference / 60.0)


_WORD = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return [word for word in _WORD.findall(text.lower()) if len(word) > 2 and word not in STOP_WORDS]


# Every text's words as ids in one vocabulary of the process: a mentor's experience is encoded in
# every run, so its words are looked up once, not once per run (runs go on worker threads).
_VOCABULARY: dict[str, int] = {}
_VOCABULARY_LOCK = threading.Lock()


@functools.lru_cache(maxsize=32_768)
def _word_ids(text: str) -> IntArray:
    words = tokens(text)
    with _VOCABULARY_LOCK:
        ids = np.asarray([_VOCABULARY.setdefault(word, len(_VOCABULARY)) for word in words], dtype=np.int64)
    ids.flags.writeable = False
    return ids


def _codes(values: Iterable[str | None]) -> tuple[IntArray, list[str | None]]:
    """Integer code per value; code 0 is 'unknown' (None)."""
    names: list[str | None] = [None]
    index: dict[str | None, int] = {None: 0}
    out = []
    for value in values:
        if value not in index:
            index[value] = len(names)
            names.append(value)
        out.append(index[value])
    return np.asarray(out, dtype=np.int64), names


def _bitmasks(sets: list[tuple[str, ...]]) -> IntArray:
    """One bit per distinct value; an empty set means 'not stated' and matches anything (all bits)."""
    universe = sorted({value for values in sets for value in values})
    if len(universe) > 62:
        raise ValueError("at most 62 distinct languages or modalities per run")
    bit = {value: 1 << position for position, value in enumerate(universe)}
    return np.asarray(
        [sum(bit[value] for value in set(values)) if values else -1 for values in sets], dtype=np.int64
    )


@dataclass
class Cohort:
    """One run's mentees and mentors as arrays. Row i is mentees[i], column j is mentors[j]."""

    policy: MatchingPolicy
    mentees: list[MatchProfile]
    mentors: list[MatchProfile]
    capacity: IntArray
    existing_load: IntArray
    # Skills: for each mentee proficiency p, mentee weights (rows x skills) and mentor fits (skills x cols).
    skill_terms: list[tuple[sparse.csr_array, MentorSide]]
    mentee_has_wanted_skills: npt.NDArray[np.bool_]
    skill_names: list[str]
    goal_vectors: sparse.csr_array
    experience_vectors: MentorSide
    mentee_level: IntArray
    mentor_level: IntArray
    mentee_style: IntArray
    mentor_style: IntArray
    mentee_timezone: IntArray
    mentor_timezone: IntArray
    timezone_offsets: list[int]
    mentee_languages: IntArray
    mentor_languages: IntArray
    mentee_modalities: IntArray
    mentor_modalities: IntArray
    mentee_department: IntArray
    mentor_department: IntArray
    mentee_personality: npt.NDArray[np.float64]
    mentor_personality: npt.NDArray[np.float64]
    mentee_has_personality: npt.NDArray[np.bool_]
    mentor_has_personality: npt.NDArray[np.bool_]
    # Pairs no score may bring together (reporting line, previous pairs, same person): sorted by mentee.
    forbidden_mentee: IntArray
    forbidden_mentor: IntArray
    # People a per-person rule keeps out of the run, with that rule.
    excluded: dict[str, Rule]

    @property
    def mentee_count(self) -> int:
        return len(self.mentees)

    @property
    def mentor_count(self) -> int:
        return len(self.mentors)


def mentor_exclusion(policy: MatchingPolicy, mentor: MatchProfile) -> Rule | None:
    """The rule by which a mentor cannot take anyone in this run, or None."""
    if mentor.org_id != policy.org_id:
        return Rule.OTHER_ORG
    if not mentor.accepting_mentees:
        return Rule.PAUSED
    if mentor.free_capacity <= 0:
        return Rule.FULL
    cap = policy.program_mentor_capacity
    if cap is not None and mentor.program_load >= cap:
        return Rule.PROGRAM_CAPACITY
    if policy.program_type is ProgramType.PEER and not mentor.peer_mentoring:
        return Rule.MENTOR_NOT_PEER
    if policy.program_type is ProgramType.REVERSE and not mentor.reverse_mentoring:
        return Rule.MENTOR_NOT_REVERSE
    focus = policy.rules.focus_skill
    if focus is not None and focus not in mentor.skills_offered:
        return Rule.FOCUS_SKILL
    return None


def mentee_exclusion(policy: MatchingPolicy, mentee: MatchProfile) -> Rule | None:
    if mentee.org_id != policy.org_id:
        return Rule.OTHER_ORG
    if policy.program_type is ProgramType.PEER and not mentee.peer_mentoring:
        return Rule.MENTEE_NOT_PEER
    if policy.program_type is ProgramType.REVERSE and not mentee.reverse_mentoring:
        return Rule.MENTEE_NOT_REVERSE
    return None


def reporting_chain(person_id: str, managers: Mapping[str, str]) -> list[str]:
    """The person's managers, nearest first (stops on a cycle in bad HR data)."""
    chain: list[str] = []
    seen = {person_id}
    current = managers.get(person_id)
    while current is not None and current not in seen:
        chain.append(current)
        seen.add(current)
        current = managers.get(current)
    return chain


def encode_cohort(
    policy: MatchingPolicy,
    mentees: Iterable[MatchProfile],
    mentors: Iterable[MatchProfile],
    *,
    managers: Mapping[str, str] | None = None,
    previous_pairs: Iterable[tuple[str, str]] = (),
) -> Cohort:
    """Apply the per-person hard rules and encode everyone who remains.

    `managers` maps person -> manager for the whole org (people outside the run included), so a
    reporting line through someone who is not in the run is still seen. `previous_pairs` are
    (mentee, mentor) pairs that must not be made again (a rematch)."""
    kept_mentees, kept_mentors, excluded = _kept(policy, mentees, mentors)
    people = kept_mentees + kept_mentors
    manager_of = dict(managers or {})
    for person in people:
        if person.manager_id:
            manager_of.setdefault(person.person_id, person.manager_id)

    capacity = np.asarray([m.free_capacity for m in kept_mentors], dtype=np.int64)
    if policy.program_mentor_capacity is not None:
        room = np.asarray([policy.program_mentor_capacity - m.program_load for m in kept_mentors])
        capacity = np.minimum(capacity, room).astype(np.int64)
    existing_load = np.asarray([m.program_load for m in kept_mentors], dtype=np.int64)

    skill_terms, has_wanted, skill_names = _encode_skills(policy.program_type, kept_mentees, kept_mentors)
    goal_vectors, experience_vectors = _encode_texts(
        [m.goals for m in kept_mentees], [m.experience for m in kept_mentors]
    )
    styles, _ = _codes([p.communication_style for p in people])
    departments, _ = _codes([p.department for p in people])
    offsets = sorted({p.utc_offset_minutes for p in people})
    offset_code = {offset: code for code, offset in enumerate(offsets)}
    timezones = np.asarray([offset_code[p.utc_offset_minutes] for p in people], dtype=np.int64)
    languages = _bitmasks([tuple(lang.lower() for lang in p.languages) for p in people])
    modalities = _bitmasks([tuple(m.lower() for m in p.modalities) for p in people])
    levels = np.asarray([level_rank(p) for p in people], dtype=np.int64)
    answers, has_answers = _personality_answers(people)

    forbidden = _forbidden_pairs(policy, kept_mentees, kept_mentors, manager_of, previous_pairs)
    n = len(kept_mentees)
    return Cohort(
        policy=policy,
        mentees=kept_mentees,
        mentors=kept_mentors,
        capacity=np.maximum(capacity, 0),
        existing_load=existing_load,
        skill_terms=skill_terms,
        mentee_has_wanted_skills=has_wanted,
        skill_names=skill_names,
        goal_vectors=goal_vectors,
        experience_vectors=experience_vectors,
        mentee_level=levels[:n],
        mentor_level=levels[n:],
        mentee_style=styles[:n],
        mentor_style=styles[n:],
        mentee_timezone=timezones[:n],
        mentor_timezone=timezones[n:],
        timezone_offsets=offsets,
        mentee_languages=languages[:n],
        mentor_languages=languages[n:],
        mentee_modalities=modalities[:n],
        mentor_modalities=modalities[n:],
        mentee_department=departments[:n],
        mentor_department=departments[n:],
        mentee_personality=answers[:n],
        mentor_personality=answers[n:],
        mentee_has_personality=has_answers[:n],
        mentor_has_personality=has_answers[n:],
        forbidden_mentee=forbidden[0],
        forbidden_mentor=forbidden[1],
        excluded=excluded,
    )


def _kept(
    policy: MatchingPolicy, mentees: Iterable[MatchProfile], mentors: Iterable[MatchProfile]
) -> tuple[list[MatchProfile], list[MatchProfile], dict[str, Rule]]:
    """The mentees and mentors the per-person hard rules keep, and why each other one is out."""
    excluded: dict[str, Rule] = {}
    kept_mentees: list[MatchProfile] = []
    for mentee in mentees:
        reason = mentee_exclusion(policy, mentee)
        if reason:
            excluded[mentee.person_id] = reason
        else:
            kept_mentees.append(mentee)
    kept_mentors: list[MatchProfile] = []
    for mentor in mentors:
        reason = mentor_exclusion(policy, mentor)
        if reason:
            excluded.setdefault(mentor.person_id, reason)
        else:
            kept_mentors.append(mentor)
    return kept_mentees, kept_mentors, excluded


def _personality_answers(people: list[MatchProfile]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Everyone's answers as rows (only full answer sets count), and who gave them."""
    width = max((len(p.personality) for p in people), default=0)
    answers = np.zeros((len(people), max(width, 1)), dtype=np.float64)
    has_answers = np.zeros(len(people), dtype=bool)
    for row, person in enumerate(people):
        if width and len(person.personality) == width:
            answers[row] = person.personality
            has_answers[row] = True
    return answers, has_answers


def _forbidden_pairs(
    policy: MatchingPolicy,
    mentees: list[MatchProfile],
    mentors: list[MatchProfile],
    manager_of: Mapping[str, str],
    previous_pairs: Iterable[tuple[str, str]],
) -> tuple[IntArray, IntArray]:
    mentor_index = {m.person_id: j for j, m in enumerate(mentors)}
    mentee_index = {m.person_id: i for i, m in enumerate(mentees)}
    pairs: set[tuple[int, int]] = set()
    for i, mentee in enumerate(mentees):
        if mentee.person_id in mentor_index:
            pairs.add((i, mentor_index[mentee.person_id]))
    if policy.rules.exclude_reporting_line:
        # Either direction of the manager chain: your manager's manager, or someone you manage.
        for i, mentee in enumerate(mentees):
            for boss in reporting_chain(mentee.person_id, manager_of):
                if boss in mentor_index:
                    pairs.add((i, mentor_index[boss]))
        for j, mentor in enumerate(mentors):
            for boss in reporting_chain(mentor.person_id, manager_of):
                if boss in mentee_index:
                    pairs.add((mentee_index[boss], j))
    if policy.rules.exclude_previous_pairs:
        for mentee_id, mentor_id in previous_pairs:
            if mentee_id in mentee_index and mentor_id in mentor_index:
                pairs.add((mentee_index[mentee_id], mentor_index[mentor_id]))
    ordered = sorted(pairs)
    return (
        np.asarray([p[0] for p in ordered], dtype=np.int64),
        np.asarray([p[1] for p in ordered], dtype=np.int64),
    )


def _encode_skills(
    program_type: ProgramType, mentees: list[MatchProfile], mentors: list[MatchProfile]
) -> tuple[list[tuple[sparse.csr_array, MentorSide]], npt.NDArray[np.bool_], list[str]]:
    names = sorted(
        {s for m in mentees for s in m.skills_wanted} | {s for m in mentors for s in m.skills_offered}
    )
    column = {name: k for k, name in enumerate(names)}
    # Rarer skills count more: inverse supply among this run's mentors.
    supply = Counter(s for m in mentors for s in set(m.skills_offered))
    rarity = {s: 1.0 + math.log((1 + len(mentors)) / (1 + supply[s])) for s in names}
    has_wanted = np.asarray([bool(m.skills_wanted) for m in mentees], dtype=bool)
    # One pass over people: (mentee, skill, own proficiency, weight) and (skill, mentor, level).
    wanted_rows, wanted_cols, wanted_levels, wanted_weights = [], [], [], []
    for i, mentee in enumerate(mentees):
        wanted = sorted(set(mentee.skills_wanted))
        total = sum(rarity[s] for s in wanted)
        for s in wanted:
            wanted_rows.append(i)
            wanted_cols.append(column[s])
            wanted_levels.append(PROFICIENCY.get(mentee.skill_levels.get(s, ""), DEFAULT_MENTEE_PROFICIENCY))
            wanted_weights.append(math.floor(SKILL_WEIGHT_SCALE * rarity[s] / total))
    offer_rows, offer_cols, offer_levels = [], [], []
    for j, mentor in enumerate(mentors):
        for s in set(mentor.skills_offered):
            offer_rows.append(column[s])
            offer_cols.append(j)
            offer_levels.append(PROFICIENCY.get(mentor.skill_levels.get(s, ""), DEFAULT_MENTOR_PROFICIENCY))
    mentee_level = np.asarray(wanted_levels, dtype=np.int64)
    mentor_level = np.asarray(offer_levels, dtype=np.int64)
    terms = []
    for proficiency in PROFICIENCY.values():
        mine = mentee_level == proficiency
        if not mine.any():
            continue
        fit_table = {gap: round(FIT_SCALE * skill_fit(program_type, gap)) for gap in range(-4, 5)}
        fits = np.asarray([fit_table[gap] for gap in (mentor_level - proficiency).tolist()], dtype=np.float64)
        wanted_matrix = sparse.csr_array(
            (
                np.asarray(wanted_weights, dtype=np.float64)[mine],
                (np.asarray(wanted_rows)[mine], np.asarray(wanted_cols)[mine]),
            ),
            shape=(len(mentees), len(names)),
        )
        fit_matrix = sparse.csr_array(
            (fits, (np.asarray(offer_rows, dtype=np.int64), np.asarray(offer_cols, dtype=np.int64))),
            shape=(len(names), len(mentors)),
        )
        fit_matrix.eliminate_zeros()
        terms.append((wanted_matrix.astype(np.float32), mentor_side(fit_matrix, len(mentees))))
    return terms, has_wanted, names


def _encode_texts(goals: list[str], experiences: list[str]) -> tuple[sparse.csr_array, MentorSide]:
    """TF-IDF vectors, unit length, quantised to integers (so dot products are exact)."""
    ids = [_word_ids(text) for text in goals + experiences]
    lengths = [len(words) for words in ids]
    # Columns are the words these texts use, in the order of their ids.
    used, word_ids = np.unique(np.concatenate([np.zeros(0, dtype=np.int64), *ids]), return_inverse=True)
    document_count = len(lengths)
    width = max(len(used), 1)
    documents = np.repeat(np.arange(document_count, dtype=np.int64), lengths)
    # (document, word) pairs with their term counts, then document frequency per word.
    pairs, counts = np.unique(documents * width + word_ids.reshape(-1), return_counts=True)
    rows, cols = pairs // width, pairs % width
    frequency = np.bincount(cols, minlength=width)
    idf = np.log((1 + document_count) / (1 + frequency)) + 1.0
    weights = counts * idf[cols]
    norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=document_count))
    quantised = np.rint(TEXT_SCALE * weights / np.where(norms[rows] > 0, norms[rows], 1.0))
    keep = quantised > 0
    matrix = sparse.csr_array(
        (quantised[keep].astype(np.float32), (rows[keep], cols[keep])), shape=(document_count, width)
    )
    return matrix[: len(goals)], mentor_side(matrix[len(goals) :].T.tocsr(), len(goals))
