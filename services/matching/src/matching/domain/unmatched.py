"""Which rule kept a mentee from every mentor of a run, counted per mentor and said in one sentence
(domain/rules.py): per-person rules from the encoded cohort's exclusions, pair rules from its
forbidden pairs (the mentee themself, a previous mentor, the reporting line) and the language rule
(what else the hard rules refuse), and mentors who fit but went to others."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np

from matching.domain.cohort import Cohort, MatchProfile, encode_cohort
from matching.domain.compatibility import allowed_block
from matching.domain.programs import MatchingPolicy
from matching.domain.rules import Rule, why_unmatched


def mentor_rules(cohort: Cohort, mentor_ids: Iterable[str]) -> Counter[Rule]:
    """How many of the run's mentors each per-person rule kept out (for every mentee alike)."""
    return Counter(cohort.excluded[m] for m in set(mentor_ids) if m in cohort.excluded)


def rules_for(
    cohort: Cohort, mentee: int, previous: set[tuple[str, str]], kept_out: Counter[Rule]
) -> Counter[Rule]:
    """How many mentors each rule kept from this mentee of the cohort (`kept_out`: the per-person
    rules, from `mentor_rules`); `Rule.TAKEN` counts those the rules allow."""
    rules = Counter(kept_out)
    allowed = allowed_block(cohort, np.asarray([mentee]))[0]
    start = int(np.searchsorted(cohort.forbidden_mentee, mentee, side="left"))
    end = int(np.searchsorted(cohort.forbidden_mentee, mentee, side="right"))
    person = cohort.mentees[mentee].person_id
    forbidden = cohort.forbidden_mentor[start:end].tolist()
    for j in forbidden:
        mentor = cohort.mentors[j].person_id
        if mentor == person:
            rules[Rule.SELF] += 1
        elif (person, mentor) in previous:
            rules[Rule.PREVIOUS] += 1
        else:
            rules[Rule.REPORTING_LINE] += 1
    # Every other refused pair is refused by the language rule (the only other pair rule).
    rules[Rule.LANGUAGE] += int(np.count_nonzero(~allowed)) - len(forbidden)
    rules[Rule.TAKEN] += int(np.count_nonzero(allowed))
    return rules


def explain_unmatched(
    policy: MatchingPolicy,
    mentee: MatchProfile,
    mentors: list[MatchProfile],
    *,
    managers: Mapping[str, str] | None = None,
    excluded_mentors: Iterable[str] = (),
) -> tuple[Rule, str]:
    """Why this mentee cannot have any of these mentors now: the rule and a sentence naming it."""
    previous = {(mentee.person_id, mentor_id) for mentor_id in excluded_mentors}
    cohort = encode_cohort(policy, [mentee], mentors, managers=managers, previous_pairs=previous)
    if (rule := cohort.excluded.get(mentee.person_id)) is not None and not cohort.mentees:
        return why_unmatched(Counter({rule: 1}))
    kept_out = mentor_rules(cohort, (m.person_id for m in mentors))
    return why_unmatched(rules_for(cohort, 0, previous, kept_out))
