"""REST extract throughput and memory: RestApiExtractOperator vs a naive loop, a careful loop and dlt.

Source: the demo API's ``/v1/bulk`` records (about 500 bytes each). The demo API generates records on the fly
(about 40k records/s here), which would measure the server, so this benchmark fetches ``POOL_PAGES`` pages of
1,000 records from it once and serves them pre-serialized from a stdlib HTTP server in its own process
(cursor pagination, keep-alive; page k is pool page k mod POOL_PAGES with its own cursor). If the demo API
cannot start, synthetic records of the same size are used (the row notes say which).

Each subject runs in its own subprocess and reports its wall time for the extract (imports excluded), its
peak RSS (``ru_maxrss`` of itself and its children) and the RSS after its imports, so the memory the extract
itself needs shows separately from the interpreter and libraries (an Airflow process starts at ~120 MB).

The ``paged_*`` and ``limited_*`` subjects run on the demo API itself instead, with its ``latency`` and
``rate_limit`` knobs: 1,000 pages of 100 records at 100 ms each (one page at a time, ``max_concurrency=8``,
dlt's rest_api), and 600 pages against a server admitting 20 requests/s (see ``run_paged``).

Environment: ``BENCH_EXTRACT_RECORDS`` (default 1,000,000), ``BENCH_EXTRACT_SUBJECTS`` (comma-separated subset),
``BENCH_EXTRACT_REPEATS`` (default 1; the best run is reported), ``BENCH_EXTRACT_DLT_PYTHON`` (an interpreter
that has dlt, when it is not installed in this environment).
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
PAGE_SIZE = 1000
POOL_PAGES = 50
TOKEN = "bench-token"

SUBJECTS = ["operator_jsonl_zstd", "operator_parquet", "naive_requests", "careful_requests_orjson", "dlt_rest_api"]
LABELS = {
    "operator_jsonl_zstd": "RestApiExtractOperator jsonl+zstd",
    "operator_parquet": "RestApiExtractOperator parquet (zstd)",
    "naive_requests": "naive loop (requests + json, all pages in a list, one JSON file)",
    "careful_requests_orjson": "careful loop (requests.Session + orjson, NDJSON per page)",
    "dlt_rest_api": "dlt rest_api -> filesystem (jsonl)",
}


# -- the pre-serialized page server (runs in its own process) -----------------------------------------
def serve(port: int, pool_file: str, total: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    pool = [[json.dumps(r, separators=(",", ":")).encode() for r in json.loads(line)]
            for line in Path(pool_file).read_text().splitlines()]  # one page of records per line
    heads = [b'{"data":[' + b",".join(page) for page in pool]
    pages = -(-total // PAGE_SIZE)
    last = total - (pages - 1) * PAGE_SIZE
    last_head = b'{"data":[' + b",".join(pool[(pages - 1) % len(pool)][:last])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            query = parse_qs(urlsplit(self.path).query)
            number = int(query.get("cursor", ["0"])[0])
            head = last_head if number == pages - 1 else heads[number % len(heads)]
            more = number + 1 < pages
            tail = b'],"has_more":true,"next_cursor":"%d"}' % (number + 1) if more else b'],"has_more":false,"next_cursor":null}'
            body = head + tail
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def build_pool(path: Path) -> str:
    """Write POOL_PAGES pages of demo-API bulk records (a JSON list a line); return where they came from."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dataeng_local.demo_api", "--host", "127.0.0.1", "--port", str(port),
         "--token", TOKEN], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        import urllib.request

        _wait_port(port)
        lines, cursor = [], None
        for _ in range(POOL_PAGES):
            url = f"http://127.0.0.1:{port}/v1/bulk?records={PAGE_SIZE * POOL_PAGES}&limit={PAGE_SIZE}"
            request = urllib.request.Request(url + (f"&cursor={cursor}" if cursor else ""),
                                             headers={"Authorization": f"Bearer {TOKEN}"})
            page = json.loads(urllib.request.urlopen(request, timeout=60).read())
            lines.append(json.dumps(page["data"], separators=(",", ":")))
            cursor = page.get("next_cursor")
        path.write_text("\n".join(lines))
        return "demo API /v1/bulk records, served pre-serialized"
    except Exception as exc:  # the demo API is another package's: fall back rather than fail the run
        print(f"demo API unavailable ({exc}); using synthetic records", file=sys.stderr)
        import random

        rng = random.Random(7)
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"]
        lines = []
        for p in range(POOL_PAGES):
            recs = []
            for i in range(PAGE_SIZE):
                n = p * PAGE_SIZE + i
                recs.append(json.dumps({
                    "id": n, "uuid": f"{rng.getrandbits(128):032x}", "email": f"user.{n}@example.org",
                    "created_at": "2023-10-23T01:22:26Z", "updated_at": "2024-01-01T00:00:01Z",
                    "name": f"{rng.choice(words).title()} {rng.choice(words).title()}", "country": "PL",
                    "status": rng.choice(["active", "churned", "trial"]), "amount": f"{rng.random() * 500:.2f}",
                    "currency": "PLN", "tags": rng.sample(words, 3), "score": round(rng.random() * 100, 1),
                    "notes": " ".join(rng.choice(words) for _ in range(rng.randint(30, 45))),
                }, separators=(",", ":")))
            lines.append("[" + ",".join(recs) + "]")
        path.write_text("\n".join(lines))
        return "synthetic records (demo API unavailable), served pre-serialized"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- subjects (each runs in its own process) ----------------------------------------------------------
def _rss_mb() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def _current_rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def run_subject(name: str, port: int, out: Path) -> dict:
    base = f"http://127.0.0.1:{port}"
    out.mkdir(parents=True, exist_ok=True)
    if name.startswith("operator_"):
        os.environ["AIRFLOW_CONN_BENCH_API"] = json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": TOKEN,
             "extra": {"auth_type": "bearer"}})
        from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
        from airflow_provider_dataeng.pagination import CursorPaginator

        parquet = name == "operator_parquet"
        if parquet:
            import pyarrow.json  # noqa: F401  (import cost outside the timed part, as for the other subjects)
        import requests  # noqa: F401
        import zstandard  # noqa: F401

        import airflow_provider_dataeng.hooks.rest_api  # noqa: F401
        import airflow_provider_dataeng.sinks  # noqa: F401

        operator = RestApiExtractOperator(
            task_id="bench", http_conn_id="bench_api", endpoint="/bulk", records_path="data",
            paginator=CursorPaginator(cursor_path="next_cursor", has_more_path="has_more"),
            destination=f"file://{out}/", aws_conn_id=None, part_format="parquet" if parquet else "jsonl",
            compression="zstd",
        )
        after_imports = _current_rss_mb()
        started = time.perf_counter()
        manifest = operator.execute({})
        seconds = time.perf_counter() - started
        records = manifest["records"]
    elif name == "naive_requests":
        import requests

        after_imports = _current_rss_mb()
        started = time.perf_counter()
        rows, cursor = [], None
        while True:
            params = {"cursor": cursor} if cursor else {}
            body = requests.get(f"{base}/bulk", params=params, headers={"Authorization": f"Bearer {TOKEN}"}).json()
            rows.extend(body["data"])
            cursor = body.get("next_cursor")
            if not body.get("has_more"):
                break
        with open(out / "records.json", "w") as f:
            json.dump(rows, f)
        seconds = time.perf_counter() - started
        records = len(rows)
    elif name == "careful_requests_orjson":
        import orjson
        import requests

        after_imports = _current_rss_mb()
        started = time.perf_counter()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        records, cursor = 0, None
        with open(out / "records.jsonl", "wb") as f:
            while True:
                body = orjson.loads(session.get(f"{base}/bulk", params={"cursor": cursor} if cursor else None).content)
                data = body["data"]
                f.write(b"".join(orjson.dumps(r) + b"\n" for r in data))
                records += len(data)
                cursor = body.get("next_cursor")
                if not body.get("has_more"):
                    break
        seconds = time.perf_counter() - started
    elif name == "dlt_rest_api":
        paginator = {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor"}
        seconds, records, after_imports = _run_dlt(out, "bench_extract", base, paginator, {})
    elif name in PAGED_SUBJECTS:
        return run_paged_subject(name, port, out)
    else:
        raise ValueError(f"unknown subject {name!r}")
    data_files = [p for p in out.rglob("*") if p.is_file() and "_dlt" not in str(p) and "_pipelines" not in str(p)
                  and not p.name.startswith("_manifest") and p.name != "init"]
    return {"seconds": seconds, "records": records, "peak_rss_mb": _rss_mb(), "rss_after_imports_mb": after_imports,
            "output_bytes": sum(p.stat().st_size for p in data_files)}


# -- latency-bound and rate-limited APIs (the demo API's latency and rate_limit knobs) --------------------
PAGED_SUBJECTS = {
    "paged_operator_sequential": "RestApiExtractOperator, one page at a time",
    "paged_operator_concurrency_8": "RestApiExtractOperator max_concurrency=8",
    "paged_dlt_rest_api": "dlt rest_api (page_number paginator) -> filesystem (jsonl)",
    "limited_operator_concurrency_8_rps": "RestApiExtractOperator max_concurrency=8, max_requests_per_second=20",
    "limited_operator_concurrency_8": "RestApiExtractOperator max_concurrency=8, no client-side rate",
}
PAGED_RECORDS = 100  # per page


def _paged_query() -> dict[str, str]:
    """The demo API's page-number endpoint as the scenario wants it (from the driver's environment)."""
    pages = int(os.environ["BENCH_PAGED_PAGES"])
    query = {"paginate": "page", "per_page": str(PAGED_RECORDS), "records": str(pages * PAGED_RECORDS),
             "latency": os.environ["BENCH_PAGED_LATENCY"]}
    if os.environ.get("BENCH_PAGED_RATE_LIMIT"):
        query.update(rate_limit=os.environ["BENCH_PAGED_RATE_LIMIT"], rate_limit_key=os.environ["BENCH_PAGED_KEY"])
    return query


def _run_dlt(out: Path, pipeline_name: str, base: str, paginator: dict, params: dict) -> tuple[float, int, float]:
    """dlt's rest_api source on ``base``/bulk into jsonl files under ``out``: (seconds, records, RSS after
    imports). Records count the top-level table only (dlt writes list fields such as ``tags`` to a child
    table)."""
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    os.environ["DLT_DATA_DIR"] = str(out / "_dlt_data")
    os.environ["DLT_PROJECT_DIR"] = str(out / "_dlt_project")
    import dlt
    from dlt.sources.rest_api import rest_api_source

    endpoint = {"path": "bulk", "data_selector": "data", **({"params": params} if params else {})}
    source = rest_api_source({
        "client": {"base_url": base, "auth": {"type": "bearer", "token": TOKEN}, "paginator": paginator},
        "resources": [{"name": "bulk", "endpoint": endpoint}],
    })
    pipeline = dlt.pipeline(
        pipeline_name=pipeline_name, pipelines_dir=str(out / "_pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=f"file://{out}/dlt"), dataset_name="bench",
    )
    after_imports = _current_rss_mb()
    started = time.perf_counter()
    pipeline.run(source, loader_file_format="jsonl")
    seconds = time.perf_counter() - started
    return seconds, pipeline.last_trace.last_normalize_info.row_counts["bulk"], after_imports


def run_paged_subject(name: str, port: int, out: Path) -> dict:
    base = f"http://127.0.0.1:{port}/v1"
    query = _paged_query()
    if "operator" in name:
        extra: dict = {"auth_type": "bearer"}
        if name.endswith("_rps"):
            extra["max_requests_per_second"] = int(query["rate_limit"])
        os.environ["AIRFLOW_CONN_BENCH_API"] = json.dumps(
            {"conn_type": "http", "host": "127.0.0.1", "port": port, "schema": "http", "password": TOKEN,
             "extra": extra})
        import requests  # noqa: F401
        import zstandard  # noqa: F401

        import airflow_provider_dataeng.hooks.rest_api  # noqa: F401
        import airflow_provider_dataeng.sinks  # noqa: F401
        from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
        from airflow_provider_dataeng.pagination import PageNumberPaginator

        operator = RestApiExtractOperator(
            task_id="bench", http_conn_id="bench_api", endpoint="/v1/bulk", records_path="data", query_params=query,
            paginator=PageNumberPaginator(page_size=PAGED_RECORDS, page_size_param="per_page",
                                          total_pages_path="total_pages"),
            destination=f"file://{out}/", aws_conn_id=None, max_concurrency=1 if "sequential" in name else 8,
        )
        after_imports = _current_rss_mb()
        started = time.perf_counter()
        records = operator.execute({})["records"]
        seconds = time.perf_counter() - started
    else:
        paginator = {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "total_pages"}
        seconds, records, after_imports = _run_dlt(out, "bench_paged", base, paginator, query)
    return {"seconds": seconds, "records": records, "peak_rss_mb": _rss_mb(), "rss_after_imports_mb": after_imports,
            "output_bytes": 0}


def _server_log(port: int) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/requests", timeout=60) as answer:
        return json.loads(answer.read())["requests"]


def run_paged(work: Path, wanted: list[str]) -> list[dict]:
    """Two scenarios on the demo API: ``latency`` (every page answered after BENCH_EXTRACT_LATENCY seconds,
    default 0.1, BENCH_EXTRACT_LATENCY_PAGES pages, default 1,000, of 100 records) and ``rate limit`` (the
    server admits BENCH_EXTRACT_RATE_LIMIT requests per second, default 20, over BENCH_EXTRACT_RATE_PAGES
    pages, default 600). The server's request log gives the 429s and the admitted rate."""
    import uuid

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "dataeng_local.demo_api", "--host", "127.0.0.1", "--port", str(port), "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    latency = os.environ.get("BENCH_EXTRACT_LATENCY", "0.1")
    limit = int(os.environ.get("BENCH_EXTRACT_RATE_LIMIT", "20"))
    results: dict[str, dict] = {}
    try:
        _wait_port(port)
        for subject in [s for s in PAGED_SUBJECTS if s in wanted]:
            if "dlt" in subject and not _dlt_available():
                continue
            limited = subject.startswith("limited_")
            pages = int(os.environ.get("BENCH_EXTRACT_RATE_PAGES" if limited else "BENCH_EXTRACT_LATENCY_PAGES",
                                       "600" if limited else "1000"))
            os.environ.update(BENCH_PAGED_PAGES=str(pages), BENCH_PAGED_LATENCY=latency if not limited else "0.05",
                              BENCH_PAGED_RATE_LIMIT=str(limit) if limited else "", BENCH_PAGED_KEY=uuid.uuid4().hex)
            import urllib.request

            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/admin/requests/reset",
                                                          method="POST"), timeout=60).read()
            print(f"  extract: {subject} ({pages} pages) ...", file=sys.stderr, flush=True)
            result = _measure(subject, port, work, 1)
            log = _server_log(port)
            admitted = [r["at"] for r in log if not r["rate_limited"]]
            refused = [r["at"] for r in log if r["rate_limited"]]
            start = min(admitted)
            result.update(pages=pages, requests=len(log), refused=len(refused),
                          refused_after_2s=sum(1 for at in refused if at > start + 2.0),
                          admitted_per_second=(len(admitted) - 1) / max(max(admitted) - start, 1e-9))
            results[subject] = result
    finally:
        server.terminate()
        server.wait()
    rows = []
    sequential = results.get("paged_operator_sequential")
    for subject, r in results.items():
        label = PAGED_SUBJECTS[subject]
        if subject.startswith("paged_"):
            ratio = ""
            if subject == "paged_operator_concurrency_8":
                ratios = [f"{other['seconds'] / r['seconds']:.1f}x {name}"
                          for name, other in (("sequential", sequential),
                                              ("dlt", results.get("paged_dlt_rest_api"))) if other]
                ratio = "ours is " + ", ".join(ratios) if ratios else ""
            rows.append({"benchmark": "extract latency", "subject": label, "metric": "pages/s",
                         "value": f"{r['pages'] / r['seconds']:.1f}", "ratio": ratio,
                         "note": f"{r['pages']:,} pages x {PAGED_RECORDS} records ({r['records']:,}) at {latency}s "
                                 f"per page in {r['seconds']:.1f}s; {r['requests']} requests"})
        else:
            rows.append({"benchmark": "extract rate limit", "subject": label, "metric": "admitted requests/s",
                         "value": f"{r['admitted_per_second']:.1f}",
                         "ratio": f"{r['admitted_per_second'] / limit:.0%} of the server's {limit}/s",
                         "note": f"{r['refused']} answered 429 ({r['refused_after_2s']} after the first 2 s); "
                                 f"{r['pages']:,} pages in {r['seconds']:.1f}s"})
        rows.append({"benchmark": rows[-1]["benchmark"], "subject": label, "metric": "peak RSS MB",
                     "value": f"{r['peak_rss_mb']:.0f}",
                     "note": f"{r['peak_rss_mb'] - r['rss_after_imports_mb']:.0f} MB above the process after imports"})
    return rows


# -- driver -------------------------------------------------------------------------------------------
def _python_for(subject: str) -> str:
    """dlt may live in another environment (``BENCH_EXTRACT_DLT_PYTHON``); ``make bench`` installs it here."""
    if "dlt" in subject:
        return os.environ.get("BENCH_EXTRACT_DLT_PYTHON") or sys.executable
    return sys.executable


def _dlt_available() -> bool:
    probe = subprocess.run([_python_for("dlt_rest_api"), "-c", "import dlt"], capture_output=True)
    return probe.returncode == 0


def _measure(subject: str, port: int, work: Path, repeats: int) -> dict:
    best = None
    for _ in range(repeats):
        out = work / subject
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run([_python_for(subject), __file__, "--subject", subject, str(port), str(out)], cwd=ROOT,
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            raise RuntimeError(f"{subject} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
        shutil.rmtree(out, ignore_errors=True)
    assert best is not None
    return best


def run() -> list[dict]:
    total = int(os.environ.get("BENCH_EXTRACT_RECORDS", "1000000"))
    repeats = int(os.environ.get("BENCH_EXTRACT_REPEATS", "1"))
    every = ",".join([*SUBJECTS, *PAGED_SUBJECTS])
    wanted = [s.strip() for s in os.environ.get("BENCH_EXTRACT_SUBJECTS", every).split(",") if s.strip()]
    work = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    rows: list[dict] = []
    try:
        if any(s in PAGED_SUBJECTS for s in wanted):
            rows.extend(run_paged(work, wanted))
        wanted = [s for s in wanted if s in SUBJECTS]
        if not wanted:
            return rows
        source = build_pool(work / "pool.txt")
        port = _free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(work / "pool.txt"), str(total)])
        try:
            _wait_port(port)
            results: dict[str, dict] = {}
            for subject in wanted:
                if subject == "dlt_rest_api" and not _dlt_available():
                    rows.append({"benchmark": "extract", "subject": LABELS[subject], "metric": "skipped",
                                 "value": "", "note": "dlt not installed (make bench installs the bench extra)"})
                    continue
                print(f"  extract: {subject} ...", file=sys.stderr, flush=True)
                results[subject] = _measure(subject, port, work, repeats)
            if "operator_jsonl_zstd" in wanted and total >= 500_000:
                # memory must stay flat with the record count: the same run at one fifth of the records
                server.terminate()
                server.wait()
                port = _free_port()
                server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(work / "pool.txt"),
                                           str(total // 5)])
                _wait_port(port)
                small = _measure("operator_jsonl_zstd", port, work, 1)
                results["operator_jsonl_zstd_small"] = small
        finally:
            server.terminate()
            server.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows.extend(_rows(results, total, source))
    return rows


def _rows(results: dict[str, dict], total: int, source: str) -> list[dict]:
    rows = []
    ours = results.get("operator_jsonl_zstd")
    for subject, r in results.items():
        if subject == "operator_jsonl_zstd_small":
            continue
        rate = r["records"] / r["seconds"]
        ratio = ""
        if ours and subject != "operator_jsonl_zstd":
            ratio = f"ours jsonl+zstd is {ours['records'] / ours['seconds'] / rate:.1f}x faster"
        label = LABELS[subject]
        note = f"{r['records']:,} records in {r['seconds']:.1f}s; {source}"
        rows.append({"benchmark": "extract", "subject": label, "metric": "records/s", "value": f"{rate:,.0f}",
                     "ratio": ratio, "note": note})
        rows.append({"benchmark": "extract", "subject": label, "metric": "peak RSS MB",
                     "value": f"{r['peak_rss_mb']:.0f}",
                     "note": f"{r['peak_rss_mb'] - r['rss_after_imports_mb']:.0f} MB above the process after imports "
                             f"({r['rss_after_imports_mb']:.0f} MB)"})
        rows.append({"benchmark": "extract", "subject": label, "metric": "output MB",
                     "value": f"{r['output_bytes'] / 1e6:.1f}"})
    small = results.get("operator_jsonl_zstd_small")
    if small and ours:
        rows.append({"benchmark": "extract", "subject": LABELS["operator_jsonl_zstd"], "metric": "peak RSS MB at 1/5",
                     "value": f"{small['peak_rss_mb']:.0f}",
                     "note": f"{small['records']:,} records vs {ours['records']:,}: {ours['peak_rss_mb']:.0f} MB "
                             "(flat = memory does not grow with records)"})
    if total < 1_000_000:
        for row in rows:
            row["note"] = (row.get("note", "") + f" [quick run: {total:,} records]").strip()
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--subject":
        print(json.dumps(run_subject(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))))
    else:
        for row in run():
            print(row)
