"""Pure reading of dbt's ``run_results.json`` / ``sources.json`` into the operator's summary (no I/O).

dbt statuses: models ``success``/``error``/``skipped``, tests ``pass``/``fail``/``warn``/``error``, source
freshness ``pass``/``warn``/``error``/``runtime error``. A node fails the run when its status is one of
``FAILED_STATUSES``; ``warn`` succeeds unless the caller treats warnings as failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataeng.dbt.manifest import Manifest

FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
WARN_STATUS = "warn"
_MESSAGE_WIDTH = 80


@dataclass(frozen=True)
class NodeResult:
    """One executed dbt node, as the operator returns it."""

    unique_id: str
    status: str
    execution_time: float
    rows_affected: int | None
    message: str | None
    failures: int | None = None
    compiled_path: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "unique_id": self.unique_id,
            "status": self.status,
            "execution_time": self.execution_time,
            "rows_affected": self.rows_affected,
            "message": self.message,
        }

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @property
    def warned(self) -> bool:
        return self.status == WARN_STATUS


@dataclass(frozen=True)
class RunSummary:
    """What one dbt invocation did."""

    elapsed: float
    nodes: list[NodeResult]

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.failed]

    @property
    def warned(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.warned]

    def as_dict(self, success: bool) -> dict[str, Any]:
        """The operator's return value (JSON-able, small)."""
        return {
            "success": success,
            "elapsed": round(self.elapsed, 3),
            "nodes": [n.summary() for n in self.nodes],
        }


def parse_run_results(
    run_results: Mapping[str, Any], manifest: Manifest | Mapping[str, Any] | None = None
) -> RunSummary:
    """Summarise ``run_results.json`` (or ``sources.json``); ``manifest`` adds compiled SQL paths."""
    parsed = Manifest.of(manifest)
    nodes = []
    for result in run_results.get("results", []):
        unique_id = str(result["unique_id"])
        adapter_response = result.get("adapter_response") or {}
        rows = adapter_response.get("rows_affected")
        message = result.get("message")
        if message is None and result.get("error"):  # sources.json puts runtime errors here
            message = result["error"]
        node = parsed.get(unique_id) if parsed is not None else None
        nodes.append(
            NodeResult(
                unique_id=unique_id,
                status=str(result.get("status", "")).lower(),
                execution_time=round(float(result.get("execution_time") or 0.0), 3),
                rows_affected=int(rows) if isinstance(rows, int | float) and rows >= 0 else None,
                message=str(message) if message is not None else None,
                failures=result.get("failures"),
                compiled_path=node.compiled_path if node is not None else None,
            )
        )
    elapsed = float(run_results.get("elapsed_time") or sum(n.execution_time for n in nodes))
    return RunSummary(elapsed=elapsed, nodes=nodes)


def format_table(summary: RunSummary) -> str:
    """A fixed-width table of nodes for the task log."""
    header = ("status", "time_s", "rows", "node", "message")
    rows = [
        (
            n.status,
            f"{n.execution_time:.2f}",
            "" if n.rows_affected is None else str(n.rows_affected),
            n.unique_id,
            _one_line(n.message),
        )
        for n in summary.nodes
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe_problems(
    nodes: list[NodeResult], target_path: str | None = None, shown_as: str | None = None
) -> str:
    """One line per failed/warned node: id, status, message and the compiled SQL to look at.

    Compiled paths under ``target_path`` (or dbt's relative ``target/``) are shown under ``shown_as``
    (e.g. where the artifacts were copied) when given, else under ``target_path``.
    """
    lines = []
    for n in nodes:
        line = f"- {n.unique_id} [{n.status}]: {_one_line(n.message, width=500)}"
        if n.compiled_path:
            line += f" (compiled SQL: {_compiled_location(n.compiled_path, target_path, shown_as)})"
        lines.append(line)
    return "\n".join(lines)


def _compiled_location(compiled_path: str, target_path: str | None, shown_as: str | None) -> str:
    if not target_path:
        return compiled_path
    for prefix in (target_path.rstrip("/") + "/", "target/"):
        if compiled_path.startswith(prefix):
            return f"{(shown_as or target_path).rstrip('/')}/{compiled_path[len(prefix) :]}"
    return compiled_path


def _one_line(message: str | None, width: int = _MESSAGE_WIDTH) -> str:
    if not message:
        return ""
    text = " ".join(message.split())
    return text if len(text) <= width else text[: width - 3] + "..."
