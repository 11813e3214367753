"""HTTP routes the portal calls: a person's in-app feed, their notification preferences, and the
program admins' registration as their org's escalation contacts."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import DuplicateKeyError
from servicekit.auth import CurrentPrincipal, Role, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

from notifications import store
from notifications.domain.preferences import Preferences, zone
from notifications.scheduling import preferences_of

router = APIRouter(tags=["notifications"])


class NotificationOut(BaseModel):
    notification_id: str
    recipient_id: str
    kind: str
    category: str | None = None
    title: str
    body: str
    action: str | None = None
    channel: str = "in_app"
    cause_event_id: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int
    total: int
    next_offset: int | None


def _runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


def _out(document: dict[str, Any]) -> NotificationOut:
    fields = {k: document[k] for k in NotificationOut.model_fields if k in document}
    fields["created_at"] = document.get("feed_at") or document["created_at"]
    return NotificationOut(notification_id=document["_id"], **fields)


@router.get(
    "/notifications",
    response_model=NotificationPage,
    summary="A person's in-app notifications, newest first, with the unread count",
)
async def list_notifications(
    request: Request,
    principal: CurrentPrincipal,
    recipient: str = Query(min_length=1, max_length=128),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=100_000),
    unread_only: bool = False,
) -> NotificationPage:
    forbid_unless(
        recipient == principal.employee_id or principal.is_admin,
        "read another person's notifications",
    )
    collection = _runtime(request).db[store.NOTIFICATIONS]
    query: dict[str, Any] = {"org_id": principal.org_id, "recipient_id": recipient, "in_feed": True}
    listed = {**query, "read_at": None} if unread_only else query
    items = [
        _out(doc)
        async for doc in collection.find(listed, sort=[("feed_at", -1), ("_id", 1)], skip=offset, limit=limit)
    ]
    total = await collection.count_documents(listed)
    unread = await collection.count_documents({**query, "read_at": None})
    more = offset + len(items) < total
    return NotificationPage(
        items=items, unread=unread, total=total, next_offset=offset + len(items) if more else None
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark a notification read",
)
async def mark_read(notification_id: str, request: Request, principal: CurrentPrincipal) -> NotificationOut:
    runtime = _runtime(request)
    collection = runtime.db[store.NOTIFICATIONS]
    doc = await collection.find_one({"_id": notification_id})
    owner = (principal.org_id, principal.employee_id)
    if doc is None or (doc["org_id"], doc["recipient_id"]) != owner or not doc.get("in_feed"):
        raise Problem(404, "Not Found", "no such notification")
    if doc.get("read_at") is None:
        doc["read_at"] = runtime.clock.now()
        await collection.update_one({"_id": notification_id}, {"$set": {"read_at": doc["read_at"]}})
    return _out(doc)


class ReadAll(BaseModel):
    marked: int


@router.post("/notifications/read", response_model=ReadAll, summary="Mark all of my notifications read")
async def mark_all_read(request: Request, principal: CurrentPrincipal) -> ReadAll:
    runtime = _runtime(request)
    result = await runtime.db[store.NOTIFICATIONS].update_many(
        {"org_id": principal.org_id, "recipient_id": principal.employee_id, "in_feed": True, "read_at": None},
        {"$set": {"read_at": runtime.clock.now()}},
    )
    return ReadAll(marked=result.modified_count)


@router.get("/preferences/me", response_model=Preferences, summary="My notification preferences")
async def my_preferences(request: Request, principal: CurrentPrincipal) -> Preferences:
    recipient = (
        await _runtime(request)
        .db[store.RECIPIENTS]
        .find_one({"_id": store.person_key(principal.org_id, principal.employee_id)})
    )
    return preferences_of(recipient)


@router.put("/preferences/me", response_model=Preferences, summary="Set my notification preferences")
async def set_my_preferences(
    preferences: Preferences, request: Request, principal: CurrentPrincipal
) -> Preferences:
    recipients = _runtime(request).db[store.RECIPIENTS]
    key = store.person_key(principal.org_id, principal.employee_id)
    existing = await recipients.find_one({"_id": key}, {"erased": 1})
    if existing is not None and existing.get("erased"):
        raise Problem(404, "Not Found", "this person was erased")
    await recipients.update_one(
        {"_id": key},
        {
            "$set": {"preferences": preferences.model_dump(mode="json")},
            "$setOnInsert": {"org_id": principal.org_id, "person_id": principal.employee_id},
        },
        upsert=True,
    )
    return preferences


class EscalationContactIn(BaseModel):
    """How to reach an admin who has no profile in the program (a profile's values win)."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    timezone: str | None = Field(default=None, max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and zone(value) is UTC and value != "UTC":
            raise ValueError("unknown IANA timezone")
        return value


class EscalationContacts(BaseModel):
    org_id: str
    admin_ids: list[str]


async def _contacts(request: Request, org_id: str) -> EscalationContacts:
    doc = await _runtime(request).db[store.ESCALATION_CONTACTS].find_one({"_id": org_id})
    return EscalationContacts(org_id=org_id, admin_ids=list((doc or {}).get("admin_ids") or []))


@router.get(
    "/escalation-contacts",
    response_model=EscalationContacts,
    tags=["escalation"],
    summary="Who receives my org's escalations (program admins only)",
)
async def list_escalation_contacts(request: Request, principal: CurrentPrincipal) -> EscalationContacts:
    forbid_unless(principal.is_admin, "see the escalation contacts")
    return await _contacts(request, principal.org_id)


@router.put(
    "/escalation-contacts/me",
    response_model=EscalationContacts,
    tags=["escalation"],
    summary="Register myself as an escalation contact of my org (program_admin or hr_admin)",
)
async def register_escalation_contact(
    request: Request, principal: CurrentPrincipal, contact: EscalationContactIn | None = None
) -> EscalationContacts:
    forbid_unless(principal.has(Role.PROGRAM_ADMIN, Role.HR_ADMIN), "receive your org's escalations")
    db = _runtime(request).db
    details = {k: v for k, v in (contact.model_dump() if contact else {}).items() if v is not None}
    if details:
        # Only while no profile event has told us better (those carry `profile_version`).
        with contextlib.suppress(DuplicateKeyError):
            await db[store.RECIPIENTS].update_one(
                {
                    "_id": store.person_key(principal.org_id, principal.employee_id),
                    "profile_version": None,
                    "erased": {"$ne": True},
                },
                {"$set": {"org_id": principal.org_id, "person_id": principal.employee_id, **details}},
                upsert=True,
            )
    contacts = db[store.ESCALATION_CONTACTS]
    await contacts.update_one(
        {"_id": principal.org_id}, {"$addToSet": {"admin_ids": principal.employee_id}}, upsert=True
    )
    return await _contacts(request, principal.org_id)


@router.delete(
    "/escalation-contacts/me",
    status_code=204,
    tags=["escalation"],
    summary="Stop receiving my org's escalations",
)
async def unregister_escalation_contact(request: Request, principal: CurrentPrincipal) -> Response:
    await (
        _runtime(request)
        .db[store.ESCALATION_CONTACTS]
        .update_one({"_id": principal.org_id}, {"$pull": {"admin_ids": principal.employee_id}})
    )
    return Response(status_code=204)
