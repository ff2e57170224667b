"""QualityGateOperator: run declarative checks on a table in one scan, record them, block on failure.

Orchestration only: checks come from :mod:`airflow_provider_dataeng.quality` (constructors or YAML), SQL
from its compiler, verdicts from its evaluator; this module runs the queries over one connection, writes
the results table, logs a table of results, and raises ``AirflowFailException`` (no retries: the data will
not fix itself) when an error-severity check fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_dataeng.operators._shared import snowflake_task_hook
from airflow_provider_dataeng.quality import compiler, history
from airflow_provider_dataeng.quality.checks import Check, CustomSql, RowCountAnomaly, parse_check_sql
from airflow_provider_dataeng.quality.dialects import Dialect, dialect_for
from airflow_provider_dataeng.quality.evaluate import CheckResult, evaluate, format_table, jsonable, summarize
from airflow_provider_dataeng.quality.yaml_loader import load_checks_file
from airflow_provider_dataeng.sql.identifiers import (
    check_sql_expression_shape,
    parse_object_name,
    validate_sql_expression,
)
from airflow_provider_dataeng.sql.session import check_session_args
from airflow_provider_dataeng.validation import choice, is_templated, non_negative_int

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.session import SqlSession

FAIL_ON = ("error", "warn", "never")


def _utcnow() -> datetime:
    """The gate's clock (one place, so freshness can be tested against a fixed time)."""
    return datetime.now(timezone.utc)


class QualityGateOperator(BaseOperator):
    """Run data-quality checks on ``table``; fail the task (and block downstream) when one fails.

    :param snowflake_conn_id: the connection the checks run on. Named for Snowflake, the warehouse this
        provider targets, but any common-sql connection works for the checks (Postgres, SQLite, ...);
        ``warehouse``, ``role`` and ``query_tag`` need a Snowflake connection.
    :param table: the table to check (``name``, ``schema.name`` or ``db.schema.name``). Templated.
    :param checks: checks built with ``airflow_provider_dataeng.quality`` constructors.
    :param checks_file: a YAML file of checks (dbt names); relative paths resolve against the DAG's folder.
        Templated. May be combined with ``checks``.
    :param where: SQL filter applied to every check (e.g. ``"ds = '{{ ds }}'"``). Templated.
    :param results_table: table the results are appended to (created if missing); needed by
        ``row_count_anomaly``. Templated.
    :param fail_on: ``"error"`` (fail on error-severity failures), ``"warn"`` (warnings fail too) or
        ``"never"`` (record and log only).
    :param sample_size: failing rows (or keys) fetched per failed check; 0 fetches none.
    :param freshness_as_of: the time freshness checks measure age against; default the wall clock.
        Templated, e.g. ``"{{ data_interval_end }}"`` so a backfill judges each interval as of its end.
    :param warehouse: Snowflake only: the warehouse for this task's session (default: the connection's);
        templated.
    :param role: Snowflake only: the role for this task's session (default: the connection's); templated.
    :param query_tag: Snowflake only: extra keys for the session's JSON ``QUERY_TAG`` (which always holds
        ``dag_id``, ``task_id``, ``run_id``, ``try_number`` and ``map_index``); templated.
    :param report_destination: after the results are written, the data-health pages of the results table
        (every gated table, the last ``report_days`` days) as static HTML under this folder or URL (e.g.
        ``s3://bucket/health/{{ ds }}/``); written also when the gate fails. Needs ``results_table``; templated.
    :param report_days: days of history in the report (1-365, default 30).
    :param aws_conn_id: the AWS connection for an ``s3://`` ``report_destination``.
    :returns: ``{"table", "passed", "summary", "queries", "statements", "results": [...]}`` (``queries``:
        statements by purpose; ``statements``: every statement sent, transaction control included), and
        ``"report"`` (the index page's URL) with ``report_destination``. Also
        pushed to XCom under ``quality_results`` before a failure is raised.
    """

    template_fields: Sequence[str] = (
        "table",
        "where",
        "results_table",
        "checks_file",
        "freshness_as_of",
        "warehouse",
        "role",
        "query_tag",
        "report_destination",
    )
    template_fields_renderers = {"where": "sql"}
    ui_color = "#f6d7a7"

    def __init__(
        self,
        *,
        snowflake_conn_id: str,
        table: str,
        checks: Sequence[Check] | None = None,
        checks_file: str | None = None,
        where: str | None = None,
        results_table: str | None = None,
        fail_on: str = "error",
        sample_size: int = 5,
        freshness_as_of: str | datetime | None = None,
        warehouse: str | None = None,
        role: str | None = None,
        query_tag: dict[str, Any] | None = None,
        report_destination: str | None = None,
        report_days: int = 30,
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_session_args(warehouse=warehouse, role=role, query_tag=query_tag)
        if report_destination is not None and results_table is None:
            raise ValueError(
                "report_destination needs results_table= (the report draws the history the gate keeps there)"
            )
        if not isinstance(report_days, int) or isinstance(report_days, bool) or not 1 <= report_days <= 365:
            raise ValueError(f"report_days must be a whole number of days from 1 to 365, got {report_days!r}")
        self.report_destination = report_destination
        self.report_days = report_days
        self.aws_conn_id = aws_conn_id
        self.warehouse = warehouse
        self.role = role
        self.query_tag = query_tag
        if not isinstance(snowflake_conn_id, str) or not snowflake_conn_id:
            raise ValueError(
                "snowflake_conn_id must name an Airflow SQL connection (Snowflake, or any common-sql one "
                "such as Postgres or SQLite)"
            )
        if checks is None and checks_file is None:
            raise ValueError(
                "give checks=[...] (airflow_provider_dataeng.quality constructors) or checks_file="
            )
        checks = list(checks or [])
        for i, check in enumerate(checks):
            if not isinstance(check, Check):
                raise ValueError(
                    f"checks[{i}] is {type(check).__name__}, not a check: build it with "
                    f"airflow_provider_dataeng.quality (e.g. unique('id'))"
                )
        choice("fail_on", fail_on, FAIL_ON)
        non_negative_int("sample_size", sample_size)
        self.snowflake_conn_id = snowflake_conn_id
        self.table = table
        self.checks = checks
        self.checks_file = checks_file
        self.where = where
        self.results_table = results_table
        self.fail_on = fail_on
        self.sample_size = sample_size
        self.freshness_as_of = freshness_as_of
        if checks_file is not None and not is_templated(checks_file):
            self._file_checks: list[Check] | None = load_checks_file(self._resolve(checks_file))
        else:
            self._file_checks = None
        self._validate(final=False)

    # ------------------------------------------------------------------------------------------- setup

    def _resolve(self, path: str) -> Path:
        candidate = Path(path)
        if not candidate.is_absolute() and not candidate.exists():
            fileloc = getattr(getattr(self, "dag", None), "fileloc", None) if self.has_dag() else None
            if fileloc:
                candidate = Path(fileloc).parent / path
        return candidate

    def _all_checks(self) -> list[Check]:
        return [*self.checks, *(self._file_checks or [])]

    def _validate(self, *, final: bool) -> None:
        """Refuse bad arguments as early as possible (construction unless templated, else at execute).

        SQL expressions are parsed with sqlglot only when ``final`` (at execute, before any SQL is sent); at
        construction their shape is checked without it, so parsing the DAG file stays cheap.
        """
        if final or not is_templated(self.table):
            parse_object_name(self.table, param="table")
        if self.where is not None and final:
            self.where = validate_sql_expression(self.where, param="where")
        elif self.where is not None and not is_templated(self.where):
            self.where = check_sql_expression_shape(self.where, param="where")
        if self.results_table is not None and (final or not is_templated(self.results_table)):
            parse_object_name(self.results_table, param="results_table")
        if self.freshness_as_of is not None and (final or not is_templated(self.freshness_as_of)):
            _parse_as_of(self.freshness_as_of)
        checks = self._all_checks()
        if final and not checks:
            raise ValueError("no checks to run: checks=[] and the checks_file holds none")
        if final:
            parse_check_sql(checks)
        names = [c.name for c in checks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"checks: several checks are named {duplicates}; give each a distinct name=")
        if self.results_table is None and any(isinstance(c, RowCountAnomaly) for c in checks):
            raise ValueError("row_count_anomaly needs results_table= (its history of counts lives there)")

    # --------------------------------------------------------------------------------------------- run

    def execute(self, context: Context) -> dict[str, Any]:
        if self.checks_file is not None and self._file_checks is None:
            self._file_checks = load_checks_file(self._resolve(self.checks_file))
        self._validate(final=True)
        checks = self._all_checks()
        connection = BaseHook.get_connection(self.snowflake_conn_id)
        dialect = dialect_for(connection.conn_type or "")
        ti = context["ti"]
        ids = history.RunIds(ti.dag_id, ti.task_id, ti.run_id, context.get("logical_date"))
        session = self._session(connection, context)
        self.statements_run = session.completed  # for lineage
        try:
            results = self._run(session, checks, dialect, ids)
        finally:
            session.close()
        output = {
            "table": self.table,
            "passed": not self._blocking(results),
            "summary": summarize(results),
            "queries": dict(session.counts),
            "statements": session.count,
            "results": [r.to_dict() for r in results],
        }
        output = jsonable_tree(output)
        self._lineage = (connection.conn_type or "", output["results"])
        self.log.info("Quality gate on %s: %s\n%s", self.table, output["summary"], format_table(results))
        for r in results:
            if r.status == "warn":
                self.log.warning(
                    "Check %s warned: observed %s, threshold %s %s", r.name, r.observed, r.threshold, r.note
                )
        if self.report_destination:
            output["report"] = self._write_report()
        blocking = self._blocking(results)
        if blocking:
            ti.xcom_push(key="quality_results", value=output)
            raise AirflowFailException(
                f"Quality gate failed on {self.table}: {len(blocking)} check(s) failed "
                f"(fail_on={self.fail_on!r})\n{format_table(blocking)}"
            )
        return output

    def _write_report(self) -> str:
        """The data-health pages of the results table as static HTML under ``report_destination`` (the
        pipeline counts from asset events are left out: a task does not read Airflow's database)."""
        from airflow_provider_dataeng.health.report import report_files
        from airflow_provider_dataeng.hooks.health import DataHealthHook, write_report
        from airflow_provider_dataeng.sinks.storage import storage_options_for

        assert self.results_table is not None and self.report_destination is not None
        now = _utcnow()
        hook = DataHealthHook(self.snowflake_conn_id, self.results_table)
        results = hook.results(since=now - timedelta(days=self.report_days), limit=20_000)
        files = report_files(results, ui="", days=self.report_days, generated_at=now)
        options = storage_options_for(self.report_destination, self.aws_conn_id)
        written = write_report(files, self.report_destination, options)
        self.log.info("Data-health report (%d tables) written to %s", len(files) - 1, written[-1])
        return written[-1]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the checked table as an input with one data-quality assertion per check, and the check
        queries as the SQL facet. Also used for a failed gate (the failed assertions are the point)."""
        from airflow_provider_dataeng import lineage

        if getattr(self, "_lineage", None) is None:
            return None
        conn_type, results = self._lineage
        parts = parse_object_name(self.table, param="table").parts
        if conn_type.lower() == "snowflake":
            context = lineage.snowflake_context(self.snowflake_conn_id)
            namespace = context.namespace
            name = lineage.qualified_table_name(parts, database=context.database, schema=context.schema)
        else:
            connection = BaseHook.get_connection(self.snowflake_conn_id)
            namespace = lineage.sql_namespace(conn_type, connection.host, connection.port)
            name = ".".join(parts)
        return lineage.to_operator_lineage(
            lineage.quality_lineage(
                namespace,
                name,
                results,
                statements=getattr(self, "statements_run", ()),
                dialect=conn_type.lower() or None,
            )
        )

    def _blocking(self, results: Sequence[CheckResult]) -> list[CheckResult]:
        if self.fail_on == "never":
            return []
        bad = ("fail", "warn") if self.fail_on == "warn" else ("fail",)
        return [r for r in results if r.status in bad]

    def _session(self, connection: Any, context: Context) -> SqlSession:
        """Snowflake: the hook's session with the task's warehouse, role and query tag; any other SQL
        connection: its DB-API connection in the same session class (commits through the driver)."""
        from airflow_provider_dataeng.hooks.session import SqlSession

        if (connection.conn_type or "").lower() == "snowflake":
            hook = snowflake_task_hook(self, context)
            return SqlSession(hook.get_conn(), self.log, explicit_transactions=True)
        if self.warehouse or self.role:
            raise AirflowFailException(
                f"warehouse= and role= apply to Snowflake connections only; {self.snowflake_conn_id!r} is "
                f"{connection.conn_type!r}: remove them"
            )
        return SqlSession(connection.get_hook().get_conn(), self.log, explicit_transactions=False)

    def _run(
        self, session: SqlSession, checks: list[Check], dialect: Dialect, ids: history.RunIds
    ) -> list[CheckResult]:
        plan = compiler.compile_plan(self.table, checks, dialect, self.where)
        observed: dict[str, Any] = {}
        content: dict[str, str] = {}
        if plan.scan is not None:
            row = _fetch(session, plan.scan, "checks")[0][0]
            for name, position in plan.scan.positions.items():
                observed[name] = row[position]
        for relationship, query in plan.relationships:
            observed[relationship.name] = _fetch(session, query, "checks")[0][0][0]
            content[relationship.name] = query.sql
        custom_rows: dict[str, list[dict[str, Any]]] = {}
        for custom, query in plan.custom:
            rows, names = _fetch(session, query, "checks")
            if len(rows) == 1 and len(names) == 1:
                observed[custom.name] = rows[0][0]
            else:
                observed[custom.name] = len(rows)
                custom_rows[custom.name] = [dict(zip(names, r)) for r in rows[: self.sample_size]]
            content[custom.name] = query.sql

        histories: dict[str, list[float]] = {}
        if self.results_table is not None:
            _fetch(
                session,
                compiler.Query(history.create_table_sql(self.results_table, dialect), None, "history:create"),
                "history",
            )
            _add_details_column(session, self.results_table, dialect)
            for check in checks:
                if isinstance(check, RowCountAnomaly):
                    past = history.count_history_sql(
                        self.results_table, self.table, check.name, check.lookback, ids, dialect
                    )
                    histories[check.name] = [float(r[0]) for r in _fetch(session, past, "history")[0]]

        now = _utcnow()
        as_of = now if self.freshness_as_of is None else _parse_as_of(self.freshness_as_of)
        results = [
            evaluate(
                c,
                observed.get(c.name),
                table=self.table,
                now=as_of,
                content=content.get(c.name),
                history=histories.get(c.name),
            )
            for c in checks
        ]
        for check, result in zip(checks, results):
            if result.status == "pass" or self.sample_size == 0:
                continue
            if isinstance(check, CustomSql):
                result.failing_rows = jsonable_tree(custom_rows.get(check.name, []))
                continue
            sample = compiler.compile_sample(self.table, check, dialect, self.where, self.sample_size)
            if sample is not None:
                rows, names = _fetch(session, sample, "samples")
                result.failing_rows = jsonable_tree([dict(zip(names, r)) for r in rows])

        if self.results_table is not None:
            with session.transaction():  # a re-run replaces this run's rows atomically
                _fetch(
                    session, history.delete_run_sql(self.results_table, self.table, ids, dialect), "history"
                )
                _fetch(
                    session,
                    history.insert_results_sql(self.results_table, results, ids, now, dialect),
                    "history",
                )
        return results


def _add_details_column(session: SqlSession, results_table: str, dialect: Dialect) -> None:
    """A results table made before ``DETAILS`` existed gets the column (a no-op where it is there)."""
    statement = history.add_details_sql(results_table, dialect)
    if statement is None:  # SQLite: add it only when missing
        if _fetch(session, history.missing_details_sql(results_table, dialect), "history")[0][0][0]:
            return
        statement = history.add_details_plain_sql(results_table, dialect)
    _fetch(session, compiler.Query(statement, None, "history:upgrade"), "history")


def _parse_as_of(value: str | datetime) -> datetime:
    """``freshness_as_of`` as an aware datetime (ISO-8601 text or a datetime; naive means UTC)."""
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"freshness_as_of={value!r} is not an ISO-8601 timestamp (e.g. '{{{{ data_interval_end }}}}' "
                f"or '2026-01-02T00:00:00+00:00')"
            ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def jsonable_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable_tree(v) for v in value]
    return jsonable(value)


def _fetch(session: SqlSession, query: compiler.Query, label: str) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Run a compiled query; ``(rows, column names)``, counted under ``label``."""
    return session.fetch_rows(query.sql, query.params, label=label)
