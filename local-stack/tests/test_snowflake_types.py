"""Values of each type survive the trip through the local Snowflake server to ``snowflake.connector``,
NULLs included (fakesnow 0.12.1 sent NULL timestamps as 1970-01-01)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

UTC = datetime.timezone.utc


def test_null_timestamps_stay_null(sf: Any) -> None:
    sf("CREATE OR REPLACE TABLE ts_nulls (k INT, a TIMESTAMP_NTZ, b TIMESTAMP_LTZ, c TIMESTAMP_TZ)")
    sf(
        "INSERT INTO ts_nulls SELECT 1, '2024-01-02 03:04:05.123456'::TIMESTAMP_NTZ, "
        "'2024-01-02 03:04:05'::TIMESTAMP_LTZ, '2024-01-02 03:04:05 +00:00'::TIMESTAMP_TZ"
    )
    sf("INSERT INTO ts_nulls VALUES (2, NULL, NULL, NULL)")
    sf("INSERT INTO ts_nulls SELECT 3, '1970-01-01 00:00:00'::TIMESTAMP_NTZ, NULL, NULL")
    assert sf("SELECT k, a, b, c FROM ts_nulls ORDER BY k") == [
        (
            1,
            datetime.datetime(2024, 1, 2, 3, 4, 5, 123456),
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        ),
        (2, None, None, None),
        (3, datetime.datetime(1970, 1, 1), None, None),  # a real epoch 0 is not NULL
    ]
    assert sf("SELECT k, a IS NULL, b IS NULL, c IS NULL FROM ts_nulls ORDER BY k") == [
        (1, False, False, False),
        (2, True, True, True),
        (3, False, True, True),
    ]


def test_null_timestamp_literals_and_all_null_columns(sf: Any) -> None:
    assert sf("SELECT NULL::TIMESTAMP_NTZ, NULL::TIMESTAMP_LTZ, '2020-01-01'::TIMESTAMP_NTZ") == [
        (None, None, datetime.datetime(2020, 1, 1))
    ]


def test_null_timestamps_across_result_chunks(sf: Any) -> None:
    """Results of several Arrow chunks (DuckDB vectors of 2048 rows) keep each row's NULL."""
    rows = sf(
        "SELECT SEQ4() AS k, IFF(SEQ4() % 3 = 0, NULL, DATEADD(second, SEQ4(), '2024-01-01'::TIMESTAMP_NTZ)) "
        "FROM TABLE(GENERATOR(ROWCOUNT => 5000)) ORDER BY k"
    )
    start = datetime.datetime(2024, 1, 1)
    assert rows == [(k, None if k % 3 == 0 else start + datetime.timedelta(seconds=k)) for k in range(5000)]


def test_other_types_round_trip_with_nulls(sf: Any) -> None:
    sf(
        "CREATE OR REPLACE TABLE types_rt (k INT, d DATE, t TIME, n NUMBER(10, 2), f FLOAT, s VARCHAR, "
        "b BOOLEAN, v VARIANT, bin BINARY)"
    )
    sf(
        "INSERT INTO types_rt SELECT 1, '2024-01-02'::DATE, '03:04:05'::TIME, 12.34, 1.5, 'x', TRUE, "
        "PARSE_JSON('{\"a\": 1}'), TO_BINARY('414243', 'HEX')"
    )
    sf("INSERT INTO types_rt VALUES (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    assert sf("SELECT * FROM types_rt ORDER BY k") == [
        (
            1,
            datetime.date(2024, 1, 2),
            datetime.time(3, 4, 5),
            Decimal("12.34"),
            1.5,
            "x",
            True,
            '{"a":1}',
            bytearray(b"ABC"),
        ),
        (2, None, None, None, None, None, None, None, None),
    ]


def test_conversion_wrapper_marks_nulls_on_the_struct() -> None:
    """The patched converter: struct-level NULLs where the timestamp is NULL, children zero-filled."""
    import fakesnow.arrow as fs_arrow
    import pyarrow as pa

    from dataeng_local.snowflake import arrow_nulls

    arrow_nulls.install()
    arrow_nulls.install()  # idempotent: wraps once
    ts = pa.chunked_array(
        [pa.array([0, None], pa.timestamp("us")), pa.array([None, 1_500_000], pa.timestamp("us"))]
    )
    out = fs_arrow.timestamp_to_sf_struct(ts)
    assert out.is_null().to_pylist() == [False, True, True, False]
    assert out.field("epoch").to_pylist() == [0, 0, 0, 1]
    assert out.field("fraction").to_pylist() == [0, 0, 0, 500_000_000]
    tz = fs_arrow.timestamp_to_sf_struct(pa.array([None, 0], pa.timestamp("us", tz="UTC")))
    assert tz.is_null().to_pylist() == [True, False]
    assert tz.field("timezone").to_pylist() == [1440, 1440]
