"""Every invariant in one list, run against a snapshot; checkpoints during the run keep the ones
the stores alone can answer, and a break at any checkpoint breaks the invariant."""

from __future__ import annotations

from collections.abc import Callable

from simulation import event_checks, invariants
from simulation.invariants import Verdict
from simulation.observe import Snapshot
from simulation.world import World

Check = Callable[[Snapshot, World], Verdict]

ALL: tuple[Check, ...] = (
    invariants.mentor_load_consistent,
    invariants.mentor_free_places_agree,
    invariants.no_active_relationship_for_ended_pair,
    invariants.no_active_relationship_for_erased_person,
    invariants.erased_person_forgotten,
    invariants.erased_persons_partner_told,
    invariants.erased_persons_place_free,
    event_checks.circles_form_only_circles,
    event_checks.program_rules_hold,
    event_checks.matching_sees_goals_and_personality,
    event_checks.missed_sessions_reach_both_once,
    event_checks.stagnant_pairs_notified,
    event_checks.escalations_end_in_match_or_notice,
    event_checks.one_pair_created_per_pair_id,
    event_checks.no_notification_twice,
    event_checks.dead_letter_topics_empty,
    event_checks.consumer_lag_zero,
)
NAMES = tuple(check.__name__ for check in ALL)


def checkpoint(snapshot: Snapshot, world: World, label: str) -> list[Verdict]:
    """The store invariants now (the platform settled); remembered in the journal."""
    verdicts = [check(snapshot, world) for check in invariants.STORE_INVARIANTS]
    world.journal.checkpoints.append(
        {"at": label, "broken": {v.name: v.evidence for v in verdicts if not v.held}}
    )
    return verdicts


def final(snapshot: Snapshot, world: World, step_days: float) -> list[Verdict]:
    verdicts = []
    for check in ALL:
        if check is event_checks.escalations_end_in_match_or_notice:
            verdict = event_checks.escalations_end_in_match_or_notice(snapshot, world, step_days)
        else:
            verdict = check(snapshot, world)
        for point in world.journal.checkpoints:
            evidence = point["broken"].get(verdict.name)
            if evidence:
                verdict.held = False
                verdict.when.append(point["at"])
                if not verdict.evidence:
                    verdict.evidence = [f"at {point['at']}: {line}" for line in evidence]
        verdicts.append(verdict)
    return verdicts
