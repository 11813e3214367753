"""HTTP routes the portal calls: register and read profiles."""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fastapi import APIRouter, Request, status
from mentorship_schemas import MentorAvailable, ProfileRegistered
from mentorship_schemas.events import PersonRole
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import DuplicateKeyError
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.outbox import new_document
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from profiles.domain.availability import Availability
from profiles.store import mentor_load, person_key

router = APIRouter(prefix="/profiles", tags=["profiles"])
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_TIMEZONES = available_timezones()
Skill = Annotated[str, Field(min_length=1, max_length=80)]


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:@-]+$",
        description="Employee id; defaults to the caller's own (`sub`). Only admins set another.",
    )
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)
    roles: list[PersonRole] = Field(min_length=1, max_length=2)
    timezone: str = Field(default="UTC", max_length=64)
    department: str | None = Field(default=None, max_length=120)
    skills_offered: list[Skill] = Field(default_factory=list, max_length=50)
    skills_wanted: list[Skill] = Field(default_factory=list, max_length=50)
    mentor_capacity: int = Field(default=0, ge=0, le=20)
    accepting_mentees: bool = True

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError("not a valid email address")
        return value.lower()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in _TIMEZONES:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError("not an IANA timezone name") from error
        return value


class ProfileOut(BaseModel):
    person_id: str
    org_id: str
    display_name: str
    email: str
    roles: list[PersonRole]
    timezone: str
    department: str | None
    skills_offered: list[str]
    skills_wanted: list[str]
    mentor_capacity: int
    accepting_mentees: bool
    active_mentees: int
    availability: Availability
    version: int


def _out(document: dict[str, Any]) -> ProfileOut:
    load = mentor_load(document)
    return ProfileOut(
        **{k: document[k] for k in ProfileOut.model_fields if k in document},
        active_mentees=load.active_mentees,
        availability=load.availability,
    )


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProfileOut,
    summary="Register a person in the program",
)
async def register_profile(body: ProfileIn, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    person_id = body.person_id or principal.employee_id
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "register someone else's profile")
    runtime = _runtime(request)
    org_id = principal.org_id
    document: dict[str, Any] = {
        "_id": person_key(org_id, person_id),
        "org_id": org_id,
        "person_id": person_id,
        **body.model_dump(exclude={"person_id"}, mode="json"),
        "active_pair_ids": [],
        "version": 1,
        "created_at": runtime.clock.now(),
    }
    events = [
        runtime.entry(
            ProfileRegistered(
                org_id=org_id,
                version=1,
                person_id=person_id,
                roles=body.roles,
                display_name=body.display_name,
                email=body.email,
                timezone=body.timezone,
                department=body.department,
                skills_offered=body.skills_offered,
                skills_wanted=body.skills_wanted,
            )
        )
    ]
    load = mentor_load(document)
    if load.availability is Availability.AVAILABLE:
        events.append(
            runtime.entry(
                MentorAvailable(
                    org_id=org_id,
                    version=1,
                    person_id=person_id,
                    capacity=load.capacity,
                    active_mentees=0,
                )
            )
        )
    try:
        await runtime.db["people"].insert_one(new_document(document, events))
    except DuplicateKeyError as error:
        # Ask which unique key clashed: servers word the error differently (FerretDB vs MongoDB).
        same_id = await runtime.db["people"].find_one({"_id": document["_id"]}, {"_id": 1})
        field = "person_id" if same_id else "email"
        raise Problem(
            409,
            "Conflict",
            f"a profile with this {field} already exists in the org",
            extensions={"field": field},
        ) from error
    runtime.events_written()
    return _out(document)


@router.get("/{person_id}", response_model=ProfileOut, summary="Read a profile")
async def read_profile(person_id: str, principal: CurrentPrincipal, request: Request) -> ProfileOut:
    document = (
        await _runtime(request)
        .db["people"]
        .find_one({"_id": person_key(principal.org_id, person_id), "org_id": principal.org_id})
    )
    if document is None:
        raise Problem(404, "Not Found", "no such profile")
    forbid_unless(person_id == principal.employee_id or principal.is_admin, "read this profile")
    return _out(document)
