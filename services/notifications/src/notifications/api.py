"""HTTP routes the portal calls: a person's in-app feed, their notification preferences, and the
program admins' registration as their org's escalation contacts. Thin: request -> use case ->
response model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from servicekit.auth import CurrentPrincipal, Role, forbid_unless
from servicekit.problems import PROBLEM_JSON, Problem

from notifications.domain.notification import Notification
from notifications.domain.preferences import Category, Preferences, zone
from notifications.domain.recipient import RecipientErased
from notifications.use_cases import ContactDetails, NotificationsUseCases

router = APIRouter(tags=["notifications"])
ME = "me"


async def _use_cases(request: Request) -> NotificationsUseCases:
    """The one place a route's dependencies come from (built once in app.py)."""
    use_cases: NotificationsUseCases = request.app.state.notifications
    return use_cases


UseCases = Annotated[NotificationsUseCases, Depends(_use_cases)]


class ProblemOut(BaseModel):
    """An RFC 9457 problem (application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    trace_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(default=None, description="Invalid fields (422).")


_PROBLEMS = {
    401: "No valid bearer token",
    403: "The caller's roles do not allow it",
    404: "No such notification, or the person was erased",
    422: "Invalid input; nothing was written",
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ProblemOut, "description": _PROBLEMS[status], "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }


class NotificationOut(BaseModel):
    notification_id: str
    recipient_id: str
    kind: str
    category: Category | None = None
    title: str
    body: str
    action: str | None = None
    channel: str = "in_app"
    cause_event_id: str
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, notification: Notification) -> NotificationOut:
        return cls(
            notification_id=notification.id,
            recipient_id=notification.recipient_id,
            kind=notification.kind,
            category=notification.category,
            title=notification.title,
            body=notification.body,
            action=notification.action,
            cause_event_id=notification.cause_event_id,
            created_at=notification.feed_at or notification.created_at,
            read_at=notification.read_at,
        )


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int
    total: int
    next_offset: int | None


@router.get(
    "/notifications",
    response_model=NotificationPage,
    responses=_problems(401, 403, 422),
    summary="A person's in-app notifications, newest first, with the unread count (mine by default)",
)
async def list_notifications(
    use_cases: UseCases,
    principal: CurrentPrincipal,
    recipient: str | None = Query(
        default=None, min_length=1, max_length=128, description="Whose feed; omitted or `me`: mine."
    ),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0, le=100_000),
    unread_only: bool = False,
) -> NotificationPage:
    whose = principal.employee_id if recipient is None or recipient == ME else recipient
    forbid_unless(whose == principal.employee_id or principal.is_admin, "read another person's notifications")
    page = await use_cases.feed.page(
        principal.org_id, whose, unread_only=unread_only, offset=offset, limit=limit
    )
    more = offset + len(page.items) < page.total
    return NotificationPage(
        items=[NotificationOut.of(n) for n in page.items],
        unread=page.unread,
        total=page.total,
        next_offset=offset + len(page.items) if more else None,
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationOut,
    responses=_problems(401, 404),
    summary="Mark a notification read",
)
async def mark_read(
    notification_id: str, use_cases: UseCases, principal: CurrentPrincipal
) -> NotificationOut:
    read = await use_cases.feed.mark_read(principal.org_id, principal.employee_id, notification_id)
    if read is None:
        raise Problem(404, "Not Found", "There is no such notification in your feed.")
    return NotificationOut.of(read)


class ReadAll(BaseModel):
    marked: int


@router.post(
    "/notifications/read",
    response_model=ReadAll,
    responses=_problems(401),
    summary="Mark all of my notifications read",
)
async def mark_all_read(use_cases: UseCases, principal: CurrentPrincipal) -> ReadAll:
    return ReadAll(marked=await use_cases.feed.mark_all_read(principal.org_id, principal.employee_id))


@router.get(
    "/preferences/me",
    response_model=Preferences,
    responses=_problems(401),
    summary="My notification preferences",
)
async def my_preferences(use_cases: UseCases, principal: CurrentPrincipal) -> Preferences:
    return await use_cases.people.preferences(principal.org_id, principal.employee_id)


@router.put(
    "/preferences/me",
    response_model=Preferences,
    responses=_problems(401, 404, 422),
    summary="Set my notification preferences",
)
async def set_my_preferences(
    preferences: Preferences, use_cases: UseCases, principal: CurrentPrincipal
) -> Preferences:
    try:
        return await use_cases.people.set_preferences(principal.org_id, principal.employee_id, preferences)
    except RecipientErased:
        raise Problem(404, "Not Found", "This person was erased.") from None


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
            raise ValueError("This is not a known IANA timezone, such as Europe/Paris.")
        return value


class EscalationContacts(BaseModel):
    org_id: str
    admin_ids: list[str]


@router.get(
    "/escalation-contacts",
    response_model=EscalationContacts,
    responses=_problems(401, 403),
    tags=["escalation"],
    summary="Who receives my org's escalations (program admins only)",
)
async def list_escalation_contacts(use_cases: UseCases, principal: CurrentPrincipal) -> EscalationContacts:
    forbid_unless(principal.is_admin, "see the escalation contacts")
    admins = await use_cases.people.escalation_contacts(principal.org_id)
    return EscalationContacts(org_id=principal.org_id, admin_ids=admins)


@router.put(
    "/escalation-contacts/me",
    response_model=EscalationContacts,
    responses=_problems(401, 403, 422),
    tags=["escalation"],
    summary="Register myself as an escalation contact of my org (program_admin or hr_admin)",
)
async def register_escalation_contact(
    use_cases: UseCases, principal: CurrentPrincipal, contact: EscalationContactIn | None = None
) -> EscalationContacts:
    forbid_unless(principal.has(Role.PROGRAM_ADMIN, Role.HR_ADMIN), "receive your org's escalations")
    details = ContactDetails(**contact.model_dump()) if contact is not None else None
    admins = await use_cases.people.register_escalation_contact(
        principal.org_id, principal.employee_id, details
    )
    return EscalationContacts(org_id=principal.org_id, admin_ids=admins)


@router.delete(
    "/escalation-contacts/me",
    status_code=204,
    response_class=Response,
    responses=_problems(401),
    tags=["escalation"],
    summary="Stop receiving my org's escalations",
)
async def unregister_escalation_contact(use_cases: UseCases, principal: CurrentPrincipal) -> Response:
    await use_cases.people.unregister_escalation_contact(principal.org_id, principal.employee_id)
    return Response(status_code=204)
