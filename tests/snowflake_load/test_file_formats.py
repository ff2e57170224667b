"""File formats are rendered by us from a typed description; anything else is refused with the fix."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from airflow_provider_dataeng.sql.file_formats import (
    FileFormat,
    FileFormatError,
    option_literal,
    parse_file_format,
)
from airflow_provider_dataeng.sql.identifiers import IdentifierError, ObjectName


def copy_with(ff: FileFormat) -> str:
    sql = f"COPY INTO t FROM @s FILE_FORMAT = {ff.sql}"
    assert isinstance(sqlglot.parse_one(sql, read="snowflake"), exp.Copy)
    return sql


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ({"type": "JSON"}, "(TYPE = JSON)"),
        ({"type": "json", "compression": "zstd"}, "(TYPE = JSON COMPRESSION = ZSTD)"),
        (
            {"TYPE": "JSON", "strip_outer_array": True, "strip_null_values": False, "null_if": ["", "NULL"]},
            "(TYPE = JSON STRIP_OUTER_ARRAY = TRUE STRIP_NULL_VALUES = FALSE NULL_IF = ('', 'NULL'))",
        ),
        ({"type": "JSON", "date_format": "AUTO", "null_if": "\\N"}, "(TYPE = JSON DATE_FORMAT = 'AUTO' NULL_IF = ('\\\\N'))"),
        ({"type": "PARQUET"}, "(TYPE = PARQUET)"),
        (
            {"type": "PARQUET", "compression": "snappy", "binary_as_text": False, "use_logical_type": True},
            "(TYPE = PARQUET COMPRESSION = SNAPPY BINARY_AS_TEXT = FALSE USE_LOGICAL_TYPE = TRUE)",
        ),
        (
            {"type": "CSV", "parse_header": True, "field_delimiter": "\t", "field_optionally_enclosed_by": '"'},
            "(TYPE = CSV PARSE_HEADER = TRUE FIELD_DELIMITER = '\\t' FIELD_OPTIONALLY_ENCLOSED_BY = '\"')",
        ),
        (
            {"type": "CSV", "skip_header": 1, "escape": None, "record_delimiter": "\n", "encoding": "UTF8",
             "error_on_column_count_mismatch": False, "empty_field_as_null": True, "compression": "gzip"},
            "(TYPE = CSV SKIP_HEADER = 1 ESCAPE = NONE RECORD_DELIMITER = '\\n' ENCODING = 'UTF8' "
            "ERROR_ON_COLUMN_COUNT_MISMATCH = FALSE EMPTY_FIELD_AS_NULL = TRUE COMPRESSION = GZIP)",
        ),
        ({"type": "CSV", "field_delimiter": "|", "timestamp_format": "YYYY-MM-DD HH24:MI:SS"},
         "(TYPE = CSV FIELD_DELIMITER = '|' TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS')"),
    ],
)
def test_typed_description_renders_exact_sql(description: dict, expected: str) -> None:
    ff = parse_file_format(description)
    assert ff.sql == expected
    copy_with(ff)


def test_named_format_forms() -> None:
    assert parse_file_format("raw.json_zstd").sql == "(FORMAT_NAME = '\"RAW\".\"JSON_ZSTD\"')"
    assert parse_file_format({"format_name": 'DB.RAW."my fmt"'}).sql == "(FORMAT_NAME = '\"DB\".\"RAW\".\"my fmt\"')"
    assert parse_file_format("raw.json_zstd").type is None
    copy_with(parse_file_format('DB.RAW."my fmt"'))


def test_create_sql_for_infer_schema() -> None:
    ff = parse_file_format({"type": "PARQUET", "compression": "AUTO"})
    sql = ff.create_sql(ObjectName(("RAW", "F")))
    assert sql == 'CREATE OR REPLACE TEMPORARY FILE FORMAT "RAW"."F" TYPE = PARQUET COMPRESSION = AUTO'
    assert isinstance(sqlglot.parse_one(sql, read="snowflake"), exp.Create)
    with pytest.raises(FileFormatError, match="only a typed description can be created"):
        parse_file_format("RAW.F").create_sql(ObjectName(("X",)))


def test_quotes_and_backslashes_in_strings_cannot_break_out() -> None:
    ff = parse_file_format({"type": "CSV", "field_delimiter": "'; DROP TABLE x; --"})
    assert ff.sql == "(TYPE = CSV FIELD_DELIMITER = '\\'; DROP TABLE x; --')"
    parsed = sqlglot.parse(copy_with(ff), read="snowflake")
    assert len(parsed) == 1
    assert option_literal("a\\'") == "'a\\\\\\''"
    assert option_literal("\x01") == "'\\x01'"


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ({"type": "AVRO"}, r"file_format\['type'\] must be one of CSV, JSON, PARQUET \(or give 'format_name'\), got 'AVRO'"),
        ({}, r"must be one of CSV, JSON, PARQUET"),
        ({"type": "JSON", "skip_header": 1}, r"option 'skip_header' is not a JSON file format option; allowed: allow_duplicate, "),
        ({"type": "PARQUET", "compression": "ZSTD"}, r"file_format\['compression'\] must be one of AUTO, LZO, SNAPPY, NONE, got 'ZSTD'"),
        ({"type": "JSON", "compression": "LZO"}, r"must be one of AUTO, GZIP, BZ2, BROTLI, ZSTD, DEFLATE, RAW_DEFLATE, NONE"),
        ({"type": "JSON", "strip_outer_array": "yes"}, r"file_format\['strip_outer_array'\] must be True or False, got 'yes'"),
        ({"type": "CSV", "skip_header": -1}, r"must be a non-negative integer, got -1"),
        ({"type": "CSV", "skip_header": True}, r"must be a non-negative integer, got True"),
        ({"type": "CSV", "field_delimiter": ""}, r"must be a non-empty string \(or None for NONE\)"),
        ({"type": "CSV", "null_if": [1]}, r"must be a string or a list of strings"),
        ({"type": "CSV", "parse_header": True, "skip_header": 1}, r"parse_header=True reads the header itself; remove skip_header"),
        ({"type": "JSON", "compression = NONE) --": "x"}, r"option names must be words"),
        ({"format_name": "RAW.F", "compression": "ZSTD"}, r"a named file format takes no other options"),
        (["JSON"], r"file_format must be a named file format \(a string such as 'RAW.JSON_FORMAT'\) or a description"),
    ],
)
def test_bad_descriptions_are_refused_with_the_fix(description: object, message: str) -> None:
    with pytest.raises(FileFormatError, match=message):
        parse_file_format(description)


def test_named_format_injection_is_refused() -> None:
    with pytest.raises(IdentifierError, match="file_format="):
        parse_file_format("RAW.F') ON_ERROR = CONTINUE --")
