"""A small programmable HTTP/1.1 server on 127.0.0.1 for the REST extract tests.

Each test registers routes (``server.route("GET", "/items", handler)``); a handler receives a
:class:`Request` and returns ``(status, headers, body)`` where body is bytes, str or a JSON-able object.
Every request is recorded so tests can assert exactly what the client sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


Response = tuple[int, dict[str, str], Any]
Handler = Callable[[Request], Response]


@dataclass
class _State:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=parts.path,
            query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_port=self.client_address[1],
        )
        with self.state.lock:
            self.state.requests.append(request)
            handler = self.state.routes.get((self.command, parts.path))
        if handler is None:
            status, headers, payload = 404, {}, {"error": f"no route {self.command} {parts.path}"}
        else:
            status, headers, payload = handler(request)
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _handle


class FixtureServer:
    """Threaded HTTP server with per-test routes; ``url`` is its base URL."""

    def __init__(self) -> None:
        self._state = _State()
        handler = type("Handler", (_RequestHandler,), {"state": self._state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def start(self) -> FixtureServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, method: str, path: str, handler: Handler) -> None:
        with self._state.lock:
            self._state.routes[(method, path)] = handler

    def reset(self) -> None:
        with self._state.lock:
            self._state.routes.clear()
            self._state.requests.clear()

    @property
    def requests(self) -> list[Request]:
        with self._state.lock:
            return list(self._state.requests)


class InFlight:
    """Counts the requests a handler is answering at once (``with flight:`` around the answer); the most
    seen is ``peak``."""

    def __init__(self) -> None:
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


def sequence(*responses: Response) -> Handler:
    """A handler that returns the given responses in order, then repeats the last one."""
    remaining = list(responses)

    def handler(request: Request) -> Response:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return handler


def stripe_list(records: list[dict[str, Any]], *, default_limit: int = 10, max_limit: int = 100) -> Handler:
    """A Stripe-style list endpoint: ``limit`` and ``starting_after=<id of the last record seen>``; the body
    is ``{"object": "list", "url", "has_more", "data"}`` with no cursor field: the next cursor is the last
    record's ``id``. An unknown ``starting_after`` is a 400, as Stripe answers ``resource_missing``."""
    position = {record["id"]: index for index, record in enumerate(records)}

    def handler(request: Request) -> Response:
        limit = int(request.query.get("limit", default_limit))
        if not 1 <= limit <= max_limit:
            return 400, {}, {"error": {"type": "invalid_request_error", "param": "limit"}}
        after = request.query.get("starting_after")
        if after is not None and after not in position:
            return 400, {}, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                       "param": "starting_after"}}
        start = 0 if after is None else position[after] + 1
        chunk = records[start : start + limit]
        more = start + limit < len(records)
        return 200, {}, {"object": "list", "url": request.path, "has_more": more, "data": chunk}

    return handler
