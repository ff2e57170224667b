"""run_results.json / sources.json parsing and the task-log table (pure)."""

from __future__ import annotations

from airflow_provider_dataeng.dbt.results import describe_problems, format_table, parse_run_results

RUN_RESULTS = {
    "elapsed_time": 2.5,
    "results": [
        {
            "unique_id": "model.p.stg_orders",
            "status": "success",
            "execution_time": 0.1234,
            "adapter_response": {"_message": "SUCCESS 3", "rows_affected": 3},
            "message": "SUCCESS 3",
            "failures": None,
        },
        {
            "unique_id": "test.p.unique_x.abc",
            "status": "fail",
            "execution_time": 0.05,
            "adapter_response": {},
            "message": "Got 2 results, configured to fail if != 0",
            "failures": 2,
        },
        {
            "unique_id": "test.p.warn_y",
            "status": "warn",
            "execution_time": 0.02,
            "adapter_response": {"rows_affected": -1},
            "message": "Got 1 result, configured to warn if != 0",
            "failures": 1,
        },
        {
            "unique_id": "model.p.broken",
            "status": "error",
            "execution_time": 0.0,
            "adapter_response": {},
            "message": "Database Error in model broken\n  column X not found",
            "failures": None,
        },
        {
            "unique_id": "model.p.after",
            "status": "skipped",
            "execution_time": 0,
            "adapter_response": {},
            "message": None,
        },
    ],
}
MANIFEST = {
    "nodes": {
        "model.p.broken": {"compiled_path": "target/compiled/p/models/broken.sql"},
        "test.p.unique_x.abc": {"compiled_path": "/run/target/compiled/p/unique_x.sql"},
    }
}


def test_summary_has_exact_nodes_and_classifies_statuses() -> None:
    summary = parse_run_results(RUN_RESULTS, MANIFEST)
    assert summary.as_dict(success=False) == {
        "success": False,
        "elapsed": 2.5,
        "nodes": [
            {
                "unique_id": "model.p.stg_orders",
                "status": "success",
                "execution_time": 0.123,
                "rows_affected": 3,
                "message": "SUCCESS 3",
            },
            {
                "unique_id": "test.p.unique_x.abc",
                "status": "fail",
                "execution_time": 0.05,
                "rows_affected": None,
                "message": "Got 2 results, configured to fail if != 0",
            },
            {
                "unique_id": "test.p.warn_y",
                "status": "warn",
                "execution_time": 0.02,
                "rows_affected": None,
                "message": "Got 1 result, configured to warn if != 0",
            },
            {
                "unique_id": "model.p.broken",
                "status": "error",
                "execution_time": 0.0,
                "rows_affected": None,
                "message": "Database Error in model broken\n  column X not found",
            },
            {
                "unique_id": "model.p.after",
                "status": "skipped",
                "execution_time": 0.0,
                "rows_affected": None,
                "message": None,
            },
        ],
    }
    assert [n.unique_id for n in summary.failed] == ["test.p.unique_x.abc", "model.p.broken"]
    assert [n.unique_id for n in summary.warned] == ["test.p.warn_y"]
    assert summary.failed[0].failures == 2


def test_problems_name_node_message_and_compiled_sql() -> None:
    summary = parse_run_results(RUN_RESULTS, MANIFEST)
    assert describe_problems(summary.failed, "/tmp/run/target") == (
        "- test.p.unique_x.abc [fail]: Got 2 results, configured to fail if != 0 "
        "(compiled SQL: /run/target/compiled/p/unique_x.sql)\n"
        "- model.p.broken [error]: Database Error in model broken column X not found "
        "(compiled SQL: /tmp/run/target/compiled/p/models/broken.sql)"
    )


def test_table_is_aligned_and_one_line_per_node() -> None:
    table = format_table(parse_run_results(RUN_RESULTS)).splitlines()
    assert table[0].split() == ["status", "time_s", "rows", "node", "message"]
    assert set(table[1]) <= {"-", " "}
    assert table[2].split() == ["success", "0.12", "3", "model.p.stg_orders", "SUCCESS", "3"]
    assert len(table) == 2 + 5
    assert table[5].endswith("Database Error in model broken column X not found")
    column = table[0].index("node")
    assert [line[column:].split()[0] for line in table[2:]] == [
        "model.p.stg_orders",
        "test.p.unique_x.abc",
        "test.p.warn_y",
        "model.p.broken",
        "model.p.after",
    ]


def test_source_freshness_results_and_empty_results() -> None:
    sources = {
        "elapsed_time": 0.4,
        "results": [
            {
                "unique_id": "source.p.staging.orders",
                "status": "runtime error",
                "execution_time": 0.1,
                "error": "column UPDATED_AT missing",
            },
            {
                "unique_id": "source.p.staging.customers",
                "status": "warn",
                "execution_time": 0.1,
                "max_loaded_at": "2026-01-01",
            },
        ],
    }
    summary = parse_run_results(sources)
    assert [(n.unique_id, n.status, n.message) for n in summary.nodes] == [
        ("source.p.staging.orders", "runtime error", "column UPDATED_AT missing"),
        ("source.p.staging.customers", "warn", None),
    ]
    assert [n.unique_id for n in summary.failed] == ["source.p.staging.orders"]
    assert parse_run_results({"results": []}).as_dict(True) == {"success": True, "elapsed": 0.0, "nodes": []}
