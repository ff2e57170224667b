"""What the paginators share: reading a page's stop signals and wording the errors when they cannot continue.

Every message starts with the page and its request (``page 3 (GET https://...)``); a paginator that cannot
build the next request while the API says there is more raises :class:`IncompletePaginationError` through
:func:`cannot_continue`.
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urljoin

from airflow_provider_dataeng.pagination.base import (
    MISSING,
    IncompletePaginationError,
    PageRequest,
    PageResponse,
    PaginationError,
    Path,
    format_path,
)

STOPPING = "stopping here would silently drop the rest"


def page_and_request(request: PageRequest, response: PageResponse) -> str:
    """``page 3 (GET https://api.example.com/v1/charges?limit=100&starting_after=ch_199)``, plus the JSON
    body of a POST (GraphQL variables)."""
    text = f"page {response.page_number} ({request.method} {response.url}"
    if request.json is not None:
        body = json.dumps(request.json, default=str)
        text += f" with JSON body {body[:200]}{'...' if len(body) > 200 else ''}"
    return text + ")"


def required(request: PageRequest, response: PageResponse, path: Path, parameter: str) -> Any:
    value = response.field(path)
    if value is MISSING:
        raise PaginationError(
            f"{parameter}={format_path(path)!r} is not in the response body of {page_and_request(request, response)}: "
            f"fix {parameter} to point at the field the API returns",
            path=path,
        )
    return value


def as_int(value: Any, parameter: str, request: PageRequest, response: PageResponse) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    except (TypeError, ValueError):
        raise PaginationError(
            f"{parameter} must point at an integer, got {value!r} in {page_and_request(request, response)}"
        ) from None


def no_value(value: Any) -> bool:
    return value is MISSING or value is None or value == ""


def describe_value(value: Any) -> str:
    """How a cursor or link value that cannot be used reads in a message."""
    if value is MISSING:
        return "is not in the body"
    if value is None:
        return "is null"
    if value == "":
        return "is an empty string"
    kind = {dict: "a JSON object", list: "a JSON list", bool: f"{json.dumps(value)}"}.get(type(value))
    return f"is {kind or repr(value)}, not a string or number"


def cannot_continue(
    request: PageRequest,
    response: PageResponse,
    signal: str,
    problem: str,
    fix: str,
    path: Path | None = None,
) -> IncompletePaginationError:
    return IncompletePaginationError(
        f"{page_and_request(request, response)}: the API says there is more ({signal}) but {problem}, so the next page "
        f"cannot be requested; {STOPPING}. {fix}",
        path=path,
    )


def usable_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def follow_link(
    request: PageRequest, response: PageResponse, link: Any, signal: str, subject: str
) -> PageRequest:
    """The request for a next link, or :class:`IncompletePaginationError` when the link cannot be used."""
    if not isinstance(link, str):
        problem = f"{subject} is {json.dumps(link, default=str)[:80]}, not a URL string"
    elif not link.strip():
        problem = f"{subject} is empty ({link!r})"
    else:
        try:
            return request.with_url(urljoin(response.url, link.strip()))
        except ValueError as exc:
            problem = f"{subject} {link[:200]!r} is not a valid URL ({exc})"
    raise cannot_continue(
        request, response, signal, problem, "Check what the API sends there; the paginator follows URLs only."
    )


def with_body_value(request: PageRequest, path: Path, value: Any) -> PageRequest:
    body = copy.deepcopy(request.json) if request.json is not None else {}
    if not isinstance(body, dict):
        raise PaginationError(f"cannot set {format_path(path)!r} in a JSON body that is not an object")
    node = body
    for key in path[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise PaginationError(
                f"cannot set {format_path(path)!r}: {key!r} in the JSON body is not an object"
            )
    node[path[-1]] = value
    return PageRequest(url=request.url, method=request.method, params=request.params, json=body)
