"""S3StageLoadOperator's error handling end to end on the local stack: ON_ERROR modes, max_error_rows, a
LOAD_FAILED file, and purge, with the COPY and REMOVE statements run by the Snowflake stand-in over moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
import zstandard
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from tests.snowflake_load.conftest import STAGE, STAGE_PREFIX, jsonl_zst

pytestmark = pytest.mark.integration

GOOD = [{"id": 1, "kind": "click"}, {"id": 2, "kind": "view"}]
ONE_BAD = b'{"id": 3}\n{"id": \n{"id": 5}\n'  # line 2 is not JSON
TWO_BAD = b'{"id": 6}\n{"id": \n[\n{"id": 9}\n'  # lines 2 and 3 are not JSON
JSON_ERROR = "Error parsing JSON: unexpected end of data, pos 7"  # the stand-in's (orjson's) wording


def zst(text: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(text)


def loader(table: str, ensure_stage: dict[str, str], **kwargs: Any) -> S3StageLoadOperator:
    args: dict[str, Any] = {"task_id": "load", "table": table, "stage": STAGE, "ensure_stage": ensure_stage,
                            "file_format": {"type": "JSON", "compression": "ZSTD"}, "create_table": True}
    return S3StageLoadOperator(**{**args, **kwargs})


def ids_and_rows(sf: Any, table: str) -> list[tuple[Any, ...]]:
    rows = sf(f'SELECT RECORD, "_SOURCE_FILE", "_SOURCE_ROW" FROM {table} ORDER BY "_SOURCE_FILE", "_SOURCE_ROW"')
    return [(json.loads(r[0])["id"], r[1].rsplit("/", 1)[-1], r[2]) for r in rows]


def failure_table(err: pytest.ExceptionInfo[AirflowFailException]) -> list[str]:
    return str(err.value).splitlines()[1:]


def test_continue_loads_good_lines_and_reports_the_partial_file(
    sf: Any, ensure_stage: dict[str, str], put_parts: Any
) -> None:
    manifest = put_parts("errors/continue", [jsonl_zst(GOOD), zst(ONE_BAD)], [2, 3])
    op = loader("PUBLIC.ERR_CONTINUE", ensure_stage, files=manifest, on_error="continue", max_error_rows=1)
    summary = op.execute({})
    assert summary.pop("statements") in (9, 10)  # no table yet (10 when this run also creates the stage)
    assert summary == {
        "table": '"PUBLIC"."ERR_CONTINUE"', "files_loaded": 2, "files_skipped": 0, "rows_loaded": 4,
        "rows_parsed": 5,
        "errors": [{"file": "errors/continue/part-00001.jsonl.zst", "status": "PARTIALLY_LOADED", "errors_seen": 1,
                    "first_error": JSON_ERROR, "first_error_line": 2,
                    "first_error_column_name": '"ERR_CONTINUE"["RECORD":1]'}],
    }
    # METADATA$FILE_ROW_NUMBER still counts the rejected line
    assert ids_and_rows(sf, "PUBLIC.ERR_CONTINUE") == [
        (1, "part-00000.jsonl.zst", 1), (2, "part-00000.jsonl.zst", 2),
        (3, "part-00001.jsonl.zst", 1), (5, "part-00001.jsonl.zst", 3),
    ]
    # Snowflake records a PARTIALLY_LOADED file as loaded: the re-run skips both files
    again = op.execute({})
    assert (again["files_loaded"], again["files_skipped"], again["rows_loaded"]) == (0, 2, 0)
    assert sf("SELECT COUNT(*) FROM PUBLIC.ERR_CONTINUE") == [(4,)]


def test_more_rejected_rows_than_max_error_rows_fails_then_a_wider_limit_loads_exactly(
    sf: Any, ensure_stage: dict[str, str], put_parts: Any
) -> None:
    manifest = put_parts("errors/limit", [jsonl_zst(GOOD), zst(TWO_BAD)], [2, 4])
    strict = loader("PUBLIC.ERR_LIMIT", ensure_stage, files=manifest, on_error="continue", max_error_rows=1)
    with pytest.raises(AirflowFailException) as err:
        strict.execute({})
    assert str(err.value).startswith(
        'Load into "PUBLIC"."ERR_LIMIT" failed verification for 1 of 2 files; the load was rolled back'
    )
    assert failure_table(err) == [
        "file                              | status           | expected | parsed | loaded | errors | problem / first error",
        "----------------------------------+------------------+----------+--------+--------+--------+----------------------",
        "errors/limit/part-00001.jsonl.zst | PARTIALLY_LOADED | 4        | 4      | 2      | 2      | 2 rejected rows in "
        f"this load exceed max_error_rows=1; {JSON_ERROR} (line 2)",
    ]
    assert sf("SELECT COUNT(*) FROM PUBLIC.ERR_LIMIT") == [(0,)]

    # The rollback kept no load metadata: the same files load with a limit that tolerates both rows.
    within = loader("PUBLIC.ERR_LIMIT", ensure_stage, files=manifest, on_error="continue", max_error_rows=2)
    result = within.execute({})
    assert (result["files_loaded"], result["rows_loaded"], result["rows_parsed"]) == (2, 4, 6)
    assert [e["errors_seen"] for e in result["errors"]] == [2]
    assert ids_and_rows(sf, "PUBLIC.ERR_LIMIT") == [
        (1, "part-00000.jsonl.zst", 1), (2, "part-00000.jsonl.zst", 2),
        (6, "part-00001.jsonl.zst", 1), (9, "part-00001.jsonl.zst", 4),
    ]


@pytest.mark.parametrize("on_error", ["skip_file", "skip_file_1"])
def test_load_failed_file_fails_the_task_and_loads_nothing(
    sf: Any, ensure_stage: dict[str, str], put_parts: Any, on_error: str
) -> None:
    manifest = put_parts(f"errors/{on_error}", [jsonl_zst(GOOD), zst(ONE_BAD)], [2, 3])
    op = loader("PUBLIC.ERR_SKIP", ensure_stage, files=manifest, on_error=on_error)
    with pytest.raises(AirflowFailException) as err:
        op.execute({})
    name = f"errors/{on_error}/part-00001.jsonl.zst"
    assert failure_table(err) == [
        "file".ljust(len(name)) + " | status      | expected | parsed | loaded | errors | problem / first error",
        "-" * len(name) + "-+-------------+----------+--------+--------+--------+----------------------",
        f"{name} | LOAD_FAILED | 3        | 3      | 0      | 1      | file not loaded; {JSON_ERROR} (line 2)",
    ]
    # the good file's rows were rolled back with the rest: nothing from the run is visible
    assert sf("SELECT COUNT(*) FROM PUBLIC.ERR_SKIP") == [(0,)]


def test_skip_file_n_tolerates_fewer_errors_as_a_partial_load(
    sf: Any, ensure_stage: dict[str, str], put_parts: Any
) -> None:
    manifest = put_parts("errors/skip_n", [zst(ONE_BAD)], [3])
    op = loader("PUBLIC.ERR_SKIP_N", ensure_stage, files=manifest, on_error="skip_file_2", max_error_rows=1)
    result = op.execute({})
    assert (result["files_loaded"], result["rows_loaded"], result["errors"][0]["status"]) == (1, 2, "PARTIALLY_LOADED")
    assert [r[0] for r in ids_and_rows(sf, "PUBLIC.ERR_SKIP_N")] == [3, 5]


def test_purge_removes_exactly_the_loaded_files(
    sf: Any, s3: Any, stack: Any, ensure_stage: dict[str, str], put_parts: Any
) -> None:
    manifest = put_parts("errors/purge", [jsonl_zst(GOOD), zst(ONE_BAD)], [2, 3])
    folder = f"{STAGE_PREFIX}errors/purge/"
    for extra in ("part-00000.jsonl.zst.bak", "part-000001.jsonl.zst", "other.jsonl.zst"):
        s3.put_object(Bucket=stack.bucket, Key=folder + extra, Body=jsonl_zst(GOOD))

    def keys() -> list[str]:
        listing = s3.list_objects_v2(Bucket=stack.bucket, Prefix=folder)
        return [o["Key"][len(folder):] for o in listing.get("Contents", [])]

    failing = loader("PUBLIC.ERR_PURGE", ensure_stage, files=manifest, on_error="continue", purge=True)
    with pytest.raises(AirflowFailException):  # 1 rejected row > max_error_rows=0
        failing.execute({})
    assert len(keys()) == 5  # a failed load removes nothing

    op = loader("PUBLIC.ERR_PURGE", ensure_stage, files=manifest, on_error="continue", max_error_rows=1, purge=True)
    assert op.execute({})["files_loaded"] == 2
    assert keys() == ["other.jsonl.zst", "part-00000.jsonl.zst.bak", "part-000001.jsonl.zst"]
    assert sf("SELECT COUNT(*) FROM PUBLIC.ERR_PURGE") == [(4,)]
