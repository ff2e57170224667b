"""Turn observed values into check results: status, threshold text, notes; and a readable table.

A result's shape stays close to common-sql's ``SQLCheckResult`` (``name``, ``check_type``, ``success``,
``severity``, ``column``, ``table``, ``expected``, ``actual``, ``content``, ``description``) and adds
``columns``, ``observed`` (the JSON value), ``threshold``, ``status`` (``pass``/``warn``/``fail``),
``note``, ``failing_rows`` and ``details`` (what the verdict was measured against, as numbers: an anomaly's
mean, standard deviation and band, a freshness check's limits), kept in the results table for the
data-health page.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from airflow_provider_dataeng.quality.anomaly import judge
from airflow_provider_dataeng.quality.checks import (
    Check,
    CustomSql,
    Freshness,
    RowCount,
    RowCountAnomaly,
)
from airflow_provider_dataeng.quality.dialects import to_utc


@dataclass
class CheckResult:
    name: str
    check_type: str
    table: str
    columns: list[str]
    severity: str
    status: str
    observed: Any
    threshold: str
    description: str = ""
    note: str = ""
    content: str | None = None
    failing_rows: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        """The result as the gate returns it (XCom); ``details`` stays in the results table."""
        data = asdict(self)
        del data["details"]
        data.update(
            success=self.success,
            column=self.columns[0] if len(self.columns) == 1 else None,
            expected=self.threshold,
            actual=None if self.observed is None else str(self.observed),
        )
        return data


def jsonable(value: Any) -> Any:
    """Database values as JSON values (Decimal -> int/float, timestamps -> ISO text)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def as_number(value: Any) -> float | None:
    """A JSON number as a float; ``None`` for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _count(value: Any) -> int:
    return 0 if value is None else int(value)


def _failed_status(check: Check) -> str:
    return "fail" if check.severity == "error" else "warn"


def _seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def evaluate(
    check: Check,
    observed: Any,
    *,
    table: str,
    now: datetime,
    content: str | None = None,
    history: Sequence[float] | None = None,
) -> CheckResult:
    """The result of one check given its observed value (and, for anomalies, past counts newest first)."""
    result = CheckResult(
        name=check.name,
        check_type=check.kind,
        table=table,
        columns=list(check.columns),
        severity=check.severity,
        status="pass",
        observed=None,
        threshold="",
        description=check.describe(),
        content=content,
    )
    if isinstance(check, Freshness):
        _freshness(check, observed, now, result)
    elif isinstance(check, RowCount):
        count = result.observed = _count(observed)
        result.threshold = _limits((">= {}", check.min), ("<= {}", check.max))
        low_ok = check.min is None or count >= check.min
        high_ok = check.max is None or count <= check.max
        result.status = "pass" if low_ok and high_ok else _failed_status(check)
    elif isinstance(check, RowCountAnomaly):
        count = result.observed = _count(observed)
        result.threshold = _limits(
            ("|z-score| <= {:g}", check.max_zscore), ("|change| <= {:g}%", check.max_pct_change)
        )
        verdict = judge(
            count,
            list(history or []),
            max_zscore=check.max_zscore,
            max_pct_change=check.max_pct_change,
            min_history=check.min_history,
        )
        result.note = verdict.note
        result.status = "pass" if verdict.passed else _failed_status(check)
        result.details = _band(verdict, check)
    elif isinstance(check, CustomSql):
        result.observed = jsonable(observed)
        result.threshold = f"= {check.expect!r}"
        result.status = "pass" if _equal(observed, check.expect) else _failed_status(check)
    else:  # counts of offending rows: unique, not_null, accepted_values, expression, relationships
        result.observed = _count(observed)
        result.threshold = "= 0"
        result.status = "pass" if result.observed == 0 else _failed_status(check)
    return result


def _band(verdict: Any, check: RowCountAnomaly) -> dict[str, Any]:
    """An anomaly verdict's numbers: history size, mean and standard deviation, z-score, change, and the band
    ``mean +- max_zscore * stdev`` the count had to stay in (when the check has a z-score limit)."""
    details: dict[str, Any] = {
        "history": verdict.history_size,
        "min_history": check.min_history,
        "max_zscore": check.max_zscore,
        "max_pct_change": check.max_pct_change,
    }
    if verdict.mean is None or verdict.stdev is None:
        return details
    details.update(
        mean=verdict.mean, stdev=verdict.stdev, zscore=verdict.zscore, pct_change=verdict.pct_change
    )
    if check.max_zscore is not None:
        details.update(
            lower=verdict.mean - check.max_zscore * verdict.stdev,
            upper=verdict.mean + check.max_zscore * verdict.stdev,
        )
    return {k: jsonable(v) for k, v in details.items()}


def _limits(*limits: tuple[str, Any]) -> str:
    """The threshold text: each template filled with its limit, for the limits that are set."""
    return " and ".join(template.format(limit) for template, limit in limits if limit is not None)


def _equal(observed: Any, expect: Any) -> bool:
    if isinstance(expect, (int, float)) and isinstance(observed, (int, float, Decimal)):
        return float(observed) == float(expect)
    return str(jsonable(observed)) == str(expect)


def _freshness(check: Freshness, observed: Any, now: datetime, result: CheckResult) -> None:
    limits = []
    if check.warn_after is not None:
        limits.append(f"warn > {_seconds(check.warn_after)}")
    if check.error_after is not None:
        limits.append(f"{check.severity} > {_seconds(check.error_after)}")
    result.threshold = "age " + ", ".join(limits)
    result.details = {"warn_after": check.warn_after, "error_after": check.error_after}
    newest = to_utc(observed)
    if newest is None:
        result.status = _failed_status(check)
        result.note = f"no rows with a {check.column}: nothing is fresh"
        return
    age = round((now - newest).total_seconds(), 3)
    result.observed = age
    result.details["newest"] = newest.isoformat()
    result.note = f"newest {check.column} = {newest.isoformat()}"
    if age < 0:
        result.note += " (in the future)"
    if check.error_after is not None and age > check.error_after:
        result.status = _failed_status(check)
    elif check.warn_after is not None and age > check.warn_after:
        result.status = "warn"


def summarize(results: Sequence[CheckResult]) -> dict[str, int]:
    return {
        "checks": len(results),
        "passed": sum(r.status == "pass" for r in results),
        "warned": sum(r.status == "warn" for r in results),
        "failed": sum(r.status == "fail" for r in results),
    }


def format_table(results: Sequence[CheckResult]) -> str:
    """A plain-text table of results (for logs and the failure message)."""
    header = ("status", "check", "columns", "observed", "threshold", "note")
    rows = [
        (
            r.status.upper(),
            r.name,
            ",".join(r.columns) or "-",
            str(jsonable(r.observed)),
            r.threshold,
            r.note + (f" e.g. {r.failing_rows[:3]}" if r.failing_rows else ""),
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
    widths[-1] = len(header[-1])  # the note column is not padded
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)
