"""The hard rules by name, and how people read them: why a mentor cannot be asked, and why a mentee
stays unmatched, as sentences that name the rule that applied (never a list of every rule, never a
code). Codes travel in events and stored runs for programs; people read the sentences."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum


class Rule(StrEnum):
    """A hard rule that kept a mentee and a mentor apart (or a mentee from every mentor)."""

    NO_MENTORS = "no_mentors"
    OTHER_ORG = "other_org"
    PAUSED = "paused"
    FULL = "full"
    PROGRAM_CAPACITY = "program_capacity"
    MENTOR_NOT_PEER = "mentor_not_peer"
    MENTOR_NOT_REVERSE = "mentor_not_reverse"
    FOCUS_SKILL = "focus_skill"
    MENTEE_NOT_PEER = "mentee_not_peer"
    MENTEE_NOT_REVERSE = "mentee_not_reverse"
    SELF = "self"
    PREVIOUS = "previous_mentor"
    REPORTING_LINE = "reporting_line"
    LANGUAGE = "no_shared_language"
    TAKEN = "taken"  # fits, but the best overall assignment gave the place to someone else


# Why this one mentor cannot be asked, told to the mentee asking.
FOR_ONE_MENTOR: dict[Rule, str] = {
    Rule.NO_MENTORS: "This person is not a mentor in this program.",
    Rule.OTHER_ORG: "This mentor belongs to another organisation.",
    Rule.PAUSED: "This mentor has paused mentoring for now.",
    Rule.FULL: "This mentor has no free place now.",
    Rule.PROGRAM_CAPACITY: "This mentor already has as many mentees in this program as it allows.",
    Rule.MENTOR_NOT_PEER: "This mentor has not opted in to peer mentoring, which this program needs.",
    Rule.MENTOR_NOT_REVERSE: "This mentor has not opted in to reverse mentoring, which this program needs.",
    Rule.FOCUS_SKILL: "This mentor does not offer the program's focus skill.",
    Rule.MENTEE_NOT_PEER: "You have not opted in to peer mentoring, which this program needs.",
    Rule.MENTEE_NOT_REVERSE: "You have not opted in to reverse mentoring, which this program needs.",
    Rule.SELF: "You cannot be your own mentor.",
    Rule.PREVIOUS: "You were paired with this mentor before, or they declined or let your request expire, "
    "and nobody is offered the same mentor twice.",
    Rule.REPORTING_LINE: "This mentor is in your reporting line, and a mentor never is.",
    Rule.LANGUAGE: "You and this mentor share no language, which this program requires.",
    Rule.TAKEN: "This mentor's places are taken.",
}

# Why a mentee has no mentor, when one rule kept every mentor away (read by the mentee and admins).
FOR_EVERY_MENTOR: dict[Rule, str] = {
    Rule.NO_MENTORS: "No mentor takes part in this program yet.",
    Rule.OTHER_ORG: "No mentor of this organisation takes part in this program.",
    Rule.PAUSED: "Every mentor of this program has paused mentoring for now.",
    Rule.FULL: "Every mentor who could take this mentee is full: none has a free place now.",
    Rule.PROGRAM_CAPACITY: "Every mentor who could take this mentee already has as many mentees in this "
    "program as it allows.",
    Rule.MENTOR_NOT_PEER: "No mentor of this program has opted in to peer mentoring, which it needs.",
    Rule.MENTOR_NOT_REVERSE: "No mentor of this program has opted in to reverse mentoring, which it needs.",
    Rule.FOCUS_SKILL: "No mentor of this program offers its focus skill.",
    Rule.MENTEE_NOT_PEER: "This mentee has not opted in to peer mentoring, which this program needs.",
    Rule.MENTEE_NOT_REVERSE: "This mentee has not opted in to reverse mentoring, which this program needs.",
    Rule.SELF: "The only mentor of this program is this mentee.",
    Rule.PREVIOUS: "Every mentor left was paired with this mentee before, or declined or let a request "
    "from them expire, and nobody is offered the same mentor twice.",
    Rule.REPORTING_LINE: "Every mentor left is in this mentee's reporting line, and a mentor never is.",
    Rule.LANGUAGE: "No mentor left shares a language with this mentee, which this program requires.",
    Rule.TAKEN: "Every mentor who fits this mentee is taken by mentees the best overall assignment "
    "placed there.",
}

# The same, as a count among several rules ("3 full").
_CLAUSES: dict[Rule, str] = {
    Rule.OTHER_ORG: "in another organisation",
    Rule.PAUSED: "paused",
    Rule.FULL: "full",
    Rule.PROGRAM_CAPACITY: "at the program's limit of mentees",
    Rule.MENTOR_NOT_PEER: "not opted in to peer mentoring",
    Rule.MENTOR_NOT_REVERSE: "not opted in to reverse mentoring",
    Rule.FOCUS_SKILL: "without the focus skill",
    Rule.SELF: "the mentee themself",
    Rule.PREVIOUS: "already tried (a former mentor, or one who declined)",
    Rule.REPORTING_LINE: "in the mentee's reporting line",
    Rule.LANGUAGE: "sharing no language with the mentee",
    Rule.TAKEN: "taken by mentees the best overall assignment placed there",
}


def why_unmatched(rules: Counter[Rule]) -> tuple[Rule, str]:
    """The rule that kept the mentee unmatched and the sentence saying so, from how many mentors
    each rule kept away: one rule is named alone; several are counted, the commonest first (and
    it is the rule returned)."""
    counted = [(rule, count) for rule, count in rules.most_common() if count > 0]
    if not counted:
        return Rule.NO_MENTORS, FOR_EVERY_MENTOR[Rule.NO_MENTORS]
    if len(counted) == 1:
        rule, count = counted[0]
        if rule is Rule.TAKEN:
            noun = "mentor who fits" if count == 1 else f"{count} mentors who fit"
            verb = "is" if count == 1 else "are"
            return (
                rule,
                f"The {noun} this mentee {verb} taken by mentees the best overall assignment placed there.",
            )
        return rule, FOR_EVERY_MENTOR[rule]
    total = sum(count for _, count in counted)
    clauses = ", ".join(f"{count} {_CLAUSES[rule]}" for rule, count in counted)
    return counted[0][0], f"No mentor is possible for this mentee now (of {total} mentors: {clauses})."
