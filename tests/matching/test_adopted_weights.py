"""Adopting learned weights (domain): explicit, attributed, versioned, reversible, and refused when the
proposal is stale, shows no clear lift, or belongs to another program."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from matching.domain.adopted_weights import AdoptionRefused, adopt, history, revert
from matching.domain.programs import DEFAULT_WEIGHTS
from matching.domain.weight_learning import Interval, WeightProposal, normalised

pytestmark = pytest.mark.fast
AT = datetime(2025, 6, 1, 9, tzinfo=UTC)
LEARNED = {"skills": 0.1, "goals": 0.5, "level_gap": 0.25, "timezone": 0.15} | {
    name: 0.0 for name in ("communication_style", "personality", "language", "modality", "cross_department")
}


def proposal(
    lift_low: float = 0.04, program: str = "open", current: dict[str, float] | None = None
) -> WeightProposal:
    return WeightProposal(
        org_id="org-1",
        program_id=program,
        weights=LEARNED,
        current_weights=normalised(current or DEFAULT_WEIGHTS),
        current_auc=Interval(0.70, 0.66, 0.74),
        learned_auc=Interval(0.82, 0.79, 0.85),
        lift=Interval(0.12, lift_low, 0.16),
        train_pairs=700,
        test_pairs=300,
        unlabelled_pairs=40,
        held_out_from=AT - timedelta(days=90),
        fitted_at=AT - timedelta(hours=1),
    )


def test_adoption_is_a_new_version_that_names_its_author_time_source_and_replaced_weights() -> None:
    first = adopt(None, proposal(), weights_in_force=DEFAULT_WEIGHTS, author="admin-ana", at=AT)
    assert first.version == 1
    assert first.weights == LEARNED
    assert first.replaced_weights == pytest.approx(normalised(DEFAULT_WEIGHTS))
    assert (first.author, first.adopted_at, first.previous) == ("admin-ana", AT, None)
    assert first.source.startswith(f"proposal {proposal().proposal_id} (AUC 0.7 -> 0.82, lift 0.12")


def test_revert_restores_the_replaced_weights_as_a_new_version_keeping_history() -> None:
    first = adopt(None, proposal(), weights_in_force=DEFAULT_WEIGHTS, author="admin-ana", at=AT)
    later = AT + timedelta(days=3)
    back = revert(first, author="admin-ben", at=later)
    assert back.version == 2
    assert back.weights == pytest.approx(normalised(DEFAULT_WEIGHTS))
    assert back.replaced_weights == LEARNED
    assert (back.author, back.adopted_at, back.source) == ("admin-ben", later, "revert of version 1")
    again = revert(back, author="admin-ana", at=later + timedelta(days=1))
    assert again.weights == LEARNED
    assert [v.version for v in history(again)] == [3, 2, 1]
    assert history(None) == []


def test_a_proposal_judged_against_other_weights_is_refused_as_stale() -> None:
    first = adopt(None, proposal(), weights_in_force=DEFAULT_WEIGHTS, author="admin-ana", at=AT)
    # The same proposal again: the weights in force are now the learned ones.
    with pytest.raises(AdoptionRefused, match="fit again"):
        adopt(first, proposal(), weights_in_force=first.weights, author="admin-ana", at=AT)
    fresh = adopt(first, proposal(current=LEARNED), weights_in_force=first.weights, author="admin-ana", at=AT)
    assert fresh.version == 2
    assert fresh.previous is first


def test_no_clear_lift_needs_an_explicit_override_and_another_programs_proposal_is_refused() -> None:
    weak = proposal(lift_low=-0.01)
    with pytest.raises(AdoptionRefused, match="does not exclude zero"):
        adopt(None, weak, weights_in_force=DEFAULT_WEIGHTS, author="admin-ana", at=AT)
    forced = adopt(
        None, weak, weights_in_force=DEFAULT_WEIGHTS, author="admin-ana", at=AT, accept_without_lift=True
    )
    assert forced.weights == LEARNED
    with pytest.raises(AdoptionRefused, match="another program"):
        adopt(
            forced,
            replace(proposal(program="peer"), current_weights=LEARNED),
            weights_in_force=LEARNED,
            author="a",
            at=AT,
        )
    with pytest.raises(AdoptionRefused, match="author"):
        adopt(None, proposal(), weights_in_force=DEFAULT_WEIGHTS, author="", at=AT)
