"""The mapping table on docs/how-to/data-fidelity.md is the one the tests run, row for row.

- The page lists exactly the rows of ``mapping.py``, and each row names the test that asserts it (which
  exists).
- Where Snowflake's documentation shows a value's VARIANT text, ``expected_variant`` agrees with it; where a
  value is kept as sent, ``expected_variant`` gives back the value itself.
- ``expected_variant`` on the rules it implements (pure, no stack).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fidelity.expected import Dbl, Dec, Int, differences, expected_column, expected_variant, number_type
from tests.fidelity.jsontext import Num, loads
from tests.fidelity.mapping import ALL_ROWS, COLUMN_ROWS, JSON_ROWS, PARQUET_ROWS, Row

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "how-to" / "data-fidelity.md"
TABLE_ROW = re.compile(r"^\| ([JPC]\d\d) \|.*\| ([^|]*) \|$", re.MULTILINE)


def page_rows() -> dict[str, str]:
    """Row id -> its "asserted by" cell, from the page's tables."""
    return {m.group(1): m.group(2) for m in TABLE_ROW.finditer(PAGE.read_text())}


def test_the_page_lists_exactly_the_rows_the_tests_run() -> None:
    assert sorted(page_rows()) == sorted(r.id for r in ALL_ROWS)


@pytest.mark.parametrize("row", ALL_ROWS, ids=[r.id for r in ALL_ROWS])
def test_each_row_names_the_test_that_asserts_it(row: Row) -> None:
    path, name = row.test.split("::")
    assert f"`{name}`" in page_rows()[row.id]
    assert re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE), row.test


def parquet_variant(row: Row) -> object:
    return expected_variant({row.id: row.value}, part_format="parquet", schema={row.id: row.kind})[row.id]


@pytest.mark.parametrize("row", [r for r in ALL_ROWS if r.shown], ids=[r.id for r in ALL_ROWS if r.shown])
def test_expected_variant_agrees_with_what_snowflake_shows(row: Row) -> None:
    if row in JSON_ROWS:
        expected = expected_variant(row.value)
    elif row in PARQUET_ROWS:
        expected = parquet_variant(row)
    else:
        expected = expected_column(row.value, row.kind)
    assert differences(loads(row.shown), expected) == []


KEPT = [r for r in (*JSON_ROWS, *PARQUET_ROWS) if r.lands and r.sent is not None and not r.shown]


@pytest.mark.parametrize("row", KEPT, ids=[r.id for r in KEPT])
def test_values_kept_as_sent_come_back_as_sent(row: Row) -> None:
    expected = expected_variant(row.value) if row in JSON_ROWS else parquet_variant(row)
    assert differences(row.value, expected) == []


def test_typed_columns_hold_python_values() -> None:
    values = {r.id: expected_column(r.value, r.kind) for r in COLUMN_ROWS if not r.shown}
    assert values == {"C01": "😀 שלום \x00", "C02": 9223372036854775807, "C03": 0.30000000000000004, "C04": True,
                      "C06": None}


@pytest.mark.parametrize(
    ("token", "kind"),
    [
        ("0", "integer"), ("-0", "integer"), ("9" * 38, "integer"), ("1" + "0" * 38, "double"),
        ("0.1", "decimal"), ("1." + "0" * 37, "decimal"), ("0." + "0" * 37 + "1", "double"),
        ("1" * 20 + "." + "1" * 18, "decimal"), ("1" * 20 + "." + "1" * 19, "double"),
        ("1e2", "double"), ("1E-2", "double"), ("0.0e0", "double"), ("-0.0", "decimal"),
    ],
)
def test_number_types_follow_parse_json(token: str, kind: str) -> None:
    assert number_type(token) == kind


def test_expected_variant_of_numbers() -> None:
    assert expected_variant([Num("-0"), Num("-0.0"), Num("12.50"), Num("1e2"), Num("-0.0e0")]) == [
        Int(0), Dec(Decimal("0.0")), Dec(Decimal("12.50")), Dbl(100.0), Dbl(-0.0)]
    assert expected_variant({"a": [Num("1")], "b": None}, part_format="parquet",
                            schema={"a": ("list", "double"), "b": "string", "c": "int64"}) == {
        "a": [Dbl(1.0)], "b": None, "c": None}


@pytest.mark.parametrize(
    ("shown", "expected", "same"),
    [
        ("1.000000000000000e+02", Dbl(100.0), True),  # Snowflake's rendering
        ("100.0", Dbl(100.0), True),  # the stand-in's (exact) rendering
        ("100", Dbl(100.0), False),  # an integer is not a DOUBLE
        ("-0.000000000000000e+00", Dbl(-0.0), True),
        ("0.0", Dbl(-0.0), False),  # the sign of a double's zero counts
        ("-0.0", Dec(Decimal(0)), False),  # a NUMBER has no negative zero
        ("12.5", Dec(Decimal("12.50")), True),
        ("1.25e1", Dec(Decimal("12.5")), False),  # a DECIMAL is not shown as a DOUBLE
        ("12", Int(12), True),
        ("12.0", Int(12), False),
    ],
)
def test_differences_compares_numbers_by_type_and_value(shown: str, expected: object, same: bool) -> None:
    assert (differences(Num(shown), expected) == []) is same


def test_differences_names_the_path() -> None:
    assert differences(loads('{"a": [1, {"b": "x"}]}'), {"a": [Int(1), {"b": "y"}]}) == [
        "$['a'][1]['b']: expected 'y', got 'x'"]
    assert differences(loads('{"a": true}'), {"a": Int(1)}) == ["$['a']: expected a number Int(value=1), got True"]
    assert differences(loads('{"a": 1}'), {"a": True}) == ["$['a']: expected True, got Num('1')"]
