"""dbt's selection syntax parsed into a tree of criteria and set operations (no manifest needed).

``--select "tag:nightly+ stg_orders,config.materialized:view"`` is a union (spaces) of intersections
(commas) of criteria; ``--exclude`` is subtracted from it. A criterion is ``[@][n+][method[.arg...]:]value[+n]``.
YAML selectors (selectors.yml) build the same tree from ``union``/``intersection``/``exclude`` and
``method``/``value`` entries. Everything is validated here, so a typo in a method fails before any manifest
is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SUPPORTED_METHODS = (
    "fqn",
    "tag",
    "path",
    "file",
    "config",
    "source",
    "resource_type",
    "package",
    "test_name",
    "test_type",
)
# dbt's other methods: valid dbt, but they need state, results or node kinds this engine does not read.
UNSUPPORTED_DBT_METHODS = (
    "group",
    "access",
    "state",
    "exposure",
    "metric",
    "result",
    "source_status",
    "version",
    "semantic_model",
    "saved_query",
    "unit_test",
)
RESOURCE_TYPES = (
    "model",
    "analysis",
    "test",
    "snapshot",
    "operation",
    "seed",
    "rpc",
    "sql_operation",
    "doc",
    "source",
    "macro",
    "exposure",
    "metric",
    "group",
    "saved_query",
    "semantic_model",
    "unit_test",
    "fixture",
    "function",
)
INDIRECT_SELECTION_MODES = ("eager", "cautious", "buildable", "empty")
_TEST_TYPES = {
    "generic": frozenset({"generic"}),
    "schema": frozenset({"generic"}),
    "singular": frozenset({"singular"}),
    "data": frozenset({"generic", "singular"}),
    "unit": frozenset({"unit"}),
}

# [@] [depth] [+] [method:] value [+ [depth]]: the value is everything between the operators.
_CRITERION = re.compile(
    r"(?P<at>@)?(?:(?P<up_depth>\d*)(?P<up>\+))?(?:(?P<method>[\w.]+):)?(?P<value>.*?)(?:(?P<down>\+)(?P<down_depth>\d*))?"
)


class SelectionError(ValueError):
    """A selection that cannot be evaluated: bad syntax, an unsupported method, an unknown selector."""


@dataclass(frozen=True)
class Criterion:
    """One method/value test plus its graph operators (``@``, ``n+``, ``+n``)."""

    raw: str
    method: str
    arguments: tuple[str, ...]
    value: Any
    parents: bool = False
    parents_depth: int | None = None
    children: bool = False
    children_depth: int | None = None
    childrens_parents: bool = False
    indirect_selection: str = "eager"

    def source_parts(self) -> tuple[str, str, str]:
        """``source:`` value as (package, source, table) globs."""
        parts = str(self.value).split(".")
        if len(parts) == 3:
            return parts[0], parts[1], parts[2]
        return "*", parts[0], parts[1] if len(parts) == 2 else "*"

    def test_kinds(self) -> frozenset[str]:
        return _TEST_TYPES[str(self.value)]


@dataclass(frozen=True)
class SetOperation:
    """Union, intersection or difference (first minus the rest) of its components' selections."""

    operation: str
    components: tuple[Spec, ...]
    raw: str = ""
    role: str | None = None  # "select"/"exclude" for a component given on the command line (must match)
    indirect_selection: str = "eager"


Spec = Criterion | SetOperation


def parse_selection(
    select: str | Sequence[str] | None,
    exclude: str | Sequence[str] | None = None,
    *,
    indirect_selection: str = "eager",
) -> Spec:
    """``--select``/``--exclude`` values (strings or lists of strings) as dbt's command line reads them."""
    mode = _mode(indirect_selection, "indirect_selection")
    included = _parse_union(select, "select", mode) if select else _everything(mode)
    excluded = (
        _parse_union(exclude, "exclude", mode) if exclude else SetOperation("union", (), "", None, mode)
    )
    return SetOperation("difference", (included, excluded))


def parse_criterion(raw: str, indirect_selection: str = "eager") -> Criterion:
    """One criterion such as ``2+tag:nightly+``."""
    match = _CRITERION.fullmatch(raw)
    if match is None or not match["value"]:
        raise SelectionError(f"invalid dbt selection {raw!r}: no value to select on.")
    if match["at"] and match["down"]:
        raise SelectionError(
            f'invalid dbt selection {raw!r}: the "@" prefix and the "+" suffix exclude each other.'
        )
    return _criterion(
        raw,
        match["method"],
        match["value"],
        {
            "childrens_parents": bool(match["at"]),
            "parents": bool(match["up"]),
            "parents_depth": match["up_depth"],
            "children": bool(match["down"]),
            "children_depth": match["down_depth"],
            "indirect_selection": indirect_selection,
        },
    )


def parse_selector_definition(
    definition: Any,
    *,
    indirect_selection: str = "eager",
    resolve: Callable[[str], Spec] | None = None,
    root: bool = True,
) -> Spec:
    """A selectors.yml ``definition``; ``resolve(name)`` returns another selector's spec (``method: selector``)."""
    if isinstance(definition, str):
        return parse_criterion(definition, indirect_selection)
    if not isinstance(definition, Mapping):
        raise SelectionError(f"a selector definition must be a string or a mapping, not {definition!r}.")
    for operation in ("union", "intersection"):
        if operation in definition:
            if root and len(definition) > 1:
                raise SelectionError(
                    f"a root selector definition takes only {operation!r}; got {sorted(definition)}."
                )
            return _parse_group(operation, definition[operation], indirect_selection, resolve)
    if len(definition) == 1:
        ((method, value),) = definition.items()
        entry: Mapping[str, Any] = {"method": method, "value": value}
    elif "method" in definition and "value" in definition:
        entry = definition
    else:
        raise SelectionError(
            f"a selector entry needs one 'method: value' pair or 'method' and 'value'; got {definition!r}."
        )
    if entry["method"] == "selector":
        if resolve is None:
            raise SelectionError("'method: selector' needs the project's selectors.")
        return resolve(str(entry["value"]))
    options = {k: v for k, v in entry.items() if k not in ("method", "value", "exclude", "description")}
    options.setdefault("indirect_selection", indirect_selection)
    unknown = set(options) - {
        "parents",
        "parents_depth",
        "children",
        "children_depth",
        "childrens_parents",
        "indirect_selection",
    }
    if unknown:
        raise SelectionError(f"selector entry {dict(definition)!r}: unknown keys {sorted(unknown)}.")
    base = _criterion(definition, str(entry["method"]), entry["value"], options)
    if "exclude" not in entry:
        return base
    return SetOperation(
        "difference", (base, _parse_exclusions(entry["exclude"], indirect_selection, resolve))
    )


def _parse_union(values: str | Sequence[str], role: str, mode: str) -> SetOperation:
    words = [
        word for value in ([values] if isinstance(values, str) else values) for word in str(value).split()
    ]
    groups = tuple(
        SetOperation(
            "intersection", tuple(parse_criterion(part, mode) for part in word.split(",")), word, role, mode
        )
        for word in words
    )
    return SetOperation("union", groups, " ".join(words), None, mode)


def _everything(mode: str) -> SetOperation:
    """No --select: every node (dbt's default ``fqn:* source:* ...``; fqn:* matches every node but sources)."""
    return SetOperation(
        "union", (parse_criterion("fqn:*", mode), parse_criterion("source:*", mode)), "", None, mode
    )


def _parse_group(operation: str, items: Any, mode: str, resolve: Callable[[str], Spec] | None) -> Spec:
    if not isinstance(items, list):
        raise SelectionError(f"selector {operation!r} takes a list; got {items!r}.")
    included: list[Spec] = []
    excluded: Spec | None = None
    for item in items:
        if isinstance(item, Mapping) and "exclude" in item and "method" not in item:
            if excluded is not None:
                raise SelectionError(f"one {operation!r} takes at most one 'exclude' entry.")
            excluded = _parse_exclusions(item["exclude"], mode, resolve)
        else:
            included.append(
                parse_selector_definition(item, indirect_selection=mode, resolve=resolve, root=False)
            )
    group = SetOperation(operation, tuple(included))
    return group if excluded is None else SetOperation("difference", (group, excluded))


def _parse_exclusions(items: Any, mode: str, resolve: Callable[[str], Spec] | None) -> Spec:
    if not isinstance(items, list):
        raise SelectionError(f"selector 'exclude' takes a list; got {items!r}.")
    parsed = [
        parse_selector_definition(item, indirect_selection=mode, resolve=resolve, root=False)
        for item in items
    ]
    return parsed[0] if len(parsed) == 1 else SetOperation("union", tuple(parsed))


def _criterion(raw: Any, method: str | None, value: Any, options: Mapping[str, Any]) -> Criterion:
    name, arguments = _method(str(value), method, raw)
    criterion = Criterion(
        raw=raw if isinstance(raw, str) else repr(dict(raw)),
        method=name,
        arguments=arguments,
        value=value,
        parents=bool(options.get("parents")),
        parents_depth=_depth(options.get("parents_depth"), raw),
        children=bool(options.get("children")),
        children_depth=_depth(options.get("children_depth"), raw),
        childrens_parents=bool(options.get("childrens_parents")),
        indirect_selection=_mode(
            str(options.get("indirect_selection", "eager")), f"indirect_selection of {raw!r}"
        ),
    )
    _check_value(criterion)
    return criterion


def _method(value: str, method: str | None, raw: Any) -> tuple[str, tuple[str, ...]]:
    if method is None:  # dbt's default: a path if it has a slash, a file if it has a file's suffix, else fqn
        if "/" in value or "\\" in value:
            return "path", ()
        return ("file" if value.lower().endswith((".sql", ".py", ".csv")) else "fqn"), ()
    name, *arguments = method.split(".")
    if name not in SUPPORTED_METHODS:
        kind = "is not supported here" if name in UNSUPPORTED_DBT_METHODS else "is not a dbt selection method"
        raise SelectionError(
            f"selection {raw!r}: method {name!r} {kind}; supported methods: {', '.join(SUPPORTED_METHODS)}."
        )
    if name == "config" and not arguments:
        raise SelectionError(f"selection {raw!r}: config needs a key, for example config.materialized:table.")
    return name, tuple(arguments)


def _check_value(criterion: Criterion) -> None:
    value, raw = criterion.value, criterion.raw
    if criterion.method == "resource_type" and value not in RESOURCE_TYPES:
        raise SelectionError(f"selection {raw!r}: resource_type must be one of {', '.join(RESOURCE_TYPES)}.")
    if criterion.method == "source" and not 1 <= len(str(value).split(".")) <= 3:
        raise SelectionError(f"selection {raw!r}: source takes source, source.table or package.source.table.")
    if criterion.method == "test_type" and value not in _TEST_TYPES:
        raise SelectionError(f"selection {raw!r}: test_type must be generic, singular, unit or data.")


def _depth(value: Any, raw: Any) -> int | None:
    if value in (None, "", 0, False):  # dbt reads an empty (or YAML 0) depth as "no limit"
        return None
    try:
        depth = int(value)
    except (TypeError, ValueError):
        raise SelectionError(
            f"selection {raw!r}: a graph depth must be a whole number, not {value!r}."
        ) from None
    if depth < 0:
        raise SelectionError(f"selection {raw!r}: a graph depth cannot be negative.")
    return depth


def _mode(value: str, what: str) -> str:
    if value not in INDIRECT_SELECTION_MODES:
        raise SelectionError(f"{what} must be one of {', '.join(INDIRECT_SELECTION_MODES)}; got {value!r}.")
    return value


def unique_selector(fqn: Sequence[str]) -> str:
    """The ``--select`` value that picks exactly one node: its fully qualified name."""
    return "fqn:" + ".".join(fqn)
