"""MERGE runs as DuckDB's native MERGE and returns what fakesnow's own (full outer join) path returns."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import snowflake.connector.errors

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

SETUP = [
    "CREATE OR REPLACE TABLE m_tgt (id INT, v VARCHAR, n INT)",
    "INSERT INTO m_tgt VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3), (4, 'd', 4)",
    "CREATE OR REPLACE TABLE m_src (id INT, v VARCHAR, op VARCHAR, ts INT)",
    "INSERT INTO m_src VALUES (2, 'B', 'U', 1), (3, NULL, 'D', 1), (5, 'e', 'I', 1), (6, 'f', 'D', 1), (5, 'E', 'I', 2)",
]
SCENARIOS = {
    "upsert": "MERGE INTO m_tgt t USING (SELECT * FROM m_src QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) = 1) s "
    "ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = s.v, n = t.n + 10 "
    "WHEN NOT MATCHED THEN INSERT (id, v, n) VALUES (s.id, s.v, 0)",
    "cdc": "MERGE INTO m_tgt AS t USING (SELECT * FROM m_src WHERE ts = 1) AS s ON t.id = s.id "
    "WHEN MATCHED AND s.op = 'D' THEN DELETE WHEN MATCHED THEN UPDATE SET v = s.v "
    "WHEN NOT MATCHED AND s.op <> 'D' THEN INSERT (id, v) VALUES (s.id, s.v)",
    "delete_only": "MERGE INTO m_tgt USING m_src ON m_tgt.id = m_src.id AND m_src.op = 'D' WHEN MATCHED THEN DELETE",
    "insert_only": "MERGE INTO m_tgt t USING (SELECT * FROM m_src WHERE ts = 1) s ON t.id = s.id "
    "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v, 7)",
    "nothing_matches": "MERGE INTO m_tgt t USING (SELECT * FROM m_src WHERE id > 100) s ON t.id = s.id "
    "WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
}


@pytest.fixture(scope="module")
def fakesnow_cursor() -> Iterator[Any]:
    """fakesnow's stock path, in process, as the reference."""
    from fakesnow.instance import FakeSnow

    conn = FakeSnow().connect(database="REF", schema="PUBLIC")
    yield conn.cursor()
    conn.close()


def run_scenario(cursor: Any, merge: str) -> tuple[list[Any], list[str], list[Any]]:
    for sql in SETUP:
        cursor.execute(sql)
    cursor.execute(merge)
    result = list(cursor.fetchall())
    names = [d.name for d in cursor.description]
    cursor.execute("SELECT * FROM m_tgt ORDER BY id")
    return result, names, list(cursor.fetchall())


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_native_merge_matches_fakesnow(sf: Any, fakesnow_cursor: Any, scenario: str) -> None:
    ours = run_scenario(sf.cursor, SCENARIOS[scenario])
    reference = run_scenario(fakesnow_cursor, SCENARIOS[scenario])
    assert ours == reference


def test_merge_result_shape(sf: Any) -> None:
    result, names, table = run_scenario(sf.cursor, SCENARIOS["cdc"])
    assert (result, names) == (
        [(1, 1, 1)],
        ["number of rows inserted", "number of rows updated", "number of rows deleted"],
    )
    assert sf.cursor.rowcount == 4  # a merge reports all rows touched
    assert table == [(1, "a", 1), (2, "B", 2), (4, "d", 4), (5, "e", None)]


def test_merge_inside_an_explicit_transaction_rolls_back(sf: Any) -> None:
    for sql in SETUP:
        sf(sql)
    sf("BEGIN")
    assert sf("MERGE INTO m_tgt t USING m_src s ON t.id = s.id AND s.op = 'D' WHEN MATCHED THEN DELETE") == [
        (1,)
    ]
    assert sf("SELECT count(*) FROM m_tgt") == [(3,)]
    sf("ROLLBACK")
    assert sf("SELECT count(*) FROM m_tgt") == [(4,)]


def test_duplicate_source_rows_for_one_target_row_fail_like_snowflake(sf: Any) -> None:
    for sql in SETUP:
        sf(sql)
    with pytest.raises(
        snowflake.connector.errors.ProgrammingError, match="Duplicate row detected during DML action"
    ):
        sf(
            "MERGE INTO m_tgt t USING (SELECT 1 AS id, 'x' AS v UNION ALL SELECT 1, 'y') s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v"
        )
    assert sf("SELECT v FROM m_tgt WHERE id = 1") == [("a",)]


def test_merge_with_bound_parameters(sf: Any) -> None:
    for sql in SETUP:
        sf(sql)
    sf.connection._paramstyle = "qmark"  # noqa: SLF001 - server-side bindings
    assert sf(
        "MERGE INTO m_tgt t USING (SELECT ? AS id, ? AS v) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v",
        (1, "z"),
    ) == [(1,)]
    assert sf("SELECT v FROM m_tgt WHERE id = 1") == [("z",)]


@pytest.mark.slow
def test_merge_of_one_percent_costs_far_less_than_a_rebuild(sf: Any) -> None:
    sf(
        "CREATE OR REPLACE TABLE big AS SELECT seq4() AS id, uniform(1, 1000, random()) AS v, 'payload-' || seq4() AS p "
        "FROM TABLE(GENERATOR(ROWCOUNT => 1000000))"
    )
    sf("CREATE OR REPLACE TABLE big_changes AS SELECT id, v + 1 AS v, p FROM big WHERE id % 100 = 0")

    def timed(sql: str) -> float:
        start = time.perf_counter()
        sf(sql)
        return time.perf_counter() - start

    rebuild = timed(
        "CREATE OR REPLACE TABLE big_rebuilt AS SELECT b.id, COALESCE(c.v, b.v) AS v, b.p "
        "FROM big b LEFT JOIN big_changes c ON b.id = c.id"
    )
    merge = timed("MERGE INTO big t USING big_changes s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v")
    assert sf("SELECT count(*) FROM big_rebuilt") == [(1000000,)]
    assert merge < rebuild / 3, f"merge {merge:.3f}s vs rebuild {rebuild:.3f}s"
