"""What the data-health pages read: the quality gates' results table and the asset events of the same runs.

The results table is read over the connection the gates write it with (``[dataeng] health_conn_id``,
Snowflake or any common-sql connection the gate supports), one bounded query per page (a time window and a
row limit, :func:`~airflow_provider_dataeng.quality.history.recent_results_sql`). Asset events come from
Airflow's metadata database (the API server's own session), for the DAGs whose gates are shown.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime

from airflow_provider_dataeng.health.shape import AssetEvent, Result, result_from_row
from airflow_provider_dataeng.quality.dialects import to_utc

log = logging.getLogger(__name__)

# Texts of the errors databases give for a table that is not there (Snowflake, the stand-in, PostgreSQL,
# SQLite): the page then explains how to turn results on instead of showing an error.
_MISSING_TABLE = ("does not exist", "no such table")


class HealthSourceError(RuntimeError):
    """The results table cannot be read; ``missing`` when it is not there (no gate has written it yet)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class DataHealthHook:
    """Reads the results table ``results_table`` over the Airflow connection ``conn_id``."""

    def __init__(self, conn_id: str, results_table: str) -> None:
        self.conn_id = conn_id
        self.results_table = results_table

    def results(self, *, since: datetime, limit: int, table: str | None = None) -> list[Result]:
        """The rows checked since ``since`` (of one gated ``table``, or all), newest first, at most
        ``limit``; raises :class:`HealthSourceError` naming the connection when they cannot be read."""
        from airflow.sdk import BaseHook

        from airflow_provider_dataeng.hooks.session import SqlSession
        from airflow_provider_dataeng.quality.dialects import dialect_for
        from airflow_provider_dataeng.quality.history import recent_results_sql

        try:
            connection = BaseHook.get_connection(self.conn_id)
            dialect = dialect_for(connection.conn_type or "")
            query = recent_results_sql(self.results_table, dialect, since=since, limit=limit, table=table)
            if (connection.conn_type or "").lower() == "snowflake":
                from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

                conn = SnowflakeHook(snowflake_conn_id=self.conn_id).get_conn()
            else:
                conn = connection.get_hook().get_conn()
        except Exception as err:  # the page shows it, naming the connection
            raise HealthSourceError(f"cannot connect with {self.conn_id!r}: {first_line(err)}") from err
        session = SqlSession(conn, log, explicit_transactions=False)
        try:
            rows, _ = session.fetch_rows(query.sql, query.params, label="health")
        except Exception as err:
            text = first_line(err)
            missing = any(marker in text.lower() for marker in _MISSING_TABLE)
            raise HealthSourceError(
                f"cannot read {self.results_table} with {self.conn_id!r}: {text}", missing=missing
            ) from err
        finally:
            session.close()
        return [result_from_row(row) for row in rows]

    def snowsight_url(self, table: str) -> str | None:
        """The gated table's Snowsight page, when the connection is Snowflake and its account says where
        Snowsight shows it; never raises (a link is a convenience)."""
        try:
            from airflow.sdk import BaseHook

            from airflow_provider_dataeng.links import connection_table_url
            from airflow_provider_dataeng.sql.identifiers import parse_object_name

            if (BaseHook.get_connection(self.conn_id).conn_type or "").lower() != "snowflake":
                return None
            return connection_table_url(self.conn_id, parse_object_name(table, param="table").parts)
        except Exception:  # noqa: BLE001
            log.debug("no Snowsight link for %s", table, exc_info=True)
            return None

    @staticmethod
    def asset_events(*, dag_ids: Collection[str], since: datetime, limit: int) -> list[AssetEvent]:
        """Asset events the runs of ``dag_ids`` emitted since ``since``, newest first, at most ``limit``."""
        if not dag_ids:
            return []
        from airflow.models.asset import AssetEvent as AssetEventModel
        from airflow.models.asset import AssetModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        statement = (
            select(
                AssetEventModel.source_dag_id,
                AssetEventModel.source_run_id,
                AssetEventModel.source_task_id,
                AssetModel.name,
                AssetEventModel.timestamp,
                AssetEventModel.extra,
            )
            .join(AssetModel, AssetModel.id == AssetEventModel.asset_id)
            .where(AssetEventModel.source_dag_id.in_(sorted(dag_ids)), AssetEventModel.timestamp >= since)
            .order_by(AssetEventModel.timestamp.desc())
            .limit(limit)
        )
        with create_session() as session:
            rows = session.execute(statement).all()
        return [
            AssetEvent(
                dag_id=str(dag_id),
                run_id=str(run_id or ""),
                task_id=str(task_id or ""),
                asset=str(name),
                timestamp=to_utc(timestamp) or since,
                extra=extra if isinstance(extra, dict) else {},
            )
            for dag_id, run_id, task_id, name, timestamp, extra in rows
        ]


def first_line(err: BaseException, width: int = 300) -> str:
    """An error as one line for a page or a command's output (its first line, at most ``width`` characters)."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:width]


def write_report(
    files: dict[str, str], destination: str, storage_options: dict[str, object] | None = None
) -> list[str]:
    """Write the report's files under ``destination`` (a local folder or an fsspec URL such as
    ``s3://bucket/reports/``), the index last so a reader never finds it linking to a missing page; returns
    the URLs written."""
    from fsspec.core import url_to_fs

    fs, root = url_to_fs(destination, **dict(storage_options or {}))
    root = root.rstrip("/")
    fs.makedirs(root, exist_ok=True)
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    headers = {"ContentType": "text/html; charset=utf-8"} if {"s3", "s3a"} & set(protocols) else {}
    written = []
    for name in sorted(files, key=lambda n: n == "index.html"):
        path = f"{root}/{name}"
        fs.pipe_file(path, files[name].encode("utf-8"), **headers)
        written.append(fs.unstrip_protocol(path))
    return written
