"""`make bench`: run every benchmarks/bench_*.py and print one table of figures.

Each module exposes ``run() -> list[dict]``; every dict is one row with at least ``benchmark``, ``subject``
and ``metric``/``value`` columns (plus optional ``ratio`` against the peer named in the row).
Results are also written to benchmarks/results/latest.json.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    assert spec and spec.loader
    spec.loader.exec_module(module)
    return module


def print_table(rows: list[dict]) -> None:
    columns = ["benchmark", "subject", "metric", "value", "ratio", "note"]
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("-+-".join("-" * w for w in widths))
    for row in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)))


def isolate_airflow() -> None:
    """Benchmarks that touch Airflow get a throwaway home, never the user's ~/airflow."""
    if "AIRFLOW_HOME" not in os.environ:
        home = tempfile.mkdtemp(prefix="dataeng-bench-airflow-")
        os.environ["AIRFLOW_HOME"] = home
        os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home}/airflow.db")
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")


def main(argv: list[str]) -> int:
    isolate_airflow()
    selected = set(argv)
    rows: list[dict] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if selected and path.stem not in selected:
            continue
        started = time.monotonic()
        print(f"running {path.stem} ...", file=sys.stderr, flush=True)
        rows.extend(load(path).run())
        print(f"  {path.stem} took {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(rows, indent=2))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
