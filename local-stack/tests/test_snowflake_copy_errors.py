"""COPY INTO ... ON_ERROR on the local Snowflake: per-file status, counts, first error and load metadata."""

from __future__ import annotations

from typing import Any

import pytest
import zstandard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

URL = "s3://landing/errors/"
BAD_JSON = b'{"id": 1}\n{"id": \n{"id": 3}\n'
JSON_ERROR = "Error parsing JSON: unexpected end of data, pos 7"  # orjson's wording (see the docstring)
CSV = (
    b"1,ada,2026-01-01\n"
    b"2,bob\n"  # too few fields
    b"x,cy,2026-01-02\n"  # not a number
    b"4,dd,2026-13-01\n"  # not a date
    b"5,ee,2026-01-05,extra\n"  # too many fields
    b"6,ff,2026-01-06\n"
)
VARIANT_COPY = (
    "COPY INTO {table} (RECORD, SOURCE_ROW) FROM (SELECT $1, METADATA$FILE_ROW_NUMBER FROM @DEMO.PUBLIC.ERRORS) "
    "FILES = ({files}) FILE_FORMAT = (TYPE = JSON) ON_ERROR = {on_error}"
)


@pytest.fixture(scope="module")
def stage(local_s3: Any, local_snowflake: Any) -> None:
    put = local_s3.put_object
    put(Bucket="landing", Key="errors/bad.jsonl", Body=BAD_JSON)
    put(Bucket="landing", Key="errors/good.jsonl", Body=b'{"id": 10}\n{"id": 11}\n')
    put(Bucket="landing", Key="errors/two_bad.jsonl", Body=b'{"id": 1}\n{\n{"id": 3}\n[\n')
    put(Bucket="landing", Key="errors/all_bad.jsonl", Body=b"{\n{\n")
    put(Bucket="landing", Key="errors/not.zst", Body=b"\x28\xb5\x2f\xfd garbage")
    put(Bucket="landing", Key="errors/rows.csv", Body=CSV)
    put(
        Bucket="landing",
        Key="errors/typed.jsonl",
        Body=b'{"id": 1, "name": "a"}\n{"id": "x", "name": "b"}\n{"id": 3, "name": null}\n',
    )
    put(
        Bucket="landing",
        Key="errors/zst/ok.jsonl.zst",
        Body=zstandard.ZstdCompressor().compress(b'{"id": 1}\n'),
    )
    conn = local_snowflake.connect()
    conn.cursor().execute(
        f"CREATE OR REPLACE STAGE DEMO.PUBLIC.ERRORS URL='{URL}' CREDENTIALS=(AWS_KEY_ID='local' AWS_SECRET_KEY='local')"
    )
    conn.close()


def variant_table(sf: Any, name: str) -> None:
    sf(f"CREATE OR REPLACE TABLE {name} (RECORD VARIANT, SOURCE_ROW NUMBER)")


def copy(sf: Any, table: str, on_error: str, *files: str, extra: str = "") -> list[tuple[Any, ...]]:
    names = ", ".join(f"'{f}'" for f in files)
    return sf(VARIANT_COPY.format(table=table, files=names, on_error=on_error) + extra)


def test_continue_loads_the_good_lines_as_partially_loaded(sf: Any, stage: None) -> None:
    variant_table(sf, "E_CONTINUE")
    rows = copy(sf, "E_CONTINUE", "CONTINUE", "bad.jsonl", "good.jsonl")
    assert rows == [
        (URL + "bad.jsonl", "PARTIALLY_LOADED", 3, 2, 3, 1, JSON_ERROR, 2, 7, '"E_CONTINUE"["RECORD":1]'),
        (URL + "good.jsonl", "LOADED", 2, 2, 2, 0, None, None, None, None),
    ]
    # METADATA$FILE_ROW_NUMBER counts the bad record too
    assert sf("SELECT RECORD:id::int, SOURCE_ROW FROM E_CONTINUE ORDER BY 1") == [
        (1, 1),
        (3, 3),
        (10, 1),
        (11, 2),
    ]
    # load metadata: LOADED and PARTIALLY_LOADED files count as loaded, a re-run skips both
    assert copy(sf, "E_CONTINUE", "CONTINUE", "bad.jsonl", "good.jsonl") == [
        ("Copy executed with 0 files processed.",)
    ]
    assert sf("SELECT COUNT(*) FROM E_CONTINUE") == [(4,)]


def test_skip_file_fails_the_file_and_a_rerun_retries_it(sf: Any, stage: None) -> None:
    variant_table(sf, "E_SKIP")
    failed = (URL + "bad.jsonl", "LOAD_FAILED", 3, 0, 1, 1, JSON_ERROR, 2, 7, '"E_SKIP"["RECORD":1]')
    assert copy(sf, "E_SKIP", "SKIP_FILE", "bad.jsonl", "good.jsonl") == [
        failed,
        (URL + "good.jsonl", "LOADED", 2, 2, 1, 0, None, None, None, None),
    ]
    assert sf("SELECT RECORD:id::int FROM E_SKIP ORDER BY 1") == [(10,), (11,)]
    # a LOAD_FAILED file is not recorded as loaded: the next COPY tries it again (the good one is skipped)
    assert copy(sf, "E_SKIP", "SKIP_FILE", "bad.jsonl", "good.jsonl") == [failed]
    assert sf("SELECT COUNT(*) FROM E_SKIP") == [(2,)]


@pytest.mark.parametrize(
    ("on_error", "expected"),
    [
        # SKIP_FILE_2: one error (below the limit) loads the rest, two errors skip the file
        (
            "SKIP_FILE_2",
            [("bad.jsonl", "PARTIALLY_LOADED", 3, 2, 2, 1), ("two_bad.jsonl", "LOAD_FAILED", 4, 0, 2, 2)],
        ),
        # quoted percentage: 1 of 3 (33%) does not exceed 40%, 2 of 4 (50%) does; limit = floor(n * 40%) + 1
        (
            "'SKIP_FILE_40%'",
            [("bad.jsonl", "PARTIALLY_LOADED", 3, 2, 2, 1), ("two_bad.jsonl", "LOAD_FAILED", 4, 0, 2, 2)],
        ),
        (
            "'skip_file_50%'",
            [
                ("bad.jsonl", "PARTIALLY_LOADED", 3, 2, 2, 1),
                ("two_bad.jsonl", "PARTIALLY_LOADED", 4, 2, 3, 2),
            ],
        ),
    ],
)
def test_skip_file_thresholds(sf: Any, stage: None, on_error: str, expected: list[tuple[Any, ...]]) -> None:
    variant_table(sf, "E_THRESHOLD")
    rows = copy(sf, "E_THRESHOLD", on_error, "bad.jsonl", "two_bad.jsonl")
    assert [(r[0][len(URL) :], *r[1:6]) for r in rows] == expected
    assert [r[7] for r in rows] == [2, 2]  # the first error's line in each file
    assert sf("SELECT COUNT(*) FROM E_THRESHOLD") == [(sum(e[3] for e in expected),)]


def test_continue_with_every_record_bad_is_load_failed(sf: Any, stage: None) -> None:
    variant_table(sf, "E_ALL_BAD")
    rows = copy(sf, "E_ALL_BAD", "CONTINUE", "all_bad.jsonl")
    assert [r[:6] for r in rows] == [(URL + "all_bad.jsonl", "LOAD_FAILED", 2, 0, 2, 2)]
    assert sf("SELECT COUNT(*) FROM E_ALL_BAD") == [(0,)]


def test_unreadable_file_is_load_failed_unless_abort(sf: Any, stage: None) -> None:
    import snowflake.connector.errors

    variant_table(sf, "E_UNREADABLE")
    rows = copy(sf, "E_UNREADABLE", "CONTINUE", "not.zst", "good.jsonl")
    assert [r[:6] for r in rows] == [
        (URL + "not.zst", "LOAD_FAILED", 0, 0, 1, 1),
        (URL + "good.jsonl", "LOADED", 2, 2, 2, 0),
    ]
    assert rows[0][6].startswith(f"Error decompressing file '{URL}not.zst' as ZSTD")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="Error decompressing file"):
        copy(sf, "E_UNREADABLE", "ABORT_STATEMENT", "not.zst", extra=" FORCE = TRUE")


def test_csv_continue_reports_the_first_error_and_loads_the_good_rows(sf: Any, stage: None) -> None:
    sf("CREATE OR REPLACE TABLE E_CSV (ID NUMBER, NAME VARCHAR, D DATE)")
    rows = sf(
        "COPY INTO E_CSV FROM @ERRORS FILES = ('rows.csv') FILE_FORMAT = (TYPE = CSV) ON_ERROR = CONTINUE"
    )
    assert rows == [
        (
            URL + "rows.csv",
            "PARTIALLY_LOADED",
            6,
            2,
            6,
            4,
            'End of record reached while expected to parse column \'"E_CSV"["D":3]\'',
            2,
            6,
            '"E_CSV"["D":3]',
        )
    ]
    assert sf("SELECT ID, NAME, D::VARCHAR FROM E_CSV ORDER BY ID") == [
        (1, "ada", "2026-01-01"),
        (6, "ff", "2026-01-06"),
    ]


@pytest.mark.parametrize(
    ("body", "first_error", "character", "column"),
    [
        (
            b"1,a,2026-01-01\nx,b,2026-01-02\n",
            "Numeric value 'x' is not recognized",
            1,
            '"E_CSV_ONE"["ID":1]',
        ),
        (
            b"1,a,2026-01-01\n2,bb,2026-13-01\n",
            "Date '2026-13-01' is not recognized",
            6,
            '"E_CSV_ONE"["D":3]',
        ),
        (
            b"1,a,2026-01-01\n2,b,2026-01-02,z\n",
            "Number of columns in file (4) does not match that of the corresponding table (3), use file format option "
            "error_on_column_count_mismatch=false to ignore this error",
            1,
            '"E_CSV_ONE"[4]',
        ),
    ],
)
def test_csv_error_kinds(
    sf: Any, stage: None, local_s3: Any, body: bytes, first_error: str, character: int, column: str
) -> None:
    local_s3.put_object(Bucket="landing", Key="errors/one.csv", Body=body)
    sf("CREATE OR REPLACE TABLE E_CSV_ONE (ID NUMBER, NAME VARCHAR, D DATE)")
    rows = sf(
        "COPY INTO E_CSV_ONE FROM @ERRORS FILES = ('one.csv') FILE_FORMAT = (TYPE = CSV) ON_ERROR = CONTINUE"
    )
    assert rows == [(URL + "one.csv", "PARTIALLY_LOADED", 2, 1, 2, 1, first_error, 2, character, column)]
    assert sf("SELECT ID FROM E_CSV_ONE") == [(1,)]


def test_transform_conversion_and_not_null_errors(sf: Any, stage: None) -> None:
    sf("CREATE OR REPLACE TABLE E_TYPED (ID INT, NAME VARCHAR NOT NULL, ROW_NO INT)")
    rows = sf(
        "COPY INTO E_TYPED FROM (SELECT $1:id::int, $1:name::string, METADATA$FILE_ROW_NUMBER FROM @ERRORS) "
        "FILES = ('typed.jsonl') FILE_FORMAT = (TYPE = JSON) ON_ERROR = CONTINUE"
    )
    assert rows == [
        (
            URL + "typed.jsonl",
            "PARTIALLY_LOADED",
            3,
            1,
            3,
            2,
            "Numeric value 'x' is not recognized",
            2,
            1,
            '"E_TYPED"["ID":1]',
        )
    ]
    assert sf("SELECT * FROM E_TYPED") == [(1, "a", 1)]


def test_abort_statement_stays_the_default(sf: Any, stage: None) -> None:
    import snowflake.connector.errors

    variant_table(sf, "E_ABORT")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="Error parsing JSON"):
        sf(
            "COPY INTO E_ABORT (RECORD) FROM (SELECT $1 FROM @ERRORS) FILES = ('good.jsonl', 'bad.jsonl') "
            "FILE_FORMAT = (TYPE = JSON)"
        )
    assert sf("SELECT COUNT(*) FROM E_ABORT") == [(0,)]
    assert sf("SELECT COUNT(*) FROM INFORMATION_SCHEMA.LOAD_HISTORY WHERE TABLE_NAME = 'E_ABORT'") == [(0,)]


@pytest.mark.parametrize("value", ["SKIP_FILE_0", "'SKIP_FILE_101%'", "SOMETIMES", "CONTINUE_3"])
def test_invalid_on_error_is_refused(sf: Any, stage: None, value: str) -> None:
    import snowflake.connector.errors

    variant_table(sf, "E_INVALID")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="for parameter 'ON_ERROR'"):
        copy(sf, "E_INVALID", value, "good.jsonl")


def test_purge_removes_only_the_loaded_files(sf: Any, stage: None, local_s3: Any) -> None:
    for name, body in (("ok.jsonl", b'{"id": 1}\n'), ("part.jsonl", BAD_JSON), ("fail.jsonl", b"{\n")):
        local_s3.put_object(Bucket="landing", Key=f"errors/purge/{name}", Body=body)
    variant_table(sf, "E_PURGE")
    rows = sf(
        "COPY INTO E_PURGE (RECORD) FROM (SELECT $1 FROM @ERRORS/purge/) FILE_FORMAT = (TYPE = JSON) "
        "ON_ERROR = CONTINUE PURGE = TRUE"
    )
    assert sorted(r[:2] for r in rows) == [
        (URL + "purge/fail.jsonl", "LOAD_FAILED"),
        (URL + "purge/ok.jsonl", "LOADED"),
        (URL + "purge/part.jsonl", "PARTIALLY_LOADED"),
    ]
    left = local_s3.list_objects_v2(Bucket="landing", Prefix="errors/purge/")["Contents"]
    assert [o["Key"] for o in left] == ["errors/purge/fail.jsonl"]


def test_load_history_view_records_every_file_of_completed_copies(sf: Any, stage: None) -> None:
    variant_table(sf, "E_HISTORY")
    copy(sf, "E_HISTORY", "SKIP_FILE", "bad.jsonl", "good.jsonl")
    copy(sf, "E_HISTORY", "CONTINUE", "bad.jsonl")
    rows = sf(
        "SELECT SCHEMA_NAME, FILE_NAME, TABLE_NAME, STATUS, ROW_COUNT, ROW_PARSED, FIRST_ERROR_MESSAGE, "
        "FIRST_ERROR_LINE_NUMBER, FIRST_ERROR_CHARACTER_POSITION, FIRST_ERROR_COL_NAME, ERROR_COUNT, ERROR_LIMIT, "
        "LAST_LOAD_TIME IS NOT NULL FROM DEMO.INFORMATION_SCHEMA.LOAD_HISTORY WHERE TABLE_NAME = 'E_HISTORY' "
        "ORDER BY LAST_LOAD_TIME, FILE_NAME"
    )
    column = '"E_HISTORY"["RECORD":1]'
    assert rows == [
        ("PUBLIC", URL + "bad.jsonl", "E_HISTORY", "LOAD FAILED", 0, 3, JSON_ERROR, 2, 7, column, 1, 1, True),
        ("PUBLIC", URL + "good.jsonl", "E_HISTORY", "LOADED", 2, 2, None, None, None, None, 0, 1, True),
        (
            "PUBLIC",
            URL + "bad.jsonl",
            "E_HISTORY",
            "PARTIALLY LOADED",
            2,
            3,
            JSON_ERROR,
            2,
            7,
            column,
            1,
            3,
            True,
        ),
    ]
    # a new table object has no load history (fakesnow clears it on CREATE TABLE), so files load again
    variant_table(sf, "E_HISTORY")
    assert copy(sf, "E_HISTORY", "CONTINUE", "good.jsonl")[0][1] == "LOADED"


def test_rolled_back_copy_leaves_no_rows_and_no_load_metadata(sf: Any, stage: None) -> None:
    variant_table(sf, "E_ROLLBACK")
    sf("BEGIN")
    copy(sf, "E_ROLLBACK", "CONTINUE", "bad.jsonl")
    sf("ROLLBACK")
    assert sf("SELECT COUNT(*) FROM INFORMATION_SCHEMA.LOAD_HISTORY WHERE TABLE_NAME = 'E_ROLLBACK'") == [
        (0,)
    ]
    assert copy(sf, "E_ROLLBACK", "CONTINUE", "bad.jsonl")[0][1:4] == ("PARTIALLY_LOADED", 3, 2)
