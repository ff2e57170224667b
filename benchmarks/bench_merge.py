"""Stream merge vs full rebuild on the local Snowflake: 1% changes into a target of N rows.

For each N (``BENCH_MERGE_SIZES``, default ``100000,1000000``): a raw history table of N keys, a target
built from it, then a batch of N/100 changes appended to the raw table (half new versions of existing
keys, a quarter new keys, a quarter tombstones with ``IS_DELETED``). Measured:

- the operator's whole run (connection, CREATE STREAM IF NOT EXISTS, SHOW STREAMS, has-data/columns, NULL-key
  count, the MERGE), consuming an append-only stream with ``dedupe_order_by`` and ``delete_condition``;
- a full rebuild: ``CREATE OR REPLACE TABLE ... AS`` the latest version per key over the whole raw history.

- the same MERGE statement with the changes copied into a plain table (no stream emulation), on a copy
  of the target: what the operator's SQL costs by itself.

All results are compared row for row with the rebuild (``EXCEPT`` both ways) and must be identical.
Run alone with ``python benchmarks/run.py bench_merge``.
"""

from __future__ import annotations

import os
import time
from typing import Any

COLUMNS = ["ID", "NAME", "EMAIL", "SCORE", "VERSION"]


def _sizes() -> list[int]:
    text = os.environ.get("BENCH_MERGE_SIZES", "100000,1000000")
    return [int(s) for s in text.split(",") if s.strip()]


def _connect(port: int) -> Any:
    import snowflake.connector

    return snowflake.connector.connect(
        host="127.0.0.1",
        port=port,
        protocol="http",
        account="fakesnow",
        user="local",
        password="local",
        database="DEMO",
        schema="PUBLIC",
        network_timeout=600,
    )


def _run(cur: Any, sql: str) -> list[tuple[Any, ...]]:
    cur.execute(sql)
    return cur.fetchall() if cur.description else []


def _prepare(cur: Any, n: int) -> None:
    """Raw history (one version per key) and the target built from it; no stream yet."""
    _run(cur, f"CREATE OR REPLACE SCHEMA DEMO.RAW_{n}")
    _run(cur, f"CREATE OR REPLACE SCHEMA DEMO.STG_{n}")
    _run(
        cur,
        f"CREATE TABLE DEMO.RAW_{n}.EVENTS (ID INT, NAME VARCHAR, EMAIL VARCHAR, SCORE FLOAT, VERSION INT, IS_DELETED BOOLEAN)",
    )
    _run(
        cur,
        f"INSERT INTO DEMO.RAW_{n}.EVENTS SELECT SEQ4(), 'name_' || SEQ4(), 'user' || SEQ4() || '@example.com', "
        f"(SEQ4() % 1000) / 10.0, 1, FALSE FROM TABLE(GENERATOR(ROWCOUNT => {n}))",
    )
    _run(cur, f"CREATE TABLE DEMO.STG_{n}.EVENTS AS SELECT {', '.join(COLUMNS)} FROM DEMO.RAW_{n}.EVENTS")


def _append_changes(cur: Any, n: int) -> dict[str, int]:
    """1% changes: half updates, a quarter inserts, a quarter deletes (spread over the key space)."""
    changes = max(n // 100, 4)
    updates, inserts, deletes = changes // 2, changes // 4, changes - changes // 2 - changes // 4
    raw = f"DEMO.RAW_{n}.EVENTS"
    _run(
        cur,
        f"INSERT INTO {raw} SELECT SEQ4() * 4, 'renamed_' || SEQ4(), 'new' || SEQ4() || '@example.com', "
        f"1.5, 2, FALSE FROM TABLE(GENERATOR(ROWCOUNT => {updates}))",
    )
    _run(
        cur,
        f"INSERT INTO {raw} SELECT {n} + SEQ4(), 'new_' || SEQ4(), 'fresh' || SEQ4() || '@example.com', "
        f"2.5, 1, FALSE FROM TABLE(GENERATOR(ROWCOUNT => {inserts}))",
    )
    _run(
        cur,
        f"INSERT INTO {raw} SELECT SEQ4() * 4 + 1, NULL, NULL, NULL, 2, TRUE FROM TABLE(GENERATOR(ROWCOUNT => {deletes}))",
    )
    return {"updates": updates, "inserts": inserts, "deletes": deletes}


def _operator(n: int, **overrides: Any) -> Any:
    from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

    options: dict[str, Any] = dict(
        task_id=f"bench_merge_{n}",
        target_table=f"DEMO.STG_{n}.EVENTS",
        source_table=f"DEMO.RAW_{n}.EVENTS",
        key_columns=["ID"],
        columns=COLUMNS,
        append_only=True,
        show_initial_rows=False,
        dedupe_order_by="VERSION",
        delete_condition="IS_DELETED",
    )
    options.update(overrides)
    return SnowflakeStreamMergeOperator(**options)


def _rebuild_sql(n: int) -> str:
    cols = ", ".join(COLUMNS)
    return (
        f"CREATE OR REPLACE TABLE DEMO.STG_{n}.EVENTS_REBUILD AS SELECT {cols} FROM (SELECT * FROM DEMO.RAW_{n}.EVENTS "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY ID ORDER BY VERSION DESC) = 1) WHERE NOT IS_DELETED"
    )


def _differences(cur: Any, n: int, table: str) -> int:
    a, b = f"DEMO.STG_{n}.{table}", f"DEMO.STG_{n}.EVENTS_REBUILD"
    cols = ", ".join(COLUMNS)
    return sum(
        _run(cur, f"SELECT COUNT(*) FROM (SELECT {cols} FROM {x} EXCEPT SELECT {cols} FROM {y})")[0][0]
        for x, y in ((a, b), (b, a))
    )


def _merge_alone(cur: Any, n: int) -> float:
    """The operator's MERGE statement, with the same changes in a plain table instead of the stream.

    Separates the cost of the SQL from the local stand-in's stream emulation (reading and consuming
    the emulated stream). Runs on a copy of the target; the result is checked like the rest.
    """
    from airflow_provider_dataeng.sql.identifiers import parse_object_name
    from airflow_provider_dataeng.sql.merge import MergeSpec, build_merge_sql

    cols = ", ".join(COLUMNS)
    _run(cur, f"CREATE TABLE DEMO.STG_{n}.EVENTS_COPY AS SELECT {cols} FROM DEMO.STG_{n}.EVENTS")
    _run(
        cur,
        f"CREATE TABLE DEMO.RAW_{n}.CHANGES AS SELECT {cols}, IS_DELETED, 'INSERT' AS \"METADATA$ACTION\", "
        f'FALSE AS "METADATA$ISUPDATE", ID::VARCHAR || \'#\' || VERSION AS "METADATA$ROW_ID" '
        f"FROM DEMO.RAW_{n}.EVENTS WHERE VERSION > 1 OR ID >= {n}",
    )
    spec = MergeSpec(
        target=parse_object_name(f"DEMO.STG_{n}.EVENTS_COPY", param="target"),
        stream=parse_object_name(f"DEMO.RAW_{n}.CHANGES", param="stream"),
        key_columns=("ID",),
        columns=tuple((c, f'"{c}"') for c in COLUMNS),
        dedupe_order_by=("VERSION",),
        delete_condition="IS_DELETED",
    )
    started = time.perf_counter()
    _run(cur, build_merge_sql(spec))
    return time.perf_counter() - started


def measure(port: int, n: int) -> dict[str, Any]:
    conn = _connect(port)
    cur = conn.cursor()
    try:
        _prepare(cur, n)
        _operator(n, if_empty="succeed").execute({})  # creates the stream (empty: nothing merged)
        batch = _append_changes(cur, n)
        merge_alone_seconds = _merge_alone(cur, n)

        started = time.perf_counter()
        counts = _operator(n).execute({})
        merge_seconds = time.perf_counter() - started

        started = time.perf_counter()
        _run(cur, _rebuild_sql(n))
        rebuild_seconds = time.perf_counter() - started

        expected = {
            "inserted": batch["inserts"],
            "updated": batch["updates"],
            "deleted": batch["deletes"],
            "empty": False,
        }
        if counts != expected:
            raise AssertionError(f"N={n}: operator counts {counts} != expected {expected}")
        differences = _differences(cur, n, "EVENTS") + _differences(cur, n, "EVENTS_COPY")
        if differences:
            raise AssertionError(f"N={n}: merge and rebuild differ in {differences} rows")
        rows = _run(cur, f"SELECT COUNT(*) FROM DEMO.STG_{n}.EVENTS")[0][0]
        _run(cur, f"DROP SCHEMA DEMO.RAW_{n}")
        _run(cur, f"DROP SCHEMA DEMO.STG_{n}")
        return {
            "n": n,
            "merge": merge_seconds,
            "rebuild": rebuild_seconds,
            "alone": merge_alone_seconds,
            "rows": rows,
            "counts": counts,
        }
    finally:
        conn.close()


def run() -> list[dict]:
    from dataeng_local.stack import LocalStack

    results = []
    with LocalStack(services=["snowflake"]) as stack:
        saved = {k: os.environ.get(k) for k in stack.env}
        os.environ.update(stack.env)
        try:
            for n in _sizes():
                results.append(measure(stack.snowflake_port, n))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    rows: list[dict] = []
    for r in results:
        note = f"1% changes {r['counts']}; identical to rebuild ({r['rows']} rows)"
        rows.append(
            {
                "benchmark": "merge",
                "subject": f"stream merge operator, whole run, N={r['n']}",
                "metric": "seconds",
                "value": f"{r['merge']:.2f}",
                "ratio": f"{r['merge'] / r['rebuild']:.2f}x of rebuild",
                "note": note,
            }
        )
        rows.append(
            {
                "benchmark": "merge",
                "subject": f"MERGE statement alone (changes in a plain table), N={r['n']}",
                "metric": "seconds",
                "value": f"{r['alone']:.2f}",
                "ratio": f"{r['alone'] / r['rebuild']:.2f}x of rebuild",
                "note": "same SQL without the stand-in's stream emulation; identical to rebuild",
            }
        )
        rows.append(
            {
                "benchmark": "merge",
                "subject": f"full rebuild (CTAS latest per key), N={r['n']}",
                "metric": "seconds",
                "value": f"{r['rebuild']:.2f}",
            }
        )
    for small, large in zip(results, results[1:]):
        factor = large["n"] / small["n"]
        rows.append(
            {
                "benchmark": "merge",
                "subject": f"growth N={small['n']} -> {large['n']} (x{factor:g})",
                "metric": "time factor",
                "value": f"operator x{large['merge'] / small['merge']:.1f}",
                "note": f"MERGE alone x{large['alone'] / small['alone']:.1f}, rebuild x{large['rebuild'] / small['rebuild']:.1f}",
            }
        )
    return rows


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(__file__))
    from run import print_table  # type: ignore[import-not-found]

    print_table(run())
