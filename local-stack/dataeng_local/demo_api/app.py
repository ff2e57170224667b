"""The demo source API as a Starlette application (see ``README.md`` in this folder for the contract)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dataeng_local.demo_api import graphql, responses
from dataeng_local.demo_api.auth import MODES, Authenticator
from dataeng_local.demo_api.cache import ByteLRU
from dataeng_local.demo_api.clock import SimClock
from dataeng_local.demo_api.config import DemoApiConfig
from dataeng_local.demo_api.faults import STATUS_FAULTS, FaultBook, FaultSpec, parse_fault
from dataeng_local.demo_api.graphql_resolve import Connection, GraphQLError
from dataeng_local.demo_api.limits import Limits, RateLimiter, parse_limits
from dataeng_local.demo_api.paging import (
    NORMAL,
    BadRequest,
    Mutation,
    build_page,
    parse_page_request,
    start_position,
)
from dataeng_local.demo_api.selection import select
from dataeng_local.demo_api.timefmt import parse_iso, to_iso
from dataeng_local.demo_api.views import RESOURCES, Dataset

_NORMAL = NORMAL


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "message": message}, status_code=400)


class DemoApi:
    """State of one server (clock, fault counters, caches) and its request handlers."""

    def __init__(self, config: DemoApiConfig) -> None:
        self.config = config
        self.dataset = Dataset(config.shape)
        self.clock = SimClock(config.clock, config.start_time)
        key = hashlib.sha256(f"{config.shape.seed}:{config.credentials.client_secret}".encode()).digest()
        self.auth = Authenticator(config.credentials, key)
        self.faults = FaultBook()
        self.limiter = RateLimiter()
        # the page requests served (REST and GraphQL): what a test asserts about a client's requests
        self.requests: deque[dict[str, Any]] = deque(maxlen=100_000)
        self.cache: ByteLRU[tuple[Any, ...]] = ByteLRU(config.cache_mb * 1024 * 1024)
        self.default_faults = dict(parse_qsl(config.default_faults))

    def params(self, request: Request) -> dict[str, str]:
        """Request query parameters over the server's default fault parameters."""
        return {**self.default_faults, **request.query_params}

    # -- faults shared by REST and GraphQL -------------------------------------------------------
    async def fault_response(
        self, spec: FaultSpec | None, page_number: int, has_cursor: bool
    ) -> tuple[Response | None, Mutation, bool]:
        """(early response, page mutation, truncate?) for a request that may be faulted."""
        if spec is None or (spec.kind == "repeat_cursor" and not has_cursor):
            return None, _NORMAL, False
        if not self.faults.fires(spec, page_number):
            return None, _NORMAL, False
        if spec.kind in STATUS_FAULTS:
            return responses.status_fault(spec), _NORMAL, False
        if spec.kind == "flaky":
            return responses.status_fault(FaultSpec(**{**spec.__dict__, "kind": "503"})), _NORMAL, False
        if spec.kind == "html":
            return responses.html_ok(), _NORMAL, False
        if spec.kind == "not_json":
            return responses.not_json_ok(), _NORMAL, False
        if spec.kind == "slow":
            await asyncio.sleep(spec.delay)
            return None, _NORMAL, False
        return None, spec.mutation(), spec.kind == "truncate"

    async def limit(self, request: Request, limits: Limits) -> tuple[Response | None, dict[str, str]]:
        """(429 response or None, rate-limit headers for the answer) after the request's latency."""
        entry = {
            "at": time.time(),
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "rate_limited": False,
        }
        self.requests.append(entry)
        if limits.latency:
            await asyncio.sleep(limits.latency)
        if limits.rate_limit is None:
            return None, {}
        admission = self.limiter.admit(limits.key, limits.rate_limit)
        if not admission.admitted:
            entry["rate_limited"] = True
            body = {"error": "rate_limited", "message": f"more than {limits.rate_limit} requests per second"}
            return JSONResponse(body, status_code=429, headers=admission.headers), {}
        return None, admission.headers

    # -- REST ------------------------------------------------------------------------------------
    async def list_records(self, request: Request, mode: str) -> Response:
        denied = self.auth.check(mode, request.headers)
        if denied is not None:
            return denied
        params = self.params(request)
        try:
            spec = parse_fault(params, request.url.path)
            limits = parse_limits(params)
            sel = select(request.path_params["resource"], params, self.clock.now())
            view = self.dataset.view(sel.resource, sel.t, sel.window, sel.include_deleted, sel.records)
            page_request = parse_page_request(
                params, self.config.default_page_size, self.config.max_page_size
            )
            start = start_position(view, page_request)
        except BadRequest as exc:
            return _bad_request(str(exc))
        refused, limit_headers = await self.limit(request, limits)
        if refused is not None:
            return refused
        early, mutation, truncate = await self.fault_response(
            spec, start // page_request.limit + 1, page_request.cursor is not None
        )
        if early is not None:
            return early
        base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        cache_key = ("rest", base, sel.t, tuple(sorted(request.query_params.multi_items())))
        cached = self.cache.get(cache_key) if mutation == _NORMAL else None
        if cached is None:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]

            def next_url(cursor: str) -> str:
                return f"{base}?{urlencode([*kept, ('cursor', cursor)])}"

            body, headers = build_page(view, page_request, start, next_url, mutation)
            if mutation == _NORMAL:
                self.cache.put(cache_key, body, headers)
        else:
            body, headers = cached
        if truncate:
            return responses.TruncatedResponse(body)
        return Response(body, media_type="application/json", headers={**headers, **limit_headers})

    # -- GraphQL ---------------------------------------------------------------------------------
    async def graphql(self, request: Request, mode: str) -> Response:
        denied = self.auth.check(mode, request.headers)
        if denied is not None:
            return denied
        try:
            payload = (
                orjson.loads(await request.body()) if request.method == "POST" else dict(request.query_params)
            )
            query, variables = payload.get("query"), payload.get("variables") or {}
            if isinstance(variables, str):
                variables = orjson.loads(variables)
            if not isinstance(query, str):
                raise graphql.GraphQLSyntaxError("the request needs a 'query' string")
            roots = graphql.parse(query, variables)
        except (orjson.JSONDecodeError, graphql.GraphQLSyntaxError, AttributeError) as exc:
            return JSONResponse({"errors": [{"message": str(exc)}]}, status_code=400)
        params = self.params(request)
        try:
            spec = parse_fault(params, request.url.path)
            limits = parse_limits(params)
            now = self.clock.now()
            cfg = self.config
            connections = [
                Connection(self.dataset, r, now, cfg.default_page_size, cfg.max_page_size) for r in roots
            ]
        except (BadRequest, GraphQLError) as exc:
            return JSONResponse({"data": None, "errors": [{"message": str(exc)}]})
        refused, limit_headers = await self.limit(request, limits)
        if refused is not None:
            return refused
        first = connections[0] if connections else None
        early, mutation, truncate = await self.fault_response(
            spec, first.page_number if first else 1, bool(first and first.after is not None)
        )
        if early is not None:
            return early
        cache_key = (
            "graphql",
            now,
            query,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
            tuple(sorted(request.query_params.multi_items())),
        )
        cached = self.cache.get(cache_key) if mutation == _NORMAL else None
        if cached is None:
            body = orjson.dumps({"data": {c.root.alias: c.resolve(mutation) for c in connections}})
            if mutation == _NORMAL:
                self.cache.put(cache_key, body, {})
        else:
            body = cached[0]
        if truncate:
            return responses.TruncatedResponse(body)
        return Response(body, media_type="application/json", headers=limit_headers)

    # -- OAuth, admin, health --------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        # application/x-www-form-urlencoded, parsed here so no multipart library is needed
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        return self.auth.issue(form, request.headers)

    def clock_state(self) -> dict[str, Any]:
        now = self.clock.now()
        shape = self.config.shape
        return {
            "as_of": to_iso(now),
            "mode": self.clock.mode,
            "epoch": to_iso(shape.epoch),
            "run_seconds": shape.run_seconds,
            "run": (now - shape.epoch) // shape.run_seconds,
        }

    async def get_clock(self, request: Request) -> Response:
        return JSONResponse(self.clock_state())

    async def set_clock(self, request: Request) -> Response:
        try:
            body: Mapping[str, Any] = orjson.loads(await request.body() or b"{}")
            if "as_of" in body:
                self.clock.set(int(parse_iso(str(body["as_of"]))))
            elif "advance_runs" in body:
                self.clock.advance(int(body["advance_runs"]) * self.config.shape.run_seconds)
            elif "advance_seconds" in body:
                self.clock.advance(int(body["advance_seconds"]))
            else:
                raise ValueError("send one of as_of, advance_runs, advance_seconds")
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            return _bad_request(str(exc))
        return JSONResponse(self.clock_state())

    async def reset_faults(self, request: Request) -> Response:
        self.faults.reset()
        self.limiter.reset()
        return JSONResponse({"reset": True})

    async def get_requests(self, request: Request) -> Response:
        """The page requests served so far (``?since=<at>``: only later ones), oldest first."""
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            return _bad_request("since must be a number (a request's 'at')")
        return JSONResponse({"requests": [r for r in self.requests if r["at"] > since]})

    async def reset_requests(self, request: Request) -> Response:
        self.requests.clear()
        return JSONResponse({"reset": True})

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def index(self, request: Request) -> Response:
        return JSONResponse(
            {
                "resources": list(RESOURCES),
                "rest": [f"{prefix}/v1/{{resource}}" for prefix in MODES],
                "graphql": [f"{prefix}/graphql" for prefix in MODES],
                "token": "/oauth/token",
                "clock": self.clock_state(),
                "pagination": ["page", "offset", "cursor", "link", "next_url"],
            }
        )


def create_app(config: DemoApiConfig | None = None) -> Starlette:
    """The ASGI application for ``config`` (defaults: seed 42, fixed clock at epoch + 7 days)."""
    api = DemoApi(config or DemoApiConfig())
    routes = [
        Route("/", api.index),
        Route("/healthz", api.health),
        Route("/oauth/token", api.token, methods=["POST"]),
        Route("/admin/clock", api.get_clock, methods=["GET"]),
        Route("/admin/clock", api.set_clock, methods=["POST"]),
        Route("/admin/faults/reset", api.reset_faults, methods=["POST"]),
        Route("/admin/requests", api.get_requests, methods=["GET"]),
        Route("/admin/requests/reset", api.reset_requests, methods=["POST"]),
    ]
    for prefix, mode in MODES.items():
        routes.append(Route(f"{prefix}/v1/{{resource}}", _bind(api.list_records, mode)))
        routes.append(Route(f"{prefix}/graphql", _bind(api.graphql, mode), methods=["GET", "POST"]))
    app = Starlette(routes=routes)
    app.state.api = api
    return app


def _bind(handler: Any, mode: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await handler(request, mode)

    return endpoint
