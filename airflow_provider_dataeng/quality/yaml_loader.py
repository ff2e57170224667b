"""Load checks from YAML with dbt's names, and errors that name the file, line and key.

Two layouts, which may be mixed in one file::

    checks:                       # table-level list: one check per item
      - row_count: {min: 1}
      - unique: [order_id, line_no]
      - expression: "amount >= 0"
      - custom_sql: {query: "SELECT COUNT(*) FROM {table} WHERE amount < 0", expect: 0}
    columns:                      # dbt's schema.yml style: checks under each column
      - name: order_id
        tests: [unique, not_null]          # or data_tests:
      - name: status
        tests:
          - accepted_values:
              values: [placed, shipped]
              config: {severity: warn}     # dbt puts severity/where under config; top level works too
      - name: customer_id
        tests:
          - relationships: {to: ref('customers'), field: id}

PyYAML's node marks give every error its line: ``checks.yml:7: key 'uniq': unknown check ...``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airflow_provider_dataeng.quality.checks import CONSTRUCTORS, Check
from airflow_provider_dataeng.sql.identifiers import IdentifierError


class QualityConfigError(ValueError):
    """A checks file that cannot be used; the message names the file, line and key."""


#: Other spellings users bring from dbt / dbt_utils -> (our check, argument renames).
ALIASES: dict[str, tuple[str, dict[str, str]]] = {
    "expression_is_true": ("expression", {"expression": "sql"}),
    "dbt_utils.expression_is_true": ("expression", {"expression": "sql"}),
    "unique_combination_of_columns": ("unique", {"combination_of_columns": "columns"}),
    "dbt_utils.unique_combination_of_columns": ("unique", {"combination_of_columns": "columns"}),
}
#: Argument renames for every check (dbt's names on the left).
ARG_ALIASES = {"to": "to_table", "field": "to_column", "expression": "sql", "column_name": "column"}
#: The argument a bare value fills (``unique: id``) and the one a column entry fills implicitly.
FIRST_ARG = {
    "unique": "columns",
    "not_null": "columns",
    "accepted_values": "column",
    "relationships": "column",
    "freshness": "column",
    "expression": "sql",
    "custom_sql": "query",
}
_REF = re.compile(r"""^\s*(?:ref|source)\(\s*(['"])([^'"]+)\1\s*(?:,\s*(['"])([^'"]+)\3\s*)?\)\s*$""")


def load_checks_file(path: str | Path) -> list[Check]:
    """Checks from a YAML file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise QualityConfigError(f"checks_file={str(path)!r} cannot be read: {err.strerror}") from None
    return load_checks_yaml(text, source=str(path))


def load_checks_yaml(text: str, *, source: str = "<yaml>") -> list[Check]:
    """Checks from YAML text (``source`` names it in errors)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise QualityConfigError(f"{where}: not valid YAML: {getattr(err, 'problem', err)}") from None
    finally:
        loader.dispose()
    if root is None:
        raise QualityConfigError(f"{source}: the file is empty; expected 'checks:' and/or 'columns:'")
    return _Reader(loader, source).document(root)


class _Reader:
    def __init__(self, loader: Any, source: str) -> None:
        self.loader = loader
        self.source = source

    def fail(self, node: Any, key: str | None, message: str) -> QualityConfigError:
        where = f"{self.source}:{node.start_mark.line + 1}"
        return QualityConfigError(f"{where}: key {key!r}: {message}" if key else f"{where}: {message}")

    def value(self, node: Any) -> Any:
        return self.loader.construct_object(node, deep=True)

    def mapping(self, node: Any, key: str | None, what: str) -> list[tuple[str, Any, Any]]:
        """(key, key node, value node) of a mapping node, keys as strings."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, key, f"expected {what} (a mapping)")
        out = []
        for key_node, value_node in node.value:
            out.append((str(self.value(key_node)), key_node, value_node))
        return out

    def sequence(self, node: Any, key: str) -> list[Any]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, key, "expected a list")
        return list(node.value)

    def document(self, root: Any) -> list[Check]:
        checks: list[Check] = []
        for key, key_node, value_node in self.mapping(
            root, None, "a mapping with 'checks:' and/or 'columns:'"
        ):
            if key == "checks":
                checks += [self.check(item, None) for item in self.sequence(value_node, key)]
            elif key == "columns":
                for column_node in self.sequence(value_node, key):
                    checks += self.column(column_node)
            elif key != "version":
                raise self.fail(key_node, key, "unknown top-level key (expected 'checks' or 'columns')")
        return checks

    def column(self, node: Any) -> list[Check]:
        entries = self.mapping(node, "columns", "a column entry with 'name:' and 'tests:'")
        keys = {k: (kn, vn) for k, kn, vn in entries}
        if "name" not in keys:
            raise self.fail(node, "name", "missing argument 'name' (the column) in this column entry")
        name = self.value(keys["name"][1])
        checks = []
        for key, key_node, value_node in entries:
            if key in ("tests", "data_tests"):
                checks += [self.check(item, name) for item in self.sequence(value_node, key)]
            elif key not in ("name", "description", "meta", "data_type", "quote", "tags", "config"):
                raise self.fail(key_node, key, "unknown key in a column entry (expected name, tests)")
        return checks

    def check(self, node: Any, column: str | None) -> Check:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            return self.build(str(self.value(node)), node, None, {}, column)
        entries = self.mapping(node, "checks", "a check such as 'unique: id' or 'row_count: {min: 1}'")
        named = [(k, kn, vn) for k, kn, vn in entries if k in CONSTRUCTORS or k in ALIASES]
        if len(named) > 1:
            raise self.fail(named[1][1], named[1][0], "one check per list item")
        if not named:
            key, key_node, _ = entries[0]
            raise self.fail(key_node, key, f"unknown check (known: {', '.join(sorted(CONSTRUCTORS))})")
        kind, key_node, args_node = named[0]
        extra = {k: (kn, vn) for k, kn, vn in entries if k != kind}
        return self.build(kind, key_node, args_node, extra, column)

    def build(
        self, kind: str, key_node: Any, args_node: Any, extra: dict[str, tuple[Any, Any]], column: str | None
    ) -> Check:
        import yaml

        renames: dict[str, str] = {}
        if kind in ALIASES:
            kind, renames = ALIASES[kind]
        if kind not in CONSTRUCTORS:
            raise self.fail(key_node, kind, f"unknown check (known: {', '.join(sorted(CONSTRUCTORS))})")
        constructor = CONSTRUCTORS[kind]
        args: dict[str, tuple[Any, Any]] = {}  # argument -> (value, node for errors)
        if (
            column is not None
            and kind in FIRST_ARG
            and FIRST_ARG[kind] != "sql"
            and FIRST_ARG[kind] != "query"
        ):
            args[FIRST_ARG[kind]] = (column, key_node)
        if args_node is not None and not (
            isinstance(args_node, yaml.ScalarNode)
            and args_node.value == ""
            and args_node.tag.endswith(":null")
        ):
            if isinstance(args_node, yaml.MappingNode):
                items = [(k, kn, vn) for k, kn, vn in self.mapping(args_node, kind, "arguments")]
            else:
                if kind not in FIRST_ARG:
                    raise self.fail(args_node, kind, "expected arguments as a mapping, e.g. {min: 1}")
                items = [(FIRST_ARG[kind], args_node, args_node)]
            for arg, arg_key_node, value_node in items:
                if arg == "config":
                    for sub, sub_key_node, sub_value in self.mapping(
                        value_node, "config", "a config mapping"
                    ):
                        args[sub] = (self.value(sub_value), sub_key_node)
                else:
                    args[arg] = (self.value(value_node), arg_key_node)
        for arg, (arg_key_node, value_node) in extra.items():
            if arg == "config":
                for sub, sub_key_node, sub_value in self.mapping(value_node, "config", "a config mapping"):
                    args[sub] = (self.value(sub_value), sub_key_node)
            else:
                args[arg] = (self.value(value_node), arg_key_node)
        return self.call(kind, constructor, key_node, self.rename(args, renames))

    @staticmethod
    def rename(args: dict[str, tuple[Any, Any]], renames: dict[str, str]) -> dict[str, tuple[Any, Any]]:
        out = {}
        for arg, value in args.items():
            arg = renames.get(arg, ARG_ALIASES.get(arg, arg))
            if arg == "to_table" and isinstance(value[0], str) and (m := _REF.match(value[0])):
                value = (m.group(4) and f"{m.group(2)}.{m.group(4)}" or m.group(2), value[1])
            out[arg] = value
        return out

    def call(
        self, kind: str, constructor: Callable[..., Check], key_node: Any, args: dict[str, tuple[Any, Any]]
    ) -> Check:
        signature = inspect.signature(constructor)
        allowed = list(signature.parameters)
        for arg, (_, node) in args.items():
            if arg not in signature.parameters:
                raise self.fail(
                    node, arg, f"unknown argument for check {kind!r} (allowed: {', '.join(allowed)})"
                )
        missing = [
            p.name
            for p in signature.parameters.values()
            if p.default is inspect.Parameter.empty and p.name not in args
        ]
        if missing:
            raise self.fail(key_node, kind, f"missing argument {missing[0]!r} for check {kind!r}")
        try:
            return constructor(**{arg: value for arg, (value, _) in args.items()})
        except (ValueError, TypeError, IdentifierError) as err:
            text = str(err)
            for arg, (_, node) in args.items():
                if f".{arg}" in text or f"{arg} " in text.split(":")[0]:
                    raise self.fail(node, arg, text) from None
            raise self.fail(key_node, kind, text) from None
