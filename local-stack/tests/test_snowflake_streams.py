"""Table streams on the local Snowflake: net changes, offsets, SHOW STREAMS."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import snowflake.connector.errors

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

CHANGES = "SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM {s} ORDER BY id, METADATA$ACTION"


@pytest.fixture()
def base(sf: Any, request: pytest.FixtureRequest) -> str:
    name = request.node.name.replace("test_", "")[:40].upper()
    sf(f"CREATE OR REPLACE TABLE t_{name} (id INT, v VARCHAR)")
    sf(f"INSERT INTO t_{name} VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    sf(f"CREATE OR REPLACE TABLE tgt_{name} (id INT, v VARCHAR)")
    return name


def test_new_stream_is_empty_and_has_no_data(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    assert sf(CHANGES.format(s=f"s_{base}")) == []
    assert sf(f"SELECT SYSTEM$STREAM_HAS_DATA('s_{base}')") == [(False,)]


def test_insert_update_delete_net_changes(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    sf(f"UPDATE t_{base} SET v = 'B' WHERE id = 2")
    sf(f"DELETE FROM t_{base} WHERE id = 3")
    assert sf(CHANGES.format(s=f"s_{base}")) == [
        (2, "b", "DELETE", True),
        (2, "B", "INSERT", True),
        (3, "c", "DELETE", False),
        (4, "d", "INSERT", False),
    ]
    assert sf(f"SELECT SYSTEM$STREAM_HAS_DATA('s_{base}')") == [(True,)]


def test_update_pair_shares_the_row_id_and_row_ids_are_stable(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"UPDATE t_{base} SET v = 'A' WHERE id = 1")
    ids = sf(f"SELECT METADATA$ACTION, METADATA$ROW_ID FROM s_{base} ORDER BY 1")
    assert [a for a, _ in ids] == ["DELETE", "INSERT"]
    assert ids[0][1] == ids[1][1] and len(ids[0][1]) == 32
    sf(f"UPDATE t_{base} SET v = 'AA' WHERE id = 1")
    assert sf(f"SELECT DISTINCT METADATA$ROW_ID FROM s_{base}") == [(ids[0][1],)]


def test_insert_then_delete_in_the_same_window_shows_nothing(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (9, 'z')")
    sf(f"DELETE FROM t_{base} WHERE id = 9")
    assert sf(CHANGES.format(s=f"s_{base}")) == []


def test_append_only_shows_inserts_only(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base} APPEND_ONLY = TRUE")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    sf(f"UPDATE t_{base} SET v = 'B' WHERE id = 2")
    sf(f"DELETE FROM t_{base} WHERE id = 3")
    assert sf(CHANGES.format(s=f"s_{base}")) == [(4, "d", "INSERT", False)]


def test_show_initial_rows(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base} SHOW_INITIAL_ROWS = TRUE")
    assert sf(CHANGES.format(s=f"s_{base}")) == [
        (1, "a", "INSERT", False),
        (2, "b", "INSERT", False),
        (3, "c", "INSERT", False),
    ]


def test_select_does_not_consume_but_dml_does(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    assert len(sf(f"SELECT * FROM s_{base}")) == 1
    assert len(sf(f"SELECT * FROM s_{base}")) == 1
    assert sf(f"INSERT INTO tgt_{base} SELECT id, v FROM s_{base}") == [(1,)]
    assert sf(f"SELECT * FROM s_{base}") == []
    assert sf(f"SELECT * FROM tgt_{base}") == [(4, "d")]


def test_merge_consumes_the_stream(sf: Any, base: str) -> None:
    sf(f"INSERT INTO tgt_{base} SELECT * FROM t_{base}")
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"UPDATE t_{base} SET v = 'B' WHERE id = 2")
    sf(f"DELETE FROM t_{base} WHERE id = 3")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    merged = sf(
        f"MERGE INTO tgt_{base} t USING (SELECT * FROM s_{base} WHERE NOT (METADATA$ACTION = 'DELETE' AND METADATA$ISUPDATE)) s "
        "ON t.id = s.id "
        "WHEN MATCHED AND s.METADATA$ACTION = 'DELETE' THEN DELETE "
        "WHEN MATCHED THEN UPDATE SET t.v = s.v "
        "WHEN NOT MATCHED AND s.METADATA$ACTION = 'INSERT' THEN INSERT (id, v) VALUES (s.id, s.v)"
    )
    assert merged == [(1, 1, 1)]
    assert [d.name for d in sf.cursor.description] == [
        "number of rows inserted",
        "number of rows updated",
        "number of rows deleted",
    ]
    assert sf(f"SELECT * FROM tgt_{base} ORDER BY id") == [(1, "a"), (2, "B"), (4, "d")]
    assert sf(f"SELECT * FROM s_{base}") == []


def test_failing_statement_does_not_consume(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    with pytest.raises(snowflake.connector.errors.ProgrammingError):
        sf(f"INSERT INTO tgt_{base} SELECT id, v::int FROM s_{base}")  # 'd' is not a number
    assert sf(CHANGES.format(s=f"s_{base}")) == [(4, "d", "INSERT", False)]
    assert sf(f"SELECT * FROM tgt_{base}") == []


def test_rolled_back_transaction_does_not_consume_and_commit_does(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    sf("BEGIN")
    sf(f"INSERT INTO tgt_{base} SELECT id, v FROM s_{base}")
    sf("ROLLBACK")
    assert sf(CHANGES.format(s=f"s_{base}")) == [(4, "d", "INSERT", False)]
    sf("BEGIN")
    sf(f"INSERT INTO tgt_{base} SELECT id, v FROM s_{base}")
    sf("COMMIT")
    assert sf(CHANGES.format(s=f"s_{base}")) == []
    assert sf(f"SELECT * FROM tgt_{base}") == [(4, "d")]


def test_create_table_as_consumes(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    sf(f"CREATE OR REPLACE TABLE ctas_{base} AS SELECT id, v FROM s_{base}")
    assert sf(f"SELECT * FROM ctas_{base}") == [(4, "d")]
    assert sf(f"SELECT * FROM s_{base}") == []


def test_show_streams_columns_and_filters(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base} APPEND_ONLY = TRUE COMMENT = 'cdc'")
    rows = sf(f"SHOW STREAMS LIKE 's_{base.lower()}' IN SCHEMA DEMO.PUBLIC")
    assert [d.name for d in sf.cursor.description] == [
        "created_on", "name", "database_name", "schema_name", "owner", "comment", "table_name", "source_type",
        "base_tables", "type", "stale", "mode", "stale_after", "invalid_reason", "owner_role_type",
    ]  # fmt: skip
    assert len(rows) == 1
    created_on, *rest = rows[0]
    assert isinstance(created_on, datetime.datetime)
    table = f"DEMO.PUBLIC.T_{base}"
    assert rest[:11] == [
        f"S_{base}",
        "DEMO",
        "PUBLIC",
        "SYSADMIN",
        "cdc",
        table,
        "Table",
        table,
        "DELTA",
        "false",
        "APPEND_ONLY",
    ]
    assert sf("SHOW STREAMS LIKE 'no_such%'") == []
    assert sf(f"DESCRIBE STREAM s_{base}")[0][1] == f"S_{base}"


def test_create_if_not_exists_replace_and_drop(sf: Any, base: str) -> None:
    assert sf(f"CREATE STREAM s_{base} ON TABLE t_{base}") == [(f"Stream S_{base} successfully created.",)]
    assert sf(f"CREATE STREAM IF NOT EXISTS s_{base} ON TABLE t_{base}") == [
        (f"S_{base} already exists, statement succeeded.",)
    ]
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="already exists"):
        sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    sf(f"INSERT INTO t_{base} VALUES (4, 'd')")
    sf(f"CREATE OR REPLACE STREAM s_{base} ON TABLE t_{base}")
    assert sf(f"SELECT * FROM s_{base}") == []
    assert sf(f"DROP STREAM s_{base}") == [(f"S_{base} successfully dropped.",)]
    assert sf(f"DROP STREAM IF EXISTS s_{base}") == [
        (f"Drop statement executed successfully (S_{base} already dropped).",)
    ]
    with pytest.raises(snowflake.connector.errors.ProgrammingError, match="does not exist"):
        sf(f"SELECT SYSTEM$STREAM_HAS_DATA('s_{base}')")


def test_stream_is_hidden_from_show_tables_and_information_schema(sf: Any, base: str) -> None:
    sf(f"CREATE STREAM s_{base} ON TABLE t_{base}")
    tables = sf(
        f"SELECT table_name FROM information_schema.tables WHERE table_name ILIKE '%{base}%' ORDER BY 1"
    )
    assert tables == [(f"TGT_{base}",), (f"T_{base}",)]
