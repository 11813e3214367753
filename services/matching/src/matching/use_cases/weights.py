"""Learned weights for a program, for admins: fit them on the program's past pairs and preview the
evidence (a proposal), adopt a proposal explicitly, list the versions, revert the latest. Adopting
changes the program's weights and nothing else: hard rules and fairness floors apply whatever they are."""

from __future__ import annotations

import asyncio
import logging

from matching.domain.adopted_weights import AdoptionRefused
from matching.domain.outcome_record import CADENCE_DAYS
from matching.domain.program import Program
from matching.domain.program_weights import WeightsVersion, adopt_proposal, revert_version
from matching.domain.weight_learning import NotEnoughOutcomes, WeightProposal, propose_weights
from matching.use_cases import outcomes as outcomes_of_pairs
from matching.use_cases.ai_ports import LearningParts
from matching.use_cases.context import Caller, Conflict, Matching, NotFound, Refused
from matching.use_cases.programs import require_program

log = logging.getLogger(__name__)


def _learning(m: Matching) -> LearningParts:
    if m.learning is None:
        raise Conflict("learning from outcomes is not enabled in this deployment")
    return m.learning


async def propose(m: Matching, org_id: str, program_id: str) -> WeightProposal:
    """Fit weights on the program's earlier pairs and judge them against the weights in force on the
    later ones; the proposal is kept for adoption and changes nothing."""
    learning = _learning(m)
    program = await require_program(m, org_id, program_id)
    cadence = CADENCE_DAYS[program.default_cadence]
    completed = await outcomes_of_pairs.complete_starts(m, org_id, program_id)
    if completed:
        log.info("program %s: %d pair record(s) got their start from their seats", program_id, completed)
    records = await learning.outcomes.of_program(org_id, program_id)
    outcomes = [outcome for record in records if (outcome := record.outcome(cadence)) is not None]
    if not outcomes:
        raise Conflict(f"no pair of program {program_id!r} has an outcome to learn from yet")
    now = m.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as the store keeps times
    try:
        proposal = await asyncio.to_thread(propose_weights, outcomes, program.weights, now)
    except NotEnoughOutcomes as error:
        raise Conflict(f"not enough outcomes to learn from: {error}") from error
    await learning.proposals.save(proposal)
    return proposal


async def _stored(m: Matching, program: Program) -> Program:
    """The program as stored (the built-in one is stored on its first change)."""
    if program.stored:
        return program
    program.store_first(program.settings(), m.now())
    await m.programs.create(program)  # False: stored meanwhile, which is as good
    return program


async def adopt(
    m: Matching, caller: Caller, program_id: str, proposal_id: str, *, accept_without_lift: bool = False
) -> WeightsVersion:
    """The proposal's weights become the program's, as a new version naming the caller."""
    learning = _learning(m)
    program = await _stored(m, await require_program(m, caller.org_id, program_id))
    proposal = await learning.proposals.get(caller.org_id, program_id, proposal_id)
    if proposal is None:
        raise NotFound(f"no proposal {proposal_id!r} for program {program_id!r}", field="proposal_id")
    now = m.now()
    try:
        saved = await m.programs.change(
            program.id,
            lambda p: adopt_proposal(
                p, proposal, author=caller.person_id, now=now, accept_without_lift=accept_without_lift
            ),
            org_id=caller.org_id,
        )
    except AdoptionRefused as error:
        raise Conflict(str(error), field="proposal_id") from error
    if saved is None or saved.result is None:
        raise NotFound(f"no program {program_id!r} in your organisation")
    return saved.result


async def history(m: Matching, org_id: str, program_id: str) -> list[WeightsVersion]:
    """Every adopted or reverted weighting of the program, newest first."""
    program = await require_program(m, org_id, program_id)
    return sorted(program.weights_history, key=lambda v: -v.version)


async def revert(m: Matching, caller: Caller, program_id: str, version: int) -> WeightsVersion:
    """Put back the weights that `version` (the latest) replaced, as a new version naming the caller."""
    program = await require_program(m, caller.org_id, program_id)
    if not program.weights_history:
        raise Refused(f"no weights were adopted for program {program_id!r}", field="version")
    now = m.now()
    try:
        saved = await m.programs.change(
            program.id,
            lambda p: revert_version(p, version, author=caller.person_id, now=now),
            org_id=caller.org_id,
        )
    except AdoptionRefused as error:
        raise Conflict(str(error), field="version") from error
    if saved is None or saved.result is None:
        raise NotFound(f"no program {program_id!r} in your organisation")
    return saved.result
