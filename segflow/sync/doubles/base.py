"""A threaded stdlib HTTP server with scripted faults and token-bucket rate limits."""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class HttpError(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


@dataclass
class Fault:
    """The next `times` requests matching `route` (regex on "METHOD /path") fail this way:
    a status (429 with Retry-After, 5xx) or `drop` (the connection closes without an answer).
    `after` lets the request through first (the platform did the work, the answer is lost)."""

    route: str
    times: int = 1
    status: int = 0
    retry_after: int | None = None
    drop: bool = False
    after: bool = False


@dataclass
class Bucket:
    """A token bucket: `burst` requests at once, refilled at `per_second`."""

    burst: float
    per_second: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        now = time.monotonic()
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.per_second)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.per_second


Handler = Callable[["Request"], tuple[int, Any]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any
    body: Any
    params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


class Double:
    """Routes, faults and rate limits shared by the platform doubles."""

    content_type = "application/json"

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        self.faults: list[Fault] = []
        self.limits: dict[str, Bucket] = {}  # rate-limit class -> bucket
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) served
        self.lists: dict[str, dict[str, Any]] = {}  # list id -> the platform's list, with "name"
        self.lock = threading.RLock()
        self.server: ThreadingHTTPServer | None = None
        self.base = ""  # http://127.0.0.1:PORT once started
        self.record = False  # keep every exchange, to check it against the API description
        self.exchanges: list[tuple[str, str, Any, int, Any]] = []

    # -- set-up ------------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler, limit: str = "") -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method, regex, handler, limit))

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    def rate_limit(self, name: str, burst: float, per_second: float) -> None:
        self.limits[name] = Bucket(burst, per_second)

    def start(self) -> str:
        double = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # headers and body are two writes: without this, Nagle + delayed ACK add 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                double._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.base

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def list_id(self, name: str) -> str | None:
        """For tests: the id of the list called `name`."""
        return next((i for i, v in self.lists.items() if v["name"] == name), None)

    # -- serving -----------------------------------------------------------------------------
    def authenticate(self, request: Request) -> None:
        """Raise HttpError when the request lacks the platform's headers."""

    def error_body(self, status: int, detail: str) -> Any:
        return {"status": status, "detail": detail}

    def _fault_for(self, key: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and re.search(fault.route, key):
                    fault.times -= 1
                    return fault
        return None

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        url = urlsplit(http.path)
        length = int(http.headers.get("Content-Length") or 0)
        raw = http.rfile.read(length) if length else b""
        key = f"{http.command} {url.path}"
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self._send(http, 400, self.error_body(400, "the body is no JSON"), {})
            return
        request = Request(http.command, url.path, parse_qs(url.query), http.headers, body)
        fault = self._fault_for(key)
        if fault and fault.drop and not fault.after:
            self._drop(http)
            return
        if fault and fault.status and not fault.after:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            self._send(http, fault.status, self.error_body(fault.status, "injected"), headers)
            return
        status, payload, headers = self._dispatch(request)
        if self.record:
            with self.lock:
                self.exchanges.append((request.method, request.path, body, status, payload))
        if fault and fault.after:  # the work is done, the answer never arrives
            self._drop(http)
            return
        self._send(http, status, payload, headers)

    def _dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        try:
            self.authenticate(request)
            for method, regex, handler, limit in self.routes:
                match = regex.match(request.path)
                if method == request.method and match:
                    request.params = match.groupdict()
                    if limit in self.limits:
                        with self.lock:
                            wait = self.limits[limit].take()
                        if wait:
                            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
                            raise HttpError(429, self.error_body(429, "throttled"), retry)
                    with self.lock:
                        status, payload = handler(request)
                    return status, payload, {}
            raise HttpError(404, self.error_body(404, f"no route {request.method} {request.path}"))
        except HttpError as exc:
            return exc.status, exc.body, exc.headers

    def _send(self, http: Any, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        with self.lock:
            self.requests.append((http.command, urlsplit(http.path).path, status))
        http.send_response(status)
        if data:
            http.send_header("Content-Type", self.content_type)
        http.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            http.send_header(name, value)
        http.end_headers()
        http.wfile.write(data)

    def _drop(self, http: Any) -> None:
        with self.lock:
            self.requests.append((http.command, urlsplit(http.path).path, 0))
        http.close_connection = True
        with contextlib.suppress(OSError):
            http.connection.shutdown(2)

    def count(self, pattern: str = "", status: int | None = None) -> int:
        with self.lock:
            return sum(
                1
                for method, path, code in self.requests
                if re.search(pattern, f"{method} {path}") and (status is None or code == status)
            )
