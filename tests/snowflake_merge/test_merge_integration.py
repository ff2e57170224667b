"""SnowflakeStreamMergeOperator end to end against the local Snowflake (real streams, real MERGE).

Each test builds a raw table and a modelled table in fresh schemas, changes the raw table, runs the
operator's ``execute`` (real hook, real connector over http) and checks the MERGE's counts and the whole
target table.
"""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from tests.snowflake_merge.conftest import Db

pytestmark = pytest.mark.integration


def merge(raw: str, stg: str, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = dict(
        task_id="merge_users",
        target_table=f"DEMO.{stg}.USERS",
        source_table=f"DEMO.{raw}.USERS",
        key_columns=["ID"],
    )
    options.update(kwargs)
    result = SnowflakeStreamMergeOperator(**options).execute({})
    assert isinstance(result.pop("statements"), int)  # the budget is asserted in test_statement_budget
    return result


def counts(inserted: int = 0, updated: int = 0, deleted: int = 0) -> dict[str, Any]:
    return {"inserted": inserted, "updated": updated, "deleted": deleted, "empty": False}


def make_tables(db: Db, raw: str, stg: str, *, raw_extra: str = "", stg_extra: str = "") -> None:
    db.run(
        f"CREATE TABLE DEMO.{raw}.USERS (ID INT, NAME VARCHAR, UPDATED_AT INT{raw_extra})",
        f"CREATE TABLE DEMO.{stg}.USERS (ID INT, NAME VARCHAR, UPDATED_AT INT{stg_extra})",
    )


def stream_rows(db: Db, raw: str) -> int:
    return db.scalar(f"SELECT COUNT(*) FROM DEMO.{raw}.USERS_STREAM")


def test_inserts_updates_deletes(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1), (3, 'cy', 1)")

    assert merge(raw, stg) == counts(inserted=3)  # the stream is created with SHOW_INITIAL_ROWS
    db.run(
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann2', UPDATED_AT = 2 WHERE ID = 1",
        f"DELETE FROM DEMO.{raw}.USERS WHERE ID = 2",
        f"INSERT INTO DEMO.{raw}.USERS VALUES (4, 'dee', 2)",
    )
    assert merge(raw, stg) == counts(inserted=1, updated=1, deleted=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann2", 2), (3, "cy", 1), (4, "dee", 2)]
    assert stream_rows(db, raw) == 0  # consumed by the MERGE


def test_insert_then_update_and_update_then_delete_in_one_batch(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1)")
    assert merge(raw, stg) == counts(inserted=2)
    db.run(
        f"INSERT INTO DEMO.{raw}.USERS VALUES (3, 'cy', 1)",
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'cy2', UPDATED_AT = 2 WHERE ID = 3",  # insert then update
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'bob2', UPDATED_AT = 2 WHERE ID = 2",
        f"DELETE FROM DEMO.{raw}.USERS WHERE ID = 2",  # update then delete
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann2', UPDATED_AT = 2 WHERE ID = 1",
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann3', UPDATED_AT = 3 WHERE ID = 1",  # two updates
    )
    assert merge(raw, stg, dedupe_order_by="UPDATED_AT") == counts(inserted=1, updated=1, deleted=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann3", 3), (3, "cy2", 2)]


def test_update_that_changes_the_key_moves_the_row(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1)")
    merge(raw, stg)
    db.run(f"UPDATE DEMO.{raw}.USERS SET ID = 10 WHERE ID = 1")
    assert merge(raw, stg) == counts(inserted=1, deleted=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(2, "bob", 1), (10, "ann", 1)]


def test_duplicate_keys_in_an_append_only_stream_keep_the_latest(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'v2', 2), (1, 'v3', 3), (1, 'v1', 1), (2, 'b1', 1)",
        f"INSERT INTO DEMO.{stg}.USERS VALUES (2, 'b0', 0)",
    )
    result = merge(raw, stg, append_only=True, dedupe_order_by="UPDATED_AT")
    assert result == counts(inserted=1, updated=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "v3", 3), (2, "b1", 1)]
    mode = db.run(f"SHOW STREAMS LIKE 'USERS_STREAM' IN SCHEMA DEMO.{raw}")[0]
    assert "APPEND_ONLY" in mode


def test_delete_condition_turns_append_only_records_into_deletes(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, raw_extra=", IS_DELETED BOOLEAN")
    options = dict(
        append_only=True,
        dedupe_order_by="UPDATED_AT",
        delete_condition="IS_DELETED",
        columns=["NAME", "UPDATED_AT"],
    )
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, FALSE), (2, 'bob', 1, FALSE)")
    assert merge(raw, stg, **options) == counts(inserted=2)
    # a tombstone for 1, and for 2 a tombstone that a later record supersedes in the same batch
    db.run(
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 2, TRUE), (2, 'bob', 2, TRUE), (2, 'bob2', 3, NULL)"
    )
    assert merge(raw, stg, **options) == counts(updated=1, deleted=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(2, "bob2", 3)]


def test_soft_deletes_stamp_the_row_and_a_resent_key_revives_it(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, stg_extra=", _DELETED_AT TIMESTAMP_LTZ")
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1)")
    assert merge(raw, stg, delete_mode="soft") == counts(inserted=2)
    db.run(f"DELETE FROM DEMO.{raw}.USERS WHERE ID = 2")
    # Snowflake counts the stamping as an update
    assert merge(raw, stg, delete_mode="soft") == counts(updated=1)
    rows = db.run(f"SELECT ID, NAME, _DELETED_AT IS NOT NULL FROM DEMO.{stg}.USERS ORDER BY ID")
    assert rows == [(1, "ann", False), (2, "bob", True)]
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (2, 'bob again', 5)")
    assert merge(raw, stg, delete_mode="soft") == counts(updated=1)
    rows = db.run(f"SELECT ID, NAME, _DELETED_AT IS NOT NULL FROM DEMO.{stg}.USERS ORDER BY ID")
    assert rows == [(1, "ann", False), (2, "bob again", False)]


def test_soft_delete_by_tombstone_keeps_the_tombstones_values(db: Db, schemas: tuple[str, str]) -> None:
    # a tombstone record is the entity's last state: its UPDATED_AT must reach the target, so an
    # incremental model downstream that filters on UPDATED_AT sees the deletion
    raw, stg = schemas
    make_tables(db, raw, stg, raw_extra=", IS_DELETED BOOLEAN", stg_extra=", _DELETED_AT TIMESTAMP_LTZ")
    options = dict(append_only=True, delete_condition="IS_DELETED", delete_mode="soft",
                   dedupe_order_by=["UPDATED_AT"], columns=["ID", "NAME", "UPDATED_AT"])
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, FALSE), (2, 'bob', 1, FALSE), (3, 'cy', 1, FALSE)")
    assert merge(raw, stg, **options) == counts(inserted=3)
    # 2: a full tombstone; 3: a key-only tombstone keeps the row's last known values
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (2, 'bob', 7, TRUE), (3, NULL, NULL, TRUE)")
    assert merge(raw, stg, **options) == counts(updated=2)
    rows = db.run(f"SELECT ID, NAME, UPDATED_AT, _DELETED_AT IS NOT NULL FROM DEMO.{stg}.USERS ORDER BY ID")
    assert rows == [(1, "ann", 1, False), (2, "bob", 7, True), (3, "cy", 1, True)]


def test_ignore_deletes_keeps_the_row(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1)")
    merge(raw, stg, delete_mode="ignore")
    db.run(
        f"DELETE FROM DEMO.{raw}.USERS WHERE ID = 2",
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann2' WHERE ID = 1",
    )
    assert merge(raw, stg, delete_mode="ignore") == counts(updated=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann2", 1), (2, "bob", 1)]


def test_scd2_history_over_three_batches(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(
        db, raw, stg, stg_extra=", _VALID_FROM TIMESTAMP_LTZ, _VALID_TO TIMESTAMP_LTZ, _IS_CURRENT BOOLEAN"
    )
    history = f"SELECT ID, NAME, _IS_CURRENT, _VALID_TO IS NULL FROM DEMO.{stg}.USERS ORDER BY ID, _VALID_FROM, NAME"

    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1), (2, 'bob', 1)")
    assert merge(raw, stg, scd_type=2) == counts(inserted=2)
    batch1 = db.run(f"SELECT MAX(_VALID_FROM) FROM DEMO.{stg}.USERS")[0][0]

    db.run(
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann2', UPDATED_AT = 2 WHERE ID = 1",
        f"UPDATE DEMO.{raw}.USERS SET UPDATED_AT = 1 WHERE ID = 2",  # an update that changes nothing: no version
        f"INSERT INTO DEMO.{raw}.USERS VALUES (3, 'cy', 2)",
    )
    assert merge(raw, stg, scd_type=2) == counts(inserted=2, updated=1)
    assert db.run(history) == [
        (1, "ann", False, False),
        (1, "ann2", True, True),
        (2, "bob", True, True),
        (3, "cy", True, True),
    ]
    # the closed version ends exactly where the new one starts (one statement, one CURRENT_TIMESTAMP)
    ann = db.run(
        f"SELECT NAME, _VALID_FROM, _VALID_TO FROM DEMO.{stg}.USERS WHERE ID = 1 AND NOT _IS_CURRENT"
    )
    assert ann[0][1] == batch1
    assert db.scalar(f"SELECT _VALID_FROM FROM DEMO.{stg}.USERS WHERE ID = 1 AND _IS_CURRENT") == ann[0][2]

    db.run(
        f"DELETE FROM DEMO.{raw}.USERS WHERE ID = 2",
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann3', UPDATED_AT = 3 WHERE ID = 1",
    )
    assert merge(raw, stg, scd_type=2) == counts(inserted=1, updated=2)
    assert db.run(history) == [
        (1, "ann", False, False),
        (1, "ann2", False, False),
        (1, "ann3", True, True),
        (2, "bob", False, False),
        (3, "cy", True, True),
    ]
    assert db.scalar(f"SELECT COUNT(*) FROM DEMO.{stg}.USERS WHERE _IS_CURRENT") == 2


def test_empty_stream_skips_succeeds_or_fails_without_merging(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)")
    merge(raw, stg)
    stream = rf'"DEMO"\."{raw}"\."USERS_STREAM"'
    with pytest.raises(AirflowSkipException, match=rf"^stream {stream} has no changes: nothing to merge$"):
        merge(raw, stg)
    assert merge(raw, stg, if_empty="succeed") == {"inserted": 0, "updated": 0, "deleted": 0, "empty": True}
    with pytest.raises(
        AirflowFailException, match=rf"^stream {stream} has no changes: nothing to merge \(if_empty='fail'\)$"
    ):
        merge(raw, stg, if_empty="fail")
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann", 1)]


def test_null_keys_are_refused_before_anything_is_applied(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, raw_extra=", EMAIL VARCHAR")
    db.run(
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, 'a@x'), (NULL, 'ghost', 1, NULL), (NULL, 'g2', 1, NULL)"
    )
    with pytest.raises(AirflowFailException, match=r"2 of the 3 changes .* NULL in key_columns \['ID'\]"):
        merge(raw, stg, schema_evolution="add_columns")
    assert db.table(f"DEMO.{stg}.USERS") == []
    assert stream_rows(db, raw) == 3  # nothing consumed
    assert "EMAIL" not in {
        r[0]
        for r in db.run(
            f"SELECT COLUMN_NAME FROM DEMO.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{stg}'"
        )
    }


def test_a_failed_merge_leaves_the_stream_and_a_retry_applies_it_once(
    db: Db, schemas: tuple[str, str]
) -> None:
    raw, stg = schemas
    db.run(
        f"CREATE TABLE DEMO.{raw}.USERS (ID INT, NAME VARCHAR, UPDATED_AT INT, AGE VARCHAR)",
        f"CREATE TABLE DEMO.{stg}.USERS (ID INT, NAME VARCHAR, UPDATED_AT INT, AGE INT)",
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, '30'), (2, 'bob', 1, '40')",
    )
    options = dict(columns={"ID": "ID", "NAME": "NAME", "UPDATED_AT": "UPDATED_AT", "AGE": "AGE::INT"})
    assert merge(raw, stg, **options) == counts(inserted=2)
    db.run(
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'ann2', AGE = 'thirty' WHERE ID = 1",  # AGE::INT fails in the MERGE
        f"INSERT INTO DEMO.{raw}.USERS VALUES (3, 'cy', 1, '50')",
    )
    with pytest.raises(Exception, match="(?i)conver|cast"):
        merge(raw, stg, **options)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann", 1, 30), (2, "bob", 1, 40)]
    assert stream_rows(db, raw) == 3  # the update pair and the insert are all still there

    retry = dict(columns={**options["columns"], "AGE": "TRY_CAST(AGE AS INT)"})  # the fix, then the retry
    assert merge(raw, stg, **retry) == counts(inserted=1, updated=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann2", 1, None), (2, "bob", 1, 40), (3, "cy", 1, 50)]
    with pytest.raises(AirflowSkipException):
        merge(raw, stg, **retry)  # applied once: nothing left


def test_schema_evolution_fail_names_the_missing_columns(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, raw_extra=", EMAIL VARCHAR(200), SCORE NUMBER(10, 2)")
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, 'a@x', 1.5)")
    with pytest.raises(
        AirflowFailException, match=r"lacks columns \['EMAIL VARCHAR\(200\)', 'SCORE NUMBER\(10, 2\)'\]"
    ):
        merge(raw, stg)
    assert stream_rows(db, raw) == 1
    # a subset named explicitly needs no evolution
    assert merge(raw, stg, columns=["NAME", "UPDATED_AT"]) == counts(inserted=1)


def test_schema_evolution_add_columns_adds_and_fills_them(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, raw_extra=", EMAIL VARCHAR(200), SCORE NUMBER(10, 2)")
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1, 'a@x', 1.5)")
    assert merge(raw, stg, schema_evolution="add_columns") == counts(inserted=1)
    types = db.run(
        f"SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE "
        f"FROM DEMO.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = '{stg}' ORDER BY ORDINAL_POSITION"
    )
    assert types[3:] == [("EMAIL", "TEXT", 200, None, None), ("SCORE", "NUMBER", None, 10, 2)]
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann", 1, "a@x", 1.5)]


def test_schema_evolution_follows_a_column_added_to_the_source(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)")
    assert merge(raw, stg, schema_evolution="add_columns") == counts(inserted=1)
    db.run(
        f"ALTER TABLE DEMO.{raw}.USERS ADD COLUMN EMAIL VARCHAR",
        f"INSERT INTO DEMO.{raw}.USERS VALUES (2, 'bob', 1, 'b@x')",
    )
    assert merge(raw, stg, schema_evolution="add_columns") == counts(inserted=1)
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "ann", 1, None), (2, "bob", 1, "b@x")]


def test_variant_projection_from_a_landing_table(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    db.run(
        f"CREATE TABLE DEMO.{raw}.EVENTS (RECORD VARIANT, LOADED_AT INT)",
        f"CREATE TABLE DEMO.{stg}.USERS (ID INT, EMAIL VARCHAR)",
        f'INSERT INTO DEMO.{raw}.EVENTS SELECT PARSE_JSON(\'{{"id": 1, "email": "old@x"}}\'), 1',
        f'INSERT INTO DEMO.{raw}.EVENTS SELECT PARSE_JSON(\'{{"id": 1, "email": "new@x"}}\'), 2',
        f'INSERT INTO DEMO.{raw}.EVENTS SELECT PARSE_JSON(\'{{"id": 2, "email": "b@x"}}\'), 1',
    )
    result = SnowflakeStreamMergeOperator(
        task_id="merge_events",
        target_table=f"DEMO.{stg}.USERS",
        source_table=f"DEMO.{raw}.EVENTS",
        key_columns="ID",
        append_only=True,
        columns={"ID": "RECORD:id::int", "EMAIL": "RECORD:email::string"},
        dedupe_order_by="LOADED_AT",
    ).execute({})
    assert result == {**counts(inserted=2), "statements": 6}  # first run: the stream is created
    assert db.table(f"DEMO.{stg}.USERS") == [(1, "new@x"), (2, "b@x")]


def test_existing_stream_without_source_table(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(
        f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)",
        f"CREATE STREAM DEMO.{raw}.MY_CHANGES ON TABLE DEMO.{raw}.USERS SHOW_INITIAL_ROWS = TRUE",
    )
    op = SnowflakeStreamMergeOperator(
        task_id="m", target_table=f"DEMO.{stg}.USERS", stream=f"DEMO.{raw}.MY_CHANGES", key_columns=["ID"]
    )
    assert op.execute({}) == {**counts(inserted=1), "statements": 4}  # SHOW STREAMS names the source
    missing = SnowflakeStreamMergeOperator(
        task_id="m", target_table=f"DEMO.{stg}.USERS", stream=f"DEMO.{raw}.NOPE", key_columns=["ID"]
    )
    with pytest.raises(AirflowFailException, match="does not exist"):
        missing.execute({})


def test_composite_key(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    db.run(
        f"CREATE TABLE DEMO.{raw}.USERS (TENANT VARCHAR, ID INT, NAME VARCHAR)",
        f"CREATE TABLE DEMO.{stg}.USERS (TENANT VARCHAR, ID INT, NAME VARCHAR)",
        f"INSERT INTO DEMO.{raw}.USERS VALUES ('a', 1, 'a1'), ('b', 1, 'b1'), ('a', 2, 'a2')",
    )
    assert merge(raw, stg, key_columns=["TENANT", "ID"]) == counts(inserted=3)
    db.run(
        f"UPDATE DEMO.{raw}.USERS SET NAME = 'b1!' WHERE TENANT = 'b' AND ID = 1",
        f"DELETE FROM DEMO.{raw}.USERS WHERE TENANT = 'a' AND ID = 1",
    )
    assert merge(raw, stg, key_columns=["TENANT", "ID"]) == counts(updated=1, deleted=1)
    assert db.table(f"DEMO.{stg}.USERS", order_by="1, 2") == [("a", 2, "a2"), ("b", 1, "b1!")]


def test_a_key_the_stream_lacks_is_named_in_the_error(db: Db, schemas: tuple[str, str]) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg, stg_extra=", USER_ID INT")
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)")
    with pytest.raises(
        AirflowFailException, match=r"key_columns \['USER_ID'\] are not columns of the stream"
    ):
        merge(raw, stg, key_columns=["USER_ID"])
    assert stream_rows(db, raw) == 1


def test_statement_budget_three_in_steady_state_two_when_empty(
    db: Db, schemas: tuple[str, str], local_stack: Any
) -> None:
    """First run creates and inspects the missing stream; later runs send HAS_DATA, the pre-flight and the
    MERGE (no BEGIN/COMMIT: the MERGE is one atomic statement), or HAS_DATA alone when the stream is empty."""
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)")
    stream = f'"DEMO"."{raw}"."USERS_STREAM"'

    def run_and_record(**kwargs: Any) -> tuple[Any, list[str]]:
        since = local_stack.snowflake_query_history()[-1]["seq"]
        op = SnowflakeStreamMergeOperator(
            task_id="merge_users", target_table=f"DEMO.{stg}.USERS", source_table=f"DEMO.{raw}.USERS",
            key_columns=["ID"], **kwargs,
        )
        try:
            result: Any = op.execute({})
        except AirflowSkipException as skip:
            result = skip
        return result, [r["query_text"] for r in local_stack.snowflake_query_history(since)]

    first, sent = run_and_record()
    assert [" ".join(sql.split(" ")[:2]) for sql in sent] == [
        f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')",  # fails: the stream does not exist yet
        "CREATE STREAM",
        "SHOW STREAMS",
        f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')",
        'SELECT "N"."CHANGES",',
        "MERGE INTO",
    ]
    assert first["statements"] == 6
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (2, 'bob', 1)")
    steady, sent = run_and_record()
    assert [" ".join(sql.split(" ")[:2]) for sql in sent] == [
        f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')",
        'SELECT "N"."CHANGES",',
        "MERGE INTO",
    ]
    assert steady == {"inserted": 1, "updated": 0, "deleted": 0, "empty": False, "statements": 3}
    empty, sent = run_and_record(if_empty="succeed")
    assert [" ".join(sql.split(" ")[:2]) for sql in sent] == [
        f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')",
        "SHOW STREAMS",  # no changes: is it stale? (metadata, no warehouse)
    ]
    assert empty == {"inserted": 0, "updated": 0, "deleted": 0, "empty": True, "statements": 2}
    skipped, sent = run_and_record()
    assert isinstance(skipped, AirflowSkipException) and len(sent) == 2


def test_without_source_table_show_streams_names_the_source_every_run(
    db: Db, schemas: tuple[str, str], local_stack: Any
) -> None:
    raw, stg = schemas
    make_tables(db, raw, stg)
    db.run(f"CREATE STREAM DEMO.{raw}.USERS_STREAM ON TABLE DEMO.{raw}.USERS")
    db.run(f"INSERT INTO DEMO.{raw}.USERS VALUES (1, 'ann', 1)")
    since = local_stack.snowflake_query_history()[-1]["seq"]
    result = SnowflakeStreamMergeOperator(
        task_id="merge_users", target_table=f"DEMO.{stg}.USERS", stream=f"DEMO.{raw}.USERS_STREAM",
        key_columns=["ID"],
    ).execute({})
    sent = [r["query_text"] for r in local_stack.snowflake_query_history(since)]
    assert [sql.split(" ")[0] for sql in sent] == ["SHOW", "SELECT", "SELECT", "MERGE"]
    assert result["statements"] == 4
