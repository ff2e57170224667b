"""On the Snowflake stand-in: every statement of a quality gate carries the task's JSON query tag and runs on
the ``warehouse=`` given; the statement count per run (one scan; the results history in one transaction)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators.quality_gate import QualityGateOperator
from airflow_provider_dataeng.quality import not_null, row_count_anomaly, unique
from tests.quality.conftest import NOW

pytestmark = pytest.mark.integration


@dataclass
class TaskInstance:
    dag_id: str = "tags"
    task_id: str = "gate"
    run_id: str = "manual__q"
    try_number: int = 1
    map_index: int = -1
    xcom: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def test_gate_statements_carry_the_tag_and_warehouse(snowflake_server: Any, local_stack: Any) -> None:
    since = local_stack.snowflake_query_history()[-1]["seq"]
    out = QualityGateOperator(
        task_id="gate", snowflake_conn_id="quality_snowflake", table="GOOD_ORDERS",
        checks=[unique("ID"), not_null("ID")], warehouse="DATAENG_TRANSFORM_WH", query_tag={"gate": "orders"},
    ).execute({"ti": TaskInstance(), "logical_date": NOW})
    history = local_stack.snowflake_query_history(since)
    assert out["statements"] == len(history) == 1  # one scan for both checks
    assert history[0]["warehouse"] == "DATAENG_TRANSFORM_WH"
    assert history[0]["query_tag"] == (
        '{"dag_id":"tags","task_id":"gate","run_id":"manual__q","try_number":1,"map_index":-1,"gate":"orders"}'
    )


def test_gate_with_a_results_history_writes_it_in_one_transaction(snowflake_server: Any, local_stack: Any) -> None:
    since = local_stack.snowflake_query_history()[-1]["seq"]
    out = QualityGateOperator(
        task_id="gate", snowflake_conn_id="quality_snowflake", table="GOOD_ORDERS",
        checks=[unique("ID"), row_count_anomaly(lookback=14, max_zscore=3.0)], results_table="QUALITY_RESULTS_TAGS",
    ).execute({"ti": TaskInstance(), "logical_date": NOW})
    sent = [r["query_text"].split()[0] for r in local_stack.snowflake_query_history(since)]
    # scan, create the results table if missing (and its DETAILS column), read the anomaly's history, then
    # BEGIN DELETE INSERT COMMIT
    assert sent == ["SELECT", "CREATE", "ALTER", "SELECT", "BEGIN", "DELETE", "INSERT", "COMMIT"]
    assert out["statements"] == 8 and out["queries"] == {"checks": 1, "history": 5}


def test_warehouse_on_a_non_snowflake_connection_is_refused(sqlite_db: Any) -> None:
    op = QualityGateOperator(task_id="gate", snowflake_conn_id="quality_sqlite", table="GOOD_ORDERS",
                             checks=[unique("ID")], warehouse="ELT_WH")
    with pytest.raises(AirflowFailException, match="apply to Snowflake connections only"):
        op.execute({"ti": TaskInstance(), "logical_date": NOW})
