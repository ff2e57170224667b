"""Answers relay-style connection queries over the same views as the REST endpoints.

``{ customers(first: 100, after: $cursor, updatedSince: "...", updatedBefore: "...", asOf: "...",
includeDeleted: true) { totalCount edges { cursor node { id email } } nodes { id }
pageInfo { hasNextPage endCursor } } }`` (``records:`` sizes ``bulk``). Cursors are the REST cursors.
"""

from __future__ import annotations

from typing import Any

from dataeng_local.demo_api import cursors
from dataeng_local.demo_api.graphql import Field
from dataeng_local.demo_api.models import Bulk, Customers, Events, Orders
from dataeng_local.demo_api.paging import BadRequest, Mutation
from dataeng_local.demo_api.selection import Selection, select
from dataeng_local.demo_api.views import Dataset, View

GRAPHQL_NAMES = {
    "as_of": "asOf",
    "updated_since": "updatedSince",
    "updated_before": "updatedBefore",
    "include_deleted": "includeDeleted",
    "records": "records",
}
CONNECTION_FIELDS = ("edges", "nodes", "pageInfo", "totalCount")
PAGE_INFO_FIELDS = ("hasNextPage", "endCursor", "hasPreviousPage", "startCursor")


class GraphQLError(ValueError):
    """A query that reads but asks for something that does not exist."""


class Connection:
    """One root field resolved to a view and a start position (positions first, for fault matching)."""

    def __init__(self, dataset: Dataset, root: Field, now: int, default_size: int, max_size: int) -> None:
        self.root = root
        unknown = [f.name for f in root.selections if f.name not in CONNECTION_FIELDS]
        if unknown:
            raise GraphQLError(f"Cannot query field {unknown[0]!r} on a {root.name} connection")
        self.selection: Selection = select(root.name, root.args, now, GRAPHQL_NAMES)
        first = root.args.get("first", default_size)
        if not isinstance(first, int) or not 1 <= first <= max_size:
            raise BadRequest(f"first must be an integer between 1 and {max_size}, got {first!r}")
        self.first = first
        self.after = root.args.get("after")
        sel = self.selection
        self.view: View = dataset.view(sel.resource, sel.t, sel.window, sel.include_deleted, sel.records)
        self.fields = dataset_fields(dataset, root.name)
        self._validate()
        try:
            self.start = (
                0 if self.after is None else self.view.position_after(cursors.decode(str(self.after)))
            )
        except cursors.CursorError as exc:
            raise BadRequest(str(exc)) from None

    def _validate(self) -> None:
        for f in self.root.selections:
            if f.name == "nodes":
                self._check_node(f)
            elif f.name == "edges":
                for s in f.selections:
                    if s.name == "node":
                        self._check_node(s)
                    elif s.name != "cursor":
                        raise GraphQLError(f"Cannot query field {s.name!r} on an edge")

    def _check_node(self, f: Field) -> None:
        for s in f.selections:
            if s.name not in self.fields:
                raise GraphQLError(f"Cannot query field {s.name!r} on {self.root.name}")

    @property
    def page_number(self) -> int:
        return self.start // self.first + 1

    def resolve(self, mutation: Mutation | None = None) -> dict[str, Any]:
        mutation = mutation or Mutation()
        view, start = self.view, self.start
        total = len(view)
        stop = min(start + self.first, total)
        records = [] if mutation.empty else view.records(start, stop)
        keys = [view.key(p) for p in range(start, stop)] if not mutation.empty else []
        has_next = stop < total
        end_cursor = cursors.encode(keys[-1]) if keys else self.after
        if mutation.empty and has_next:
            end_cursor = cursors.encode(view.key(start - 1) if start > 0 else cursors.BEFORE_START, hop=1)
        if mutation.repeat_cursor and self.after is not None:
            end_cursor = self.after
        out: dict[str, Any] = {}
        for f in self.root.selections:
            if f.name == "totalCount":
                out[f.alias] = total
            elif f.name == "pageInfo":
                info = {
                    "hasNextPage": has_next,
                    "endCursor": end_cursor,
                    "hasPreviousPage": start > 0,
                    "startCursor": cursors.encode(keys[0]) if keys else None,
                }
                out[f.alias] = {s.alias: info[s.name] for s in f.selections if s.name in PAGE_INFO_FIELDS}
            elif f.name == "nodes" and not mutation.drop_data:
                out[f.alias] = [self._node(r, f, mutation) for r in records]
            elif f.name == "edges" and not mutation.drop_data:
                out[f.alias] = [self._edge(r, k, f, mutation) for r, k in zip(records, keys)]
        return out

    def _edge(
        self, record: dict[str, Any], key: tuple[int, int], f: Field, mutation: Mutation
    ) -> dict[str, Any]:
        edge: dict[str, Any] = {}
        for s in f.selections:
            if s.name == "cursor":
                edge[s.alias] = cursors.encode(key)
            else:
                edge[s.alias] = self._node(record, s, mutation)
        return edge

    def _node(self, record: dict[str, Any], f: Field, mutation: Mutation) -> dict[str, Any]:
        node: dict[str, Any] = {}
        for s in f.selections:
            if mutation.drop_id and s.name == self.view.id_field:
                continue
            value = record[s.name]
            if s.selections and isinstance(value, dict):
                value = {c.alias: value.get(c.name) for c in s.selections}
            node[s.alias] = value
        return node


def dataset_fields(dataset: Dataset, resource: str) -> tuple[str, ...]:
    models: dict[str, Customers | Orders | Events | Bulk] = {
        "customers": dataset.customers,
        "orders": dataset.orders,
        "events": dataset.events,
        "bulk": dataset.bulk,
    }
    return models[resource].fields
