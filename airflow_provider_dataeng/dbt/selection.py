"""dbt node selection (``--select``, ``--exclude``, ``--selector``) evaluated on a manifest, as dbt does it.

Pure and fast, so a DAG file can render one task per model at parse time without importing dbt: the graph
(parents and children of every node) is built once, each selection is a few set operations on it. The
semantics follow dbt-core 1.11 (``dbt/graph/``): the default method (fqn, or path/file for values that look
like one), graph operators ``+``/``n+``/``@``, unions (spaces), intersections (commas), YAML selectors, and
"eager" indirect selection of tests (a test is selected when any node it tests is). The answers are checked
against ``dbt ls`` on the example project (tests/dbt/test_selection.py).

Where this differs from dbt, on purpose: extra spaces between components are ignored (dbt reads an empty
component that matches nothing); a YAML selector may use ``method: selector`` on any selector of the file,
not only those defined above it (cycles are an error); ``path:`` globs are matched against the paths of the
manifest's nodes instead of the file system (the same answer for every path that holds a node).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import Any, Protocol

from airflow_provider_dataeng.dbt.selection_spec import (
    Criterion,
    SelectionError,
    Spec,
    parse_selection,
    parse_selector_definition,
)

__all__ = [
    "NoNodesSelectedError",
    "NodeLike",
    "Selection",
    "SelectionError",
    "SelectionGraph",
    "SelectableNode",
    "select_nodes",
]

# Resource types dbt keeps outside ``manifest.nodes`` (no config to select on, never "empty").
_NOT_CONFIGURABLE = frozenset(
    {"exposure", "metric", "semantic_model", "saved_query", "unit_test", "function", "group", "macro", "doc"}
)
_MANIFEST_SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
)


class NoNodesSelectedError(LookupError):
    """A selection (or a component of it) matched no node; ``unmatched`` names each such component."""

    def __init__(self, selection: str, unmatched: Sequence[str]) -> None:
        self.selection = selection
        self.unmatched = tuple(unmatched)
        if unmatched:
            which = ", ".join(repr(u) for u in unmatched)
            message = f"dbt selection {selection}: {which} matched no node in the manifest"
        else:
            message = f"dbt selection {selection} matched no node in the manifest"
        super().__init__(message + " (check the names, tags and paths against the project).")


class NodeLike(Protocol):
    """What selection reads of a node; the manifest reader's nodes and :class:`SelectableNode` both fit."""

    @property
    def unique_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def resource_type(self) -> str: ...
    @property
    def package_name(self) -> str: ...
    @property
    def fqn(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Sequence[str]: ...
    @property
    def original_file_path(self) -> str: ...
    @property
    def patch_path(self) -> str | None: ...
    @property
    def config(self) -> Mapping[str, Any]: ...
    @property
    def depends_on(self) -> Sequence[str]: ...
    @property
    def source_name(self) -> str | None: ...
    @property
    def version(self) -> str | int | float | None: ...
    @property
    def test_name(self) -> str | None: ...
    @property
    def empty(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SelectableNode:
    """One manifest node (model, seed, snapshot, test, source, ...) as selection sees it."""

    unique_id: str
    name: str
    resource_type: str
    package_name: str
    fqn: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    original_file_path: str = ""
    patch_path: str | None = None  # "<package>://models/x.yml": the YAML file that describes the node
    config: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()  # unique ids of the nodes this one reads (depends_on.nodes)
    source_name: str | None = None  # sources only
    version: str | int | float | None = None  # versioned models only
    test_name: str | None = None  # generic tests only: test_metadata.name ("unique", "relationships", ...)
    empty: bool = False  # a SQL node with no code, which dbt never selects

    @classmethod
    def from_manifest(cls, raw: Mapping[str, Any], section: str = "nodes") -> SelectableNode:
        """A node from its manifest.json entry (``section`` is the manifest key it sits under)."""
        raw_code = raw.get("raw_code")
        blank = isinstance(raw_code, str) and not raw_code.strip()
        return cls(
            unique_id=raw["unique_id"],
            name=raw["name"],
            resource_type=raw["resource_type"],
            package_name=raw["package_name"],
            fqn=tuple(raw.get("fqn") or ()),
            tags=tuple(raw.get("tags") or ()),
            original_file_path=raw.get("original_file_path") or "",
            patch_path=raw.get("patch_path"),
            config=raw.get("config") or {},
            depends_on=tuple((raw.get("depends_on") or {}).get("nodes") or ()),
            source_name=raw.get("source_name"),
            version=raw.get("version"),
            test_name=(raw.get("test_metadata") or {}).get("name"),
            empty=section == "nodes" and raw["resource_type"] != "seed" and blank,
        )


class SelectionGraph:
    """A manifest's nodes with their parents and children, computed once; the input of every selection."""

    def __init__(
        self,
        nodes: Iterable[NodeLike],
        *,
        project_name: str | None = None,
        selectors: Mapping[str, Any] | None = None,
    ) -> None:
        self.nodes: dict[str, NodeLike] = {node.unique_id: node for node in nodes}
        self.project_name = project_name
        self.parents: dict[str, tuple[str, ...]] = {}
        children: dict[str, list[str]] = {uid: [] for uid in self.nodes}
        for uid, node in self.nodes.items():
            known = tuple(dict.fromkeys(p for p in node.depends_on if p in self.nodes))
            self.parents[uid] = known
            for parent in known:
                children[parent].append(uid)
        self.children: dict[str, tuple[str, ...]] = {uid: tuple(c) for uid, c in children.items()}
        self.selectors = _selector_definitions(selectors or {})
        self._paths: tuple[dict[str, frozenset[str]], dict[str, tuple[str, ...]]] | None = None
        self._flat_fqns: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_manifest(
        cls, manifest: Mapping[str, Any], selectors: Mapping[str, Any] | None = None
    ) -> SelectionGraph:
        """From a parsed manifest.json; selectors default to the manifest's own (those of selectors.yml)."""
        parent_map = manifest.get("parent_map") or {}
        nodes = []
        for section in _MANIFEST_SECTIONS:
            for raw in (manifest.get(section) or {}).values():
                node = SelectableNode.from_manifest(raw, section)
                if "depends_on" not in raw and node.unique_id in parent_map:
                    node = _with_parents(node, parent_map[node.unique_id])
                nodes.append(node)
        project = (manifest.get("metadata") or {}).get("project_name")
        return cls(
            nodes,
            project_name=project,
            selectors=manifest.get("selectors") if selectors is None else selectors,
        )

    def select_parents(self, start: Iterable[str], depth: int | None = None) -> set[str]:
        return _walk(start, self.parents, depth)

    def select_children(self, start: Iterable[str], depth: int | None = None) -> set[str]:
        return _walk(start, self.children, depth)

    def path_keys(self, uid: str) -> frozenset[str]:
        """The node's own files and every folder above them ("." the project root), as path strings."""
        return self._path_index()[0][uid]

    def node_paths(self) -> Mapping[str, tuple[str, ...]]:
        """Every path key of the root project's nodes, with its parts: what ``path:`` globs can match."""
        return self._path_index()[1]

    def flat_fqn(self, uid: str) -> tuple[str, ...]:
        """The fqn split at every dot (dots in names separate like folders), computed once per node."""
        cached = self._flat_fqns.get(uid)
        if cached is None:
            cached = self._flat_fqns[uid] = tuple(p for s in self.nodes[uid].fqn for p in s.split("."))
        return cached

    def _path_index(self) -> tuple[dict[str, frozenset[str]], dict[str, tuple[str, ...]]]:
        if self._paths is None:
            keys: dict[str, frozenset[str]] = {}
            root: set[str] = set()
            for uid, node in self.nodes.items():
                own: set[str] = set()
                for path in _own_paths(node):
                    own.add(str(path))
                    own.update(str(parent) for parent in path.parents)
                keys[uid] = frozenset(own)
                if not self.project_name or node.package_name == self.project_name:
                    root |= own
            self._paths = (keys, {path: PurePosixPath(path).parts for path in sorted(root)})
        return self._paths


@dataclass(frozen=True)
class Selection:
    """The unique ids a selection picks (all resource types, as ``dbt ls`` lists them)."""

    unique_ids: frozenset[str]
    description: str  # e.g. "--select tag:nightly --exclude stg_orders"
    unmatched: tuple[str, ...] = ()  # components of --select/--exclude that matched nothing (dbt warns)


def select_nodes(
    graph: SelectionGraph,
    select: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    selector: str | None = None,
    *,
    indirect_selection: str = "eager",
    strict: bool = True,
) -> Selection:
    """Evaluate ``--select``/``--exclude`` or ``--selector`` as dbt would.

    With ``strict`` (the default) a ``--select`` component that matches nothing, or an empty result, raises
    :class:`NoNodesSelectedError`; otherwise they are only reported in ``Selection.unmatched``. An
    ``--exclude`` component that matches nothing is never an error (excluding nothing is harmless).
    """
    spec, description = _resolve_spec(graph, select, exclude, selector, indirect_selection)
    evaluator = _Evaluator(graph)
    direct, _ = evaluator.evaluate(spec)
    chosen = frozenset(uid for uid in direct if not graph.nodes[uid].empty)
    unmatched = tuple(raw for _, raw in evaluator.unmatched)
    if strict:
        missing = [raw for role, raw in evaluator.unmatched if role == "select"]
        if missing or not chosen:
            raise NoNodesSelectedError(description, missing)
    return Selection(chosen, description, unmatched)


def _resolve_spec(
    graph: SelectionGraph,
    select: str | Sequence[str] | None,
    exclude: str | Sequence[str] | None,
    selector: str | None,
    indirect_selection: str,
) -> tuple[Spec, str]:
    if selector is not None:
        if select or exclude:
            raise SelectionError(
                "selector cannot be combined with select or exclude: dbt ignores them; pass one."
            )
        return _named_selector(graph, selector, indirect_selection, ()), f"--selector {selector}"
    default = next((name for name, (_, is_default) in graph.selectors.items() if is_default), None)
    if not (select or exclude) and default is not None:
        return _named_selector(graph, default, indirect_selection, ()), f"--selector {default} (the default)"
    spec = parse_selection(select, exclude, indirect_selection=indirect_selection)
    return spec, _describe(select, exclude)


def _named_selector(graph: SelectionGraph, name: str, indirect: str, seen: tuple[str, ...]) -> Spec:
    if name not in graph.selectors:
        known = ", ".join(sorted(graph.selectors)) or "none (no selectors.yml in the project)"
        raise SelectionError(f"selector {name!r} is not defined; the project's selectors: {known}.")
    if name in seen:
        raise SelectionError(f"selector {name!r} refers to itself: {' -> '.join((*seen, name))}.")
    definition, _ = graph.selectors[name]

    def resolve(other: str) -> Spec:
        return _named_selector(graph, other, indirect, (*seen, name))

    return parse_selector_definition(definition, indirect_selection=indirect, resolve=resolve)


def _describe(select: str | Sequence[str] | None, exclude: str | Sequence[str] | None) -> str:
    def words(value: str | Sequence[str] | None) -> str:
        return value if isinstance(value, str) else " ".join(value or ())

    text = f"--select {words(select)}" if select else "(everything)"
    return f"{text} --exclude {words(exclude)}" if exclude else text


class _Evaluator:
    """dbt's NodeSelector.select_nodes: (direct, indirect) sets per spec, combined by set operations."""

    def __init__(self, graph: SelectionGraph) -> None:
        self.graph = graph
        self.unmatched: list[tuple[str, str]] = []

    def evaluate(self, spec: Spec) -> tuple[set[str], set[str]]:
        if isinstance(spec, Criterion):
            return self._criterion(spec)
        bundles = [self.evaluate(component) for component in spec.components]
        direct = _combine(spec.operation, [d for d, _ in bundles])
        indirect = _combine(spec.operation, [d | i for d, i in bundles])
        direct = self._incorporate(direct, indirect, spec.indirect_selection)
        if spec.role and not direct:
            self.unmatched.append((spec.role, spec.raw))
        return direct, indirect

    def _criterion(self, spec: Criterion) -> tuple[set[str], set[str]]:
        graph = self.graph
        collected = set(_search(graph, spec))
        selected = set(collected)
        if spec.childrens_parents:
            around = graph.select_children(collected) | collected
            selected |= graph.select_parents(around) | around
        if spec.parents:
            selected |= graph.select_parents(collected, spec.parents_depth)
        if spec.children:
            selected |= graph.select_children(collected, spec.children_depth)
        if spec.indirect_selection == "empty":
            return selected, set()
        return self._expand_tests(selected, spec.indirect_selection)

    def _expand_tests(self, selected: set[str], mode: str) -> tuple[set[str], set[str]]:
        """Tests of the selected nodes: eager takes any, cautious those whose parents are all selected."""
        direct, indirect = set(selected), set()
        buildable: set[str] = set()
        if mode == "buildable":
            sources = {uid for uid, n in self.graph.nodes.items() if n.resource_type == "source"}
            buildable = selected | self.graph.select_parents(selected) | sources
        nodes = self.graph.nodes
        for uid in {child for parent in selected for child in self.graph.children[parent]}:
            node = nodes[uid]
            if node.resource_type not in ("test", "unit_test"):
                continue
            tested = set(node.depends_on)
            if mode == "eager" or tested <= selected or (mode == "buildable" and tested <= buildable):
                direct.add(uid)
            else:
                indirect.add(uid)
        return direct, indirect

    def _incorporate(self, direct: set[str], indirect: set[str], mode: str) -> set[str]:
        """Cautious/buildable: a test held back earlier joins once all the nodes it tests are selected."""
        if direct == indirect or mode not in ("cautious", "buildable"):
            return direct
        allowed = set(direct)
        if mode == "buildable":
            allowed |= self.graph.select_parents(direct)
        chosen = set(direct)
        for uid in indirect:
            node = self.graph.nodes[uid]
            if node.resource_type == "test" and set(node.depends_on) <= allowed:
                chosen.add(uid)
        return chosen


def _combine(operation: str, sets: list[set[str]]) -> set[str]:
    if not sets:
        return set()
    if operation == "union":
        return set().union(*sets)
    if operation == "intersection":
        return set.intersection(*sets)
    return sets[0].difference(*sets[1:])


def _walk(start: Iterable[str], edges: Mapping[str, Sequence[str]], depth: int | None) -> set[str]:
    """Nodes reached from ``start`` along ``edges`` in at most ``depth`` steps (start nodes only if re-reached)."""
    found: set[str] = set()
    layer = set(start)
    steps = 0
    while layer and (depth is None or steps < depth):
        layer = {nxt for uid in layer for nxt in edges.get(uid, ()) if nxt not in found}
        found |= layer
        steps += 1
    return found


# ---- selection methods: each yields the unique ids of the nodes one criterion matches ---------------------


def _search(graph: SelectionGraph, spec: Criterion) -> Iterable[str]:
    value = spec.value
    nodes = graph.nodes.items()
    method = spec.method
    if method == "fqn":
        return _fqn_search(graph, str(value))
    if method == "tag":
        return (u for u, n in nodes if any(fnmatchcase(tag, str(value)) for tag in n.tags))
    if method == "source":
        package, source, table = spec.source_parts()
        return (
            u
            for u, n in nodes
            if n.resource_type == "source"
            and fnmatchcase(n.package_name, package)
            and fnmatchcase(n.source_name or "", source)
            and fnmatchcase(n.name, table)
        )
    if method == "path":
        return _path_search(graph, str(value))
    if method == "file":
        return (u for u, n in nodes if _file_matches(n.original_file_path, str(value)))
    if method == "package":
        package = graph.project_name if value == "this" and graph.project_name else str(value)
        return (u for u, n in nodes if fnmatchcase(n.package_name, package))
    if method == "resource_type":
        return (u for u, n in nodes if n.resource_type == value)
    if method == "config":
        return (
            u
            for u, n in nodes
            if n.resource_type not in _NOT_CONFIGURABLE and _config_matches(n.config, spec.arguments, value)
        )
    if method == "test_name":
        return (
            u for u, n in nodes if _test_name(n) is not None and fnmatchcase(_test_name(n) or "", str(value))
        )
    if method == "test_type":
        kinds = spec.test_kinds()
        return (u for u, n in nodes if _test_kind(n) in kinds)
    raise SelectionError(f"selection method {method!r} is not handled")  # parse_selection lets none through


def _fqn_search(graph: SelectionGraph, selector: str) -> Iterator[str]:
    """dbt's default method: the node's name, or a dotted prefix of its fqn (with or without the package)."""
    if selector == "*":  # dbt's default selection (fqn:*): every node with an fqn, without the match work
        for uid, node in graph.nodes.items():
            if node.resource_type != "source" and node.fqn and (node.version is None or len(node.fqn) > 1):
                yield uid
        return
    wanted = tuple(selector.split("."))
    wildcard = next((i for i, part in enumerate(wanted) if any(c in part for c in "*?[]")), None)
    for uid, node in graph.nodes.items():
        if node.resource_type == "source" or not node.fqn:
            continue
        flat = graph.flat_fqn(uid)
        versioned = node.version is not None
        for scoped in (True, False):  # with the package first, then without it (matches across packages)
            fqn = node.fqn if scoped else node.fqn[1:]
            parts = flat if scoped else flat[len(node.fqn[0].split(".")) :]
            if _fqn_matches(fqn, parts, selector, wanted, wildcard, versioned):
                yield uid
                break


def _fqn_matches(
    fqn: Sequence[str],
    parts: Sequence[str],
    selector: str,
    wanted: tuple[str, ...],
    wildcard: int | None,
    versioned: bool,
) -> bool:
    if not fqn or (versioned and len(fqn) < 2):
        return False
    leaf = fqn[-2] if versioned else fqn[-1]
    if leaf == selector:
        return True
    # A versioned model also answers to "name.v2" / "name_v2" (its fqn ends in [name, "v2"]).
    if versioned and f"{fqn[-2]}_{fqn[-1]}" == "_".join(wanted[-2:]):
        return True
    if len(parts) < len(wanted):
        return False
    if wildcard is None:
        return tuple(parts[: len(wanted)]) == wanted
    if wanted[wildcard:] == ("*",):  # "*" matches any rest, dots included
        return tuple(parts[:wildcard]) == wanted[:wildcard]
    if tuple(parts[:wildcard]) != wanted[:wildcard]:
        return False
    # From the first wildcard on, the rest of the fqn matches as one glob; a bare glob also matches the name.
    if fnmatchcase(".".join(parts[wildcard:]), ".".join(wanted[wildcard:])):
        return True
    return len(wanted) == 1 and fnmatchcase(leaf, selector)


def _own_paths(node: NodeLike) -> list[PurePosixPath]:
    paths = [PurePosixPath(node.original_file_path)] if node.original_file_path else []
    if node.patch_path and "://" in node.patch_path:
        paths.append(PurePosixPath(node.patch_path.split("://", 1)[1]))
    return paths


def _path_search(graph: SelectionGraph, pattern: str) -> Iterator[str]:
    wanted = PurePosixPath(pattern).parts
    matched = {path for path, parts in graph.node_paths().items() if _glob_parts(wanted, parts)}
    return (uid for uid in graph.nodes if not matched.isdisjoint(graph.path_keys(uid)))


def _glob_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """pathlib's glob for one path: each segment a glob, ``**`` any number of folders (zero included)."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_parts(rest, parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatchcase(parts[0], head) and _glob_parts(rest, parts[1:])


def _file_matches(original_file_path: str, pattern: str) -> bool:
    path = PurePosixPath(original_file_path)
    return fnmatchcase(path.name, pattern) or fnmatchcase(path.stem, pattern)


def _config_matches(config: Mapping[str, Any], keys: Sequence[str], wanted: Any) -> bool:
    value: Any = config
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    text = str(wanted)
    if list(keys) == ["severity"] and isinstance(value, str):
        return text.upper() == value.upper()
    truth = {"TRUE": True, "FALSE": False}.get(text.upper())
    if isinstance(value, list):
        return wanted in value or (truth is not None and truth in value)
    return wanted == value or (truth is not None and value is truth)


def _test_name(node: NodeLike) -> str | None:
    if node.resource_type == "test":
        return node.test_name
    return node.name if node.resource_type == "unit_test" else None


def _test_kind(node: NodeLike) -> str | None:
    if node.resource_type == "unit_test":
        return "unit"
    if node.resource_type == "test":
        return "generic" if node.test_name else "singular"
    return None


def _with_parents(node: SelectableNode, parents: Sequence[str]) -> SelectableNode:
    from dataclasses import replace

    return replace(node, depends_on=tuple(parents))


def _selector_definitions(raw: Mapping[str, Any]) -> dict[str, tuple[Any, bool]]:
    """name -> (definition, default) from selectors.yml's ``{"selectors": [...]}`` or the manifest's map."""
    entries = raw["selectors"] if isinstance(raw.get("selectors"), list) else list(raw.values())
    result: dict[str, tuple[Any, bool]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or "name" not in entry or "definition" not in entry:
            raise SelectionError(f"a selector needs 'name' and 'definition'; got {entry!r}.")
        result[str(entry["name"])] = (entry["definition"], bool(entry.get("default", False)))
    return result
