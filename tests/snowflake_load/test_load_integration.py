"""S3StageLoadOperator end to end on the local stack: moto S3 holds the part files, the Snowflake
stand-in runs the COPY statements exactly as the operator sends them to Snowflake."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from tests.snowflake_load.conftest import STAGE, jsonl_zst, parquet

pytestmark = pytest.mark.integration

EVENTS = [
    [{"id": 1, "kind": "click", "n": 1.5}, {"id": 2, "kind": "view", "n": None}],
    [{"id": 3, "kind": "click", "tags": ["a", "b"]}],
    [{"id": 4, "kind": "buy", "nested": {"x": 1}}, {"id": 5, "kind": "view"}, {"id": 6, "kind": "view"}],
]


def loader(table: str, ensure_stage: dict[str, str], **kwargs: Any) -> S3StageLoadOperator:
    args: dict[str, Any] = {"task_id": "load", "table": table, "stage": STAGE, "ensure_stage": ensure_stage,
                            "file_format": {"type": "JSON", "compression": "ZSTD"}}
    return S3StageLoadOperator(**{**args, **kwargs})


@pytest.fixture(scope="module")
def events_manifest(put_parts: Any) -> dict[str, Any]:
    return put_parts("events/2026-01-01", [jsonl_zst(p) for p in EVENTS], [len(p) for p in EVENTS])


def table_rows(sf: Any, table: str) -> list[tuple[Any, ...]]:
    rows = sf(f'SELECT RECORD, "_SOURCE_FILE", "_SOURCE_ROW" FROM {table} ORDER BY "_SOURCE_FILE", "_SOURCE_ROW"')
    return [(json.loads(r[0]), r[1], r[2]) for r in rows]


def expected_rows(stack: Any) -> list[tuple[Any, ...]]:
    # METADATA$FILENAME as the stand-in gives it for an S3 stage: the object's path inside the bucket.
    return [
        (record, f"load-tests/events/2026-01-01/part-{part:05d}.jsonl.zst", row)
        for part, records in enumerate(EVENTS)
        for row, record in enumerate(records, start=1)
    ]


def test_manifest_loads_end_to_end_then_rerun_skips_and_force_reloads(
    sf: Any, stack: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any]
) -> None:
    op = loader("PUBLIC.EVENTS_E2E", ensure_stage, files=events_manifest, create_table=True)
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    first = op.execute({})
    assert first.pop("statements") in (9, 10)  # no table yet (10 when this run also creates the stage)
    assert first == {"table": '"PUBLIC"."EVENTS_E2E"', "files_loaded": 3, "files_skipped": 0,
                     "rows_loaded": 6, "rows_parsed": 6, "errors": []}
    assert table_rows(sf, "PUBLIC.EVENTS_E2E") == expected_rows(stack)
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    loaded_at = [r[0] for r in sf('SELECT "_LOADED_AT" FROM PUBLIC.EVENTS_E2E')]
    assert len(loaded_at) == 6 and all(before <= t <= after for t in loaded_at), loaded_at
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_E2E")[0][0] == events_manifest["records"]

    # Second run: Snowflake's load metadata skips every file; the task succeeds and the table is unchanged.
    assert op.execute({}) == {"table": '"PUBLIC"."EVENTS_E2E"', "files_loaded": 0, "files_skipped": 3,
                              "rows_loaded": 0, "rows_parsed": 0, "errors": [],
                              "statements": 4}  # SHOW STAGES, BEGIN, COPY, COMMIT
    assert table_rows(sf, "PUBLIC.EVENTS_E2E") == expected_rows(stack)

    forced = loader("PUBLIC.EVENTS_E2E", ensure_stage, files=events_manifest, force=True)
    assert forced.execute({})["files_loaded"] == 3
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_E2E") == [(12,)]


def test_credentials_never_reach_the_log(
    capfd: pytest.CaptureFixture[str], ensure_stage: dict[str, str], events_manifest: dict[str, Any]
) -> None:
    from dataeng_local.s3 import SECRET_KEY

    # a stage no other test creates, so this run sends (and logs) the CREATE STAGE with its credentials
    loader("PUBLIC.EVENTS_LOG", ensure_stage, files=events_manifest, create_table=True,
           stage="DEMO.PUBLIC.LOG_TEST_STAGE").execute({})
    out, err = capfd.readouterr()
    assert "CREDENTIALS = (AWS_KEY_ID = '***' AWS_SECRET_KEY = '***')" in out + err
    assert f"'{SECRET_KEY}'" not in out + err


def test_created_variant_table_has_the_fixed_shape(sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any]) -> None:
    loader("PUBLIC.EVENTS_SHAPE", ensure_stage, files=events_manifest, create_table=True).execute({})
    columns = sf(
        "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'PUBLIC' "
        "AND TABLE_NAME = 'EVENTS_SHAPE' ORDER BY ORDINAL_POSITION"
    )
    assert [c[0] for c in columns] == ["RECORD", "_SOURCE_FILE", "_SOURCE_ROW", "_LOADED_AT"]


def test_missing_table_without_create_table_fails_before_loading(
    sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any]
) -> None:
    with pytest.raises(AirflowFailException, match=r'table "PUBLIC"."NO_SUCH_TABLE" does not exist: create it, or pass create_table=True'):
        loader("PUBLIC.NO_SUCH_TABLE", ensure_stage, files=events_manifest).execute({})


def test_without_metadata_columns_into_existing_table(sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any]) -> None:
    sf("CREATE OR REPLACE TABLE PUBLIC.EVENTS_BARE (RECORD VARIANT)")
    result = loader("PUBLIC.EVENTS_BARE", ensure_stage, files=events_manifest, metadata_columns=False).execute({})
    assert result["rows_loaded"] == 6
    ids = sf("SELECT RECORD:id::int FROM PUBLIC.EVENTS_BARE ORDER BY 1")
    assert ids == [(i,) for i in range(1, 7)]


def test_stage_relative_paths_and_uris_mixed(sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any], stage_url: str) -> None:
    uris = [f["uri"] for f in events_manifest["files"]]
    files = [uris[0][len(stage_url):], uris[1], uris[2]]
    result = loader("PUBLIC.EVENTS_PATHS", ensure_stage, files=files, create_table=True).execute({})
    assert (result["files_loaded"], result["rows_loaded"]) == (3, 6)


def test_uri_outside_the_stage_is_refused(ensure_stage: dict[str, str], stack: Any) -> None:
    with pytest.raises(AirflowFailException, match=r"is not under the stage's URL"):
        loader("PUBLIC.EVENTS_X", ensure_stage, files=[f"s3://{stack.bucket}/elsewhere/a.jsonl.zst"],
               create_table=True).execute({})


def test_manifest_count_mismatch_rolls_back_and_rerun_loads_everything(
    sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any]
) -> None:
    wrong = json.loads(json.dumps(events_manifest))
    wrong["files"][1]["records"] = 2  # the file holds 1 record
    op = loader("PUBLIC.EVENTS_MISMATCH", ensure_stage, files=wrong, create_table=True)
    with pytest.raises(AirflowFailException) as err:
        op.execute({})
    message = str(err.value)
    assert message.startswith('Load into "PUBLIC"."EVENTS_MISMATCH" failed verification for 1 of 3 files; the load was rolled back')
    assert message.splitlines()[1:] == [
        "file                                   | status | expected | parsed | loaded | errors | problem / first error",
        "---------------------------------------+--------+----------+--------+--------+--------+----------------------",
        "events/2026-01-01/part-00001.jsonl.zst | LOADED | 2        | 1      | 1      | 0      | rows_loaded 1 != manifest records 2",
    ]
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_MISMATCH") == [(0,)]
    # The rollback also dropped the load metadata: a corrected re-run loads all three files.
    fixed = loader("PUBLIC.EVENTS_MISMATCH", ensure_stage, files=events_manifest)
    assert fixed.execute({})["files_loaded"] == 3
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_MISMATCH") == [(6,)]


def test_failure_in_a_later_batch_leaves_nothing_visible(
    sf: Any, ensure_stage: dict[str, str], events_manifest: dict[str, Any], put_parts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_dataeng.sql import copy as copy_sql

    broken = put_parts("broken/2026-01-01", [b"not zstd at all"], [1])
    monkeypatch.setattr(copy_sql, "MAX_FILES_PER_COPY", 2)  # batches of 2: [p0, p1], [p2, broken]
    files = [*events_manifest["files"], *broken["files"]]
    op = loader("PUBLIC.EVENTS_BATCHES", ensure_stage, files={"files": files}, create_table=True)
    with pytest.raises(AirflowException, match=r"COPY batch 2/2 into \"PUBLIC\".\"EVENTS_BATCHES\" failed; nothing from this run is committed"):
        op.execute({})
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_BATCHES") == [(0,)]
    # Re-run without the broken file: batch 1's files were not recorded as loaded, so all three load.
    again = loader("PUBLIC.EVENTS_BATCHES", ensure_stage, files=events_manifest)
    assert again.execute({})["files_loaded"] == 3
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_BATCHES") == [(6,)]


@pytest.mark.parametrize("mode", ["skip", "succeed", "fail"])
def test_if_empty(mode: str, ensure_stage: dict[str, str], events_manifest: dict[str, Any]) -> None:
    empty = {**events_manifest, "files": [], "records": 0}
    op = loader("PUBLIC.EVENTS_NONE", ensure_stage, files=[empty], if_empty=mode)
    if mode == "skip":
        with pytest.raises(AirflowSkipException, match='nothing to load into "PUBLIC"."EVENTS_NONE": files= lists no file'):
            op.execute({})
    elif mode == "fail":
        with pytest.raises(AirflowFailException, match=r"^nothing to load into \"PUBLIC\".\"EVENTS_NONE\": files= lists no file \(if_empty='fail'\)$"):
            op.execute({})
    else:
        assert op.execute({}) == {"table": '"PUBLIC"."EVENTS_NONE"', "files_loaded": 0, "files_skipped": 0,
                                  "rows_loaded": 0, "rows_parsed": 0, "errors": [], "statements": 0, "empty": True}


def test_prefix_mode_loads_the_folder(sf: Any, ensure_stage: dict[str, str], put_parts: Any) -> None:
    put_parts("prefixed/2026-01-02", [jsonl_zst(EVENTS[0]), jsonl_zst(EVENTS[2])], [2, 3])
    op = loader("PUBLIC.EVENTS_PREFIX", ensure_stage, prefix="prefixed/2026-01-02/", create_table=True,
                if_empty="succeed")
    first = op.execute({})
    assert first.pop("statements") in (9, 10)  # no table yet (10 when this run also creates the stage)
    assert first == {"table": '"PUBLIC"."EVENTS_PREFIX"', "files_loaded": 2, "files_skipped": 0,
                     "rows_loaded": 5, "rows_parsed": 5, "errors": []}
    # Nothing new under the prefix: Snowflake processes no file, which follows if_empty.
    assert op.execute({})["files_loaded"] == 0
    assert sf("SELECT COUNT(*) FROM PUBLIC.EVENTS_PREFIX") == [(5,)]


def test_parquet_columns_mode_with_include_metadata(sf: Any, ensure_stage: dict[str, str], put_parts: Any) -> None:
    manifest = put_parts(
        "orders/2026-01-01",
        [parquet({"ORDER_ID": [1, 2], "amount": [9.5, 20.0], "Status": ["new", "paid"]}),
         parquet({"ORDER_ID": [3], "amount": [1.25], "Status": ["new"]})],
        [2, 1], fmt="parquet", compression="none", suffix=".parquet",
    )
    op = loader("PUBLIC.ORDERS", ensure_stage, files=manifest, load_as="columns", create_table=True,
                columns={"order_id": "NUMBER(38,0)", "amount": "FLOAT", "status": "VARCHAR"},
                file_format={"type": "PARQUET"})
    assert op.execute({})["rows_loaded"] == 3
    rows = sf('SELECT ORDER_ID, AMOUNT, STATUS, "_SOURCE_FILE", "_SOURCE_ROW" FROM PUBLIC.ORDERS ORDER BY ORDER_ID')
    assert rows == [
        (1, 9.5, "new", "load-tests/orders/2026-01-01/part-00000.parquet", 1),
        (2, 20.0, "paid", "load-tests/orders/2026-01-01/part-00000.parquet", 2),
        (3, 1.25, "new", "load-tests/orders/2026-01-01/part-00001.parquet", 1),
    ]
    assert sf('SELECT COUNT(DISTINCT "_LOADED_AT") FROM PUBLIC.ORDERS WHERE "_LOADED_AT" IS NOT NULL')[0][0] >= 1


def test_csv_columns_mode_into_existing_table(sf: Any, ensure_stage: dict[str, str], put_parts: Any) -> None:
    manifest = put_parts("csv/2026-01-01", [b"id,name\n1,ada\n2,bob\n"], [2], fmt="csv", compression="none",
                         suffix=".csv")
    sf("CREATE OR REPLACE TABLE PUBLIC.PEOPLE (ID NUMBER, NAME VARCHAR, _SOURCE_FILE VARCHAR, "
       "_SOURCE_ROW NUMBER, _LOADED_AT TIMESTAMP_LTZ)")
    op = loader("PUBLIC.PEOPLE", ensure_stage, files=manifest, load_as="columns",
                file_format={"type": "CSV", "parse_header": True})
    assert op.execute({})["rows_loaded"] == 2
    assert sf('SELECT ID, NAME, "_SOURCE_ROW" FROM PUBLIC.PEOPLE ORDER BY ID') == [(1, "ada", 1), (2, "bob", 2)]


def test_manifest_format_contradicting_file_format_fails_early(ensure_stage: dict[str, str], events_manifest: dict[str, Any]) -> None:
    op = loader("PUBLIC.EVENTS_E2E", ensure_stage, files=events_manifest, file_format={"type": "PARQUET"})
    with pytest.raises(AirflowFailException, match="the manifest's files are 'jsonl' but file_format type is PARQUET"):
        op.execute({})
