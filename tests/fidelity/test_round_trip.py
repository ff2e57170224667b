"""Generated records through the real pipeline on the local stack, compared value by value with the source.

One pipeline run per format and load mode: a batch of hypothesis-generated records (each record one example;
300 in CI, ``FIDELITY_EXAMPLES`` under ``make fuzz``) plus the edge cases of the mapping table, served as raw
JSON pages by a server on 127.0.0.1, extracted to S3, loaded, merged through a stream and read back. Every
record must come back equal to ``expected_variant`` of what was sent (docs/how-to/data-fidelity.md).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.fidelity import mapping, strategies
from tests.fidelity.examples import generate, reproduce_hint
from tests.fidelity.expected import differences, expected_column, expected_variant
from tests.fidelity.jsontext import STYLES, Num
from tests.fidelity.pipeline import parquet_columns_by_record, run_pipeline
from tests.fidelity.strategies import ID_KEY

pytestmark = pytest.mark.integration


@functools.cache
def json_batch() -> list[dict[str, Any]]:
    """Generated records, each with its id first, then one record per JSON row of the mapping table."""
    generated = [{ID_KEY: Num(str(i)), **fields} for i, fields in enumerate(generate(strategies.record_fields()))]
    return [*generated, *mapping.json_edge_records(len(generated))]


@functools.cache
def page_styles(*, parquet: bool = False) -> list[str]:
    """Every encoder's style first, then generated ones."""
    return [*STYLES, *generate(strategies.page_styles(parquet=parquet), 20)]


def report(diffs: dict[int, list[str]], total: int) -> str:
    shown = [f"record {i}: {d}" for i, ds in sorted(diffs.items())[:10] for d in ds[:3]]
    return f"{len(diffs)} of {total} records differ {reproduce_hint()}:\n" + "\n".join(shown)


@pytest.mark.parametrize("compression", ["zstd", "gzip"])
def test_jsonl_records_land_in_variant_as_sent(api, sf, local_stack, compression: str) -> None:
    records = json_batch()
    run = run_pipeline(
        api, sf, local_stack.bucket, records, styles=page_styles(), part_format="jsonl", compression=compression,
    )
    n = len(records)
    assert (run.manifest["records"], run.loaded["rows_loaded"], run.merged["inserted"]) == (n, n, n)
    assert sorted(run.rows) == list(range(n))
    diffs = {i: d for i, r in enumerate(records) if (d := differences(run.rows[i], expected_variant(r)))}
    assert not diffs, report(diffs, n)


@functools.cache
def parquet_schema() -> dict[str, Any]:
    """One schema for the Parquet batch: the union of generated schemas, the mapping rows' fields, the id."""
    schema: dict[str, Any] = {ID_KEY: "int64", **mapping.parquet_edge_fields()}
    for drawn in generate(strategies.parquet_schemas(), 12):
        for name, kind in drawn.items():
            schema.setdefault(name, kind)
    return schema


@functools.cache
def parquet_batch() -> list[dict[str, Any]]:
    schema = {k: v for k, v in parquet_schema().items() if k != ID_KEY and k not in mapping.parquet_edge_fields()}
    generated = generate(strategies.parquet_records_of(tuple(schema.items())))
    records = [*generated, *mapping.parquet_edge_records()]
    return [{ID_KEY: Num(str(i)), **fields} for i, fields in enumerate(records)]


def test_parquet_records_land_in_variant_as_arrow_typed_them(api, sf, local_stack) -> None:
    records, schema = parquet_batch(), parquet_schema()
    run = run_pipeline(api, sf, local_stack.bucket, records, styles=page_styles(parquet=True),
                       part_format="parquet")
    n = len(records)
    assert (run.manifest["records"], run.loaded["rows_loaded"], run.merged["inserted"]) == (n, n, n)
    assert sorted(run.rows) == list(range(n))
    columns = parquet_columns_by_record(local_stack, run.manifest)
    lost = {i: sorted(set(r) - set(columns[i])) for i, r in enumerate(records) if set(r) - set(columns[i])}
    assert not lost, f"fields missing from their part file: {lost} {reproduce_hint()}"
    diffs = {}
    for i, record in enumerate(records):
        part_schema = {name: schema[name] for name in columns[i]}
        if found := differences(run.rows[i], expected_variant(record, part_format="parquet", schema=part_schema)):
            diffs[i] = found
    assert not diffs, report(diffs, n)


COLUMNS = {"ID": "NUMBER(38,0)", "S": "VARCHAR", "I": "NUMBER(38,0)", "F": "FLOAT", "B": "BOOLEAN",
           "O": "VARIANT", "A": "VARIANT"}
COLUMN_KINDS = {"s": "string", "i": "int64", "f": "double", "b": "bool",
                "o": ("struct", (("k", ("list", "double")), ("t", "string"))), "a": ("list", "int64")}
ROW_COLUMNS = {"C01": "s", "C02": "i", "C03": "f", "C04": "b", "C05": "o", "C06": "s"}


@functools.cache
def column_batch() -> list[dict[str, Any]]:
    generated = generate(strategies.parquet_records_of(tuple(COLUMN_KINDS.items())))
    edges = [{} if row.sent is None else {ROW_COLUMNS[row.id]: row.value} for row in mapping.COLUMN_ROWS]
    return [{"id": Num(str(i)), **fields} for i, fields in enumerate([*generated, *edges])]


def test_parquet_records_land_in_typed_columns(api, sf, local_stack) -> None:
    records = column_batch()
    run = run_pipeline(api, sf, local_stack.bucket, records, styles=page_styles(parquet=True),
                       part_format="parquet", columns=COLUMNS)
    n = len(records)
    assert (run.manifest["records"], run.loaded["rows_loaded"], run.merged["inserted"]) == (n, n, n)
    diffs = {}
    for i, record in enumerate(records):
        row = run.rows[i]
        found = [
            f"{name}: {problem}"
            for name, kind in COLUMN_KINDS.items()
            for problem in column_differences(row[name.upper()], expected_column(record.get(name), kind))
        ]
        if found:
            diffs[i] = found
    assert not diffs, report(diffs, n)


def column_differences(actual: Any, expected: Any) -> list[str]:
    """Typed columns come back as Python values; VARIANT columns as parsed JSON trees."""
    if isinstance(expected, float):
        return [] if isinstance(actual, float) and actual == expected else [f"expected {expected!r}, got {actual!r}"]
    return differences(actual, expected)
