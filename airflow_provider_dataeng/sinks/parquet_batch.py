"""Batches of raw JSON records -> Arrow tables whose types never change silently, for Parquet part files.

:class:`RecordTypes` holds one extract's column types, shared by all its part files:

- Declared columns (``schema=``, see :mod:`~airflow_provider_dataeng.sinks.parquet_types`) are taken out of
  each record (msgspec, top-level fields as raw JSON) and converted exactly, or the batch fails naming the
  record, page and field.
- Every other field keeps its JSON type, parsed by Arrow's C++ JSON reader: a string stays a string (Arrow
  would turn ISO-8601 strings into naive timestamps: fields it reads as timestamps are re-read as strings,
  and fields known to be strings are pinned in the reader's schema), integers are int64, a number column
  with a fraction anywhere is float64, true/false is bool, objects are structs and arrays lists.
- Integers are never rounded: an integer beyond int64, or one a float64 column cannot hold exactly, fails
  naming the field (declare it ``decimal(38,0)`` or ``string``). The check is vectorized; records are only
  decoded in Python when a float64 value reaches 2**53.
- A field whose type changes (a number, then a string; an object, then an array) is a type conflict:
  ``on_type_conflict="fail"`` fails naming field, both types, record and page; ``"string"`` stores the
  field as text from then on (:func:`as_text` converts what earlier part files hold).
- Parquet cannot write an object with no keys (a struct without fields): a field that has only held ``{}``
  so far is written as nulls (logged once), and becomes a struct when keys appear.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_dataeng.sinks.parquet_types import STRING, ColumnType, ValueDoesNotFit, convert, strings

ON_TYPE_CONFLICT = ("fail", "string")
_EXACT = float(2**53)  # every integer up to this magnitude is exact in a float64
_INT64 = (-(2**63), 2**63 - 1)
_BLOCK = 1 << 22
_MAX_BLOCK = (1 << 31) - 1  # the reader's block size is an int32

log = logging.getLogger(__name__)


class ParquetTypeError(ValueError):
    """A record cannot be written with the extract's Parquet column types (the message says where and why)."""


class TypeConflict(Exception):
    """A field's JSON type differs from its type so far; ``on_type_conflict`` decides what happens."""

    def __init__(self, field: str, summary: str, advice: str) -> None:
        super().__init__(f"{summary}; {advice}")
        self.field = field
        self.summary = summary  # where and which types
        self.message = f"{summary}; {advice}"


class Origin:
    """Where each record of a batch came from: its page and its index within that page."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int, int]] = []  # (first position in the batch, page, index in page)
        self.size = 0

    def add(self, count: int, page: int, first: int) -> None:
        if count:
            self._spans.append((self.size, page, first))
            self.size += count

    def locate(self, position: int) -> tuple[int, int]:
        for start, page, first in reversed(self._spans):
            if position >= start:
                return page, first + position - start
        raise IndexError(position)

    def describe(self, position: int) -> str:
        page, index = self.locate(position)
        return f"record {index} of page {page}"

    def pages(self) -> str:
        pages = sorted({page for _, page, _ in self._spans})
        return f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}-{pages[-1]}"


class RecordTypes:
    """One extract's Parquet column types: declared, turned to text by ``on_type_conflict``, inferred.

    :param declared: ``{"field": ColumnType}`` from ``schema=``.
    :param on_type_conflict: ``fail`` or ``string`` (see the module docstring).
    """

    def __init__(
        self, declared: Mapping[str, ColumnType] | None = None, on_type_conflict: str = "fail"
    ) -> None:
        if on_type_conflict not in ON_TYPE_CONFLICT:
            raise ValueError(f"on_type_conflict must be one of {ON_TYPE_CONFLICT}, got {on_type_conflict!r}")
        self.declared = dict(declared or {})
        self.on_type_conflict = on_type_conflict
        self.text: list[str] = []  # fields stored as text after a type conflict
        self.inferred: Any = None  # pa.Schema of the other fields, widened batch by batch
        self.first_page: dict[str, int] = {}  # top-level field -> page where its current type first appeared
        self._pinned: Any = None
        self._warned: set[str] = set()

    # -- state -------------------------------------------------------------------------------------
    @property
    def columns(self) -> dict[str, ColumnType]:
        """Columns converted from raw JSON: declared ones, then the ones turned to text."""
        return {**self.declared, **{name: STRING for name in self.text if name not in self.declared}}

    def store_as_text(self, field: str) -> None:
        """From now on ``field`` is a string column (``on_type_conflict="string"``)."""
        self.text.append(field)
        self.first_page.pop(field, None)
        if self.inferred is not None and field in self.inferred.names:
            self.inferred = self.inferred.remove(self.inferred.get_field_index(field))
            self._pinned = None

    def state(self) -> dict[str, Any]:
        """JSON-able state for a deferred extract (see :meth:`restore`)."""
        inferred = None
        if self.inferred is not None:
            inferred = base64.b64encode(self.inferred.serialize().to_pybytes()).decode()
        return {"text": list(self.text), "inferred": inferred, "first_page": dict(self.first_page)}

    def restore(self, state: Mapping[str, Any]) -> None:
        import pyarrow as pa

        self.text = [str(f) for f in state.get("text", [])]
        inferred = state.get("inferred")
        self.inferred = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(inferred))) if inferred else None
        self.first_page = {str(k): int(v) for k, v in state.get("first_page", {}).items()}
        self._pinned = None

    # -- converting --------------------------------------------------------------------------------
    def convert(self, records: Sequence[Any], origin: Origin) -> Any:
        """One Arrow table for ``records`` (raw JSON bytes), with the extract's columns so far.

        Raises :class:`ParquetTypeError` for a record that cannot be stored as it is and
        :class:`TypeConflict` for a field whose type changed (nothing is updated then).
        """
        import pyarrow as pa

        typed: dict[str, Any] = {}
        columns = self.columns
        if columns:
            rows = _split(records, origin)
            for name, column in columns.items():
                raws = [row.pop(name, None) for row in rows]
                try:
                    typed[name] = convert(raws, column)
                except ValueDoesNotFit as bad:
                    raise ParquetTypeError(
                        f"{origin.describe(bad.index)}: field {name!r} {bad.reason} (schema type "
                        f"{column.name!r}). Nothing was committed."
                    ) from None
            data = _encoder().encode_lines(rows)
        else:
            data = b"\n".join(records)
        skip = set(columns)
        table = self._read(data, records, origin, skip)
        table = self._null_empty_objects(table)
        self._check_large_numbers(table, records, origin, skip)
        merged = self._merge(table.schema, records, origin, skip)
        table = _conform(table, merged, records, origin)
        if not typed and not merged.names and len(records):
            raise ParquetTypeError(
                f"the records of {origin.pages()} have no fields ({{}}); a Parquet file needs at least one "
                "column: use part_format='jsonl'. Nothing was committed."
            )
        for name in merged.names:
            if name not in self.first_page and not pa.types.is_null(merged.field(name).type):
                position = _first_valid(table.column(name))
                if position is not None:
                    self.first_page[name] = origin.locate(position)[0]
        if self.inferred is None or merged != self.inferred:
            self.inferred, self._pinned = merged, None
        arrays = list(typed.values()) + [table.column(name) for name in merged.names]
        return pa.Table.from_arrays(arrays, names=list(typed) + merged.names)

    def _read(self, data: bytes, records: Sequence[Any], origin: Origin, skip: set[str]) -> Any:
        """Arrow's JSON reader with string fields pinned; timestamps it infers are re-read as strings.

        Two Arrow defects are worked around: a list holding only nulls before its first typed item comes out
        invalid (its offsets span more values than it has): the batch is re-read with the inferred schema
        given explicitly, which builds it right (a list with no typed item at all, ``list<null>``, has its
        values rebuilt as nulls). And the reader infers types block by block:
        a field null in a whole block that holds an object or list in a later one cannot be converted: the
        batch is re-read as one block.
        """
        import pyarrow as pa
        import pyarrow.json as paj

        largest = max(map(len, records), default=0)
        block = max(_BLOCK, 2 * largest + 1)
        schema = self._pinned_schema()
        for _ in range(5):
            parse = paj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
            options = paj.ReadOptions(block_size=block)
            try:
                table = paj.read_json(io.BytesIO(data), read_options=options, parse_options=parse)
            except pa.ArrowInvalid as exc:
                raise self._explain(records, origin, skip, str(exc)) from None
            except pa.ArrowNotImplementedError as exc:
                if block > len(data):
                    raise self._explain(records, origin, skip, str(exc)) from None
                block = min(len(data) + 1, _MAX_BLOCK)
                continue
            as_strings = _temporal_as_string(table.schema)
            if as_strings is not None:
                schema = as_strings
                continue
            try:
                table.validate()
            except pa.ArrowInvalid:
                if schema is None or not schema.equals(table.schema):
                    schema = table.schema
                    continue
                table = _null_lists_rebuilt(table)  # lists of nulls only: typed null, read wrong anyway
                table.validate()
            return table
        raise AssertionError("Arrow's JSON reader kept returning a table to read again")

    def _pinned_schema(self) -> Any:
        """The string fields known so far (nested ones too), fixed as strings for Arrow's reader."""
        import pyarrow as pa

        if self._pinned is None:
            fields = []
            for field in self.inferred or []:
                kept = _strings_only(field.type)
                if kept is not None:
                    fields.append(pa.field(field.name, kept))
            self._pinned = pa.schema(fields) if fields else False
        return self._pinned or None

    def _null_empty_objects(self, table: Any) -> Any:
        """Objects without keys (struct<>), which Parquet cannot write, as nulls (logged once per field)."""
        import pyarrow as pa

        if not any(_has_empty_struct(f.type) for f in table.schema):
            return table
        arrays, names = [], []
        for name, column in zip(table.column_names, table.columns):
            if _has_empty_struct(column.type):
                if name not in self._warned:
                    self._warned.add(name)
                    log.warning(
                        "Field %r holds objects without keys ({}), which Parquet cannot store as a struct: they "
                        "are written as nulls until the field's objects have keys (declare it 'json' in "
                        "schema= to keep them as {}).",
                        name,
                    )
                chunks = [_empty_structs_to_null(c) for c in column.chunks]
                column = pa.chunked_array(chunks) if chunks else pa.nulls(0)
            arrays.append(column)
            names.append(name)
        return pa.Table.from_arrays(arrays, names=names)

    def _check_large_numbers(
        self, table: Any, records: Sequence[Any], origin: Origin, skip: set[str]
    ) -> None:
        """A float64 value of 2**53 or more may be an integer the float64 rounded: look at the JSON."""
        import pyarrow.compute as pc

        suspects = []
        for name, column in zip(table.column_names, table.columns):
            for chunk in column.chunks:
                for path, values in _float_leaves(chunk, (name,)):
                    # One kernel call per float column: each call releases the GIL, and taking it back
                    # waits for the read-ahead thread (a few ms a call).
                    low, high = pc.min_max(values).values()
                    if high.is_valid and (high.as_py() >= _EXACT or low.as_py() <= -_EXACT):
                        suspects.append(path)
        if suspects:
            _check_numbers(records, origin, skip, suspects)

    def _merge(self, schema: Any, records: Sequence[Any], origin: Origin, skip: set[str]) -> Any:
        import pyarrow as pa

        if self.inferred is None:
            return schema
        try:
            return pa.unify_schemas([self.inferred, schema], promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise self._explain(records, origin, skip, str(exc)) from None

    def _explain(self, records: Sequence[Any], origin: Origin, skip: set[str], arrow_error: str) -> Exception:
        """Decode the batch in Python to name the record, page and field Arrow could not type."""
        shapes = {f.name: _arrow_shape(f.type) for f in self.inferred or []}
        where = {name: f"page {page}" for name, page in self.first_page.items()}
        for position, raw in enumerate(records):
            try:
                record = json.loads(bytes(raw), object_pairs_hook=_no_duplicates)
            except _DuplicateKey as dup:
                return ParquetTypeError(
                    f"{origin.describe(position)} has the key {dup.key!r} twice; Parquet needs one value per "
                    "field: use part_format='jsonl'. Nothing was committed."
                )
            if not isinstance(record, dict):
                kind = "an array" if isinstance(record, list) else _KIND[_shape(record)]
                return ParquetTypeError(
                    f"{origin.describe(position)} is {kind}, not an object; Parquet stores objects as rows: use "
                    "part_format='jsonl' or a transform=. Nothing was committed."
                )
            for name, value in record.items():
                if name in skip:
                    continue
                try:
                    shape = _shape(value, (name,))
                    shapes[name] = _merge_shapes(shapes.get(name, "null"), shape, (name,))
                except _Clash as clash:
                    return self._conflict(name, clash, origin, position, where.get(name))
                if name not in where and value is not None:
                    where[name] = origin.describe(position)
        return ParquetTypeError(
            f"the records of {origin.pages()} cannot be written as Parquet ({arrow_error}). Nothing was committed."
        )

    def _conflict(
        self, name: str, clash: _Clash, origin: Origin, position: int, before: str | None
    ) -> TypeConflict:
        nested = f" (at {list(clash.path)})" if len(clash.path) > 1 else ""
        since = f" ({before})" if before else ""
        return TypeConflict(
            name,
            f"{origin.describe(position)}: field {name!r}{nested} is {_KIND[_kind(clash.new)]} but was "
            f"{_KIND[_kind(clash.old)]} before{since}",
            f"a Parquet column holds one type. Declare the field's type in schema= (e.g. {{{name!r}: 'string'}}), "
            "pass on_type_conflict='string' to store it as text in every part file of this extract, or use "
            "part_format='jsonl'. Nothing was committed.",
        )


def as_text(column: Any) -> Any:
    """A stored Arrow column as text, as a field turned to string stores its values: strings as they are,
    other values as JSON text (floats in their shortest form)."""
    import orjson
    import pyarrow as pa

    kind = column.type
    if pa.types.is_string(kind):
        return column
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return column.cast(pa.string())
    return strings([None if v is None else orjson.dumps(v).decode() for v in column.to_pylist()])


# -- helpers -----------------------------------------------------------------------------------------------
_ENCODER: list[Any] = []
_KIND = {
    "null": "null",
    "boolean": "true/false",
    "number": "a number",
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "list": "an array",
    "dict": "an object",
}


def _encoder() -> Any:
    if not _ENCODER:
        import msgspec

        _ENCODER.append(msgspec.json.Encoder())
    return _ENCODER[0]


def _split(records: Sequence[Any], origin: Origin) -> list[dict[str, Any]]:
    """Each record's top-level fields as raw JSON (C speed; nothing below the top level is decoded)."""
    import msgspec

    try:
        return msgspec.json.decode(b"[" + b",".join(records) + b"]", type=list[dict[str, msgspec.Raw]])
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$[")
        position = int(where.split("]", 1)[0]) if where[:1].isdigit() else 0
        raise ParquetTypeError(
            f"{origin.describe(position)} cannot be written as a Parquet row ({message}); each record must be a "
            "JSON object: use part_format='jsonl' or a transform=. Nothing was committed."
        ) from None


def _first_valid(column: Any) -> int | None:
    """Position of the first non-null value of a chunked column (not ``pc.index``, whose ``pa.scalar`` makes
    pyarrow import pandas: seconds and tens of MB in a worker)."""
    offset = 0
    for chunk in column.chunks:
        if chunk.null_count < len(chunk):
            if not chunk.null_count:
                return offset
            return offset + int(chunk.is_valid().to_numpy(zero_copy_only=False).argmax())
        offset += len(chunk)
    return None


def _temporal_as_string(schema: Any) -> Any:
    """``schema`` with every timestamp/date (at any depth) as a string; ``None`` when it has none."""
    import pyarrow as pa

    def fix(kind: Any) -> Any:
        if pa.types.is_temporal(kind):
            return pa.string()
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, fix(f.type)) for f in kind])
        if pa.types.is_list(kind):
            return pa.list_(fix(kind.value_type))
        return kind

    fixed = pa.schema([pa.field(f.name, fix(f.type)) for f in schema])
    return None if fixed == schema else fixed


def _strings_only(kind: Any) -> Any:
    """The part of a type made of strings (structs/lists leading to them); ``None`` if it has none."""
    import pyarrow as pa

    if pa.types.is_string(kind):
        return kind
    if pa.types.is_struct(kind):
        fields = [pa.field(f.name, t) for f in kind if (t := _strings_only(f.type)) is not None]
        return pa.struct(fields) if fields else None
    if pa.types.is_list(kind):
        inner = _strings_only(kind.value_type)
        return pa.list_(inner) if inner is not None else None
    return None


def _has_empty_struct(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(f.type) for f in kind)
    if pa.types.is_list(kind):
        return _has_empty_struct(kind.value_type)
    return False


def _empty_structs_to_null(array: Any) -> Any:
    import pyarrow as pa

    kind = array.type
    if pa.types.is_struct(kind):
        if kind.num_fields == 0:
            return pa.nulls(len(array))
        children = [_empty_structs_to_null(array.field(i)) for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(
            children, names=[f.name for f in kind], mask=array.is_null() if array.null_count else None
        )
    if pa.types.is_list(kind):
        values = _empty_structs_to_null(array.values)
        return pa.ListArray.from_arrays(
            array.offsets, values, mask=array.is_null() if array.null_count else None
        )
    return array


def _null_lists_rebuilt(table: Any) -> Any:
    """``table`` with the values of every list of nulls (``list<null>``, at any depth) rebuilt to span its
    offsets (Arrow's JSON reader leaves them short)."""
    import pyarrow as pa

    def rebuild(array: Any) -> Any:
        kind = array.type
        mask = array.is_null() if array.null_count else None
        if pa.types.is_struct(kind) and kind.num_fields:  # (a struct without fields keeps its own length)
            children = [rebuild(array.field(i)) for i in range(kind.num_fields)]
            return pa.StructArray.from_arrays(children, fields=list(kind), mask=mask)
        if pa.types.is_list(kind):
            offsets = array.offsets
            if pa.types.is_null(kind.value_type):
                values = pa.nulls(offsets[-1].as_py() if len(offsets) else 0)
            else:
                values = rebuild(array.values)
            return pa.ListArray.from_arrays(offsets, values, type=kind, mask=mask)
        return array

    columns = [pa.chunked_array([rebuild(c) for c in column.chunks], column.type) for column in table.columns]
    return pa.Table.from_arrays(columns, schema=table.schema)


def _float_leaves(array: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    import pyarrow as pa

    kind = array.type
    if pa.types.is_floating(kind):
        yield path, array
    elif pa.types.is_struct(kind):
        for i, field in enumerate(kind):
            yield from _float_leaves(array.field(i), (*path, field.name))
    elif pa.types.is_list(kind):
        yield from _float_leaves(array.flatten(), (*path, "[]"))


def _values_at(value: Any, path: Sequence[str]) -> Iterator[Any]:
    if not path:
        yield value
    elif path[0] == "[]":
        if isinstance(value, list):
            for item in value:
                yield from _values_at(item, path[1:])
    elif isinstance(value, dict):
        yield from _values_at(value.get(path[0]), path[1:])


def _check_numbers(
    records: Sequence[Any], origin: Origin, skip: set[str], paths: list[tuple[str, ...]]
) -> None:
    """Fail on the first integer beyond int64 or that a float64 cannot hold exactly, and on overflowing
    numbers, at ``paths`` (the float64 leaves with large values)."""
    for position, raw in enumerate(records):
        record = json.loads(bytes(raw))
        for path in paths:
            if path[0] in skip:
                continue
            for value in _values_at(record, path):
                problem = None
                if isinstance(value, bool) or value is None:
                    continue
                if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
                    problem = "is an integer beyond the int64 range"
                elif isinstance(value, int) and float(value) != value:
                    problem = (
                        "is an integer a float64 cannot hold exactly (the field has fractional numbers too)"
                    )
                elif isinstance(value, float) and value in (float("inf"), float("-inf")):
                    problem = "is beyond the float64 range"
                if problem:
                    nested = f" (at {list(path)})" if len(path) > 1 else ""
                    raise ParquetTypeError(
                        f"{origin.describe(position)}: field {path[0]!r}{nested}: {value} {problem}; declare the "
                        f"field in schema= as 'decimal(38,0)' or 'string' to keep every digit. Nothing was committed."
                    )


def _conform(table: Any, schema: Any, records: Sequence[Any], origin: Origin) -> Any:
    """``table`` with ``schema``'s columns in order: missing columns as nulls, widened types cast (an int64
    column cast to float64 fails when a value would change: then the record is named)."""
    import pyarrow as pa

    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if column.type != field.type:
            try:
                column = column.cast(field.type)
            except pa.ArrowInvalid as exc:
                _check_numbers(
                    records, origin, set(), [(field.name, *p) for p in _paths_to_floats(field.type)]
                )
                raise ParquetTypeError(
                    f"field {field.name!r} of {origin.pages()} cannot be stored as {field.type} ({exc}). Nothing "
                    "was committed."
                ) from None
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def _paths_to_floats(kind: Any) -> Iterator[tuple[str, ...]]:
    import pyarrow as pa

    if pa.types.is_floating(kind):
        yield ()
    elif pa.types.is_struct(kind):
        for field in kind:
            for path in _paths_to_floats(field.type):
                yield (field.name, *path)
    elif pa.types.is_list(kind):
        for path in _paths_to_floats(kind.value_type):
            yield ("[]", *path)


class _Clash(Exception):
    def __init__(self, path: tuple[str, ...], old: Any, new: Any) -> None:
        super().__init__(path)
        self.path, self.old, self.new = path, old, new


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _kind(shape: Any) -> str:
    return shape if isinstance(shape, str) else shape[0]


def _shape(value: Any, path: tuple[str, ...] = ()) -> Any:
    """A JSON value's type: ``null``/``boolean``/``number``/``string``, ``("object", {key: shape})`` or
    ``("array", element shape)`` (raises :class:`_Clash` for an array mixing types)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return ("object", {k: _shape(v, (*path, k)) for k, v in value.items()})
    element: Any = "null"
    for item in value:
        element = _merge_shapes(element, _shape(item, (*path, "[]")), (*path, "[]"))
    return ("array", element)


def _merge_shapes(old: Any, new: Any, path: tuple[str, ...]) -> Any:
    if old == "null":
        return new
    if new == "null":
        return old
    if _kind(old) != _kind(new):
        raise _Clash(path, old, new)
    if isinstance(old, str):
        return old
    if old[0] == "array":
        return ("array", _merge_shapes(old[1], new[1], (*path, "[]")))
    keys = dict(old[1])
    for key, shape in new[1].items():
        keys[key] = _merge_shapes(keys.get(key, "null"), shape, (*path, key))
    return ("object", keys)


def _arrow_shape(kind: Any) -> Any:
    import pyarrow as pa

    if pa.types.is_null(kind):
        return "null"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "number"
    if pa.types.is_struct(kind):
        return ("object", {f.name: _arrow_shape(f.type) for f in kind})
    if pa.types.is_list(kind):
        return ("array", _arrow_shape(kind.value_type))
    return "string"
