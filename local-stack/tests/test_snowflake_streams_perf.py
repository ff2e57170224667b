"""Streams at scale: the rowid/hash diff and net-change consumption give exactly the brute-force answer.

A 200k-row table gets mixed changes (updates, updates back to the original values, NULLs, deletes,
inserts, inserted-then-deleted and inserted-then-updated rows); the stream must equal the set computed
in Python from the same changes, and after consumption the snapshot must equal the base table row for
row (rowid, hash, values), so the next window is right too.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

N = 200_000
COLS = "id, v, n"
ROWS = f"SELECT {COLS}, METADATA$ACTION, METADATA$ISUPDATE FROM {{s}}"


def _duck() -> Any:
    """A DuckDB cursor on the in-process server's instance (white-box checks of the snapshot)."""
    return importlib.import_module("fakesnow.server").shared_fs.duck_conn.cursor()


def _initial() -> dict[int, tuple[Any, Any]]:
    return {i: (f"v{i}", float(i % 97)) for i in range(N)}


def _expected(old: dict[int, tuple[Any, Any]], new: dict[int, tuple[Any, Any]]) -> set[tuple[Any, ...]]:
    """Snowflake's net changes between two states keyed by row identity (ids are never updated here)."""
    rows: set[tuple[Any, ...]] = set()
    for key in old.keys() | new.keys():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is not None:
            rows.add((key, *before, "DELETE", after is not None))
        if after is not None:
            rows.add((key, *after, "INSERT", before is not None))
    return rows


def _first_window(sf: Any, table: str, state: dict[int, tuple[Any, Any]]) -> None:
    """Mixed changes, applied to the table and to ``state`` alike."""
    sf(f"UPDATE {table} SET v = 'u' || id WHERE id % 50 = 0")
    sf(f"UPDATE {table} SET v = 'v' || id WHERE id % 100 = 0")  # back to the offset's values
    sf(f"UPDATE {table} SET n = n + 0.5 WHERE id % 333 = 5")
    sf(f"UPDATE {table} SET v = NULL WHERE id % 1001 = 7")
    sf(f"DELETE FROM {table} WHERE id % 70 = 1")
    sf(
        f"INSERT INTO {table} SELECT {N} + SEQ4(), 'new' || SEQ4(), 1.25 FROM TABLE(GENERATOR(ROWCOUNT => 3000))"
    )
    sf(f"DELETE FROM {table} WHERE id BETWEEN {N} AND {N + 99}")
    sf(f"UPDATE {table} SET v = 'x' WHERE id BETWEEN {N + 100} AND {N + 199}")
    for i in list(state):
        v, n = state[i]
        if i % 50 == 0 and i % 100 != 0:
            v = f"u{i}"
        if i % 333 == 5:
            n += 0.5
        if i % 1001 == 7:
            v = None
        state[i] = (v, n)
        if i % 70 == 1:
            del state[i]
    for k in range(3000):
        state[N + k] = ("x" if 100 <= k <= 199 else f"new{k}", 1.25)
    for k in range(100):
        del state[N + k]


def _second_window(sf: Any, table: str, state: dict[int, tuple[Any, Any]]) -> None:
    sf(f"UPDATE {table} SET n = -1 WHERE id % 1000 = 3 OR id BETWEEN {N + 500} AND {N + 509}")
    sf(f"DELETE FROM {table} WHERE id % 999 = 4")
    sf(f"INSERT INTO {table} VALUES ({N + 5000}, 'late', 2.5)")
    for i in list(state):
        v, n = state[i]
        if i % 1000 == 3 or N + 500 <= i <= N + 509:
            state[i] = (v, -1.0)
        if i % 999 == 4:
            del state[i]
    state[N + 5000] = ("late", 2.5)


def _stream_rows(sf: Any, stream: str) -> set[tuple[Any, ...]]:
    rows = sf(ROWS.format(s=stream))
    result = {tuple(r) for r in rows}
    assert len(result) == len(rows)  # no duplicates
    return result


def _assert_snapshot_equals_base(stream: str, table: str) -> None:
    duck = _duck()
    snap = f'DEMO._fs_information_schema."_fs_stream_PUBLIC_{stream}"'
    base = f"DEMO.PUBLIC.{table}"
    for a, b in (
        (
            f"SELECT __FS_RID, __FS_HASH, id, v, n FROM {snap}",
            f"SELECT rowid, hash(id, v, n), id, v, n FROM {base}",
        ),
        (
            f"SELECT rowid, hash(id, v, n), id, v, n FROM {base}",
            f"SELECT __FS_RID, __FS_HASH, id, v, n FROM {snap}",
        ),
    ):
        assert duck.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone() == (0,)
    assert (
        duck.execute(f"SELECT count(*) FROM {snap}").fetchone()
        == duck.execute(f"SELECT count(*) FROM {base}").fetchone()
    )


@pytest.fixture(scope="module")
def big(local_snowflake: Any) -> Any:
    conn = local_snowflake.connect()
    cur = conn.cursor()

    def run(sql: str) -> list[tuple[Any, ...]]:
        cur.execute(sql)
        return list(cur.fetchall())

    run("CREATE OR REPLACE TABLE perf_t (id INT, v VARCHAR, n DOUBLE)")
    run(
        f"INSERT INTO perf_t SELECT SEQ4(), 'v' || SEQ4(), SEQ4() % 97 FROM TABLE(GENERATOR(ROWCOUNT => {N}))"
    )
    run("CREATE OR REPLACE TABLE perf_sink (id INT, v VARCHAR, n DOUBLE, action VARCHAR, isupdate BOOLEAN)")
    run("CREATE STREAM perf_s ON TABLE perf_t")
    run("CREATE STREAM perf_a ON TABLE perf_t APPEND_ONLY = TRUE")
    yield run
    conn.close()


def test_default_stream_equals_brute_force_and_consumption_applies_net_changes(big: Any) -> None:
    old = _initial()
    new = dict(old)
    _first_window(big, "perf_t", new)
    expected = _expected(old, new)
    assert {r[3] for r in expected} == {"INSERT", "DELETE"} and len(expected) > 10_000
    assert _stream_rows(big, "perf_s") == expected
    assert big("SELECT SYSTEM$STREAM_HAS_DATA('perf_s')") == [(True,)]
    # update pairs share METADATA$ROW_ID; other rows have their own
    ids = big(
        "SELECT METADATA$ROW_ID, COUNT(*), MIN(METADATA$ISUPDATE) FROM perf_s GROUP BY 1 HAVING COUNT(*) > 1"
    )
    assert {c for _, c, _ in ids} == {2} and all(u for _, _, u in ids)
    assert len(ids) == sum(1 for r in expected if r[3] == "INSERT" and r[4])

    assert big(f"INSERT INTO perf_sink SELECT {COLS}, METADATA$ACTION, METADATA$ISUPDATE FROM perf_s") == [
        (len(expected),)
    ]
    assert {tuple(r) for r in big("SELECT * FROM perf_sink")} == expected
    assert big("SELECT * FROM perf_s") == []
    assert big("SELECT SYSTEM$STREAM_HAS_DATA('perf_s')") == [(False,)]
    _assert_snapshot_equals_base("PERF_S", "perf_t")

    # the next window is diffed against the net-updated snapshot
    later = dict(new)
    _second_window(big, "perf_t", later)
    assert _stream_rows(big, "perf_s") == _expected(new, later)


def test_append_only_stream_equals_brute_force_and_watermark_moves(big: Any) -> None:
    # runs after the test above on the same table: the append-only offset is still at creation
    rows = _stream_rows(big, "perf_a")
    # every row inserted since the offset, with its values as inserted: Snowflake's append-only streams
    # record no update or delete, so the deleted (N..N+99) and updated (N+100.., N+500..) rows are there too
    inserted = {N + k: (f"new{k}", 1.25) for k in range(3000)} | {N + 5000: ("late", 2.5)}
    assert rows == {(i, *v, "INSERT", False) for i, v in inserted.items()}
    assert big("CREATE OR REPLACE TABLE perf_sink2 AS SELECT id FROM perf_a") == [
        ("Table PERF_SINK2 successfully created.",)
    ]
    assert big("SELECT * FROM perf_a") == []
    hidden = 'DEMO._fs_information_schema."_fs_stream_PUBLIC_PERF_A'
    (w,) = _duck().execute(f'SELECT __FS_RID FROM {hidden}"').fetchone()
    assert w == _duck().execute("SELECT max(rowid) FROM DEMO.PUBLIC.perf_t").fetchone()[0]
    assert _duck().execute(f'SELECT count(*) FROM {hidden}_kept"').fetchone() == (0,)
    big(f"INSERT INTO perf_t VALUES ({N + 9000}, 'after', 0.5)")
    big(f"UPDATE perf_t SET v = 'changed' WHERE id = {N + 9000} OR id = 10")
    assert _stream_rows(big, "perf_a") == {(N + 9000, "after", 0.5, "INSERT", False)}


def test_columns_added_to_the_table_follow_into_the_stream(sf: Any) -> None:
    sf("CREATE OR REPLACE TABLE evo_t (id INT, v VARCHAR)")
    sf("INSERT INTO evo_t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    sf("CREATE OR REPLACE STREAM evo_s ON TABLE evo_t")
    sf("UPDATE evo_t SET v = 'B' WHERE id = 2")
    sf("ALTER TABLE evo_t ADD COLUMN email VARCHAR")
    sf("UPDATE evo_t SET email = 'c@x' WHERE id = 3")  # only the new column changes
    sf("INSERT INTO evo_t VALUES (4, 'd', 'd@x')")
    sf("ALTER TABLE evo_t ADD COLUMN flag INT DEFAULT 7")  # filled in for every row: not a change
    query = "SELECT id, v, email, flag, METADATA$ACTION, METADATA$ISUPDATE FROM evo_s ORDER BY id, METADATA$ACTION"
    assert sf(query) == [
        (2, "b", None, 7, "DELETE", True),
        (2, "B", None, 7, "INSERT", True),
        (3, "c", None, 7, "DELETE", True),
        (3, "c", "c@x", 7, "INSERT", True),
        (4, "d", "d@x", 7, "INSERT", False),
    ]
    assert [d.name for d in sf.cursor.description][:4] == ["ID", "V", "EMAIL", "FLAG"]
    assert sf("SELECT SYSTEM$STREAM_HAS_DATA('evo_s')") == [(True,)]
    sf("CREATE OR REPLACE TABLE evo_sink AS SELECT id, email FROM evo_s WHERE METADATA$ACTION = 'INSERT'")
    assert sf("SELECT * FROM evo_sink ORDER BY id") == [(2, None), (3, "c@x"), (4, "d@x")]
    assert sf("SELECT * FROM evo_s") == []
    sf("UPDATE evo_t SET email = 'a@x' WHERE id = 1")  # after the consume the new columns are tracked
    sf("UPDATE evo_t SET flag = 8 WHERE id = 4")
    assert sf(query) == [
        (1, "a", None, 7, "DELETE", True),
        (1, "a", "a@x", 7, "INSERT", True),
        (4, "d", "d@x", 7, "DELETE", True),
        (4, "d", "d@x", 8, "INSERT", True),
    ]


def test_snapshot_from_an_older_server_is_migrated(sf: Any, local_snowflake: Any) -> None:
    from dataeng_local.snowflake.streams import StreamRegistry

    sf("CREATE OR REPLACE TABLE mig_t (id INT, v VARCHAR)")
    sf("INSERT INTO mig_t VALUES (1, 'a'), (2, 'b')")
    sf("CREATE OR REPLACE STREAM mig_s ON TABLE mig_t")
    sf("CREATE OR REPLACE STREAM mig_a ON TABLE mig_t APPEND_ONLY = TRUE")
    duck = _duck()
    hidden = "DEMO._fs_information_schema"
    # the previous layouts: a plain copy of the rows (rowid + columns) for both modes
    duck.execute(f'ALTER TABLE {hidden}."_fs_stream_PUBLIC_MIG_S" DROP COLUMN __FS_HASH')
    duck.execute(
        f'CREATE OR REPLACE TABLE {hidden}."_fs_stream_PUBLIC_MIG_A" AS SELECT rowid AS __FS_RID, id, v FROM DEMO.PUBLIC.mig_t'
    )
    StreamRegistry().reload(duck)
    sf("UPDATE mig_t SET v = 'B' WHERE id = 2")
    sf("INSERT INTO mig_t VALUES (3, 'c')")
    assert sf("SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE FROM mig_s ORDER BY id, 3") == [
        (2, "b", "DELETE", True),
        (2, "B", "INSERT", True),
        (3, "c", "INSERT", False),
    ]
    assert sf("SELECT id, v, METADATA$ACTION FROM mig_a") == [(3, "c", "INSERT")]


@pytest.mark.parametrize(
    ("change", "default", "append_only"),
    [
        ("UPDATE hd_t SET v = 'B' WHERE id = 2", True, False),
        ("DELETE FROM hd_t WHERE id = 3", True, False),
        ("UPDATE hd_t SET v = 'b' WHERE id = 2", False, False),  # same value: no net change
        ("INSERT INTO hd_t VALUES (4, 'd')", True, True),
    ],
)
def test_has_data_per_kind_of_change(sf: Any, change: str, default: bool, append_only: bool) -> None:
    sf("CREATE OR REPLACE TABLE hd_t (id INT, v VARCHAR)")
    sf("INSERT INTO hd_t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
    sf("CREATE OR REPLACE STREAM hd_s ON TABLE hd_t")
    sf("CREATE OR REPLACE STREAM hd_a ON TABLE hd_t APPEND_ONLY = TRUE")
    sf(change)
    assert sf("SELECT SYSTEM$STREAM_HAS_DATA('hd_s'), SYSTEM$STREAM_HAS_DATA('hd_a')") == [
        (default, append_only)
    ]
    assert (sf("SELECT COUNT(*) > 0 FROM hd_s"), sf("SELECT COUNT(*) > 0 FROM hd_a")) == (
        [(default,)],
        [(append_only,)],
    )


@pytest.mark.parametrize("mode", ["DEFAULT", "APPEND_ONLY"])
def test_rows_the_consuming_statement_adds_to_the_base_stay_in_the_stream(sf: Any, mode: str) -> None:
    sf("CREATE OR REPLACE TABLE own_t (id INT, v VARCHAR)")
    sf("INSERT INTO own_t VALUES (1, 'a')")
    sf(f"CREATE OR REPLACE STREAM own_s ON TABLE own_t APPEND_ONLY = {mode == 'APPEND_ONLY'}")
    sf("INSERT INTO own_t VALUES (2, 'b')")
    sf("UPDATE own_t SET v = 'A' WHERE id = 1")
    sf("INSERT INTO own_t SELECT id + 10, v FROM own_s WHERE METADATA$ACTION = 'INSERT'")
    expected = [(11, "A"), (12, "b")] if mode == "DEFAULT" else [(12, "b")]
    assert sf("SELECT id, v FROM own_s ORDER BY id") == expected
    assert sf("SELECT METADATA$ISUPDATE FROM own_s") == [(False,)] * len(expected)


def test_stream_on_a_dropped_table_fails_cleanly(sf: Any) -> None:
    import snowflake.connector.errors

    sf("CREATE OR REPLACE TABLE gone_t (id INT)")
    sf("CREATE OR REPLACE STREAM gone_s ON TABLE gone_t")
    sf("DROP TABLE gone_t")
    for query in ("SELECT * FROM gone_s", "SELECT SYSTEM$STREAM_HAS_DATA('gone_s')"):
        with pytest.raises(snowflake.connector.errors.ProgrammingError, match="GONE_T does not exist") as e:
            sf(query)
        assert e.value.errno == 2003
