"""The paginator protocol: immutable request/response views and the base class users subclass.

A paginator is pure configuration plus a state machine over pages: given the request that produced a page
and a small view of that page (status, headers, links, a few body fields, the record count), it returns the
next request or ``None`` to stop. It never sees the records themselves, so the hook can split a page into
raw record bytes without building a dict per record. All per-run state lives in the requests, so one
paginator object can be reused by any number of runs (and deep-copied by Airflow).
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

Path = tuple[str | int, ...]  # keys and list indexes, e.g. ("data", -1, "id")


class _Missing:
    """Marker for a body path that is absent from a page (distinct from a JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class PaginationError(ValueError):
    """A page cannot be paginated as configured (shape, contradicting values, a loop).

    ``path`` is the body path that was not found, when that is the problem: the hook then adds what the
    body holds along that path to the message.
    """

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class IncompletePaginationError(PaginationError):
    """The API says there is more (``has_more``, a total not reached, a next link...) but the next request
    cannot be built, or the page contradicts that: stopping would silently drop the rest, so it is an error."""


class PaginationLoopError(PaginationError):
    """The API sent the client back to a page it already fetched."""


_SEGMENT = re.compile(r"(?P<key>[^.\[\]]+)?(?P<indexes>(?:\[[^\[\]]*\])*)")
_INDEX = re.compile(r"\[([^\[\]]*)\]")


def parse_path(value: str | Sequence[str | int] | None, *, name: str) -> Path | None:
    """A body path -> a tuple of steps (keys and list indexes); ``None`` stays ``None``.

    ``"data.items"`` -> ``("data", "items")``; ``"data[-1].id"`` -> ``("data", -1, "id")`` (negative indexes
    count from the end: ``[-1]`` is the last element); ``"[0].id"`` starts in a body that is a list. A list
    ``["@odata.nextLink"]`` or ``["data", -1, "id"]`` gives the steps as they are (for keys holding dots or
    brackets). Bad syntax raises ``ValueError`` naming ``name``, so a typo fails when the paginator is built.
    """
    if value is None:
        return None
    if isinstance(value, str):
        steps = _parse_dotted(value, name)
    elif isinstance(value, Sequence) and all(_is_step(k) for k in value):
        steps = tuple(value)
    else:
        raise TypeError(
            f"{name} must be a dotted string like 'data.items' or 'data[-1].id', or a list of keys and integer "
            f"indexes, got {value!r}"
        )
    if not steps or any(k == "" for k in steps):
        raise ValueError(f"{name}={value!r} has an empty key: use a dotted path like 'data.items'")
    return steps


def _is_step(step: object) -> bool:
    return isinstance(step, str) or (isinstance(step, int) and not isinstance(step, bool))


def _parse_dotted(value: str, name: str) -> Path:
    for index in _INDEX.findall(value):  # before splitting at dots: data[1.5] is a bad index, not two keys
        if not re.fullmatch(r"-?\d+", index):
            raise ValueError(
                f"{name}={value!r} is not a valid path: the list index [{index}] must be an integer, "
                "e.g. data[0] (the first element) or data[-1] (the last)"
            )
    steps: list[str | int] = []
    for position, segment in enumerate(value.split(".")):
        if segment == "":
            raise ValueError(f"{name}={value!r} has an empty key: use a dotted path like 'data.items'")
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            raise ValueError(
                f"{name}={value!r} is not a valid path: {segment!r} has a stray '[' or ']'; write list indexes "
                "as data[0] or data[-1], or give a list of keys for keys that hold brackets or dots"
            )
        if match["key"] is None and position > 0:
            raise ValueError(
                f"{name}={value!r} is not a valid path: a list index follows its key without a dot, "
                f"as in data[0].id, not data.[0].id"
            )
        if match["key"] is not None:
            steps.append(match["key"])
        steps.extend(int(index) for index in _INDEX.findall(match["indexes"]))
    return tuple(steps)


def format_path(path: Path) -> str:
    """``("data", -1, "id")`` -> ``"data[-1].id"`` (the dotted form ``parse_path`` reads)."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else step
    return text


@dataclass(frozen=True)
class PageRequest:
    """One HTTP request of a pagination run. ``url`` is absolute; ``params`` go into the query string."""

    url: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None

    def with_params(self, **params: Any) -> PageRequest:
        return replace(self, params={**self.params, **params})

    def with_url(self, url: str, *, keep_params: bool = False) -> PageRequest:
        """Follow a next-page URL; it carries its own query, so the original params are dropped."""
        return replace(self, url=url, params=self.params if keep_params else {})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, to resume a pagination run later (e.g. after the task deferred)."""
        return {"url": self.url, "method": self.method, "params": dict(self.params), "json": self.json}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageRequest:
        return cls(url=data["url"], method=data["method"], params=dict(data["params"]), json=data["json"])

    def fingerprint(self) -> bytes:
        """A digest of everything that identifies the request: the same digest twice means a loop."""
        canonical = json.dumps(
            [self.method, self.url, sorted((str(k), str(v)) for k, v in self.params.items()), self.json],
            sort_keys=True,
            default=str,
        )
        return hashlib.blake2b(canonical.encode(), digest_size=16).digest()


@dataclass(frozen=True)
class PageResponse:
    """What a paginator may look at: never the records, only their count and the fields it asked for."""

    url: str
    status: int
    headers: Mapping[str, str]
    links: Mapping[str, str]
    fields: Mapping[Path, Any]
    record_count: int
    page_number: int

    def field(self, path: Path) -> Any:
        """The body value at ``path``, one of the paginator's ``body_paths`` (``MISSING`` when absent, or when
        a step does not fit the body: a key into a non-object, an index past a list's end)."""
        return self.fields.get(path, MISSING)


class BasePaginator(ABC):
    """Subclass this (or implement the same three members) for an API none of the built-ins fits.

    * ``body_paths``: the body fields this paginator reads; the hook decodes only these and the records.
    * ``first_request(request)``: add the first page's parameters (page 1, offset 0, ...).
    * ``next_request(request, response)``: the next request, or ``None`` when this was the last page.

    ``max_pages`` stops after that many pages; ``stop_on_empty_page`` stops at a page with no records.
    The hook adds the checks every paginator needs: a request repeating an earlier one is a loop error.

    When the page says there is more but the next request cannot be built, raise
    :class:`IncompletePaginationError` (``path=`` the body path not found) instead of returning ``None``:
    returning ``None`` ends the extract successfully with part of the data.
    """

    body_paths: tuple[Path, ...] = ()

    def __init__(self, *, max_pages: int | None = None, stop_on_empty_page: bool = True) -> None:
        if max_pages is not None and (not isinstance(max_pages, int) or max_pages < 1):
            raise ValueError(f"max_pages must be a positive integer or None, got {max_pages!r}")
        self.max_pages = max_pages
        self.stop_on_empty_page = stop_on_empty_page

    def first_request(self, request: PageRequest) -> PageRequest:
        return request

    @abstractmethod
    def next_request(self, request: PageRequest, response: PageResponse) -> PageRequest | None:
        """The request for the page after ``response``, or ``None`` to stop."""

    # -- requests that do not depend on earlier pages (concurrent fetching) --------------------------------
    def request_for_page(self, first: PageRequest, index: int) -> PageRequest | None:
        """The request of the page at ``index`` (0 = ``first``), when it can be known without the pages before
        it (page numbers, offsets over full pages); ``None`` when it cannot (cursors, links).

        A prediction only: the hook still runs ``next_request`` over the pages in order and uses a fetched
        page only when ``next_request`` asks for exactly the predicted request, so every stop condition
        and error holds, and a wrong prediction costs a request, never a record.
        """
        return None

    def page_count(self, first: PageResponse) -> int | None:
        """How many pages there are, when the first page says (a total); ``None`` when it does not."""
        return None

    def _empty_stop(self, response: PageResponse) -> bool:
        return self.stop_on_empty_page and response.record_count == 0

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{type(self).__name__}({settings})"
