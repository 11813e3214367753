"""HTTP routes the portal calls: a person's in-app notifications."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from servicekit.auth import CurrentPrincipal, forbid_unless
from servicekit.problems import Problem
from servicekit.runtime import ServiceRuntime

router = APIRouter(prefix="/notifications", tags=["notifications"])


class NotificationOut(BaseModel):
    notification_id: str
    recipient_id: str
    kind: str
    title: str
    body: str
    channel: str
    cause_event_id: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int


@router.get("", response_model=NotificationPage, summary="A person's in-app notifications, newest first")
async def list_notifications(
    request: Request,
    principal: CurrentPrincipal,
    recipient: str = Query(min_length=1, max_length=128),
    limit: int = Query(default=50, ge=1, le=200),
) -> NotificationPage:
    forbid_unless(
        recipient == principal.employee_id or principal.is_admin,
        "read another person's notifications",
    )
    runtime: ServiceRuntime = request.app.state.runtime
    query = {"org_id": principal.org_id, "recipient_id": recipient}
    collection = runtime.db["notifications"]
    items = [
        NotificationOut(
            notification_id=doc["_id"],
            **{k: doc[k] for k in NotificationOut.model_fields if k in doc},
        )
        async for doc in collection.find(query, sort=[("created_at", -1)], limit=limit)
    ]
    unread = await collection.count_documents({**query, "read_at": None})
    return NotificationPage(items=items, unread=unread)


@router.post("/{notification_id}/read", response_model=NotificationOut, summary="Mark a notification read")
async def mark_read(notification_id: str, request: Request, principal: CurrentPrincipal) -> NotificationOut:
    runtime: ServiceRuntime = request.app.state.runtime
    collection = runtime.db["notifications"]
    query = {
        "_id": notification_id,
        "org_id": principal.org_id,
        "recipient_id": principal.employee_id,
    }
    await collection.update_one({**query, "read_at": None}, {"$set": {"read_at": runtime.clock.now()}})
    doc = await collection.find_one(query)
    if doc is None:
        raise Problem(404, "Not Found", "no such notification")
    return NotificationOut(
        notification_id=doc["_id"], **{k: doc[k] for k in NotificationOut.model_fields if k in doc}
    )
