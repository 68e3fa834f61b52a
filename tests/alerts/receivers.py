"""Real local receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP server that checks
each webhook's signature, both in threads of the test process."""

from __future__ import annotations

import json
import queue
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from alerts.delivery import SIGNATURE_HEADER, verify


class _MailHandler:
    def __init__(self, inbox: queue.Queue) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        self.inbox.put((list(envelope.rcpt_tos), envelope.mail_from, message))
        return "250 Message accepted for delivery"


class SMTPServer:
    """aiosmtpd on 127.0.0.1 and a free port; `wait()` returns the next message received. With
    `login=(user, password)` it requires SMTP AUTH (over plain TCP: a test server only)."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.inbox: queue.Queue = queue.Queue()
        options: dict[str, Any] = {}
        if login is not None:

            def authenticator(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = (data.login.decode(), data.password.decode()) == login
                return AuthResult(success=ok, handled=False)

            options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
        # aiosmtpd's controller checks it is up by connecting to its port, so it needs a real one.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        self.controller = Controller(_MailHandler(self.inbox), hostname="127.0.0.1", port=free, **options)

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    @property
    def port(self) -> int:
        return self.controller.port

    def wait(self, timeout: float = 10.0) -> tuple[list[str], str, Message]:
        return self.inbox.get(timeout=timeout)

    def empty(self) -> bool:
        return self.inbox.empty()

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server answering each POST with the next status of `statuses` (then 200), recording
    each request and whether its signature verifies with `secret`."""

    secret: str
    statuses: list[int] = field(default_factory=list)
    received: queue.Queue = field(default_factory=queue.Queue)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = verify(receiver.secret, body, self.headers.get(SIGNATURE_HEADER, ""))
                receiver.received.put(Received(self.path, dict(self.headers), body, ok))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if not ok:
                    status = 401
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/s3cr3t-path-token"

    def wait(self, timeout: float = 10.0) -> Received:
        return self.received.get(timeout=timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
