"""COPY INTO from an S3 external stage on the local Snowflake (moto behind s3fs)."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

RESULT_COLUMNS = [
    "file",
    "status",
    "rows_parsed",
    "rows_loaded",
    "error_limit",
    "errors_seen",
    "first_error",
    "first_error_line",
    "first_error_character",
    "first_error_column_name",
]
RECORDS = [
    {"id": 1, "Name": "ada", "tags": ["x"]},
    {"id": 2, "Name": "bob", "tags": []},
    {"id": 3, "Name": None},
]
NDJSON = b"".join(json.dumps(r).encode() + b"\n" for r in RECORDS)


def loaded(url: str, rows: int) -> tuple[Any, ...]:
    return (url, "LOADED", rows, rows, 1, 0, None, None, None, None)


@pytest.fixture(scope="module")
def stage(local_s3: Any, local_snowflake: Any) -> str:
    put = local_s3.put_object
    put(Bucket="landing", Key="copy/raw/a.jsonl.zst", Body=zstandard.ZstdCompressor().compress(NDJSON))
    put(Bucket="landing", Key="copy/raw/b.jsonl.gz", Body=gzip.compress(NDJSON))
    put(Bucket="landing", Key="copy/raw/c.jsonl", Body=NDJSON)
    buf = io.BytesIO()
    pq.write_table(pa.table({"ID": [1, 2], "name": ["ada", "bob"], "score": [1.5, None]}), buf)
    put(Bucket="landing", Key="copy/pq/p.parquet", Body=buf.getvalue())
    put(Bucket="landing", Key="copy/csv/h.csv", Body=b'id,name,note\n1,"ada, the first",\\N\n2,bob,""\n')
    conn = local_snowflake.connect()
    conn.cursor().execute(
        "CREATE OR REPLACE STAGE DEMO.PUBLIC.LANDING URL='s3://landing/copy/' "
        "CREDENTIALS=(AWS_KEY_ID='local' AWS_SECRET_KEY='local')"
    )
    conn.close()
    return "@DEMO.PUBLIC.LANDING"


def test_copy_jsonl_zst_returns_snowflake_result_rows(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE raw_zst (record VARIANT)")
    rows = sf(
        f"COPY INTO raw_zst FROM {stage}/raw/ FILES=('a.jsonl.zst') FILE_FORMAT=(TYPE=JSON COMPRESSION=ZSTD)"
    )
    assert [d.name for d in sf.cursor.description] == RESULT_COLUMNS
    assert rows == [loaded("s3://landing/copy/raw/a.jsonl.zst", 3)]
    assert sf("SELECT record:id::int, record:Name::string FROM raw_zst ORDER BY 1") == [
        (1, "ada"),
        (2, "bob"),
        (3, None),
    ]


def test_copy_gzip_and_uncompressed_json_in_one_statement(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE raw_gz (record VARIANT)")
    rows = sf(
        f"COPY INTO raw_gz FROM {stage}/raw/ FILES=('b.jsonl.gz', 'c.jsonl') FILE_FORMAT=(TYPE=JSON COMPRESSION=AUTO)"
    )
    assert rows == [loaded("s3://landing/copy/raw/b.jsonl.gz", 3), loaded("s3://landing/copy/raw/c.jsonl", 3)]
    assert sf("SELECT count(*) FROM raw_gz") == [(6,)]


def test_recopy_skips_loaded_files_and_force_reloads(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE raw_again (record VARIANT)")
    copy = f"COPY INTO raw_again FROM {stage}/raw/ FILES=('c.jsonl') FILE_FORMAT=(TYPE=JSON)"
    assert sf(copy) == [loaded("s3://landing/copy/raw/c.jsonl", 3)]
    assert sf(copy) == [("Copy executed with 0 files processed.",)]
    assert [d.name for d in sf.cursor.description] == ["status"]
    assert sf(copy + " FORCE = TRUE") == [loaded("s3://landing/copy/raw/c.jsonl", 3)]
    assert sf("SELECT count(*) FROM raw_again") == [(6,)]


def test_copy_without_files_lists_the_prefix(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE raw_all (record VARIANT)")
    rows = sf(f"COPY INTO raw_all FROM {stage}/raw/ FILE_FORMAT=(TYPE=JSON) PATTERN='.*[.]jsonl[.](gz|zst)'")
    assert sorted(r[0] for r in rows) == [
        "s3://landing/copy/raw/a.jsonl.zst",
        "s3://landing/copy/raw/b.jsonl.gz",
    ]


def test_transform_copy_with_metadata_columns(sf: Any, stage: str) -> None:
    sf(
        "CREATE OR REPLACE TABLE raw_meta (record VARIANT, _source_file VARCHAR, _source_row NUMBER, _loaded_at TIMESTAMP_NTZ)"
    )
    rows = sf(
        "COPY INTO raw_meta (RECORD, _SOURCE_FILE, _SOURCE_ROW, _LOADED_AT) FROM "
        f"(SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, CURRENT_TIMESTAMP() FROM {stage}/raw/) "
        "FILES=('a.jsonl.zst') FILE_FORMAT=(TYPE=JSON COMPRESSION=ZSTD)"
    )
    assert rows == [loaded("s3://landing/copy/raw/a.jsonl.zst", 3)]
    # METADATA$FILENAME is the object's path inside the bucket, stage prefix included (not a URL)
    assert sf(
        "SELECT record:id::int, _source_file, _source_row, _loaded_at IS NOT NULL FROM raw_meta ORDER BY 3"
    ) == [
        (1, "copy/raw/a.jsonl.zst", 1, True),
        (2, "copy/raw/a.jsonl.zst", 2, True),
        (3, "copy/raw/a.jsonl.zst", 3, True),
    ]


def test_transform_copy_with_json_paths(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE people (id INT, name VARCHAR)")
    sf(
        f"COPY INTO people FROM (SELECT $1:id::int, $1:Name::string FROM {stage}/raw/) FILES=('c.jsonl') FILE_FORMAT=(TYPE=JSON)"
    )
    assert sf("SELECT * FROM people ORDER BY id") == [(1, "ada"), (2, "bob"), (3, None)]


def test_json_match_by_column_name_with_include_metadata(sf: Any, stage: str) -> None:
    sf(
        "CREATE OR REPLACE TABLE typed (ID INT, NAME VARCHAR, TAGS VARIANT, _SOURCE_FILE VARCHAR, _SOURCE_ROW INT)"
    )
    rows = sf(
        f"COPY INTO typed FROM {stage}/raw/ FILES=('c.jsonl') FILE_FORMAT=(TYPE=JSON) "
        "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE "
        "INCLUDE_METADATA = (_SOURCE_FILE = METADATA$FILENAME, _SOURCE_ROW = METADATA$FILE_ROW_NUMBER)"
    )
    assert rows == [loaded("s3://landing/copy/raw/c.jsonl", 3)]
    assert sf("SELECT id, name, tags, _source_file, _source_row FROM typed ORDER BY id") == [
        (1, "ada", '["x"]', "copy/raw/c.jsonl", 1),  # fakesnow prints VARIANTs compactly
        (2, "bob", "[]", "copy/raw/c.jsonl", 2),
        (3, None, None, "copy/raw/c.jsonl", 3),
    ]


def test_parquet_match_by_column_name(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE scores (id INT, name VARCHAR, score FLOAT, extra VARCHAR)")
    rows = sf(
        f"COPY INTO scores FROM {stage}/pq/ FILES=('p.parquet') FILE_FORMAT=(TYPE=PARQUET) MATCH_BY_COLUMN_NAME=CASE_INSENSITIVE"
    )
    assert rows == [loaded("s3://landing/copy/pq/p.parquet", 2)]
    assert sf("SELECT * FROM scores ORDER BY id") == [(1, "ada", 1.5, None), (2, "bob", None, None)]


def test_parquet_into_a_variant_column(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE pq_raw (record VARIANT)")
    sf(f"COPY INTO pq_raw FROM {stage}/pq/ FILE_FORMAT=(TYPE=PARQUET)")
    assert sf("SELECT record:ID::int, record:name::string FROM pq_raw ORDER BY 1") == [(1, "ada"), (2, "bob")]


def test_csv_skip_header_and_enclosed_fields(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE csv_rows (id INT, name VARCHAR, note VARCHAR)")
    rows = sf(
        f"COPY INTO csv_rows FROM {stage}/csv/ FILES=('h.csv') "
        "FILE_FORMAT=(TYPE=CSV SKIP_HEADER=1 FIELD_OPTIONALLY_ENCLOSED_BY='\"')"
    )
    assert rows == [loaded("s3://landing/copy/csv/h.csv", 2)]
    assert sf("SELECT * FROM csv_rows ORDER BY id") == [(1, "ada, the first", None), (2, "bob", None)]


def test_csv_parse_header_matches_columns(sf: Any, stage: str) -> None:
    sf("CREATE OR REPLACE TABLE csv_named (NAME VARCHAR, ID INT)")
    sf(
        f"COPY INTO csv_named FROM {stage}/csv/h.csv "
        "FILE_FORMAT=(TYPE=CSV PARSE_HEADER=TRUE FIELD_OPTIONALLY_ENCLOSED_BY='\"') MATCH_BY_COLUMN_NAME=CASE_INSENSITIVE"
    )
    assert sf("SELECT * FROM csv_named ORDER BY id") == [("ada, the first", 1), ("bob", 2)]


def test_missing_file_fails_and_loads_nothing(sf: Any, stage: str) -> None:
    import snowflake.connector.errors

    sf("CREATE OR REPLACE TABLE raw_missing (record VARIANT)")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="nope.jsonl"):
        sf(f"COPY INTO raw_missing FROM {stage}/raw/ FILES=('c.jsonl', 'nope.jsonl') FILE_FORMAT=(TYPE=JSON)")
    assert sf("SELECT count(*) FROM raw_missing") == [(0,)]


def test_bad_json_aborts_the_whole_statement(sf: Any, stage: str, local_s3: Any) -> None:
    import snowflake.connector.errors

    local_s3.put_object(Bucket="landing", Key="copy/bad/x.jsonl", Body=b'{"id": 1}\n{"id": \n')
    sf("CREATE OR REPLACE TABLE raw_bad (record VARIANT)")
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="Error parsing JSON"):
        sf(f"COPY INTO raw_bad FROM {stage}/bad/ FILE_FORMAT=(TYPE=JSON)")
    assert sf("SELECT count(*) FROM raw_bad") == [(0,)]
