"""A local HTTP server for provider tests: http.server in a thread on 127.0.0.1:0.

A test sets routes (a regular expression matched against the whole path, query excluded) and the
replies each route gives in turn; the last reply repeats. Every request is recorded, so a test can
count calls and read the headers and query a provider sent. Nothing here touches the internet.

    with FakeServer() as server:
        server.route("/v3/forecast", Reply(429, headers={"Retry-After": "0"}), Reply(json={...}))
        provider = WattTimeProvider(..., base_url=server.url)
        ...
        assert server.count("/v3/forecast") == 2
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    """One canned response. `delay` seconds pass before it is sent (for timeout tests)."""

    status: int = 200
    json: Any = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Handler = Callable[[Recorded], Reply]


class _Route:
    def __init__(self, pattern: str, replies: list[Reply] | Handler) -> None:
        self.regex = re.compile(pattern)
        self.replies = replies
        self.served = 0

    def next_reply(self, request: Recorded) -> Reply:
        if callable(self.replies):
            return self.replies(request)
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class FakeServer:
    """A threaded HTTP server whose routes and replies a test sets; see the module docstring."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Recorded] = []
        server = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one segment: otherwise Nagle plus delayed ACKs add ~40 ms a call.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches on
                parts = urlsplit(self.path)
                request = Recorded(
                    method="GET",
                    path=parts.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                reply = server._dispatch(request)
                if reply.delay and server._stopping.wait(reply.delay):
                    return
                if reply.body is not None:
                    payload = reply.body.encode()
                    content_type = "text/plain"
                else:
                    payload = json.dumps(reply.json).encode()
                    content_type = "application/json"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
                pass  # keep test output clean

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, pattern: str, *replies: Reply | Handler) -> None:
        """Answer paths matching `pattern` (re.fullmatch) with `replies` in turn, or a handler."""
        if len(replies) == 1 and callable(replies[0]):
            target: list[Reply] | Handler = replies[0]
        else:
            if not replies or not all(isinstance(r, Reply) for r in replies):
                raise TypeError("route() takes Reply objects or one handler function")
            target = list(replies)  # type: ignore[arg-type]
        with self._lock:
            self._routes.insert(0, _Route(pattern, target))  # later routes win

    def _dispatch(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            for route in self._routes:
                if route.regex.fullmatch(request.path):
                    return route.next_reply(request)
        return Reply(404, json={"error": f"no route for {request.path}"})

    def requests_to(self, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if regex.fullmatch(r.path)]

    def count(self, pattern: str) -> int:
        """How many requests hit paths matching `pattern` (re.fullmatch)."""
        return len(self.requests_to(pattern))

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wake handlers sleeping for a timeout test
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- Error bodies the real services send, for fakes to serve (never invented wording) -------------
# Electricity Maps v3: a 401 is a JSON object with an "error" string (its OpenAPI-generated SDK;
# the wording is not documented, so "..." stands for it, and hyperweb decides by status code
# alone); a refused zone or endpoint answers 403 with the plain text "Access denied" (a recorded
# real response: HTTP 403, body "Access denied").
EM_401 = Reply(401, json={"error": "..."})
EM_403 = Reply(403, body="Access denied")
