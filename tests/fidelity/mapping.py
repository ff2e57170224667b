"""The rows of the mapping table on docs/how-to/data-fidelity.md, as data the tests run.

Value rows go into every pipeline batch of their format as extra records (JSON rows: ``{"row": id, "value":
...}``; Parquet rows: a field of their own), so each is asserted by the round trip like any generated record,
and ``shown`` (what Snowflake's own documentation shows for the value, where it shows one) is checked
against ``expected_variant`` by ``test_mapping.py``. Rows about failures name the test that asserts them.
``test_mapping.py`` also checks that the page's table lists exactly these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fidelity.jsontext import loads
from tests.fidelity.strategies import MEGABYTE_STRINGS

ROUND_TRIP = "tests/fidelity/test_round_trip.py"
JSON_ROUND_TRIP = f"{ROUND_TRIP}::test_jsonl_records_land_in_variant_as_sent"
PARQUET_ROUND_TRIP = f"{ROUND_TRIP}::test_parquet_records_land_in_variant_as_arrow_typed_them"
COLUMNS_ROUND_TRIP = f"{ROUND_TRIP}::test_parquet_records_land_in_typed_columns"
KNOWN = "tests/fidelity/test_known_defects.py"
INVALID = "tests/fidelity/test_invalid_input.py"


@dataclass(frozen=True)
class Row:
    id: str
    sent: str | None  # the value's JSON text as the API sends it; None: the field is absent
    shown: str | None = None  # Snowflake's VARIANT text for it (None: same as sent, or not a value row)
    kind: Any = None  # Parquet rows: the field's Parquet kind
    asserted_by: str = ""  # file::test; empty: the round trip of the row's table

    @property
    def test(self) -> str:
        default = {"J": JSON_ROUND_TRIP, "P": PARQUET_ROUND_TRIP, "C": COLUMNS_ROUND_TRIP}[self.id[0]]
        return self.asserted_by or default

    @property
    def lands(self) -> bool:
        """Asserted by its table's round trip (not by a test of its own)."""
        return not self.asserted_by

    @property
    def value(self) -> Any:
        if self.sent is None:
            return None
        return MEGABYTE_STRINGS[0] if self.sent == "<1 MB>" else loads(self.sent)


JSON_ROWS = (
    Row("J01", '"😀 \\ud840\\udc00 \U0010fffd"'),  # astral planes, escaped and raw
    Row("J02", '"👨\u200d👩\u200d👧\u200d👦 שלום مرحبا e\u0301"'),
    Row("J03", '"\\u0000\\u000b\\u000c\\u001c\\u001d\\u001e\\ufeff\\n\\t\\"\\\\\\/"'),
    Row("J04", '"a\u2028b\u2029c\u0085d"', asserted_by=f"{KNOWN}::test_unescaped_unicode_line_breaks_in_jsonl"),
    Row("J05", '""'),
    Row("J06", "<1 MB>"),
    Row("J07", "[-9223372036854775808, 9223372036854775807]"),
    Row("J08", "[18446744073709551616, -18446744073709551617]"),
    Row("J09", "[99999999999999999999999999999999999999, -99999999999999999999999999999999999999]"),
    Row("J10", "1000000000000000000000000000000000000000", shown="1.000000000000000e+39"),
    Row("J11", "-0", shown="0"),
    Row("J12", "[0.1, 123.450, 0.30000000000000004]"),
    Row("J13", "0.00000000000000000000000000000000000001", shown="1.000000000000000e-38"),
    Row("J14", "3.141592653589793238462643383279502884197", shown="3.141592653589793e+00"),
    Row("J15", "-0.0", shown="0.0"),
    Row("J16", "[1E2, 1.912e2]", shown="[1.000000000000000e+02, 1.912000000000000e+02]"),
    Row("J17", "-0.0e0", shown="-0.000000000000000e+00"),
    Row("J18", "[1e308, 5e-324]", shown="[1.000000000000000e+308, 4.940656458412465e-324]"),
    Row("J19", "1.7976931348623157e308", shown="1.797693134862316e+308"),
    Row("J20", "[true, false]"),
    Row("J21", "null"),
    Row("J22", None),
    Row("J23", "[[], {}, [[]], {\"a\": {}}]"),
    Row("J24", "[" * 50 + "{\"k\": " * 50 + "1" + "}" * 50 + "]" * 50),
    Row("J25", '{"a.b": 1, "a b": 2, "\\"q\\"": 3, "é": 4, "": 5, "$1": 6}'),
    Row("J26", '{"a": 1, "a": 2}', asserted_by=f"{KNOWN}::test_duplicate_keys_fail_the_json_copy"),
    Row("J27", '"\\ud800"', asserted_by=f"{INVALID}::test_lone_surrogate_escape_fails_the_extract"),
    Row("J28", '"caf\\xe9"', asserted_by=f"{INVALID}::test_invalid_utf8_fails_the_extract"),
)

PARQUET_ROWS = (
    Row("P01", '"😀 שלום e\u0301 \\u0000\u2028"', kind="string"),
    Row("P02", "[-9223372036854775808, 9223372036854775807]", kind=("list", "int64")),
    Row("P03", "18446744073709551616", kind="int64",
        asserted_by=f"{KNOWN}::test_parquet_integers_beyond_int64_fail_clearly"),
    Row("P04", "[0.1, 0.30000000000000004, 1E2]", kind=("list", "double"),
        shown="[1.000000000000000e-01, 3.000000000000000e-01, 1.000000000000000e+02]"),
    Row("P05", "-0.0", kind="double", shown="-0.000000000000000e+00"),
    Row("P06", "[1, 1.5]", kind=("list", "double"), shown="[1.000000000000000e+00, 1.500000000000000e+00]"),
    Row("P07", "[true, false]", kind=("list", "bool")),
    Row("P08", "null", kind="string"),
    Row("P09", None, kind="string"),
    Row("P10", '{"a.b": {"c": [1, 2]}, "é": "x"}', kind=("struct", (("a.b", ("struct", (("c", ("list", "int64")),))),
                                                              ("é", "string")))),
    Row("P11", '"2024-01-05T10:00:00Z"', kind="string",
        asserted_by=f"{KNOWN}::test_parquet_iso_strings_stay_strings"),
    Row("P12", '{}', kind=("struct", ()), asserted_by=f"{KNOWN}::test_parquet_empty_object"),
    Row("P13", "[null, null]", kind=("list", "int64"), asserted_by=f"{KNOWN}::test_parquet_list_of_nulls"),
    Row("P14", '{"a": 1, "a": 2}', asserted_by=f"{INVALID}::test_parquet_refuses_duplicate_keys"),
    Row("P15", '[1, "x"]', asserted_by=f"{INVALID}::test_parquet_refuses_a_field_of_two_types"),
)

COLUMN_ROWS = (
    Row("C01", '"😀 שלום \\u0000"', kind="string"),
    Row("C02", "9223372036854775807", kind="int64"),
    Row("C03", "0.30000000000000004", kind="double"),
    Row("C04", "true", kind="bool"),
    Row("C05", '{"k": [1.5, 2.5], "t": "x"}', kind=("struct", (("k", ("list", "double")), ("t", "string"))),
        shown='{"k": [1.500000000000000e+00, 2.500000000000000e+00], "t": "x"}'),
    Row("C06", None, kind="string"),
)

ALL_ROWS = (*JSON_ROWS, *PARQUET_ROWS, *COLUMN_ROWS)


def json_edge_records(first_id: int) -> list[dict[str, Any]]:
    """One record per JSON value row that lands (the others are asserted by their own tests)."""
    from tests.fidelity.jsontext import Num
    from tests.fidelity.strategies import ID_KEY

    records = []
    for offset, row in enumerate(r for r in JSON_ROWS if r.lands):
        record: dict[str, Any] = {ID_KEY: Num(str(first_id + offset)), "row": row.id}
        if row.sent is not None:
            record["value"] = row.value
        records.append(record)
    return records


def parquet_edge_fields(rows: tuple[Row, ...] = PARQUET_ROWS) -> dict[str, Any]:
    """``{field: kind}`` of the Parquet value rows that land: one field per row, named after it."""
    return {row.id: row.kind for row in rows if row.lands}


def parquet_edge_records(rows: tuple[Row, ...] = PARQUET_ROWS) -> list[dict[str, Any]]:
    """Records (without their id) holding the Parquet value rows' fields: one record per row; a row about a
    missing field gets one record with the field and one without (a field no record has is no column)."""
    out: list[dict[str, Any]] = []
    for row in rows:
        if not row.lands:
            continue
        out += [{row.id: "present"}, {}] if row.sent is None else [{row.id: row.value}]
    return out
