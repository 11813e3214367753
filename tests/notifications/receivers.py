"""Real servers on the other end of the channels: an SMTP server (aiosmtpd) keeping what it
receives, and an HTTP webhook receiver that checks the HMAC signature and can answer errors first."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from localstack import free_port


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, content_type: str) -> str | None:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        return None


class _Inbox:
    def __init__(self, fail_first: int) -> None:
        self.mails: list[Mail] = []
        self.refused = 0
        self.fail_first = fail_first
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refused < self.fail_first:
                self.refused += 1
                return "451 4.3.0 Try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpServer:
    """aiosmtpd on a free port, in its own thread; `mails` is what it accepted. With `login` it
    requires AUTH with those credentials; it answers 451 to the first `fail_first` messages."""

    def __init__(self, *, login: tuple[str, str] | None = None, fail_first: int = 0) -> None:
        self.port = free_port()
        self._inbox = _Inbox(fail_first)
        options: dict[str, Any] = {}
        if login is not None:

            def authenticator(
                server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (
                        auth_data.login.decode(),
                        auth_data.password.decode(),
                    )
                    == login
                )
                return AuthResult(success=ok)

            # Plain-text AUTH is fine on the loopback interface of a test.
            options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(self._inbox, hostname="127.0.0.1", port=self.port, **options)

    @property
    def refused(self) -> int:
        return self._inbox.refused

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def mails(self) -> list[Mail]:
        with self._inbox.lock:
            return list(self._inbox.mails)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]


@dataclass
class WebhookReceiver:
    """Accepts signed JSON POSTs; answers `fail_first` requests with `fail_status` first."""

    secret: str
    fail_first: int = 0
    fail_status: int = 503
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.port = free_port()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver._answer(self.headers, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/mentorship"

    def _answer(self, headers: Any, body: bytes) -> int:
        timestamp = headers.get("X-Mentorship-Timestamp", "")
        expected = (
            "sha256="
            + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        )
        with self._lock:
            if not hmac.compare_digest(expected, headers.get("X-Mentorship-Signature", "")):
                status = 401
            elif len(self.statuses) < self.fail_first or self.fail_first < 0:
                status = self.fail_status
            else:
                status = 200
                self.received.append(json.loads(body))
            self.statuses.append(status)
            return status

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
