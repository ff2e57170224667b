"""MERGE semantics on hand-made change rows (plain fakesnow, in process).

The source is a table with the stream's columns (``METADATA$ACTION``, ``METADATA$ISUPDATE``,
``METADATA$ROW_ID``), so each case can state exactly the change rows a stream would hold, including ones
that are hard to provoke through a real stream (ties, key-changing updates, NULL delete flags).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_dataeng.sql.identifiers import parse_object_name
from airflow_provider_dataeng.sql.merge import MergeSpec, build_merge_sql, parse_merge_counts

COLUMNS = (("ID", '"ID"'), ("NAME", '"NAME"'), ("TS", '"TS"'))


@pytest.fixture(scope="module")
def cur() -> Iterator[Any]:
    import fakesnow
    import snowflake.connector

    with fakesnow.patch():
        conn = snowflake.connector.connect(database="DB", schema="S")
        cursor = conn.cursor()
        yield cursor
        conn.close()


def run_case(
    cur: Any, target: list[tuple], changes: list[tuple], setup: str | None = None, **spec_args: Any
) -> tuple[dict, list[tuple]]:
    cur.execute("CREATE OR REPLACE TABLE T (ID INT, NAME VARCHAR, TS INT, _DELETED_AT TIMESTAMP_NTZ)")
    cur.execute(
        "CREATE OR REPLACE TABLE CHANGES (ID INT, NAME VARCHAR, TS INT, GONE BOOLEAN, "
        '"METADATA$ACTION" VARCHAR, "METADATA$ISUPDATE" BOOLEAN, "METADATA$ROW_ID" VARCHAR)'
    )
    if target:
        cur.executemany("INSERT INTO T (ID, NAME, TS) VALUES (%s, %s, %s)", target)
    cur.executemany("INSERT INTO CHANGES VALUES (%s, %s, %s, %s, %s, %s, %s)", changes)
    if setup:
        cur.execute(setup)
    spec = MergeSpec(
        target=parse_object_name("T", param="t"),
        stream=parse_object_name("CHANGES", param="s"),
        key_columns=("ID",),
        columns=COLUMNS,
        **spec_args,
    )
    cur.execute(build_merge_sql(spec))
    counts = parse_merge_counts(dict(zip([d[0] for d in cur.description], cur.fetchone())))
    cur.execute("SELECT ID, NAME, TS, _DELETED_AT IS NOT NULL FROM T ORDER BY ID")
    return counts, cur.fetchall()


def test_update_pair_is_one_update(cur: Any) -> None:
    counts, rows = run_case(
        cur,
        [(1, "a", 1)],
        [(1, "a", 1, None, "DELETE", True, "r1"), (1, "a2", 2, None, "INSERT", True, "r1")],
    )
    assert counts == {"inserted": 0, "updated": 1, "deleted": 0}
    assert rows == [(1, "a2", 2, False)]


def test_update_pair_even_when_the_old_half_sorts_newer(cur: Any) -> None:
    # dedupe_order_by would prefer the DELETE half (TS 9 > 2): the update's DELETE half still ranks last
    counts, rows = run_case(
        cur,
        [(1, "a", 9)],
        [(1, "a", 9, None, "DELETE", True, "r1"), (1, "a2", 2, None, "INSERT", True, "r1")],
        dedupe_order_by=("TS",),
    )
    assert counts == {"inserted": 0, "updated": 1, "deleted": 0}
    assert rows == [(1, "a2", 2, False)]


def test_update_that_changes_the_key_deletes_the_old_key(cur: Any) -> None:
    counts, rows = run_case(
        cur,
        [(1, "a", 1), (2, "b", 1)],
        [(1, "a", 1, None, "DELETE", True, "r1"), (10, "a", 1, None, "INSERT", True, "r1")],
    )
    assert counts == {"inserted": 1, "updated": 0, "deleted": 1}
    assert rows == [(2, "b", 1, False), (10, "a", 1, False)]


def test_delete_and_reinsert_of_a_key_keeps_the_new_row(cur: Any) -> None:
    counts, rows = run_case(
        cur,
        [(1, "a", 1)],
        [(1, "a", 1, None, "DELETE", False, "r1"), (1, "new", 1, None, "INSERT", False, "r2")],
    )
    assert counts == {"inserted": 0, "updated": 1, "deleted": 0}
    assert rows == [(1, "new", 1, False)]


def test_ties_are_broken_by_row_id_so_reruns_agree(cur: Any) -> None:
    changes = [(5, "x", 1, None, "INSERT", False, "r-a"), (5, "y", 1, None, "INSERT", False, "r-b")]
    assert run_case(cur, [], changes, dedupe_order_by=("TS",))[1] == [(5, "y", 1, False)]
    assert run_case(cur, [], changes[::-1], dedupe_order_by=("TS",))[1] == [(5, "y", 1, False)]


def test_newest_by_dedupe_order_wins_and_null_order_values_lose(cur: Any) -> None:
    changes = [
        (1, "v3", 3, None, "INSERT", False, "a"),
        (1, "vnull", None, None, "INSERT", False, "z"),
        (1, "v1", 1, None, "INSERT", False, "b"),
    ]
    assert run_case(cur, [], changes, dedupe_order_by=("TS",))[1] == [(1, "v3", 3, False)]


def test_delete_condition_null_is_not_a_delete(cur: Any) -> None:
    counts, rows = run_case(
        cur,
        [(1, "a", 1), (2, "b", 1)],
        [(1, "a", 2, True, "INSERT", False, "x"), (2, "b2", 2, None, "INSERT", False, "y")],
        delete_condition="GONE",
    )
    assert counts == {"inserted": 0, "updated": 1, "deleted": 1}
    assert rows == [(2, "b2", 2, False)]


def test_deleting_a_key_the_target_never_had_does_nothing(cur: Any) -> None:
    counts, rows = run_case(cur, [(1, "a", 1)], [(7, "g", 1, None, "DELETE", False, "x")])
    assert counts == {"inserted": 0, "updated": 0, "deleted": 0}
    assert rows == [(1, "a", 1, False)]


def test_soft_delete_stamps_once_and_never_restamps(cur: Any) -> None:
    delete = [(1, "a", 1, None, "DELETE", False, "x"), (2, "b", 1, None, "DELETE", False, "y")]
    stamped = "UPDATE T SET _DELETED_AT = '2020-01-01' WHERE ID = 2"
    counts, rows = run_case(cur, [(1, "a", 1), (2, "b", 1)], delete, setup=stamped, delete_mode="soft")
    assert counts == {"inserted": 0, "updated": 1, "deleted": 0}
    assert rows == [(1, "a", 1, True), (2, "b", 1, True)]
    cur.execute("SELECT _DELETED_AT FROM T WHERE ID = 2")
    assert str(cur.fetchone()[0]) == "2020-01-01 00:00:00"
