"""The exact statement sequence, with Snowflake's own answers: INFER_SCHEMA (which the local Snowflake
cannot run), and REMOVE after COMMIT, partial loads and SKIP_FILE results, SHOW STAGES and session
qualification (which it runs too, see test_load_integration*.py). A scripted cursor stands in for
Snowflake and answers in Snowflake's shapes; every statement sent is also parsed with sqlglot's
Snowflake dialect."""

from __future__ import annotations

from typing import Any

import pytest
import sqlglot
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator

COPY_COLUMNS = ("file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen", "first_error",
                "first_error_line", "first_error_character", "first_error_column_name")
URL = "s3://bkt/landing/"


class ScriptedSnowflake:
    """Connection + cursor: records statements, answers from ``answers`` (first matching prefix)."""

    def __init__(self, answers: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]) -> None:
        self.answers = answers
        self.statements: list[str] = []
        self.description: list[tuple[str]] = []
        self._rows: list[tuple[Any, ...]] = []
        self.sfqid = "01-test"

    def cursor(self) -> ScriptedSnowflake:
        return self

    def __enter__(self) -> ScriptedSnowflake:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: Any = None) -> None:
        self.statements.append(sql)
        for prefix, columns, rows in self.answers:
            if sql.startswith(prefix):
                self.description, self._rows = [(c,) for c in columns], rows
                return
        self.description, self._rows = [("status",)], [("Statement executed successfully.",)]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def close(self) -> None:
        return None


@pytest.fixture()
def snowflake(monkeypatch: pytest.MonkeyPatch) -> Any:
    from airflow_provider_dataeng.hooks import snowflake as hook_module

    holder: dict[str, ScriptedSnowflake] = {}

    def install(answers: list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]) -> ScriptedSnowflake:
        holder["conn"] = ScriptedSnowflake(answers)
        monkeypatch.setattr(hook_module.SnowflakeHook, "get_conn", lambda self: holder["conn"])
        return holder["conn"]

    return install


def shown_stage(name: str = "LANDING") -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
    return ("SHOW STAGES", ("created_on", "name", "database_name", "schema_name", "url"),
            [(None, name, "DB", "RAW", URL)])


TABLE_MISSING = ('SELECT COUNT(*) AS "N"', ("N",), [(0,)])
TABLE_EXISTS = ('SELECT COUNT(*) AS "N"', ("N",), [(1,)])


def copy_rows(*rows: tuple[Any, ...]) -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
    return ("COPY INTO", COPY_COLUMNS, list(rows))


def all_parse(statements: list[str]) -> None:
    for sql in statements:
        if not sql.startswith("REMOVE "):  # sqlglot has no REMOVE grammar
            assert len(sqlglot.parse(sql.replace("%(schema)s", "'S'").replace("%(name)s", "'N'"), read="snowflake")) == 1


def test_columns_mode_infers_the_table_from_the_first_file_then_adds_metadata(snowflake: Any) -> None:
    conn = snowflake([
        TABLE_MISSING, shown_stage(),
        copy_rows((URL + "d/a.parquet", "LOADED", 2, 2, 1, 0, None, None, None, None)),
    ])
    op = S3StageLoadOperator(task_id="t", table="DB.RAW.ORDERS", stage="DB.RAW.LANDING", load_as="columns",
                             create_table=True, file_format={"type": "PARQUET"},
                             files=[{"uri": URL + "d/a.parquet", "records": 2}])
    assert op.execute({})["rows_loaded"] == 2
    assert conn.statements == [
        "SHOW STAGES LIKE 'LANDING' IN SCHEMA \"DB\".\"RAW\"",
        'SELECT COUNT(*) AS "N" FROM "DB".INFORMATION_SCHEMA.TABLES\nWHERE TABLE_SCHEMA = %(schema)s AND TABLE_NAME = %(name)s',
        'CREATE OR REPLACE TEMPORARY FILE FORMAT "DB"."RAW"."ORDERS__DATAENG_INFER_FORMAT" TYPE = PARQUET',
        'CREATE TABLE IF NOT EXISTS "DB"."RAW"."ORDERS"\n'
        "USING TEMPLATE (\n"
        "    SELECT ARRAY_AGG(OBJECT_CONSTRUCT(*)) WITHIN GROUP (ORDER BY ORDER_ID)\n"
        "    FROM TABLE(INFER_SCHEMA(\n"
        "        LOCATION => '@\"DB\".\"RAW\".\"LANDING\"',\n"
        "        FILES => ('d/a.parquet'),\n"
        "        FILE_FORMAT => '\"DB\".\"RAW\".\"ORDERS__DATAENG_INFER_FORMAT\"',\n"
        "        IGNORE_CASE => TRUE\n"
        "    ))\n"
        ")",
        'ALTER TABLE "DB"."RAW"."ORDERS" ADD COLUMN IF NOT EXISTS "_SOURCE_FILE" VARCHAR',
        'ALTER TABLE "DB"."RAW"."ORDERS" ADD COLUMN IF NOT EXISTS "_SOURCE_ROW" NUMBER(38,0)',
        'ALTER TABLE "DB"."RAW"."ORDERS" ADD COLUMN IF NOT EXISTS "_LOADED_AT" TIMESTAMP_LTZ',
        "BEGIN",
        'COPY INTO "DB"."RAW"."ORDERS"\n'
        'FROM @"DB"."RAW"."LANDING"\n'
        "FILES = ('d/a.parquet')\n"
        "FILE_FORMAT = (TYPE = PARQUET)\n"
        "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE\n"
        'INCLUDE_METADATA = ("_SOURCE_FILE" = METADATA$FILENAME, "_SOURCE_ROW" = METADATA$FILE_ROW_NUMBER, '
        '"_LOADED_AT" = METADATA$START_SCAN_TIME)\n'
        "ON_ERROR = ABORT_STATEMENT",
        "COMMIT",
    ]
    all_parse(conn.statements)


def test_purge_removes_loaded_and_skipped_files_only_after_commit(snowflake: Any) -> None:
    conn = snowflake([
        shown_stage(), TABLE_EXISTS,
        copy_rows((URL + "d/b.json", "LOADED", 1, 1, 1, 0, None, None, None, None)),  # d/a.json: loaded before
    ])
    op = S3StageLoadOperator(task_id="t", table="RAW.EVENTS", stage="DB.RAW.LANDING", purge=True,
                             file_format={"type": "JSON"}, files=["d/a.json", URL + "d/b.json"])
    assert op.execute({})["files_skipped"] == 1
    assert conn.statements[-4:] == [
        'COPY INTO "RAW"."EVENTS" ("RECORD", "_SOURCE_FILE", "_SOURCE_ROW", "_LOADED_AT")\n'
        'FROM (SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME FROM @"DB"."RAW"."LANDING")\n'
        "FILES = ('d/a.json', 'd/b.json')\n"
        "FILE_FORMAT = (TYPE = JSON)\n"
        "ON_ERROR = ABORT_STATEMENT",
        "COMMIT",
        "REMOVE '@\"DB\".\"RAW\".\"LANDING\"/d/a.json' PATTERN = '^.*/a[.]json$'",
        "REMOVE '@\"DB\".\"RAW\".\"LANDING\"/d/b.json' PATTERN = '^.*/b[.]json$'",
    ]
    all_parse(conn.statements)


def test_partial_load_beyond_max_error_rows_rolls_back_and_removes_nothing(snowflake: Any) -> None:
    conn = snowflake([
        TABLE_EXISTS,
        copy_rows(
            ("s3://bkt/landing/d/a.json", "LOADED", 3, 3, 1, 0, None, None, None, None),
            ("s3://bkt/landing/d/b.json", "PARTIALLY_LOADED", 4, 1, 4, 3,
             "Error parsing JSON: misplaced { pos 7", 2, 7, '"EVENTS"["RECORD":1]'),
        ),
    ])
    op = S3StageLoadOperator(task_id="t", table="RAW.EVENTS", stage="RAW.LANDING", on_error="continue",
                             max_error_rows=2, file_format={"type": "JSON"},
                             files=[{"path": "d/a.json", "records": 3}, {"path": "d/b.json", "records": 4}])
    with pytest.raises(AirflowFailException) as err:
        op.execute({})
    assert str(err.value).splitlines()[1:] == [
        "file     | status           | expected | parsed | loaded | errors | problem / first error",
        "---------+------------------+----------+--------+--------+--------+----------------------",
        "d/b.json | PARTIALLY_LOADED | 4        | 4      | 1      | 3      | 3 rejected rows in this load exceed "
        "max_error_rows=2; Error parsing JSON: misplaced { pos 7 (line 2)",
    ]
    assert conn.statements[-2].endswith("ON_ERROR = CONTINUE")
    assert conn.statements[-1] == "ROLLBACK"


def test_partial_load_within_max_error_rows_commits_and_reports(snowflake: Any) -> None:
    snowflake([
        TABLE_EXISTS,
        copy_rows(("s3://bkt/landing/d/b.json", "PARTIALLY_LOADED", 4, 3, 4, 1, "bad row", 2, 1, None)),
    ])
    op = S3StageLoadOperator(task_id="t", table="RAW.EVENTS", stage="RAW.LANDING", on_error="continue",
                             max_error_rows=1, file_format={"type": "JSON"}, files=[{"path": "d/b.json", "records": 4}])
    assert op.execute({}) == {
        "table": '"RAW"."EVENTS"', "files_loaded": 1, "files_skipped": 0, "rows_loaded": 3, "rows_parsed": 4,
        "errors": [{"file": "d/b.json", "status": "PARTIALLY_LOADED", "errors_seen": 1, "first_error": "bad row",
                    "first_error_line": 2, "first_error_column_name": None}],
        "statements": 3,  # BEGIN, COPY, COMMIT: no table lookup unless a COPY fails
    }


def test_skip_file_result_fails_with_the_table(snowflake: Any) -> None:
    conn = snowflake([
        TABLE_EXISTS,
        copy_rows(("s3://bkt/landing/d/a.json", "LOAD_FAILED", 3, 0, 1, 1, "Error parsing JSON: x", 1, 1, None)),
    ])
    op = S3StageLoadOperator(task_id="t", table="RAW.EVENTS", stage="RAW.LANDING", on_error="skip_file",
                             file_format={"type": "JSON"}, files=["d/a.json"])
    with pytest.raises(AirflowFailException, match=r"failed verification for 1 of 1 files"):
        op.execute({})
    assert "ON_ERROR = SKIP_FILE" in conn.statements[-2]
    assert conn.statements[-1] == "ROLLBACK"


def test_existing_stage_with_another_url_is_refused(snowflake: Any) -> None:
    snowflake([shown_stage()])
    op = S3StageLoadOperator(task_id="t", table="RAW.EVENTS", stage="DB.RAW.LANDING", file_format={"type": "JSON"},
                             files=["a.json"], ensure_stage={"url": "s3://bkt/other/", "storage_integration": "S3_INT"})
    with pytest.raises(AirflowFailException, match=r"already exists with URL 's3://bkt/landing/', not ensure_stage\['url'\]='s3://bkt/other/'"):
        op.execute({})


def test_unqualified_stage_is_qualified_from_the_session(snowflake: Any) -> None:
    conn = snowflake([
        ('SELECT CURRENT_DATABASE()', ("D", "S"), [("DB", "RAW")]), shown_stage(), TABLE_EXISTS,
        copy_rows((URL + "a.json", "LOADED", 1, 1, 1, 0, None, None, None, None)),
    ])
    op = S3StageLoadOperator(task_id="t", table="EVENTS", stage="LANDING", file_format={"type": "JSON"},
                             files=[URL + "a.json"])
    assert op.execute({})["files_loaded"] == 1
    assert conn.statements[1] == "SHOW STAGES LIKE 'LANDING' IN SCHEMA \"DB\".\"RAW\""


def test_log_shows_long_files_lists_abbreviated() -> None:
    from airflow_provider_dataeng.operators.s3_stage_load import _abbreviate_files

    sql = "COPY INTO \"T\"\nFROM @\"S\"\nFILES = ('a', 'b', 'c', 'd', 'e')\nFILE_FORMAT = (TYPE = JSON)\nON_ERROR = ABORT_STATEMENT"
    assert _abbreviate_files(sql) == (
        "COPY INTO \"T\"\nFROM @\"S\"\nFILES = ('a', 'b', 'c', ... 2 more)\nFILE_FORMAT = (TYPE = JSON)\nON_ERROR = ABORT_STATEMENT"
    )
    short = "COPY INTO \"T\"\nFROM @\"S\"\nFILES = ('a')\nFILE_FORMAT = (TYPE = JSON)\nON_ERROR = ABORT_STATEMENT"
    assert _abbreviate_files(short) == short
