"""Profile use cases shared by the API and the HR import: register, change, erase. Each is one
single-document write carrying its events in the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mentorship_schemas import (
    InclusionAttributesChanged,
    MentorAvailable,
    MentorUnavailable,
    ProfileErased,
    ProfileRegistered,
    ProfileUpdated,
)
from pymongo.errors import DuplicateKeyError
from servicekit.outbox import new_document, with_outbox
from servicekit.runtime import ServiceRuntime

from profiles.domain.availability import Availability, transition
from profiles.domain.profile import Taxonomy
from profiles.models import DEFAULTS, ProfileChanges, ProfileIn
from profiles.store import mentor_load, person_key

EVENT_FIELDS = (
    "display_name", "email", "timezone", "locale", "department", "title", "level", "years_experience",
    "manager_id", "languages", "peer_mentoring", "reverse_mentoring", "preferred_cadence", "modalities",
    "communication_style", "roles",
)  # fmt: skip


class Conflict(Exception):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field


@dataclass(frozen=True)
class Outcome:
    document: dict[str, Any]
    changed_fields: list[str]


def _skills(values: list[Any] | None, taxonomy: Taxonomy, with_level: bool) -> list[dict[str, Any]]:
    result = []
    seen: set[str] = set()
    for skill in values or []:
        normalized = taxonomy.normalize(skill.name)
        if normalized.name.lower() in seen:
            continue  # the same skill twice: keep the first
        seen.add(normalized.name.lower())
        entry: dict[str, Any] = {"name": normalized.name, "in_taxonomy": normalized.in_taxonomy}
        entry["level" if with_level else "target_level"] = (
            skill.level.value if with_level else (skill.target_level.value if skill.target_level else None)
        )
        result.append(entry)
    return result


def _fields(changes: ProfileChanges, taxonomy: Taxonomy) -> dict[str, Any]:
    """The stored form of the fields present in `changes` (inclusion handled apart)."""
    fields = changes.model_dump(mode="json", exclude_unset=True, exclude={"person_id", "inclusion"})
    if "skills_offered" in fields:
        fields["skills_offered"] = _skills(changes.skills_offered, taxonomy, with_level=True)
    if "skills_wanted" in fields:
        fields["skills_wanted"] = _skills(changes.skills_wanted, taxonomy, with_level=False)
    return fields


def _derived(document: dict[str, Any]) -> dict[str, Any]:
    """Fields kept only so searches can filter on them."""
    skills = [s["name"].lower() for s in document["skills_offered"] + document["skills_wanted"]]
    text = " ".join(
        str(part).lower()
        for part in (document["display_name"], document.get("title"), document.get("department"), *skills)
        if part
    )
    return {
        "skill_names": skills,
        "search_text": text,
        "availability": mentor_load(document).availability.value,
    }


def _profile_event(event_type: type[Any], document: dict[str, Any], **extra: Any) -> Any:
    return event_type(
        org_id=document["org_id"],
        version=document["version"],
        person_id=document["person_id"],
        skills_offered=[s["name"] for s in document["skills_offered"]],
        skills_wanted=[s["name"] for s in document["skills_wanted"]],
        skill_levels={s["name"]: s["level"] for s in document["skills_offered"]},
        **{name: document.get(name) for name in EVENT_FIELDS},
        **extra,
    )


def _availability_event(
    runtime: ServiceRuntime, before: dict[str, Any] | None, after: dict[str, Any]
) -> list[dict[str, Any]]:
    announced = transition(mentor_load(before) if before else None, mentor_load(after))
    if announced is None:
        return []
    load = mentor_load(after)
    if announced is Availability.AVAILABLE:
        event: Any = MentorAvailable(
            org_id=after["org_id"],
            version=after["version"],
            person_id=after["person_id"],
            capacity=load.capacity,
            active_mentees=load.active_mentees,
        )
    else:
        event = MentorUnavailable(
            org_id=after["org_id"],
            version=after["version"],
            person_id=after["person_id"],
            reason=announced.value,
        )
    return [runtime.entry(event)]


def _inclusion_events(
    runtime: ServiceRuntime, document: dict[str, Any], changes: ProfileChanges
) -> list[Any]:
    if changes.inclusion is None:
        return []
    return [
        runtime.entry(
            InclusionAttributesChanged(
                org_id=document["org_id"],
                version=document["version"],
                person_id=document["person_id"],
                consented=changes.inclusion.consented,
                attributes=changes.inclusion.attributes if changes.inclusion.consented else {},
            )
        )
    ]


def _stored_inclusion(changes: ProfileChanges) -> dict[str, Any] | None:
    # Stored only with consent; withdrawing consent forgets the attributes.
    if changes.inclusion is None or not changes.inclusion.consented:
        return None
    return {"consented": True, "attributes": dict(changes.inclusion.attributes)}


async def register(
    runtime: ServiceRuntime,
    taxonomy: Taxonomy,
    org_id: str,
    person_id: str,
    profile: ProfileIn,
    now: datetime,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "_id": person_key(org_id, person_id), "org_id": org_id, "person_id": person_id,
        **DEFAULTS, **_fields(profile, taxonomy),
        "inclusion": _stored_inclusion(profile),
        "active_pair_ids": [], "ended_pair_ids": [], "version": 1, "created_at": now, "updated_at": now,
    }  # fmt: skip
    document.update(_derived(document))
    events = [runtime.entry(_profile_event(ProfileRegistered, document))]
    events += _availability_event(runtime, None, document)
    events += _inclusion_events(runtime, document, profile)
    people = runtime.db["people"]
    try:
        await people.insert_one(new_document(document, events))
    except DuplicateKeyError as error:
        # Ask which unique key clashed: servers word the error differently (emulator vs MongoDB).
        same_id = await people.find_one({"_id": document["_id"]}, {"_id": 1})
        field = "person_id" if same_id else "email"
        raise Conflict(field, f"a profile with this {field} already exists in the org") from error
    runtime.events_written()
    return document


async def change(
    runtime: ServiceRuntime,
    taxonomy: Taxonomy,
    current: dict[str, Any],
    changes: ProfileChanges,
    now: datetime,
) -> Outcome:
    """Apply `changes` to `current` if it is still at its version; raises Conflict on a clash."""
    fields = _fields(changes, taxonomy)
    changed = sorted(name for name, value in fields.items() if current.get(name) != value)
    inclusion = _stored_inclusion(changes) if changes.inclusion is not None else current.get("inclusion")
    inclusion_changed = changes.inclusion is not None and inclusion != current.get("inclusion")
    if not changed and not inclusion_changed:
        return Outcome(current, [])
    updated = {
        **current,
        **fields,
        "inclusion": inclusion,
        "version": current["version"] + 1,
        "updated_at": now,
    }
    updated.update(_derived(updated))
    events = []
    if changed:
        events.append(runtime.entry(_profile_event(ProfileUpdated, updated, changed_fields=changed)))
    events += _availability_event(runtime, current, updated)
    if inclusion_changed:
        events += _inclusion_events(runtime, updated, changes)
    stored = {k: v for k, v in updated.items() if k not in ("_id", "outbox", "outbox_pending")}
    try:
        result = await runtime.db["people"].update_one(
            {"_id": current["_id"], "version": current["version"]}, with_outbox({"$set": stored}, events)
        )
    except DuplicateKeyError as error:
        raise Conflict("email", "a profile with this email already exists in the org") from error
    if result.modified_count != 1:
        raise Conflict("version", "the profile changed meanwhile; read it again")
    runtime.events_written()
    return Outcome(updated, changed + (["inclusion"] if inclusion_changed else []))


async def erase(runtime: ServiceRuntime, current: dict[str, Any], now: datetime) -> None:
    """Replace the profile with an anonymous tombstone and announce ProfileErased."""
    version = current["version"] + 1
    tombstone = {
        "org_id": current["org_id"], "person_id": current["person_id"], "erased": True,
        # Unique (org, email) index: a placeholder that says nothing about the person.
        "email": f"erased:{current['_id']}",
        "version": version, "erased_at": now, "roles": [], "accepting_mentees": False, "mentor_capacity": 0,
        "active_pair_ids": [], "ended_pair_ids": [], "availability": Availability.NOT_A_MENTOR.value,
    }  # fmt: skip
    event = ProfileErased(
        org_id=current["org_id"], version=version, person_id=current["person_id"], erased_at=now
    )
    entries = [runtime.entry(event)]
    if mentor_load(current).availability is Availability.AVAILABLE:
        entries.append(
            runtime.entry(
                MentorUnavailable(
                    org_id=current["org_id"], version=version, person_id=current["person_id"], reason="left"
                )
            )
        )
    # replace_one drops every other field (name, email, free text) in the same single write.
    result = await runtime.db["people"].replace_one(
        {"_id": current["_id"], "version": current["version"]},
        # Pending events not yet relayed carry the personal data being erased: they are dropped.
        {**tombstone, "outbox": entries, "outbox_pending": True},
    )
    if result.modified_count != 1:
        raise Conflict("version", "the profile changed meanwhile; try again")
    runtime.events_written()
