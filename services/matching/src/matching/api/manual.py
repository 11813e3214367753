"""HTTP routes for what program admins decide by hand: pair two people (hard rules still apply; a
stated reason overrides a soft one) and read the audit of those decisions about a mentee."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from servicekit.auth import forbid_unless

from matching.api.deps import CallerDep, MatchingDep, problems
from matching.domain.manual import SOFT_RULES
from matching.use_cases import manual

PersonField = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
router = APIRouter(tags=["admin decisions"])


class HandPairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mentee_id: PersonField
    mentor_id: PersonField
    reason: str | None = Field(
        default=None,
        max_length=1000,
        description="Why: required to override a soft rule ("
        + "; ".join(f"{rule}: {text}" for rule, text in SOFT_RULES.items())
        + "). Kept in the audit; never shown to the mentee.",
    )


class HandPairOut(BaseModel):
    pair_id: str
    program_id: str
    mentee_id: str
    mentor_id: str
    overridden: list[str] = Field(description="Soft rules overridden with the stated reason.")


@router.post(
    "/programs/{program_id}/pairs",
    response_model=HandPairOut,
    status_code=201,
    summary="Pair a mentee and a mentor by hand (admins; hard rules still apply, audited)",
    responses=problems(403, 404, 409, 422),
)
async def pair_by_hand(
    matching: MatchingDep,
    caller: CallerDep,
    body: HandPairIn,
    program_id: str = Path(min_length=1, max_length=64),
) -> HandPairOut:
    forbid_unless(caller.is_admin, "pair people by hand")
    pair_id, overridden = await manual.pair_by_hand(
        matching, caller, program_id, body.mentee_id, body.mentor_id, body.reason
    )
    return HandPairOut(
        pair_id=pair_id,
        program_id=program_id,
        mentee_id=body.mentee_id,
        mentor_id=body.mentor_id,
        overridden=overridden,
    )


class AuditEntryOut(BaseModel):
    at: datetime
    by: str
    action: str = Field(description="paired_by_hand | proposal_rejected")
    mentor_id: str
    subject_id: str = Field(description="The pair made or the proposal rejected.")
    note: str | None = Field(description="The admin's stated reason.")
    overridden: list[str] = []


@router.get(
    "/mentees/{person_id}/audit",
    response_model=list[AuditEntryOut],
    summary="What admins decided by hand about a mentee, and why (admins)",
    responses=problems(403),
)
async def audit(
    matching: MatchingDep, caller: CallerDep, person_id: str = Path(min_length=1, max_length=128)
) -> list[AuditEntryOut]:
    forbid_unless(caller.is_admin, "read the audit")
    entries = await manual.audit_of(matching, caller.org_id, person_id)
    return [AuditEntryOut.model_validate(entry.model_dump()) for entry in entries]
