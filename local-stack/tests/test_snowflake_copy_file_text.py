"""How the local Snowflake reads the text of JSON and CSV files in COPY, as Snowflake does.

Snowflake reads a JSON file as a sequence of JSON documents, "which may or may not be line-separated"
(docs: Supported formats for semi-structured data); only JSON whitespace separates them (space, tab, CR,
LF), so U+2028, U+2029, U+0085, U+FEFF and the C0 separators inside strings are data, not line breaks.
``SKIP_BYTE_ORDER_MARK`` (default TRUE) drops a UTF-8 BOM at the start of a file. Error lines count LF
only, and error characters count characters (not bytes) within the line. In CSV a blank line is a
record without fields, an end-of-record error unless ``SKIP_BLANK_LINES = TRUE`` (default FALSE).
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import snowflake.connector.errors
import zstandard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

URL = "s3://landing/jsontext/"
STAGE = "@DEMO.PUBLIC.JSONTEXT"
# characters str.splitlines() breaks lines on (besides LF and CR), plus the BOM inside a value
ODD = ["\u2028", "\u2029", "\u0085", "\ufeff", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
# raw in the text, at the start, middle and end of a string value, and alone
ODD_VALUES = [(i, f"{c}a{c}b{c}", c) for i, c in enumerate(ODD, start=1)]
ODD_TEXT = "".join(f'{{"id": {i}, "s": "{s}", "only": "{c}"}}\n' for i, s, c in ODD_VALUES)
# the user's shape: a bad record after lines full of U+2028 (line 10, character 15 of that line)
BAD_AFTER_ODD = ODD_TEXT + '{"id": 10, "s": }\n{"id": 11, "s": "ok"}\n'


def _put(s3: Any, key: str, text: str, compression: str = "none") -> None:
    data = text.encode()
    if compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    elif compression == "gzip":
        data = gzip.compress(data)
    s3.put_object(Bucket="landing", Key=f"jsontext/{key}", Body=data)


@pytest.fixture(scope="module")
def stage(local_s3: Any, local_snowflake: Any) -> str:
    _put(local_s3, "odd.jsonl.zst", ODD_TEXT, "zstd")
    _put(local_s3, "odd.jsonl.gz", ODD_TEXT, "gzip")
    _put(local_s3, "odd.jsonl", ODD_TEXT)
    _put(local_s3, "bad_after_odd.jsonl", BAD_AFTER_ODD)
    _put(local_s3, "bom.jsonl", '\ufeff{"id": 1}\n{"id": 2}\n')
    _put(local_s3, "bom.jsonl.zst", '\ufeff{"id": 1}\n{"id": 2}\n', "zstd")
    _put(local_s3, "blank.jsonl", '\n{"id": 1}\r\n\r\n  \t\n {"id": 2} \n\n\n{"id": 3}')
    _put(
        local_s3,
        "concatenated.json",
        '{"id": 1}{"id": 2} {"id": 3}\n{\n  "id": 4,\n  "s": "x"\n}\n{"id": 5}\n',
    )
    _put(local_s3, "bad_column.jsonl", '{"id": 1}\n  {"id": 2} x\n')
    _put(local_s3, "odd.csv", "id,s\n" + "".join(f'{i},"{s}"\n' for i, s, _ in ODD_VALUES))
    _put(local_s3, "bom.csv", "\ufeffID,S\n1,a\n")
    _put(local_s3, "blank.csv", "1,a\n\n2,b\n")
    conn = local_snowflake.connect()
    conn.cursor().execute(
        f"CREATE OR REPLACE STAGE {STAGE[1:]} URL='{URL}' CREDENTIALS=(AWS_KEY_ID='local' AWS_SECRET_KEY='local')"
    )
    conn.close()
    return STAGE


def loaded(name: str, rows: int) -> tuple[Any, ...]:
    return (URL + name, "LOADED", rows, rows, 1, 0, None, None, None, None)


@pytest.mark.parametrize(
    ("name", "compression"),
    [("odd.jsonl.zst", "ZSTD"), ("odd.jsonl.gz", "GZIP"), ("odd.jsonl", "NONE"), ("odd.jsonl.zst", "AUTO")],
)
def test_line_separator_characters_inside_strings_load_exactly(
    sf: Any, stage: str, name: str, compression: str
) -> None:
    sf("CREATE OR REPLACE TABLE jt_variant (RECORD VARIANT)")
    rows = sf(
        f"COPY INTO jt_variant FROM {stage} FILES = ('{name}') FILE_FORMAT = (TYPE = JSON COMPRESSION = {compression})"
    )
    assert rows == [loaded(name, len(ODD))]
    assert sf("SELECT RECORD:id::int, RECORD:s::string, RECORD:only::string FROM jt_variant ORDER BY 1") == (
        ODD_VALUES
    )


def test_match_by_column_name_keeps_the_characters(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_columns (ID NUMBER, S VARCHAR, ONLY VARCHAR, _ROW NUMBER)")
    rows = sf(
        f"COPY INTO jt_columns FROM {stage} FILES = ('odd.jsonl.zst') FILE_FORMAT = (TYPE = JSON COMPRESSION = ZSTD) "
        "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE INCLUDE_METADATA = (_ROW = METADATA$FILE_ROW_NUMBER)"
    )
    assert rows == [loaded("odd.jsonl.zst", len(ODD))]
    assert sf("SELECT ID, S, ONLY, _ROW FROM jt_columns ORDER BY 1") == [
        (i, s, c, i) for i, s, c in ODD_VALUES
    ]


def test_transform_sees_one_record_per_line(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_transform (RECORD VARIANT, S VARCHAR, SOURCE_ROW NUMBER)")
    rows = sf(
        "COPY INTO jt_transform (RECORD, S, SOURCE_ROW) FROM "
        f"(SELECT $1, $1:s::string, METADATA$FILE_ROW_NUMBER FROM {stage}) "
        "FILES = ('odd.jsonl.gz') FILE_FORMAT = (TYPE = JSON COMPRESSION = GZIP)"
    )
    assert rows == [loaded("odd.jsonl.gz", len(ODD))]
    assert sf("SELECT RECORD:id::int, S, SOURCE_ROW FROM jt_transform ORDER BY 1") == [
        (i, s, i) for i, s, _ in ODD_VALUES
    ]


def test_error_line_and_character_count_lf_and_characters(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_errors (RECORD VARIANT)")
    rows = sf(
        f"COPY INTO jt_errors FROM {stage} FILES = ('bad_after_odd.jsonl') FILE_FORMAT = (TYPE = JSON) "
        "ON_ERROR = CONTINUE"
    )
    parsed = len(ODD) + 2
    assert [r[1:] for r in rows] == [
        (
            "PARTIALLY_LOADED",
            parsed,
            parsed - 1,
            parsed,
            1,
            "Error parsing JSON: unexpected character, expected a JSON value, pos 17",
            10,
            17,
            '"JT_ERRORS"["RECORD":1]',
        )
    ]
    assert sf("SELECT RECORD:id::int FROM jt_errors ORDER BY 1") == [(i,) for i in [*range(1, 10), 11]]


def test_error_character_counts_from_the_start_of_the_line(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_column (RECORD VARIANT)")
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
        sf(f"COPY INTO jt_column FROM {stage} FILES = ('bad_column.jsonl') FILE_FORMAT = (TYPE = JSON)")
    assert str(e.value).endswith(f"File '{URL}bad_column.jsonl', line 2, character 13")


@pytest.mark.parametrize("name", ["bom.jsonl", "bom.jsonl.zst"])
def test_byte_order_mark_is_skipped_by_default(sf: Any, stage: str, name: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_bom (RECORD VARIANT)")
    assert sf(f"COPY INTO jt_bom FROM {stage} FILES = ('{name}') FILE_FORMAT = (TYPE = JSON)") == [
        loaded(name, 2)
    ]
    assert sf("SELECT RECORD:id::int FROM jt_bom ORDER BY 1") == [(1,), (2,)]


def test_byte_order_mark_is_data_when_not_skipped(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_bom_kept (RECORD VARIANT)")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="Error parsing JSON") as e:
        sf(
            f"COPY INTO jt_bom_kept FROM {stage} FILES = ('bom.jsonl') "
            "FILE_FORMAT = (TYPE = JSON SKIP_BYTE_ORDER_MARK = FALSE)"
        )
    assert "line 1, character 1" in str(e.value)
    assert sf("SELECT count(*) FROM jt_bom_kept") == [(0,)]


def test_blank_lines_crlf_and_surrounding_whitespace_separate_records(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_blank (RECORD VARIANT, SOURCE_ROW NUMBER)")
    rows = sf(
        f"COPY INTO jt_blank (RECORD, SOURCE_ROW) FROM (SELECT $1, METADATA$FILE_ROW_NUMBER FROM {stage}) "
        "FILES = ('blank.jsonl') FILE_FORMAT = (TYPE = JSON)"
    )
    assert rows == [loaded("blank.jsonl", 3)]
    assert sf("SELECT RECORD:id::int, SOURCE_ROW FROM jt_blank ORDER BY 1") == [(1, 1), (2, 2), (3, 3)]


def test_documents_on_one_line_and_across_lines(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_concat (RECORD VARIANT)")
    rows = sf(f"COPY INTO jt_concat FROM {stage} FILES = ('concatenated.json') FILE_FORMAT = (TYPE = JSON)")
    assert rows == [loaded("concatenated.json", 5)]
    assert sf("SELECT RECORD:id::int, RECORD:s::string FROM jt_concat ORDER BY 1") == [
        (1, None),
        (2, None),
        (3, None),
        (4, "x"),
        (5, None),
    ]


def test_csv_fields_keep_the_characters(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_csv (ID NUMBER, S VARCHAR)")
    rows = sf(
        f"COPY INTO jt_csv FROM {stage} FILES = ('odd.csv') "
        "FILE_FORMAT = (TYPE = CSV SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"')"
    )
    assert rows == [loaded("odd.csv", len(ODD))]
    assert sf("SELECT ID, S FROM jt_csv ORDER BY 1") == [(i, s) for i, s, _ in ODD_VALUES]


def test_csv_header_after_a_byte_order_mark_matches_columns(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_csv_bom (ID NUMBER, S VARCHAR)")
    rows = sf(
        f"COPY INTO jt_csv_bom FROM {stage} FILES = ('bom.csv') FILE_FORMAT = (TYPE = CSV PARSE_HEADER = TRUE) "
        "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE"
    )
    assert rows == [loaded("bom.csv", 1)]
    assert sf("SELECT ID, S FROM jt_csv_bom") == [(1, "a")]


def test_csv_blank_line_is_an_end_of_record_error_by_default(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE jt_csv_blank (ID NUMBER, S VARCHAR)")
    copy = f"COPY INTO jt_csv_blank FROM {stage} FILES = ('blank.csv') FILE_FORMAT = (TYPE = CSV{{}})"
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as e:
        sf(copy.format(""))
    assert str(e.value).endswith(
        'End of record reached while expected to parse column \'"JT_CSV_BLANK"["ID":1]\'\n'
        f"  File '{URL}blank.csv', line 2, character 1"
    )
    rows = sf(copy.format("") + " ON_ERROR = CONTINUE")
    assert [r[1:4] for r in rows] == [("PARTIALLY_LOADED", 3, 2)]
    sf("TRUNCATE TABLE jt_csv_blank")
    assert sf(copy.format(" SKIP_BLANK_LINES = TRUE") + " FORCE = TRUE") == [loaded("blank.csv", 2)]
    assert sf("SELECT ID, S FROM jt_csv_blank ORDER BY 1") == [(1, "a"), (2, "b")]
