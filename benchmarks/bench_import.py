"""Parse-time cost: importing our package vs the stock Snowflake provider hook, in fresh interpreters."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

REPEATS = 5


def _time_import(statement: str) -> float:
    samples = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run() -> list[dict]:
    baseline = _time_import("pass")
    ours = _time_import("import airflow_provider_dataeng") - baseline
    peer = _time_import("import airflow.providers.snowflake.hooks.snowflake") - baseline
    return [
        {"benchmark": "import", "subject": "import airflow_provider_dataeng", "metric": "seconds",
         "value": f"{ours:.3f}", "ratio": f"{peer / max(ours, 1e-4):.0f}x cheaper than peer"},
        {"benchmark": "import", "subject": "import snowflake provider hook (peer)", "metric": "seconds",
         "value": f"{peer:.3f}"},
    ]
