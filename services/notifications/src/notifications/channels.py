"""The outside channels a notification travels on: email over SMTP (text, HTML and the calendar
invite) and a signed chat webhook. Each send either returns or raises `DeliveryError`, which says
whether trying again may help."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol

import aiosmtplib
import httpx

SIGNATURE_HEADER = "X-Mentorship-Signature"
TIMESTAMP_HEADER = "X-Mentorship-Timestamp"


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Outgoing:
    """One message to one person on one channel, rendered."""

    notification_id: str
    kind: str
    recipient_id: str
    recipient_name: str
    recipient_email: str | None
    title: str
    body: str
    action: str
    calendar: str | None = None
    sender_name: str = "Mentorship program"  # in the recipient's language


class Channel(Protocol):
    async def send(self, outgoing: Outgoing, *, now: datetime) -> None: ...


def render_html(outgoing: Outgoing) -> str:
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in outgoing.body.split("\n") if line)
    return (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f"<h2>{html.escape(outgoing.title)}</h2>{paragraphs}"
        f"<p><strong>{html.escape(outgoing.action)}</strong></p>"
        "</body></html>"
    )


class EmailChannel:
    """SMTP with optional implicit TLS or STARTTLS and login; one connection per message."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool = False,
        validate_certs: bool = True,
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._use_tls = use_tls
        self._start_tls = start_tls
        self._validate_certs = validate_certs
        self._timeout = timeout

    def compose(self, outgoing: Outgoing) -> EmailMessage:
        if not outgoing.recipient_email:
            raise DeliveryError("the recipient has no email address", transient=False)
        mail = EmailMessage()
        mail["From"] = formataddr((outgoing.sender_name, self._sender))
        mail["To"] = formataddr((outgoing.recipient_name, outgoing.recipient_email))
        mail["Subject"] = outgoing.title
        domain = self._sender.rpartition("@")[2] or "mentorship"
        # Derived from the notification, so a resend after a crash is recognisably the same mail.
        mail["Message-ID"] = make_msgid(idstring=outgoing.notification_id, domain=domain)
        mail["X-Mentorship-Notification-Id"] = outgoing.notification_id
        mail["X-Mentorship-Kind"] = outgoing.kind
        mail.set_content(f"{outgoing.body}\n\n{outgoing.action}\n")
        mail.add_alternative(render_html(outgoing), subtype="html")
        if outgoing.calendar:
            mail.add_attachment(
                outgoing.calendar.encode(),
                maintype="text",
                subtype="calendar",
                filename="invite.ics",
                params={"method": "REQUEST"},
            )
        return mail

    async def send(self, outgoing: Outgoing, *, now: datetime) -> None:
        mail = self.compose(outgoing)
        context = None if self._validate_certs else _unverified_context()
        try:
            await aiosmtplib.send(
                mail,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._use_tls,
                start_tls=self._start_tls,
                validate_certs=self._validate_certs,
                tls_context=context,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            raise DeliveryError(f"recipient refused: {error}", transient=False) from error
        except aiosmtplib.SMTPResponseException as error:
            # 4xx: try later (greylisting, mailbox busy); 5xx: the server will never take it.
            raise DeliveryError(f"SMTP {error.code}: {error.message}", transient=error.code < 500) from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP unreachable: {error!r}", transient=True) from error


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>`; the receiver recomputes it and
    rejects old timestamps, so a captured request cannot be replayed later."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class ChatWebhookChannel:
    """A Slack/Teams-style incoming webhook: a JSON POST, signed with HMAC-SHA256."""

    def __init__(self, *, url: str, secret: str, timeout: float = 5.0) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout

    def payload(self, outgoing: Outgoing) -> dict[str, object]:
        return {
            "text": f"*{outgoing.title}*\n{outgoing.body}",
            "recipient": {"id": outgoing.recipient_id, "email": outgoing.recipient_email},
            "notification_id": outgoing.notification_id,
            "kind": outgoing.kind,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": outgoing.title[:150]}},
                {"type": "section", "text": {"type": "mrkdwn", "text": outgoing.body}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": outgoing.action}]},
            ],
        }

    async def send(self, outgoing: Outgoing, *, now: datetime) -> None:
        body = json.dumps(self.payload(outgoing), separators=(",", ":")).encode()
        timestamp = str(int(now.timestamp()))
        headers = {
            "content-type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            "Idempotency-Key": outgoing.notification_id,
        }
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook unreachable: {error!r}", transient=True) from error
        if response.is_success:
            return
        transient = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(f"webhook answered {response.status_code}", transient=transient)
