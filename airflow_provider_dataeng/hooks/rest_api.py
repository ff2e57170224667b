"""REST API hook: connection -> session, auth, retries, rate limit, and page-by-page pagination.

Works with this provider's ``rest_api`` connection type and with a stock ``http`` connection. Heavy
libraries (``requests``, ``urllib3``) are imported when the first request is made, not at module import,
so DAG files that import the operator stay cheap to parse.
"""

from __future__ import annotations

import json as jsonlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict, Unpack
from urllib.parse import urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException

from airflow_provider_dataeng.hooks.rest_redact import Redactor
from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy, RetryableHTTPError, server_wait_hint
from airflow_provider_dataeng.hooks.rest_settings import (
    RestApiSettings,
    extra_value,
    settings_from_connection,
)
from airflow_provider_dataeng.pagination import (
    BasePaginator,
    PageDecoder,
    PageRequest,
    PageResponse,
    PageShapeError,
    PaginationError,
    PaginationLoopError,
    SinglePagePaginator,
    describe_path,
    parse_path,
)

if TYPE_CHECKING:
    import requests

    from airflow_provider_dataeng.hooks.rest_concurrency import PagePrefetcher, RequestLimits

_EXCERPT = 300


class RestApiHTTPError(AirflowException):
    """A request failed for good: a non-retryable status, or retries exhausted. The URL is redacted."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class PageQuery(TypedDict, total=False):
    """What the requests of a pagination run are (keyword arguments of :meth:`RestApiHook.paginate`, with
    :meth:`RestApiHook.iter_pages`'s defaults)."""

    method: str
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None
    json: Any
    paginator: BasePaginator | None
    records_path: str | Sequence[str] | None
    max_pages: int | None


@dataclass(frozen=True)
class PageCursor:
    """Where a pagination run stands: the next request to send and how many pages came before it."""

    request: PageRequest
    pages_done: int

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "pages_done": self.pages_done}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageCursor:
        return cls(request=PageRequest.from_dict(data["request"]), pages_done=int(data["pages_done"]))


class ApiAsksToWait(AirflowException):
    """The API asked to wait (``Retry-After`` / ``X-RateLimit-Reset``) longer than the caller wants to sleep.

    Raised instead of sleeping when ``pause_longer_than`` is set, so the caller can free its worker slot
    (defer) and continue later from ``cursor``: the request that was refused, not yet counted as a page.
    """

    def __init__(self, seconds: float, source: str, status: int, url: str) -> None:
        super().__init__(f"HTTP {status} from {url}: {source} asks to wait {seconds:g}s")
        self.seconds = seconds
        self.source = source
        self.status = status
        self.url = url
        self.cursor: PageCursor | None = None
        self.held: list[HeldPage] = []  # pages fetched ahead of the refused one (with max_concurrency)


@dataclass(frozen=True)
class HeldPage:
    """A page fetched ahead of one the server refused: kept across a deferral so that the resumed run does
    not fetch it again. ``data`` is the response as :meth:`RestApiHook.iter_pages` reads it back (``held``)."""

    fingerprint: bytes  # of the request that fetched it
    data: bytes


class _Cancelled(Exception):
    """The request is no longer wanted (the prefetcher was closed); never retried."""


class _TransientError(Exception):
    """A network-level failure worth retrying (connection refused/reset, timeout, truncated body)."""


@dataclass
class RawPage:
    """One fetched page: records as raw JSON bytes (``msgspec.Raw``) or decoded objects."""

    number: int
    url: str  # redacted
    status: int
    records: list[Any]
    body_bytes: int


@dataclass
class _Page:
    """A page fetched and decoded: the response, its records and the body fields the paginator reads."""

    fetched: _Fetched
    records: list[Any]
    fields: dict[Any, Any]


@dataclass
class _Fetched:
    url: str
    status: int
    headers: Mapping[str, str]
    links: Mapping[str, str]
    body: bytes
    content_type: str

    def to_bytes(self) -> bytes:
        """One line of JSON (URL, status, headers but cookies, links) then the body as received."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("set-cookie", "authorization")}
        meta = {"url": self.url, "status": self.status, "headers": headers, "links": dict(self.links)}
        return jsonlib.dumps(meta).encode() + b"\n" + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> _Fetched:
        from requests.structures import CaseInsensitiveDict

        line, _, body = data.partition(b"\n")
        meta = jsonlib.loads(line)
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(meta["headers"])
        return cls(
            url=meta["url"],
            status=int(meta["status"]),
            headers=headers,
            links=meta["links"],
            body=body,
            content_type=headers.get("Content-Type", ""),
        )


class RestApiHook(BaseHook):
    """Talks to one REST API: base URL and auth from an Airflow connection, retries, rate limit, pages.

    :param http_conn_id: a ``rest_api`` (or ``http``) connection; named as the HTTP provider's ``HttpHook``
        names it. Host is the host or a full base URL; schema is the URL scheme (``https`` by default).
        Extras: ``auth_type`` (``none``, ``basic``, ``bearer``, ``api_key``, ``oauth2``), ``headers``,
        ``timeout`` (seconds or ``[connect, read]``), ``verify`` (TLS, on by default),
        ``max_requests_per_second``, ``max_concurrency``; for ``api_key``: ``api_key_name``, ``api_key_in``
        (``header``/``query``); for ``oauth2``: ``token_url``, ``scope``, ``audience``,
        ``token_client_auth`` (``basic``/``body``). Secrets (password/token/key/client secret) go in the
        password field.
    :param retry_policy: attempts and waits (see :class:`HttpRetryPolicy`).
    :param max_concurrency: page requests in flight at once (default: the connection's extra
        ``max_concurrency``, else 1). Above 1, pages whose requests the paginator can predict (page numbers,
        offsets) are fetched ahead concurrently; the pages come out in order, exactly as one at a time.
        All requests share the connection's ``max_requests_per_second`` and a server's ``Retry-After``;
        a 429/503 lowers the concurrency (rules: :mod:`~airflow_provider_dataeng.hooks.rest_concurrency`).
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = "rest_api_default"
    conn_type = "rest_api"
    hook_name = "REST API (dataeng)"

    def __init__(
        self,
        http_conn_id: str = default_conn_name,
        *,
        retry_policy: HttpRetryPolicy | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        super().__init__()
        from airflow_provider_dataeng.validation import positive_int

        positive_int("max_concurrency", max_concurrency, optional=True)
        self.http_conn_id = http_conn_id
        self.retry_policy = retry_policy or HttpRetryPolicy()
        self._max_concurrency = max_concurrency
        self.redactor = Redactor()

    # -- connection ------------------------------------------------------------------------------
    @cached_property
    def connection(self) -> Any:
        conn = self.get_connection(self.http_conn_id)
        self.redactor.add(conn.password)
        return conn

    @cached_property
    def settings(self) -> RestApiSettings:
        return settings_from_connection(self.connection)

    @property
    def max_concurrency(self) -> int:
        """Page requests in flight at once: the hook's argument, else the connection's, else 1."""
        return self._max_concurrency or self.settings.max_concurrency or 1

    @cached_property
    def limits(self) -> RequestLimits:
        """Pacing, shared pause and in-flight limit of this hook's requests (shared by its threads)."""
        from airflow_provider_dataeng.hooks.rest_concurrency import RequestLimits

        return RequestLimits(self.max_concurrency, self.settings.max_requests_per_second)

    def get_conn(self) -> requests.Session:
        """The (cached) ``requests.Session`` with auth, default headers and TLS settings applied."""
        return self._session

    @cached_property
    def _session(self) -> requests.Session:
        import requests
        from requests.adapters import HTTPAdapter

        from airflow_provider_dataeng.hooks.rest_auth import build_auth

        settings = self.settings
        conn = self.connection
        auth, secret_params = build_auth(
            settings.auth_type,
            login=conn.login,
            password=conn.password,
            extras=settings.extras,
            base_url=settings.base_url,
            timeout=settings.timeout,
            verify=settings.verify,
            on_token=self._register_secret,
            conn_id=self.http_conn_id,
        )
        for name in secret_params:
            self.redactor.add_param(name)
        for secret in (extra_value(settings.extras, "token"), extra_value(settings.extras, "api_key")):
            self._register_secret(secret)
        session = requests.Session()
        # Proxy settings are read from the environment once here instead of on every request
        # (requests re-reads them per request when trust_env is on, which costs more than the parse).
        session.proxies.update(requests.utils.get_environ_proxies(settings.base_url))
        if settings.verify is True:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            session.verify = bundle or True
        else:
            session.verify = settings.verify
        session.trust_env = False
        session.auth = auth
        session.headers.update({"Accept": "application/json", **settings.headers})
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(8, self.max_concurrency), max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def prepare(self) -> None:
        """Build the session and fetch an OAuth2 token now (in the calling thread), not on the first page."""
        from airflow_provider_dataeng.hooks.rest_auth import OAuth2ClientCredentials

        auth = self.get_conn().auth
        if isinstance(auth, OAuth2ClientCredentials):
            auth.token()

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: one GET of the base URL (or extra ``test_path``) with auth and retries."""
        try:
            path = str(extra_value(self.settings.extras, "test_path", ""))
            fetched = self.fetch(PageRequest(url=self.url_for(path)))
        except Exception as exc:
            return False, self.redactor.text(exc)
        return True, f"Connected: HTTP {fetched.status} from {self.redactor.url(fetched.url)}"

    def _register_secret(self, secret: Any) -> None:
        if not secret:
            return
        self.redactor.add(str(secret))
        try:
            from airflow.sdk.log import mask_secret

            mask_secret(str(secret))
        except Exception:  # outside a task (e.g. a unit test) masking is best effort
            pass

    def url_for(self, endpoint: str) -> str:
        """``endpoint`` joined to the base URL; an absolute ``http(s)://`` endpoint is used as is."""
        if endpoint.startswith(("http://", "https://")):
            return endpoint
        return f"{self.settings.base_url.rstrip('/')}/{endpoint.lstrip('/')}"

    # -- one request with retries -----------------------------------------------------------------
    def _send_once(
        self,
        request: PageRequest,
        headers: Mapping[str, str] | None,
        cancelled: threading.Event | None = None,
    ) -> _Fetched:
        import requests
        import urllib3

        session = self._session
        if not self.limits.wait_turn(cancelled):
            raise _Cancelled()
        response = None
        try:
            response = session.request(
                request.method,
                request.url,
                params=dict(request.params) or None,
                json=request.json,
                headers=dict(headers) if headers else None,
                timeout=self.settings.timeout,
                stream=True,
            )
            # One read of the whole body at urllib3 speed (requests' .content reads 10 KB chunks).
            body = response.raw.read(decode_content=True)
        except (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError) as exc:
            raise _TransientError(f"{type(exc).__name__}: {self.redactor.text(exc)}") from None
        finally:
            if response is not None:
                response.close()
        return _Fetched(
            url=response.url,
            status=response.status_code,
            headers=response.headers,
            links=_links(response.links),
            body=body,
            content_type=response.headers.get("Content-Type", ""),
        )

    def _send_checked(
        self,
        request: PageRequest,
        headers: Mapping[str, str] | None,
        pause_longer_than: float | None = None,
        cancelled: threading.Event | None = None,
    ) -> _Fetched:
        from airflow_provider_dataeng.hooks.rest_auth import OAuth2ClientCredentials
        from airflow_provider_dataeng.hooks.rest_concurrency import THROTTLE_STATUSES

        generation = self.limits.generation
        fetched = self._send_once(request, headers, cancelled)
        auth = self._session.auth
        if fetched.status == 401 and isinstance(auth, OAuth2ClientCredentials):
            self.log.info(
                "HTTP 401 from %s: fetching a new OAuth2 token and retrying once",
                self.redactor.url(fetched.url),
            )
            auth.invalidate()
            fetched = self._send_once(request, headers, cancelled)
        if fetched.status in self.retry_policy.statuses:
            seconds, source = server_wait_hint(fetched.headers)
            if pause_longer_than is not None and seconds is not None and seconds > pause_longer_than:
                assert source is not None
                raise ApiAsksToWait(seconds, source, fetched.status, self.redactor.url(fetched.url))
            if fetched.status in THROTTLE_STATUSES:
                self._throttled(generation, fetched)
            error = RetryableHTTPError(fetched.status, self.redactor.url(fetched.url), seconds, source)
            error.excerpt = self._excerpt(fetched.body)  # type: ignore[attr-defined]
            raise error
        if fetched.status >= 400:
            url = self.redactor.url(fetched.url)
            raise RestApiHTTPError(
                f"HTTP {fetched.status} from {request.method} {url}: {self._excerpt(fetched.body)}",
                status=fetched.status,
                url=url,
            )
        if self.max_concurrency > 1 and self.limits.succeeded():
            self.log.info("Page requests in flight raised to %d", self.limits.limit)
        return fetched

    def _throttled(self, generation: int, fetched: _Fetched) -> None:
        """A 429/503: every request of this hook waits out the server's wait; fewer in flight, slower pace."""
        seconds, _ = server_wait_hint(fetched.headers)
        policy = self.retry_policy
        pause = (
            None if seconds is None else min(max(seconds, policy.retry_after_floor), policy.retry_after_cap)
        )
        changes = self.limits.throttled(generation, fetched.status, pause)
        if changes:
            self.log.warning(
                "HTTP %d from %s: %s%s",
                fetched.status,
                self.redactor.url(fetched.url),
                ", ".join(changes),
                f"; all requests paused {pause:g}s" if pause else "",
            )

    def _excerpt(self, body: bytes) -> str:
        text = body[:_EXCERPT].decode("utf-8", "replace")
        more = "..." if len(body) > _EXCERPT else ""
        return repr(self.redactor.text(text) + more)

    def fetch(
        self,
        request: PageRequest,
        headers: Mapping[str, str] | None = None,
        *,
        pause_longer_than: float | None = None,
        cancelled: threading.Event | None = None,
    ) -> _Fetched:
        """Send one request, retrying transient failures per the retry policy (attempts are logged).

        With ``pause_longer_than`` (seconds), a server asking to wait longer than that raises
        :class:`ApiAsksToWait` instead of being slept through. Setting ``cancelled`` ends the waits and
        retries of a request nobody needs any more (a page fetched ahead past the end).
        """
        from airflow_provider_dataeng.hooks.rest_retry import build_retrying

        policy = self.retry_policy

        def is_retryable(exc: BaseException) -> bool:
            return isinstance(exc, (RetryableHTTPError, _TransientError))

        def before_sleep(state: Any) -> None:
            exc = state.outcome.exception()
            wait = state.next_action.sleep if state.next_action else 0.0
            if isinstance(exc, RetryableHTTPError):
                reason = f"HTTP {exc.status}"
                if exc.hint_source:
                    reason += f" ({exc.hint_source}: {exc.retry_after:g}s)"
            else:
                reason = str(exc)
            self.log.warning(
                "%s %s failed on attempt %d/%d: %s; retrying in %.2fs",
                request.method,
                self.redactor.url(request.url),
                state.attempt_number,
                policy.max_attempts,
                reason,
                wait,
            )

        def sleep(seconds: float) -> None:  # a cancelled request stops waiting at once
            if cancelled is None:
                time.sleep(seconds)
            else:
                cancelled.wait(seconds)

        retrying = build_retrying(policy, is_retryable=is_retryable, before_sleep=before_sleep, sleep=sleep)
        try:
            return retrying(self._send_checked, request, headers, pause_longer_than, cancelled)
        except RetryableHTTPError as exc:
            raise RestApiHTTPError(
                f"HTTP {exc.status} from {request.method} {exc.url} after {policy.max_attempts} attempts: "
                f"{getattr(exc, 'excerpt', '')}",
                status=exc.status,
                url=exc.url,
            ) from None
        except _TransientError as exc:
            raise RestApiHTTPError(
                f"{request.method} {self.redactor.url(request.url)} failed after {policy.max_attempts} "
                f"attempts: {exc}",
                url=self.redactor.url(request.url),
            ) from None

    # -- pagination -------------------------------------------------------------------------------
    def iter_pages(
        self,
        endpoint: str,
        *,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        paginator: BasePaginator | None = None,
        records_path: str | Sequence[str] | None = None,
        max_pages: int | None = None,
        raw: bool = True,
        resume: PageCursor | None = None,
        pause_longer_than: float | None = None,
        held: Mapping[bytes, Callable[[], bytes]] | None = None,
    ) -> Iterator[RawPage]:
        """Pages as they arrive; ``raw=True`` keeps each record as its JSON bytes (no dict per record).

        ``resume`` continues an earlier run at its cursor (page numbers go on from there; loop detection
        starts afresh). With ``pause_longer_than``, a long server wait raises :class:`ApiAsksToWait` carrying
        the cursor to resume from, when that cursor holds no secret (else the wait is slept through); with
        concurrency it also carries the pages fetched ahead of the refused one (``held``), which the resumed
        run passes back as ``held`` (request fingerprint -> a loader of :attr:`HeldPage.data`) to use them
        instead of fetching them again.
        """
        paginator = paginator if paginator is not None else SinglePagePaginator()
        for member in ("first_request", "next_request", "body_paths"):
            if not hasattr(paginator, member):
                raise TypeError(
                    f"paginator must implement first_request, next_request and body_paths (see BasePaginator), "
                    f"got {paginator!r}"
                )
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise ValueError(f"max_pages must be a positive integer or None, got {max_pages!r}")
        path = parse_path(records_path, name="records_path")
        decoder = PageDecoder(path, paginator.body_paths, raw_records=raw)
        limits = [n for n in (max_pages, getattr(paginator, "max_pages", None)) if n]
        limit = min(limits) if limits else None
        base = PageRequest(
            url=self.url_for(endpoint), method=method.upper(), params=dict(params or {}), json=json
        )
        first = paginator.first_request(base)
        request: PageRequest | None
        if resume is not None:
            request, number = resume.request, resume.pages_done
            origin = _origin(self.url_for(endpoint))
            if _origin(request.url) != origin:
                raise PaginationError(
                    f"cannot resume at {self.redactor.url(request.url)}: another host than {origin}"
                )
        else:
            request = first
            origin = _origin(request.url) if request is not None else ""
            number = 0

        kept = dict(held or {})

        def get(request: PageRequest, number: int, cancelled: threading.Event | None = None) -> _Page:
            loader = kept.pop(request.fingerprint(), None) if kept else None
            if loader is not None:  # fetched before the task deferred
                fetched = _Fetched.from_bytes(loader())
            else:
                pausable = pause_longer_than is not None and self.persistable(request)
                fetched = self.fetch(
                    request,
                    headers,
                    pause_longer_than=pause_longer_than if pausable else None,
                    cancelled=cancelled,
                )
            try:
                records, fields = decoder.decode(fetched.body)
            except PageShapeError as exc:
                url = self.redactor.url(fetched.url)
                raise PageShapeError(self._shape_message(exc, number, url, fetched)) from None
            return _Page(fetched, records, fields)

        prefetch: PagePrefetcher | None = None
        seen: set[bytes] = set()
        warned_link = False
        try:
            while request is not None:
                fingerprint = request.fingerprint()
                if fingerprint in seen:
                    raise PaginationLoopError(
                        self.redactor.text(
                            f"page {number + 1} would fetch {self._describe(request)} again, which an earlier page "
                            "already returned: the API is looping (a repeated cursor or next link); check the "
                            "paginator settings"
                        )
                    )
                seen.add(fingerprint)
                number += 1
                ahead = prefetch.take(number - 1, fingerprint) if prefetch is not None else None
                try:
                    page = ahead.result() if ahead is not None else get(request, number)
                except ApiAsksToWait as wait:
                    wait.cursor = PageCursor(request=request, pages_done=number - 1)
                    if (
                        prefetch is not None
                    ):  # keep what was fetched ahead: the resumed run will not ask again
                        wait.held = [
                            HeldPage(ahead_request.fingerprint(), page.fetched.to_bytes())
                            for index, ahead_request, page in prefetch.settle()
                            if index >= number and self.persistable(ahead_request)
                        ]
                    raise
                fetched, records, fields = page.fetched, page.records, page.fields
                url = self.redactor.url(fetched.url)
                yield RawPage(
                    number=number,
                    url=url,
                    status=fetched.status,
                    records=records,
                    body_bytes=len(fetched.body),
                )
                if limit is not None and number >= limit:
                    self.log.warning("Stopped after max_pages=%d pages; the API may have more", limit)
                    return
                if isinstance(paginator, SinglePagePaginator) and not warned_link and "next" in fetched.links:
                    warned_link = True
                    self.log.warning(
                        '%s sent a Link rel="next" header but no paginator is set: only the first page is read; '
                        "pass paginator=LinkHeaderPaginator() to follow it",
                        url,
                    )
                response = PageResponse(
                    url=fetched.url,
                    status=fetched.status,
                    headers=fetched.headers,
                    links=fetched.links,
                    fields=fields,
                    record_count=len(records),
                    page_number=number,
                )
                if prefetch is None and number == (resume.pages_done if resume else 0) + 1:
                    prefetch = self._prefetcher(paginator, first, response, number, limit, get)
                try:
                    request = paginator.next_request(request, response)
                except PaginationError as exc:
                    raise type(exc)(self._pagination_message(exc, fetched, url)) from None
                if request is not None and _origin(request.url) != origin:
                    # Never send the connection's credentials to a host the API merely pointed at.
                    raise PaginationError(
                        f"page {number + 1} would be fetched from {self.redactor.url(request.url)}, another host "
                        f"than {origin}: refusing to send credentials there; check the paginator settings"
                    )
        finally:
            if prefetch is not None:
                prefetch.close()
                if prefetch.misses:
                    self.log.warning(
                        "The paginator's predicted page requests differed from the pages' own next requests after "
                        "%d pages fetched ahead; the rest was fetched one page at a time",
                        prefetch.hits,
                    )

    def _prefetcher(
        self,
        paginator: BasePaginator,
        first: PageRequest,
        response: PageResponse,
        number: int,
        limit: int | None,
        get: Callable[[PageRequest, int, threading.Event], _Page],
    ) -> PagePrefetcher | None:
        """A prefetcher for the pages after page ``number`` when concurrency is on and the paginator can
        predict their requests; it stops at the page count the first page gives, if any, and ``limit``."""
        from airflow_provider_dataeng.hooks.rest_concurrency import PagePrefetcher

        if self.max_concurrency < 2 or paginator.request_for_page(first, number) is None:
            return None
        count = paginator.page_count(response)
        ends = [n for n in (count, limit) if n is not None]
        end = min(ends) if ends else None
        self.log.info(
            "Fetching up to %d pages at once (%s)",
            self.max_concurrency,
            f"{end} pages in all"
            if end is not None
            else "no total known: pages past the end are dropped unread",
        )

        return PagePrefetcher(
            paginator,
            first,
            lambda request, index, cancelled: get(request, index + 1, cancelled),
            self.limits,
            start=number,
            end=end,
        )

    def persistable(self, request: PageRequest) -> bool:
        """Whether ``request`` can be stored (e.g. in a deferred task's state) without storing a secret:
        no known secret value anywhere and no secret-looking query parameter in its URL or params."""
        from urllib.parse import parse_qsl

        text = jsonlib.dumps(request.to_dict(), default=str)
        if self.redactor.text(text) != text:
            return False
        parts = urlsplit(request.url)
        if parts.password:
            return False
        names = [k for k, _ in parse_qsl(parts.query, keep_blank_values=True)] + [
            str(k) for k in request.params
        ]
        return not any(self.redactor.is_secret_param(name) for name in names)

    def paginate(self, endpoint: str, **query: Unpack[PageQuery]) -> Iterator[list[dict]]:
        """Yield one page of records (decoded) at a time; memory stays at one page.

        Takes the keyword arguments of :meth:`iter_pages` that shape the requests (``method``, ``params``,
        ``headers``, ``json``, ``paginator``, ``records_path``, ``max_pages``; see :class:`PageQuery`).
        """
        for page in self.iter_pages(endpoint, **query, raw=False):
            yield page.records

    def _describe(self, request: PageRequest) -> str:
        from urllib.parse import urlencode

        query = urlencode({k: v for k, v in request.params.items()}) if request.params else ""
        url = f"{request.url}{'&' if '?' in request.url else '?'}{query}" if query else request.url
        text = f"{request.method} {self.redactor.url(url)}"
        if request.json is not None:
            text += f" with body {self.redactor.text(jsonlib.dumps(request.json, default=str))[:200]}"
        return text

    def _pagination_message(self, exc: PaginationError, fetched: _Fetched, url: str) -> str:
        """The paginator's message with the URL redacted, plus what the body holds along a path not found."""
        text = str(exc).replace(fetched.url, url) if fetched.url else str(exc)
        path = getattr(exc, "path", None)
        if path is not None:
            text = f"{text.rstrip('.')}. Found: {describe_path(fetched.body, path)}."
        return self.redactor.text(text)

    def _shape_message(self, exc: Exception, number: int, url: str, fetched: _Fetched) -> str:
        where = f"page {number} ({url}, HTTP {fetched.status}, Content-Type {fetched.content_type or 'none'})"
        problem = str(exc)
        if "not valid JSON" in problem:
            problem = f"expected a JSON body (an HTML error or proxy page?): {problem}"
        return f"{where}: {problem}; body starts {self._excerpt(fetched.body[:120])}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _links(parsed: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """``Link`` header targets by relation type. A link may name several (``rel="next last"``, RFC 8288
    section 3.3) in any case: each one, lower-cased, finds it."""
    links: dict[str, str] = {}
    for link in parsed.values():
        if "url" in link:
            for name in str(link.get("rel", "")).split():
                links.setdefault(name.lower(), link["url"])
    return links
