"""The task layout of a dbt selection: one task per model, seed and snapshot, tests as optional extra tasks.

``render_plan(graph, selection.unique_ids)`` turns selected unique ids into task ids and edges without
touching Airflow, so ``DbtTaskGroup`` only has to create operators and call ``>>``.

Edges follow dbt build's ordering: A -> B when B depends on A, also through nodes that are not selected
(dbt keeps the order of A -> x -> B when x is left out, so B still waits for A). Tests (``tests=``):

- ``"after_each"``: a node's tests belong to the node's own task: they run right after it and a failing test
  fails that task, so its children wait for them (dbt build skips the children of a failed test). A test of
  several nodes (``relationships``) joins the task of the one built last when one of them is downstream of
  all the others, else gets its own task after all of them. Tests of sources run in
  ``<source>_<table>_test`` before the models that read them.
- ``"after_all"``: one ``tests`` task after every other task.
- ``"none"``: no test tasks.
"""

from __future__ import annotations

import heapq
import re
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from airflow_provider_dataeng.dbt.selection import NodeLike, SelectionGraph

EXECUTABLE_TYPES = ("model", "seed", "snapshot")
TEST_TYPES = ("test", "unit_test")
TEST_MODES = ("after_each", "after_all", "none")
_MAX_TASK_ID = 200  # Airflow allows 250 for the full id; leave room for the task group's prefix


@dataclass(frozen=True)
class PlannedTask:
    """One task: the node it builds (with its tests), or tests alone (``resource_type == "test"``)."""

    task_id: str
    resource_type: str
    unique_ids: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """Tasks in a dependency order (upstream first) and edges as (upstream task id, downstream task id)."""

    tasks: tuple[PlannedTask, ...]
    edges: tuple[tuple[str, str], ...]

    @property
    def task_ids(self) -> tuple[str, ...]:
        return tuple(task.task_id for task in self.tasks)

    def task_for(self, unique_id: str) -> PlannedTask:
        """The task that builds or tests ``unique_id``."""
        for task in self.tasks:
            if unique_id in task.unique_ids:
                return task
        raise KeyError(f"{unique_id} is in no task of this plan")


def render_plan(graph: SelectionGraph, selected: Iterable[str], tests: str = "after_each") -> Plan:
    """Task ids and edges for the selected unique ids (other resource types, e.g. sources, are skipped)."""
    check_tests_mode(tests)
    chosen = set(selected)
    unknown = chosen - graph.nodes.keys()
    if unknown:
        raise ValueError(f"selected nodes missing from the manifest: {', '.join(sorted(unknown))}.")
    runs = sorted(uid for uid in chosen if graph.nodes[uid].resource_type in EXECUTABLE_TYPES)
    names = _run_task_ids([graph.nodes[uid] for uid in runs])
    upstream = _bridged_parents(graph, set(runs))
    edges = {(names[parent], names[uid]) for uid in runs for parent in upstream[uid]}
    tasks = [PlannedTask(names[uid], graph.nodes[uid].resource_type, (uid,)) for uid in runs]
    test_ids = sorted(uid for uid in chosen if graph.nodes[uid].resource_type in TEST_TYPES)
    if test_ids and tests == "after_all":
        sinks = set(names.values()) - {up for up, _ in edges}
        task_id = _claim("tests", {t.task_id for t in tasks})
        tasks.append(PlannedTask(task_id, "test", tuple(test_ids)))
        edges |= {(sink, task_id) for sink in sinks}
    elif test_ids and tests == "after_each":
        _add_test_tasks(graph, test_ids, names, tasks, edges)
    return Plan(_in_order(tasks, edges), tuple(sorted(edges)))


def check_tests_mode(tests: str) -> None:
    """``tests=`` must be one of ``TEST_MODES``."""
    if tests not in TEST_MODES:
        raise ValueError(f"tests must be one of {', '.join(TEST_MODES)}; got {tests!r}.")


def task_id_for(text: str) -> str:
    """A valid Airflow task id from a dbt name: letters, digits, ``_`` and ``-`` only, length capped."""
    clean = re.sub(r"[^A-Za-z0-9_-]", "_", text)
    if len(clean) > _MAX_TASK_ID:
        digest = f"{zlib.crc32(clean.encode()):08x}"  # keeps long ids apart; zlib is cheaper to import than hashlib
        clean = f"{clean[: _MAX_TASK_ID - 9]}_{digest}"
    return clean


def _run_task_ids(nodes: list[NodeLike]) -> dict[str, str]:
    """The node's name; ``package__name`` when names collide, ``type__package__name`` if that collides too."""

    def base(node: NodeLike) -> str:
        return node.name if node.version is None else f"{node.name}_v{node.version}"

    levels = [
        lambda n: base(n),
        lambda n: f"{n.package_name}__{base(n)}",
        lambda n: f"{n.resource_type}__{n.package_name}__{base(n)}",
    ]
    result: dict[str, str] = {}
    pending = nodes
    for level in levels:
        counts: dict[str, int] = defaultdict(int)
        for node in pending:
            counts[task_id_for(level(node))] += 1
        for node in pending:
            if counts[task_id_for(level(node))] == 1:
                result[node.unique_id] = task_id_for(level(node))
        pending = [node for node in pending if node.unique_id not in result]
    taken = set(result.values())
    for node in pending:  # only ids made equal by the clean-up of odd characters
        result[node.unique_id] = _claim(task_id_for(node.unique_id), taken)
    return result


def _bridged_parents(graph: SelectionGraph, runs: set[str]) -> dict[str, set[str]]:
    """For each run node, the nearest run nodes upstream, looking through nodes that are not run."""
    through: dict[str, set[str]] = {}  # non-run node -> nearest run ancestors
    result: dict[str, set[str]] = {}
    for uid in _topological(graph):
        nearest: set[str] = set()
        for parent in graph.parents[uid]:
            nearest |= {parent} if parent in runs else through.get(parent, set())
        if uid in runs:
            result[uid] = nearest
        else:
            through[uid] = nearest
    return result


def _topological(graph: SelectionGraph) -> list[str]:
    waiting = {uid: len(parents) for uid, parents in graph.parents.items()}
    ready = [uid for uid, count in waiting.items() if count == 0]
    order: list[str] = []
    while ready:
        uid = ready.pop()
        order.append(uid)
        for child in graph.children[uid]:
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    if len(order) != len(waiting):
        cycle = sorted(uid for uid, count in waiting.items() if count > 0)[:5]
        raise ValueError(f"the manifest's dependencies form a cycle through {', '.join(cycle)}.")
    return order


def _add_test_tasks(
    graph: SelectionGraph,
    test_ids: list[str],
    names: dict[str, str],
    tasks: list[PlannedTask],
    edges: set[tuple[str, str]],
) -> None:
    """after_each: group tests by the task they follow, then rewire children to wait for those tests."""
    upstream: dict[str, set[str]] = defaultdict(set)
    for up, down in edges:
        upstream[down].add(up)
    groups: dict[str, list[str]] = defaultdict(
        list
    )  # anchor (a run or source unique id, or the test) -> tests
    for test in test_ids:
        parents = graph.parents[test]
        anchors = [p for p in parents if p in names]
        if len(anchors) == 1:
            groups[anchors[0]].append(test)
        elif anchors:
            last = [a for a in anchors if {names[b] for b in anchors if b != a} <= _reach(names[a], upstream)]
            groups[last[0] if last else test].append(test)
        elif len(parents) == 1:
            groups[parents[0]].append(test)  # a source's (or an unselected node's) tests
        else:
            groups[test].append(test)
    taken = {task.task_id for task in tasks}
    positions = {task.task_id: index for index, task in enumerate(tasks)}
    for anchor, members in sorted(groups.items()):
        node = graph.nodes[anchor]
        if anchor in names:  # the node's own task runs its tests too and fails with them, as dbt build
            position = positions[names[anchor]]
            own = tasks[position]
            tasks[position] = PlannedTask(own.task_id, own.resource_type, (*own.unique_ids, *members))
            continue
        if node.resource_type in TEST_TYPES:  # a test of several nodes, none downstream of all the others
            task_id = _claim(task_id_for(node.name), taken)
            edges |= {(names[p], task_id) for p in graph.parents[anchor] if p in names}
        else:
            label = f"{node.source_name}_{node.name}" if node.resource_type == "source" else node.name
            task_id = _claim(task_id_for(f"{label}_test"), taken)
            edges |= {(task_id, names[child]) for child in graph.children[anchor] if child in names}
        taken.add(task_id)
        tasks.append(PlannedTask(task_id, "test", tuple(members)))


def _reach(task: str, edges: dict[str, set[str]]) -> set[str]:
    """Every task reached from ``task`` along ``edges`` (here: everything upstream of it)."""
    seen: set[str] = set()
    todo = [task]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _claim(candidate: str, taken: set[str]) -> str:
    task_id, number = candidate, 2
    while task_id in taken:
        task_id, number = f"{candidate}_{number}", number + 1
    return task_id


def _in_order(tasks: list[PlannedTask], edges: set[tuple[str, str]]) -> tuple[PlannedTask, ...]:
    """Upstream tasks first, ties by task id (a stable order for logs and tests)."""
    by_id = {task.task_id: task for task in tasks}
    waiting = dict.fromkeys(by_id, 0)
    children: dict[str, list[str]] = defaultdict(list)
    for up, down in edges:
        waiting[down] += 1
        children[up].append(down)
    ready = [task_id for task_id, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[PlannedTask] = []
    while ready:
        task_id = heapq.heappop(ready)
        order.append(by_id[task_id])
        for child in children[task_id]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, child)
    return tuple(order)
