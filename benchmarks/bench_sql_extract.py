"""PostgreSQL extract throughput and memory: SqlExtractOperator vs a careful psycopg loop, dlt's sql_database
and ConnectorX, side by side on one table.

The table (``BENCH_SQL_ROWS`` rows, default 1,000,000; 10 columns: bigint, integer, two texts, numeric(12,2),
timestamptz, boolean, double, date, a short text) lives in a PostgreSQL started for the run from the local
stack's service module (pgserver's binaries, else the system's). Each subject runs in its own subprocess and
reports its wall time (imports excluded), its peak RSS and its RSS after imports:

- ``SqlExtractOperator`` (``mode="full"``) to jsonl+zstd part files, with one and with two connections
  (``max_concurrency=2``: page ranges in one snapshot), and to Parquet;
- a careful loop: a server-side (named) cursor, ``fetchmany(10_000)``, orjson, NDJSON through zstd;
- dlt ``sql_database`` (``sql_table``, its default SQLAlchemy backend) to its filesystem destination (jsonl);
- ConnectorX ``read_sql`` into an Arrow table in memory: reading and nothing else, the practical ceiling.

The operator also runs on a tenth of the rows, to show its memory is flat in the row count.
Environment: ``BENCH_SQL_ROWS``, ``BENCH_SQL_SUBJECTS`` (comma-separated subset), ``BENCH_SQL_REPEATS``
(default 1; the best run is reported).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
USER, PASSWORD, DATABASE = "dataeng", "dataeng-local", "shop"
TABLE = "bench_rows"

SUBJECTS = ["operator_jsonl_zstd", "operator_jsonl_zstd_c2", "operator_parquet", "careful_psycopg_orjson",
            "dlt_sql_database", "connectorx_arrow"]
LABELS = {
    "operator_jsonl_zstd": "SqlExtractOperator jsonl+zstd",
    "operator_jsonl_zstd_c2": "SqlExtractOperator jsonl+zstd, max_concurrency=2",
    "operator_parquet": "SqlExtractOperator parquet (zstd)",
    "careful_psycopg_orjson": "careful loop (named cursor + orjson, NDJSON+zstd)",
    "dlt_sql_database": "dlt sql_database (SQLAlchemy backend) -> filesystem jsonl",
    "connectorx_arrow": "ConnectorX read_sql -> Arrow (memory only)",
}
CREATE = """
DROP TABLE IF EXISTS {name};
CREATE TABLE {name} AS
SELECT g::bigint AS id, (g * 7 % 100000)::int AS customer_id, 'customer name ' || g AS name,
       ((g % 100000) / 100.0)::numeric(12,2) AS amount,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' AS updated_at, (g % 2 = 0) AS flag,
       md5(g::text) AS code, g * 0.5::float8 AS score, date '2020-01-01' + (g % 1000) AS day,
       'status' || (g % 5) AS status
FROM generate_series(1, {rows}) AS g;
ALTER TABLE {name} ADD PRIMARY KEY (id);
VACUUM ANALYZE {name};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _url(port: int) -> str:
    return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}"


def start_postgres(port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "dataeng_local.postgres", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import psycopg

    deadline = time.monotonic() + 120
    while True:
        try:
            psycopg.connect(_url(port), connect_timeout=2).close()
            return proc
        except psycopg.OperationalError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.terminate()
                raise RuntimeError("PostgreSQL did not start for the benchmark") from None
            time.sleep(0.3)


def create_tables(port: int, rows: int) -> None:
    import psycopg

    with psycopg.connect(_url(port), autocommit=True) as conn:
        for name, count in ((TABLE, rows), (f"{TABLE}_tenth", rows // 10)):
            for statement in CREATE.format(name=name, rows=count).split(";"):
                if statement.strip():
                    conn.execute(statement)


# -- subjects (each runs in its own process) ----------------------------------------------------------
def _rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _folder_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


def run_subject(name: str, port: int, table: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    if name.startswith("operator_"):
        os.environ["AIRFLOW_CONN_BENCH_PG"] = json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": port, "schema": DATABASE, "login": USER,
            "password": PASSWORD})
        from types import SimpleNamespace

        import psycopg  # noqa: F401  (import cost outside the timed part, as for the other subjects)
        import zstandard  # noqa: F401
        from airflow.providers.postgres.hooks.postgres import PostgresHook  # noqa: F401

        import airflow_provider_dataeng.hooks.sql_source  # noqa: F401
        import airflow_provider_dataeng.sinks  # noqa: F401
        from airflow_provider_dataeng.operators.sql_extract import SqlExtractOperator

        parquet = name == "operator_parquet"
        if parquet:
            import pyarrow.json  # noqa: F401
        operator = SqlExtractOperator(
            task_id="bench", sql_conn_id="bench_pg", table=table, mode="full", destination=f"file://{out}/",
            aws_conn_id=None, part_format="parquet" if parquet else "jsonl", emit_assets=False,
            max_concurrency=2 if name.endswith("_c2") else 1,
        )
        after_imports = _current_rss_mb()
        started = time.perf_counter()
        manifest = operator.execute({"ti": SimpleNamespace(dag_id="bench", task_id="bench")})
        seconds = time.perf_counter() - started
        records = manifest["records"]
    elif name == "careful_psycopg_orjson":
        from decimal import Decimal

        import orjson
        import psycopg
        import zstandard

        def default(value: object) -> str:
            if isinstance(value, Decimal):
                return str(value)
            raise TypeError(type(value).__name__)

        after_imports = _current_rss_mb()
        started = time.perf_counter()
        records = 0
        with psycopg.connect(_url(port)) as conn, open(out / "rows.jsonl.zst", "wb") as raw, \
                zstandard.ZstdCompressor(level=1).stream_writer(raw) as sink, conn.cursor(name="bench") as cur:
            cur.execute(f"SELECT * FROM {table}")
            names = [d.name for d in cur.description or ()]
            while rows := cur.fetchmany(10_000):
                sink.write(b"".join(orjson.dumps(dict(zip(names, row)), default=default) + b"\n" for row in rows))
                records += len(rows)
        seconds = time.perf_counter() - started
    elif name == "dlt_sql_database":
        import dlt
        from dlt.sources.sql_database import sql_table

        os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
        after_imports = _current_rss_mb()
        started = time.perf_counter()
        pipeline = dlt.pipeline(pipeline_name="bench_sql", pipelines_dir=str(out / ".dlt"),
                                destination=dlt.destinations.filesystem(bucket_url=f"file://{out}/data"),
                                dataset_name="bench")
        info = pipeline.run(sql_table(credentials=_url(port), table=table), loader_file_format="jsonl")
        seconds = time.perf_counter() - started
        records = int(pipeline.last_trace.last_normalize_info.row_counts.get(table, 0))
        assert info.loads_ids
    elif name == "connectorx_arrow":
        import connectorx

        after_imports = _current_rss_mb()
        started = time.perf_counter()
        arrow = connectorx.read_sql(_url(port), f"SELECT * FROM {table}", return_type="arrow")
        seconds = time.perf_counter() - started
        records = arrow.num_rows
    else:
        raise ValueError(name)
    return {"seconds": seconds, "records": records, "peak_rss_mb": _rss_mb(),
            "rss_after_imports_mb": after_imports, "output_bytes": _folder_bytes(out)}


def _measure(subject: str, port: int, table: str, work: Path, repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        out = work / subject
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run([sys.executable, __file__, "--subject", subject, str(port), table, str(out)],
                              cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            raise RuntimeError(f"{subject} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
        shutil.rmtree(out, ignore_errors=True)
    assert best is not None
    return best


def _installed(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def run() -> list[dict]:
    total = int(os.environ.get("BENCH_SQL_ROWS", "1000000"))
    repeats = int(os.environ.get("BENCH_SQL_REPEATS", "1"))
    wanted = [s.strip() for s in os.environ.get("BENCH_SQL_SUBJECTS", ",".join(SUBJECTS)).split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="bench-sql-"))
    port = _free_port()
    rows: list[dict] = []
    results: dict[str, dict] = {}
    server = start_postgres(port)
    try:
        create_tables(port, total)
        for subject in wanted:
            needs = {"dlt_sql_database": "dlt", "connectorx_arrow": "connectorx"}.get(subject)
            if needs and not _installed(needs):
                rows.append({"benchmark": "sql extract", "subject": LABELS[subject], "metric": "skipped",
                             "value": "", "note": f"{needs} not installed (make bench installs the bench extra)"})
                continue
            print(f"  sql extract: {subject} ...", file=sys.stderr, flush=True)
            results[subject] = _measure(subject, port, TABLE, work, repeats)
        if "operator_jsonl_zstd" in wanted:
            results["operator_jsonl_zstd_tenth"] = _measure("operator_jsonl_zstd", port, f"{TABLE}_tenth", work, 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return rows + _rows(results, total)


def _rows(results: dict[str, dict], total: int) -> list[dict]:
    rows = []
    ours = results.get("operator_jsonl_zstd")
    for subject, r in results.items():
        if subject == "operator_jsonl_zstd_tenth":
            continue
        rate = r["records"] / r["seconds"]
        ratio = ""
        if ours and subject != "operator_jsonl_zstd":
            ratio = f"ours (1 connection) is {ours['records'] / ours['seconds'] / rate:.2f}x its rate"
        label = LABELS[subject]
        rows.append({"benchmark": "sql extract", "subject": label, "metric": "rows/s", "value": f"{rate:,.0f}",
                     "ratio": ratio, "note": f"{r['records']:,} rows x 10 columns in {r['seconds']:.2f}s"})
        rows.append({"benchmark": "sql extract", "subject": label, "metric": "peak RSS MB",
                     "value": f"{r['peak_rss_mb']:.0f}",
                     "note": f"{r['peak_rss_mb'] - r['rss_after_imports_mb']:.0f} MB above the process after imports "
                             f"({r['rss_after_imports_mb']:.0f} MB)"})
        if r["output_bytes"]:
            rows.append({"benchmark": "sql extract", "subject": label, "metric": "output MB",
                         "value": f"{r['output_bytes'] / 1e6:.1f}"})
    tenth = results.get("operator_jsonl_zstd_tenth")
    if tenth and ours:
        rows.append({"benchmark": "sql extract", "subject": LABELS["operator_jsonl_zstd"],
                     "metric": "peak RSS MB at 1/10", "value": f"{tenth['peak_rss_mb']:.0f}",
                     "note": f"{tenth['records']:,} rows vs {ours['records']:,}: {ours['peak_rss_mb']:.0f} MB "
                             "(flat = memory does not grow with rows)"})
    if total < 1_000_000:
        for row in rows:
            row["note"] = (row.get("note", "") + f" [quick run: {total:,} rows]").strip()
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--subject":
        print(json.dumps(run_subject(sys.argv[2], int(sys.argv[3]), sys.argv[4], Path(sys.argv[5]))))
    else:
        for row in run():
            print(row)
