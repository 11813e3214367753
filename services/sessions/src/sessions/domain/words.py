"""The sentences people read for the codes the rules use: why a pair looks stagnant, what to do
about it, why the platform cancelled a session, why adherence does not apply yet. The codes stay in
events and in separate fields; these words are what the portal shows."""

from __future__ import annotations

import re

from mentorship_schemas.events import PairEndReason

from sessions.domain import health as health_rules

PAIR_ENDED = "pair_ended"  # the code of a session cancelled because its pair or circle ended

_REASONS = {
    health_rules.MISSED_IN_A_ROW: "Several sessions in a row were missed.",
    health_rules.NO_PROGRESS: "No goal or action item moved forward over the last sessions.",
    health_rules.LEARNING_DECLINING: "Fewer sessions feel like learning something than before.",
    health_rules.END_NEAR_GOALS_OPEN: "The agreement ends soon and some goals are still open.",
    health_rules.AGREEMENT_UNSIGNED: "The agreement has not been signed by everyone yet.",
}
_NO_SESSION = re.compile(r"^no_session_for_(?P<multiple>[0-9.]+)x_cadence$")

_ACTIONS = {
    health_rules.SCHEDULE_NEXT: "Schedule the next session.",
    health_rules.REEVALUATE_GOALS: "Look at the goals again and adjust them.",
    health_rules.TRY_NEW_TOPICS: "Try new topics in the next sessions.",
    health_rules.CONSIDER_TRANSITION: "Consider ending the pair or finding another match.",
    health_rules.SIGN_AGREEMENT: "Review and sign the agreement.",
}

_END_REASONS = {
    PairEndReason.COMPLETED: "the mentorship was completed",
    PairEndReason.NOT_A_FIT: "the pair was not a good fit",
    PairEndReason.STAGNANT: "the pair had stopped meeting",
    PairEndReason.MENTOR_LEFT: "the mentor left the program",
    PairEndReason.MENTEE_LEFT: "the mentee left the program",
    PairEndReason.ERASED: "a participant left the platform",
    PairEndReason.OTHER: "it was ended",
}

NO_SESSION_DUE_YET = "No session was due yet, so cadence adherence does not apply."


def reason(code: str) -> str:
    """The sentence for a health reason code (an unknown code reads as a plain sentence too)."""
    if code in _REASONS:
        return _REASONS[code]
    found = _NO_SESSION.match(code)
    if found:
        multiple = float(found["multiple"])
        return f"No session has been held for more than {multiple:g} times the agreed cadence."
    return _sentence(code)


def action(code: str) -> str:
    return _ACTIONS.get(code) or _sentence(code)


def cancelled_as_ended(end_reason: PairEndReason, kind: str = "pair") -> str:
    """`kind`: pair or circle."""
    return f"Cancelled because the {kind} ended: {_END_REASONS[end_reason]}."


def _sentence(code: str) -> str:
    words = code.replace("_", " ").strip()
    return f"{words[:1].upper()}{words[1:]}." if words else ""
