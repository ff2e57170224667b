"""Delete detection: the merge-join of two sorted key streams (pure), and snapshots of a real PostgreSQL table
whose vanished keys land as tombstones that a merge turns into deletes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator
from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator
from airflow_provider_dataeng.sinks import MANIFEST_NAME
from airflow_provider_dataeng.sql_source import query
from airflow_provider_dataeng.sql_source.deletes import KeyCodec, KeyOrderError, vanished
from airflow_provider_dataeng.sql_source.types import Column, SourceType, mapping_for
from tests.sql_extract.conftest import context, landed, s3, s3_folder

INT = KeyCodec(["id"], [True])


def rows(*keys: Any) -> list[bytes]:
    return [json.dumps(k if isinstance(k, list) else [k], ensure_ascii=False).encode() for k in keys]


def test_vanished_integer_keys_in_numeric_order() -> None:
    previous, current = rows(1, 2, 3, 5, 9, 10, 11), rows(2, 3, 4, 10, 12)
    assert list(vanished(previous, current, INT)) == rows(1, 5, 9, 11)
    assert list(vanished([], current, INT)) == []
    assert list(vanished(previous, [], INT)) == previous


def test_text_and_composite_keys_in_byte_order() -> None:
    codec = KeyCodec(["region", "id"], [False, True])
    order = sorted([["", 1], ["10", 1], ["9", 1], ["B", 2], ["a", 1], ["a", 2], ["é", 1], ["☃", 0]],
                   key=lambda k: (json.dumps(k[0], ensure_ascii=False).encode(), k[1]))
    previous = rows(*order)
    current = rows(*[k for k in order if k not in (["9", 1], ["a", 2])])
    assert list(vanished(previous, current, codec)) == rows(["9", 1], ["a", 2])


def test_tombstones_carry_the_keys_as_landed() -> None:
    codec = KeyCodec(["region", "id"], [False, True])
    assert codec.tombstone(b'["a\\"b", 12345678901234567890]') == (
        b'{"region":"a\\"b","id":12345678901234567890,"_deleted":true}'
    )


@pytest.mark.parametrize(("previous", "current", "message"), [
    (rows(2, 1), rows(1), "previous snapshot's keys are not strictly increasing"),
    (rows(1, 2), rows(2, 2), "current snapshot's keys are not strictly increasing"),
    (rows(1), [b"[null]"], "a key column is NULL"),
    (rows(1), [b"[1, 2]"], "a key row has 2 values for 1 key columns"),
])
def test_keys_out_of_order_or_null_are_refused(previous: list[bytes], current: list[bytes], message: str) -> None:
    with pytest.raises(KeyOrderError, match=message):
        list(vanished(previous, current, INT))


@given(st.sets(st.integers(-10**20, 10**20)), st.sets(st.integers(-10**20, 10**20)),
       st.sets(st.text(max_size=6)), st.sets(st.text(max_size=6)))
def test_vanished_is_the_set_difference_in_order(a: set[int], b: set[int], sa: set[str], sb: set[str]) -> None:
    assert list(vanished(rows(*sorted(a)), rows(*sorted(b)), INT)) == rows(*sorted(a - b))
    text = KeyCodec(["k"], [False])

    def ordered(keys: set[str]) -> list[bytes]:
        return sorted(rows(*keys), key=text.sort_key)

    assert list(vanished(ordered(sa), ordered(sb), text)) == ordered(sa - sb)


def test_keys_statement() -> None:
    keys = [Column("region", SourceType("text"), mapping_for(SourceType("text"))),
            Column("id", SourceType("int8"), mapping_for(SourceType("int8")))]
    assert query.copy_keys(keys, query.Source(table=("people",))) == (
        'COPY (SELECT json_build_array(src."region", src."id") FROM (SELECT * FROM "people") AS src '
        'ORDER BY to_json(src."region")::text COLLATE "C", src."id")'
        " TO STDOUT (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )


# -- against the real PostgreSQL ----------------------------------------------------------------------------
PEOPLE = [("a", 1), ("a", 2), ("B", 1), ("é", 1), ("10", 1), ("9", 1), ("", 7), ("☃", 3)]


@pytest.fixture
def people(pg: Any) -> str:
    name = f"people_{uuid.uuid4().hex[:6]}"
    pg(f"CREATE TABLE {name} (region text, id bigint, name text NOT NULL, PRIMARY KEY (region, id))")
    pg.conn.cursor().executemany(f"INSERT INTO {name} VALUES (%s, %s, %s)", [(r, i, f"{r}{i}") for r, i in PEOPLE])
    return f"{pg.schema}.{name}"


def snapshot(local_stack: Any, table: str, previous: dict[str, Any] | None, folder: str | None = None) -> dict:
    return SqlExtractOperator(
        task_id="extract", table=table, mode="full", key_columns=["region", "id"], delete_detection=True,
        destination=folder or s3_folder(local_stack), emit_assets=False,
    ).execute(context(previous=previous))


@pytest.mark.integration
def test_vanished_keys_land_as_tombstones(people: str, pg: Any, local_stack: Any) -> None:
    first = snapshot(local_stack, people, None)
    assert first["tombstones"] == 0 and first["keys"]["count"] == len(PEOPLE) and first["records"] == len(PEOPLE)
    assert first["keys"]["columns"] == ["region", "id"]
    pg(f"DELETE FROM {people} WHERE (region, id) IN (('9', 1), ('é', 1), ('a', 2))")
    pg(f"DELETE FROM {people} WHERE region = '☃'")
    pg(f"INSERT INTO {people} VALUES ('☃', 3, 'back again'), ('new', 1, 'new1')")  # deleted and re-inserted: live
    second = snapshot(local_stack, people, first)
    records = landed(local_stack, second)
    tombstones = [r for r in records if r.get("_deleted")]
    assert sorted((t["region"], t["id"]) for t in tombstones) == sorted([("9", 1), ("é", 1), ("a", 2)])
    assert all(set(t) == {"region", "id", "_deleted"} for t in tombstones)
    assert second["tombstones"] == 3 and second["records"] == len(PEOPLE) - 3 + 1 + 3
    # a re-run of the same run compares with the same previous snapshot: the same tombstones
    again = snapshot(local_stack, people, first)
    assert again["tombstones"] == 3 and again["keys"]["count"] == second["keys"]["count"]
    # the next run compares with the second snapshot: nothing vanished since
    assert snapshot(local_stack, people, second)["tombstones"] == 0


@pytest.mark.integration
def test_one_folder_for_every_snapshot(people: str, pg: Any, local_stack: Any) -> None:
    """A destination without a per-run part: the previous keys are read before the new ones replace them."""
    folder = s3_folder(local_stack)
    first = snapshot(local_stack, people, None, folder)
    pg(f"DELETE FROM {people} WHERE region = 'B'")
    second = snapshot(local_stack, people, first, folder)
    assert second["keys"]["uri"] == first["keys"]["uri"] == f"{folder}_keys.jsonl.zst"
    assert [r for r in landed(local_stack, second) if r.get("_deleted")] == [{"region": "B", "id": 1, "_deleted": True}]
    names = sorted(p.rsplit("/", 1)[1] for p in s3(local_stack).ls(folder))
    assert names == ["_keys.jsonl.zst", MANIFEST_NAME, "part-00000.jsonl.zst", "part-00001.jsonl.zst"]  # rows, tombstones
    assert [f["records"] for f in second["files"]] == [len(PEOPLE) - 1, 1]


@pytest.mark.integration
def test_tombstones_become_deletes_in_the_merge(people: str, pg: Any, sf: Any, local_stack: Any) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    raw, target = f"PUBLIC.PEOPLE_RAW_{suffix}", f"PUBLIC.PEOPLE_{suffix}"
    sf(f"CREATE TABLE {target} (REGION VARCHAR, ID NUMBER(38, 0), NAME VARCHAR, _DELETED_AT TIMESTAMP_LTZ)")

    def land_and_merge(manifest: dict[str, Any]) -> None:
        S3StageLoadOperator(
            task_id="load", table=raw, stage="DEMO.PUBLIC.SQL_EXTRACT_STAGE", files=manifest, create_table=True,
            file_format={"type": "JSON", "compression": "ZSTD"},
            ensure_stage={"url": f"s3://{local_stack.bucket}/sql-extract/", "aws_conn_id": "aws_default"},
        ).execute({})
        SnowflakeStreamMergeOperator(
            task_id="merge", source_table=raw, target_table=target, key_columns=["REGION", "ID"], append_only=True,
            columns={"REGION": "RECORD:region::string", "ID": "RECORD:id::number", "NAME": "RECORD:name::string"},
            delete_condition="RECORD:_deleted::boolean", delete_mode="soft", emit_assets=False,
        ).execute({})

    first = snapshot(local_stack, people, None)
    land_and_merge(first)
    pg(f"DELETE FROM {people} WHERE region IN ('10', '')")
    land_and_merge(snapshot(local_stack, people, first))
    rows_now = sf(f"SELECT REGION, ID, NAME, _DELETED_AT IS NOT NULL FROM {target} ORDER BY REGION, ID")
    assert sorted(rows_now) == sorted((r, i, f"{r}{i}", r in ("10", "")) for r, i in PEOPLE)
