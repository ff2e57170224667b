"""Golden SQL for every statement the loader sends; each one also parsed with sqlglot's Snowflake dialect."""

from __future__ import annotations

import itertools

import pytest
import sqlglot
from sqlglot import exp

from airflow_provider_dataeng.sql import copy as c
from airflow_provider_dataeng.sql.file_formats import parse_file_format
from airflow_provider_dataeng.sql.identifiers import IdentifierError, ObjectName, parse_object_name

TABLE = parse_object_name("raw.events", param="table")
STAGE = parse_object_name('DEMO.RAW."Landing"', param="stage")
JSON_ZSTD = parse_file_format({"type": "JSON", "compression": "ZSTD"})


def parses_as(sql: str, kind: type) -> None:
    statements = sqlglot.parse(sql, read="snowflake")
    assert len(statements) == 1
    assert isinstance(statements[0], kind), type(statements[0])


def test_variant_with_metadata_and_files() -> None:
    sql = c.build_copy_sql(
        table=TABLE, stage=STAGE, file_format=JSON_ZSTD,
        files=["2026-01-01/part-00000.jsonl.zst", "2026-01-01/part-00001.jsonl.zst"],
    )
    assert sql == (
        'COPY INTO "RAW"."EVENTS" ("RECORD", "_SOURCE_FILE", "_SOURCE_ROW", "_LOADED_AT")\n'
        'FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME FROM @"DEMO"."RAW"."Landing")\n'
        "FILES = ('2026-01-01/part-00000.jsonl.zst', '2026-01-01/part-00001.jsonl.zst')\n"
        "FILE_FORMAT = (TYPE = JSON COMPRESSION = ZSTD)\n"
        "ON_ERROR = ABORT_STATEMENT"
    )
    parses_as(sql, exp.Copy)


def test_columns_with_include_metadata_prefix_force_purge_named_format() -> None:
    sql = c.build_copy_sql(
        table=TABLE, stage=STAGE, file_format=parse_file_format("RAW.PARQUET_FMT"), prefix="orders/dt=2026-01-01/",
        load_as="columns", on_error=c.on_error_sql("continue"), force=True, purge=True,
    )
    assert sql == (
        'COPY INTO "RAW"."EVENTS"\n'
        'FROM @"DEMO"."RAW"."Landing"/orders/dt=2026-01-01/\n'
        "FILE_FORMAT = (FORMAT_NAME = '\"RAW\".\"PARQUET_FMT\"')\n"
        "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE\n"
        'INCLUDE_METADATA = ("_SOURCE_FILE" = METADATA$FILENAME, "_SOURCE_ROW" = METADATA$FILE_ROW_NUMBER, '
        '"_LOADED_AT" = METADATA$START_SCAN_TIME)\n'
        "ON_ERROR = CONTINUE\n"
        "FORCE = TRUE\n"
        "PURGE = TRUE"
    )
    parses_as(sql, exp.Copy)


def test_without_metadata_columns() -> None:
    variant = c.build_copy_sql(table=TABLE, stage=STAGE, file_format=JSON_ZSTD, files=["a.json"], metadata_columns=False)
    assert variant.splitlines()[:2] == [
        'COPY INTO "RAW"."EVENTS" ("RECORD")',
        'FROM (SELECT $1 FROM @"DEMO"."RAW"."Landing")',
    ]
    columns = c.build_copy_sql(
        table=TABLE, stage=STAGE, file_format=JSON_ZSTD, files=["a.json"], metadata_columns=False, load_as="columns"
    )
    assert "INCLUDE_METADATA" not in columns
    assert columns.splitlines()[-2:] == ["MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE", "ON_ERROR = ABORT_STATEMENT"]
    parses_as(variant, exp.Copy)
    parses_as(columns, exp.Copy)


# Every combination: the statement is the golden clauses in order, and it parses as one COPY.
FORMATS = {
    "json": (JSON_ZSTD, "FILE_FORMAT = (TYPE = JSON COMPRESSION = ZSTD)"),
    "parquet": (parse_file_format({"type": "PARQUET"}), "FILE_FORMAT = (TYPE = PARQUET)"),
    "csv": (
        parse_file_format({"type": "CSV", "parse_header": True, "field_optionally_enclosed_by": '"'}),
        "FILE_FORMAT = (TYPE = CSV PARSE_HEADER = TRUE FIELD_OPTIONALLY_ENCLOSED_BY = '\"')",
    ),
    "named": (parse_file_format("RAW.FMT"), "FILE_FORMAT = (FORMAT_NAME = '\"RAW\".\"FMT\"')"),
}
ON_ERRORS = {
    "abort": "ABORT_STATEMENT",
    "continue": "CONTINUE",
    "skip_file": "SKIP_FILE",
    "skip_file_3": "'SKIP_FILE_3'",
    "skip_file_10%": "'SKIP_FILE_10%'",
}
COMBINATIONS = list(
    itertools.product(["variant", "columns"], [True, False], ["files", "prefix"], ON_ERRORS, [False, True],
                      [False, True], FORMATS)
)
COMBINATIONS = [combo for combo in COMBINATIONS if not (combo[0] == "variant" and combo[-1] == "csv")]  # refused


@pytest.mark.parametrize(("load_as", "metadata", "selection", "on_error", "force", "purge", "fmt"), COMBINATIONS)
def test_every_option_combination(
    load_as: str, metadata: bool, selection: str, on_error: str, force: bool, purge: bool, fmt: str
) -> None:
    file_format, format_line = FORMATS[fmt]
    sql = c.build_copy_sql(
        table=TABLE, stage=STAGE, file_format=file_format,
        files=["a/1.json", "b/it's 2.json"] if selection == "files" else None,
        prefix="a/" if selection == "prefix" else None,
        load_as=load_as, metadata_columns=metadata, on_error=c.on_error_sql(on_error), force=force, purge=purge,
    )
    location = '@"DEMO"."RAW"."Landing"' + ("/a/" if selection == "prefix" else "")
    expected: list[str] = []
    if load_as == "variant":
        cols = '"RECORD", "_SOURCE_FILE", "_SOURCE_ROW", "_LOADED_AT"' if metadata else '"RECORD"'
        sources = "$1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME" if metadata else "$1"
        expected += [f'COPY INTO "RAW"."EVENTS" ({cols})', f"FROM (SELECT {sources} FROM {location})"]
    else:
        expected += ['COPY INTO "RAW"."EVENTS"', f"FROM {location}"]
    if selection == "files":
        expected.append("FILES = ('a/1.json', 'b/it\\'s 2.json')")
    expected.append(format_line)
    if load_as == "columns":
        expected.append("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
        if metadata:
            expected.append(
                'INCLUDE_METADATA = ("_SOURCE_FILE" = METADATA$FILENAME, "_SOURCE_ROW" = METADATA$FILE_ROW_NUMBER, '
                '"_LOADED_AT" = METADATA$START_SCAN_TIME)'
            )
    expected.append(f"ON_ERROR = {ON_ERRORS[on_error]}")
    expected += ["FORCE = TRUE"] * force + ["PURGE = TRUE"] * purge
    assert sql == "\n".join(expected)
    parses_as(sql, exp.Copy)


def test_batches_of_at_most_1000() -> None:
    files = [f"f{i}.json" for i in range(2501)]
    sizes = [len(b) for b in c.batches(files)]
    assert sizes == [1000, 1000, 501]
    assert [f for b in c.batches(files) for f in b] == files
    sql = c.build_copy_sql(table=TABLE, stage=STAGE, file_format=JSON_ZSTD, files=files[:1000])
    assert sql.count("'f") == 1000
    parses_as(sql, exp.Copy)
    with pytest.raises(ValueError, match="one COPY takes 1 to 1000 files, got 1001"):
        c.build_copy_sql(table=TABLE, stage=STAGE, file_format=JSON_ZSTD, files=files[:1001])
    with pytest.raises(ValueError, match="batch size must be between 1 and 1000"):
        list(c.batches(files, 1001))


def test_on_error_values() -> None:
    assert c.on_error_sql("ABORT") == "ABORT_STATEMENT"
    assert c.on_error_sql("skip_file_25%") == "'SKIP_FILE_25%'"
    for bad in ("skip_file_0", "abort_statement", "continue; drop", "skip_file_1%%", 3):
        with pytest.raises(ValueError, match=r"on_error must be one of abort, continue, skip_file, skip_file_<n>, skip_file_<n>%"):
            c.on_error_sql(bad)  # type: ignore[arg-type]


def test_create_table_variant_and_columns() -> None:
    assert c.build_create_table_sql(TABLE) == (
        'CREATE TABLE IF NOT EXISTS "RAW"."EVENTS" (\n'
        '    "RECORD" VARIANT,\n'
        '    "_SOURCE_FILE" VARCHAR,\n'
        '    "_SOURCE_ROW" NUMBER(38,0),\n'
        '    "_LOADED_AT" TIMESTAMP_LTZ\n'
        ")"
    )
    assert c.build_create_table_sql(TABLE, metadata_columns=False) == (
        'CREATE TABLE IF NOT EXISTS "RAW"."EVENTS" (\n    "RECORD" VARIANT\n)'
    )
    cols = c.parse_columns({"id": "number(38, 0)", '"Name"': "varchar", "AMOUNT": "NUMBER(12,2)", "ts": "timestamp_ntz"})
    sql = c.build_create_table_sql(TABLE, load_as="columns", columns=cols)
    assert sql == (
        'CREATE TABLE IF NOT EXISTS "RAW"."EVENTS" (\n'
        '    "ID" NUMBER(38, 0),\n'
        '    "Name" VARCHAR,\n'
        '    "AMOUNT" NUMBER(12,2),\n'
        '    "TS" TIMESTAMP_NTZ,\n'
        '    "_SOURCE_FILE" VARCHAR,\n'
        '    "_SOURCE_ROW" NUMBER(38,0),\n'
        '    "_LOADED_AT" TIMESTAMP_LTZ\n'
        ")"
    )
    parses_as(sql, exp.Create)
    parses_as(c.build_create_table_sql(TABLE), exp.Create)


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({}, "columns must be a non-empty mapping"),
        ({"id": "NUMBER); DROP TABLE x; --"}, r"columns\['id'\]='NUMBER\); DROP TABLE x; --' is not a Snowflake data type"),
        ({"id": "VARCHAR DEFAULT (SELECT 1)"}, "is not a Snowflake data type"),
        ({"a b": "VARCHAR"}, "is not a valid Snowflake identifier"),
        ({"_source_file": "VARCHAR"}, "'_SOURCE_FILE' is a metadata column the operator adds itself"),
        ({"id": "INT", "ID": "INT"}, "column 'ID' is given twice"),
    ],
)
def test_bad_columns_are_refused(columns: dict, message: str) -> None:
    with pytest.raises((ValueError, IdentifierError), match=message):
        c.parse_columns(columns)


def test_create_table_from_inferred_schema() -> None:
    fmt = c.infer_format_name(TABLE)
    assert fmt == ObjectName(("RAW", "EVENTS__DATAENG_INFER_FORMAT"))
    sql = c.build_create_table_from_files_sql(TABLE, stage=STAGE, file="2026/part-0.parquet", format_name=fmt)
    assert sql == (
        'CREATE TABLE IF NOT EXISTS "RAW"."EVENTS"\n'
        "USING TEMPLATE (\n"
        "    SELECT ARRAY_AGG(OBJECT_CONSTRUCT(*)) WITHIN GROUP (ORDER BY ORDER_ID)\n"
        "    FROM TABLE(INFER_SCHEMA(\n"
        "        LOCATION => '@\"DEMO\".\"RAW\".\"Landing\"',\n"
        "        FILES => ('2026/part-0.parquet'),\n"
        "        FILE_FORMAT => '\"RAW\".\"EVENTS__DATAENG_INFER_FORMAT\"',\n"
        "        IGNORE_CASE => TRUE\n"
        "    ))\n"
        ")"
    )
    parses_as(sql, exp.Create)
    alters = c.build_add_metadata_columns_sql(TABLE)
    assert alters == [
        'ALTER TABLE "RAW"."EVENTS" ADD COLUMN IF NOT EXISTS "_SOURCE_FILE" VARCHAR',
        'ALTER TABLE "RAW"."EVENTS" ADD COLUMN IF NOT EXISTS "_SOURCE_ROW" NUMBER(38,0)',
        'ALTER TABLE "RAW"."EVENTS" ADD COLUMN IF NOT EXISTS "_LOADED_AT" TIMESTAMP_LTZ',
    ]
    for alter in alters:
        parses_as(alter, exp.Alter)


def test_table_exists_binds_names() -> None:
    assert c.build_table_exists_sql(parse_object_name("db.raw.events", param="t")) == (
        'SELECT COUNT(*) AS "N" FROM "DB".INFORMATION_SCHEMA.TABLES\n'
        "WHERE TABLE_SCHEMA = %(schema)s AND TABLE_NAME = %(name)s",
        {"name": "EVENTS", "schema": "RAW"},
    )
    assert c.build_table_exists_sql(parse_object_name("raw.events", param="t"))[0].startswith(
        'SELECT COUNT(*) AS "N" FROM INFORMATION_SCHEMA.TABLES\n'
    )
    sql, params = c.build_table_exists_sql(parse_object_name("events", param="t"))
    assert sql == (
        'SELECT COUNT(*) AS "N" FROM INFORMATION_SCHEMA.TABLES\n'
        "WHERE TABLE_SCHEMA = CURRENT_SCHEMA() AND TABLE_NAME = %(name)s"
    )
    assert params == {"name": "EVENTS"}
    parses_as(sql.replace("%(name)s", "'EVENTS'"), exp.Select)


def test_show_stages_and_qualify() -> None:
    assert c.build_show_stages_sql(STAGE) == 'SHOW STAGES LIKE \'Landing\' IN SCHEMA "DEMO"."RAW"'
    parses_as(c.build_show_stages_sql(STAGE), exp.Show)
    assert c.qualify(parse_object_name("s", param="s"), "DB", "SC").sql == '"DB"."SC"."S"'
    assert c.qualify(parse_object_name("x.s", param="s"), "DB", "SC").sql == '"DB"."X"."S"'
    with pytest.raises(ValueError, match="qualify the stage"):
        c.build_show_stages_sql(parse_object_name("s", param="s"))


def test_create_stage_with_integration_and_with_credentials() -> None:
    sql = c.build_create_stage_sql(STAGE, url="s3://my-bucket/landing/", storage_integration="s3_int")
    assert sql == (
        'CREATE STAGE IF NOT EXISTS "DEMO"."RAW"."Landing"\n'
        "URL = 's3://my-bucket/landing/'\n"
        'STORAGE_INTEGRATION = "S3_INT"'
    )
    parses_as(sql, exp.Create)
    sql = c.build_create_stage_sql(
        STAGE, url="s3://bkt/p/", credentials={"aws_key_id": "AKIA1", "aws_secret_key": "s'cret", "aws_token": "tok"}
    )
    assert sql == (
        'CREATE STAGE IF NOT EXISTS "DEMO"."RAW"."Landing"\n'
        "URL = 's3://bkt/p/'\n"
        "CREDENTIALS = (AWS_KEY_ID = 'AKIA1' AWS_SECRET_KEY = 's\\'cret' AWS_TOKEN = 'tok')"
    )
    parses_as(sql, exp.Create)
    assert c.redact_create_stage(sql) == (
        'CREATE STAGE IF NOT EXISTS "DEMO"."RAW"."Landing"\n'
        "URL = 's3://bkt/p/'\n"
        "CREDENTIALS = (AWS_KEY_ID = '***' AWS_SECRET_KEY = '***' AWS_TOKEN = '***')"
    )


@pytest.mark.parametrize("url", ["https://b/p/", "s3://B/p", "s3://bkt/p'; DROP", "s3:/bkt", "s3://b/p/", ""])
def test_create_stage_refuses_bad_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"ensure_stage\['url'\] must be an s3://bucket/prefix/ URL"):
        c.build_create_stage_sql(STAGE, url=url, storage_integration="I")


def test_create_stage_needs_one_auth() -> None:
    with pytest.raises(ValueError, match="exactly one of 'storage_integration' or credentials"):
        c.build_create_stage_sql(STAGE, url="s3://bkt/p/")


def test_remove_is_exact_for_one_file() -> None:
    sql = c.build_remove_sql(STAGE, "2026-01-01/part-00000.jsonl.zst")
    assert sql == (
        "REMOVE '@\"DEMO\".\"RAW\".\"Landing\"/2026-01-01/part-00000.jsonl.zst' "
        "PATTERN = '^.*/part[-]00000[.]jsonl[.]zst$'"
    )
    # sqlglot has no REMOVE grammar: it keeps the statement whole as one Command (nothing is split off).
    statements = sqlglot.parse(sql, read="snowflake")
    assert len(statements) == 1 and isinstance(statements[0], exp.Command)
    with pytest.raises(ValueError, match="cannot build an exact REMOVE pattern"):
        c.build_remove_sql(STAGE, "a[1].json")


def test_prefix_and_path_validation() -> None:
    assert c.validate_prefix("/orders/dt=2026-01-01/") == "orders/dt=2026-01-01/"
    for bad in ("a b/", "a/../b", "x'; --", "", "/", "a/*"):
        with pytest.raises(ValueError, match="prefix"):
            c.validate_prefix(bad)
    assert c.validate_file_path("/a/b c's.json") == "a/b c's.json"
    for bad in ("a/../../etc", "a\nb", "", "/"):
        with pytest.raises(ValueError):
            c.validate_file_path(bad)


def test_uris_made_stage_relative() -> None:
    assert c.stage_relative_path("s3://b/landing/2026/x.json", "s3://b/landing/") == "2026/x.json"
    assert c.stage_relative_path("s3://b/landing/2026/x.json", "s3://b/landing") == "2026/x.json"
    with pytest.raises(ValueError, match=r"'s3://b/other/x.json' is not under the stage's URL 's3://b/landing/'"):
        c.stage_relative_path("s3://b/other/x.json", "s3://b/landing/")
    with pytest.raises(ValueError, match="is not under"):
        c.stage_relative_path("s3://b/landing2/x.json", "s3://b/landing")
