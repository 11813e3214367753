"""The continuous flow's compatibility score and ranking (domain, no I/O)."""

from __future__ import annotations

from matching.domain.scoring import MenteeCandidate, MentorCandidate, rank_mentors, score


def mentee(*wanted: str, department: str | None = "eng") -> MenteeCandidate:
    return MenteeCandidate("mentee", department, frozenset(wanted))


def mentor(person: str, *offered: str, free: int = 1, department: str | None = "eng") -> MentorCandidate:
    return MentorCandidate(person, department, frozenset(offered), free)


def test_mentor_offering_every_wanted_skill_scores_highest_with_reasons() -> None:
    result = score(mentee("python", "leadership"), mentor("m", "python", "leadership", department="sales"))
    assert result.score == 1.0
    assert result.reasons == ("offers leadership, python", "from another department")


def test_score_stays_within_zero_and_one() -> None:
    assert score(mentee("python"), mentor("m", "go")).score == 0.0
    assert 0 <= score(mentee(), mentor("m")).score <= 1


def test_ranking_skips_self_and_full_mentors_and_prefers_coverage() -> None:
    ranked = rank_mentors(
        MenteeCandidate("p1", "eng", frozenset({"python"})),
        [
            mentor("p1", "python"),
            mentor("full", "python", free=0),
            mentor("weak", "go"),
            mentor("good", "python"),
        ],
    )
    assert [s.mentor_id for s in ranked] == ["good", "weak"]
