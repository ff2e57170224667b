"""Append-only streams on the local Snowflake record every row insert since the offset.

Snowflake (docs, ALTER STREAM / CREATE STREAM, APPEND_ONLY): "Append-only streams track row inserts only.
Update and delete operations (including table truncates) are not recorded. For example, if 10 rows are
inserted into a table and then 5 of those rows are deleted before the offset for an append-only stream is
advanced, the stream records 10 rows." An update is not recorded either, so a row inserted and then updated
shows as inserted (its values at the insert).
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

ROWS = "SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM {s} ORDER BY id"


@pytest.fixture()
def names(sf: Any, request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """A base table with rows 1-3, an append-only stream on it (offset after them) and an empty target."""
    tag = request.node.name.replace("test_", "")[:30].upper().replace("[", "_").replace("]", "")
    table, stream, target = f"ao_{tag}", f"aos_{tag}", f"aot_{tag}"
    sf(f"CREATE OR REPLACE TABLE {table} (id INT, v VARCHAR)")
    sf(f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    sf(f"CREATE OR REPLACE STREAM {stream} ON TABLE {table} APPEND_ONLY = TRUE")
    sf(f"CREATE OR REPLACE TABLE {target} (id INT, v VARCHAR)")
    return table, stream, target


def test_rows_inserted_then_deleted_stay_in_the_stream(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd'), (5, 'e'), (6, 'f')")
    sf(f"DELETE FROM {table} WHERE id IN (1, 4, 6)")
    assert sf(ROWS.format(s=stream)) == [
        (4, "d", "INSERT", False),
        (5, "e", "INSERT", False),
        (6, "f", "INSERT", False),
    ]
    assert sf(f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')") == [(True,)]


def test_every_inserted_row_deleted_still_has_data(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd')")
    sf(f"DELETE FROM {table} WHERE id = 4")
    assert sf(f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')") == [(True,)]
    assert sf(ROWS.format(s=stream)) == [(4, "d", "INSERT", False)]


def test_rows_inserted_then_updated_show_their_inserted_values(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd'), (5, 'e')")
    sf(f"UPDATE {table} SET v = upper(v) WHERE id IN (2, 4)")
    sf(f"INSERT INTO {table} VALUES (6, 'f')")
    sf(f"UPDATE {table} SET v = 'F' WHERE id = 6")
    assert sf(ROWS.format(s=stream)) == [
        (4, "d", "INSERT", False),
        (5, "e", "INSERT", False),
        (6, "f", "INSERT", False),
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE TABLE {table}",
        "DELETE FROM {table}",
        "INSERT OVERWRITE INTO {table} VALUES (9, 'z')",
        "MERGE INTO {table} t USING (SELECT 4 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE",
        "MERGE INTO {table} t USING (SELECT 4 AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = 'x'",
    ],
)
def test_truncate_overwrite_and_merge_keep_inserted_rows(
    sf: Any, names: tuple[str, str, str], statement: str
) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd')")
    sf(statement.format(table=table))
    expected = [(4, "d", "INSERT", False)]
    if "OVERWRITE" in statement:
        expected.append((9, "z", "INSERT", False))
    assert sf(ROWS.format(s=stream)) == expected


def test_merge_consumes_kept_rows_and_the_stream_starts_empty(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, target = names
    sf(f"INSERT INTO {table} VALUES (4, 'd'), (5, 'e')")
    sf(f"DELETE FROM {table} WHERE id = 5")
    row_ids = sf(f"SELECT id, METADATA$ROW_ID FROM {stream} ORDER BY id")
    merged = sf(
        f"MERGE INTO {target} t USING (SELECT id, v FROM {stream}) s ON t.id = s.id "
        "WHEN NOT MATCHED THEN INSERT (id, v) VALUES (s.id, s.v)"
    )
    assert merged == [(2,)]
    assert sf(f"SELECT id, v FROM {target} ORDER BY id") == [(4, "d"), (5, "e")]
    assert sf(ROWS.format(s=stream)) == []
    assert sf(f"SELECT SYSTEM$STREAM_HAS_DATA('{stream}')") == [(False,)]
    # the next window: new inserts only, the consumed (and deleted) rows do not come back
    sf(f"INSERT INTO {table} VALUES (6, 'f')")
    sf(f"DELETE FROM {table} WHERE id = 4")
    assert sf(ROWS.format(s=stream)) == [(6, "f", "INSERT", False)]
    assert len({r for _, r in row_ids}) == 2 and all(len(r) == 32 for _, r in row_ids)


def test_insert_select_consumes_and_row_ids_survive_the_delete(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, target = names
    sf(f"INSERT INTO {table} VALUES (4, 'd')")
    before = sf(f"SELECT METADATA$ROW_ID FROM {stream}")
    sf(f"DELETE FROM {table} WHERE id = 4")
    assert sf(f"SELECT METADATA$ROW_ID FROM {stream}") == before
    assert sf(f"INSERT INTO {target} SELECT id, v FROM {stream}") == [(1,)]
    assert sf(f"SELECT id, v FROM {target}") == [(4, "d")]
    assert sf(ROWS.format(s=stream)) == []


def test_delete_inside_a_transaction_keeps_rows_whether_it_commits_or_not(
    sf: Any, names: tuple[str, str, str]
) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd'), (5, 'e')")
    sf("BEGIN")
    sf(f"DELETE FROM {table} WHERE id = 4")
    sf("ROLLBACK")
    assert sf(ROWS.format(s=stream)) == [(4, "d", "INSERT", False), (5, "e", "INSERT", False)]
    sf("BEGIN")
    sf(f"UPDATE {table} SET v = 'E' WHERE id = 5")
    sf(f"DELETE FROM {table} WHERE id = 4")
    sf("COMMIT")
    assert sf(ROWS.format(s=stream)) == [(4, "d", "INSERT", False), (5, "e", "INSERT", False)]
    assert sf(f"SELECT id, v FROM {table} WHERE id > 3") == [(5, "E")]


def test_columns_added_after_a_deleted_insert(sf: Any, names: tuple[str, str, str]) -> None:
    table, stream, _ = names
    sf(f"INSERT INTO {table} VALUES (4, 'd')")
    sf(f"DELETE FROM {table} WHERE id = 4")
    sf(f"ALTER TABLE {table} ADD COLUMN n INT DEFAULT 7")
    sf(f"INSERT INTO {table} VALUES (5, 'e', 8)")
    sf(f"DELETE FROM {table} WHERE id = 5")
    sf(f"INSERT INTO {table} VALUES (6, 'f', 9)")
    assert sf(f"SELECT id, v, n, METADATA$ACTION FROM {stream} ORDER BY id") == [
        (4, "d", 7, "INSERT"),
        (5, "e", 8, "INSERT"),
        (6, "f", 9, "INSERT"),
    ]


def test_default_stream_still_shows_net_changes(sf: Any, names: tuple[str, str, str]) -> None:
    table, _, _ = names
    sf(f"CREATE OR REPLACE STREAM aod_{table} ON TABLE {table}")
    sf(f"INSERT INTO {table} VALUES (4, 'd'), (5, 'e')")
    sf(f"DELETE FROM {table} WHERE id IN (1, 4)")
    assert sf(ROWS.format(s=f"aod_{table}")) == [(1, "a", "DELETE", False), (5, "e", "INSERT", False)]
