"""Responses the fault injector sends instead of (or while breaking) a normal page."""

from __future__ import annotations

from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from dataeng_local.demo_api.faults import FaultSpec, rate_limit_headers

_GATEWAY_PAGE = (
    "<!DOCTYPE html><html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}"
    "</h1></center><hr><center>nginx</center></body></html>\n"
)
_MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head><body><h1>We'll be back soon"
    "</h1><p>The service is undergoing maintenance.</p></body></html>\n"
)
_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def status_fault(spec: FaultSpec) -> Response:
    """429 with rate-limit headers, or a 5xx (gateway errors as HTML, as proxies send them)."""
    status = int(spec.kind)
    if status == 429:
        return JSONResponse(
            {"error": "rate_limited", "message": "Too many requests"},
            status_code=429,
            headers=rate_limit_headers(spec),
        )
    headers = rate_limit_headers(spec) if status == 503 and spec.retry_after is not None else {}
    if status in (502, 504):
        return HTMLResponse(_GATEWAY_PAGE.format(status=status, reason=_REASONS[status]), status_code=status)
    return JSONResponse(
        {"error": _REASONS[status].lower().replace(" ", "_"), "message": "injected fault"},
        status_code=status,
        headers=headers,
    )


def html_ok() -> Response:
    """An HTML maintenance page with status 200 (what a misconfigured proxy or CDN returns)."""
    return HTMLResponse(_MAINTENANCE_PAGE, status_code=200)


def not_json_ok() -> Response:
    """Status 200, declared JSON, body that is not JSON."""
    return Response(
        b"upstream returned an invalid response\n", status_code=200, media_type="application/json"
    )


class TruncatedResponse(Response):
    """Declares the full Content-Length, sends half the body, then ends without completing it.

    The server closes the connection when the application returns mid-body, so the client sees a
    connection closed before the declared length.
    """

    def __init__(self, full_body: bytes) -> None:
        super().__init__(content=full_body, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )
