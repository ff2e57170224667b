"""SnowflakeStreamMergeOperator: apply a stream's changes (CDC) from a raw table to a modelled table.

One MERGE reads the stream and applies every change, so the batch is atomic: Snowflake advances the
stream's offset only when that MERGE commits, and a failed run leaves the stream as it was (a retry
applies the batch once, never twice). A steady run (the stream exists and has changes) sends three
statements: ``SYSTEM$STREAM_HAS_DATA`` (no warehouse resumes), one query with the counts of changes and
NULL keys and both tables' columns, and the MERGE. The stream is created (``source_table``) and inspected
with SHOW STREAMS only when it is missing or cannot be read (missing, stale, invalid: the error says which),
and when it reports no changes: an empty answer from a stream gone stale would otherwise skip every run
while its changes are lost, and SHOW STREAMS (metadata, no warehouse) says whether it is stale, so an empty
stream costs two statements and no compute. With ``stream`` alone, SHOW STREAMS runs every time, to learn
the source table. All SQL comes from the pure builders in
``airflow_provider_dataeng.sql.stream`` and ``.sql.merge``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dataeng.links import SnowsightTableLink, push_snowsight_table_link
from airflow_provider_dataeng.operators._shared import check_if_empty, nothing_to_do, snowflake_task_hook
from airflow_provider_dataeng.sql.identifiers import (
    IdentifierError,
    ObjectName,
    parse_column_name,
    parse_object_name,
)
from airflow_provider_dataeng.sql.merge import (
    DELETE_MODES,
    SCD_TYPES,
    ColumnPlan,
    MergeConfigError,
    MergeSpec,
    build_add_columns_sql,
    build_merge_sql,
    build_probe_column_sql,
    check_expression,
    missing_bookkeeping_columns,
    normalize_columns_arg,
    parse_merge_counts,
    plan_columns,
    source_key_expressions,
)
from airflow_provider_dataeng.sql.session import check_session_args
from airflow_provider_dataeng.sql.stream import (
    ColumnInfo,
    Preflight,
    StreamError,
    StreamInfo,
    build_columns_sql,
    build_create_stream_sql,
    build_has_data_sql,
    build_preflight_sql,
    build_show_streams_sql,
    default_stream_name,
    parse_has_data,
    parse_preflight,
    parse_show_streams,
)
from airflow_provider_dataeng.validation import choice, flag, is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.session import SqlSession

SCHEMA_EVOLUTION_MODES = ("fail", "add_columns")
_TARGET, _SOURCE = "TARGET", "SOURCE"


@dataclass(frozen=True)
class _Options:
    """The operator's arguments, validated and normalized (names parsed, expressions checked)."""

    target: ObjectName
    stream: ObjectName
    source_table: ObjectName | None
    key_columns: tuple[str, ...]
    columns: None | tuple[str, ...] | dict[str, str]
    dedupe_order_by: tuple[str, ...]
    delete_condition: str | None
    soft_delete_column: str
    only_newer_by: str | None = None


class SnowflakeStreamMergeOperator(BaseOperator):
    """Merge the changes in a Snowflake stream into a modelled table with one atomic MERGE.

    :param snowflake_conn_id: Snowflake connection id.
    :param target_table: the modelled table (``[db.][schema.]name``); it must exist.
    :param key_columns: target column(s) identifying a row.
    :param stream: the stream to consume; defaults to ``<source_table>_STREAM``.
    :param source_table: the raw table; when given, the stream is created if it does not exist.
    :param append_only: create the stream ``APPEND_ONLY`` (inserts only: cheaper for landing tables).
    :param show_initial_rows: create the stream ``SHOW_INITIAL_ROWS`` (its first batch is every row).
    :param columns: ``None`` (the target's columns the stream also has), a list of names, or a mapping
        ``{target_column: sql_expression_over_stream_columns}``.
    :param dedupe_order_by: SQL expression(s) over the stream's columns; the newest wins when one key
        changes several times in a batch (e.g. ``"UPDATED_AT"``).
    :param delete_mode: ``hard`` (delete the row), ``soft`` (set ``soft_delete_column``) or ``ignore``.
    :param delete_condition: SQL over the stream's columns that marks a record as a delete
        (e.g. ``"IS_DELETED"`` in an append-only landing table).
    :param soft_delete_column: the timestamp column ``soft`` deletes set.
    :param scd_type: 1 (overwrite) or 2 (history in ``_VALID_FROM``, ``_VALID_TO``, ``_IS_CURRENT``).
    :param schema_evolution: ``fail`` (name the stream columns the target lacks) or ``add_columns``.
    :param if_empty: when the stream has no changes: ``skip`` (default: mark the task skipped), ``succeed``
        (zero counts with ``"empty": True``; downstream runs) or ``fail``.
    :param only_newer_by: a merged target column (e.g. ``UPDATED_AT``): a change whose value is older than
        the matched row's is not applied, so intervals backfilled out of order (or replayed late) end in the
        newest state. With ``delete_mode="soft"``, a tombstone of a key not seen yet is kept as a soft-deleted
        row, so a late older version of it stays deleted. SCD type 1 only.
    :param warehouse: the warehouse for this task's session (default: the connection's); templated.
    :param role: the role for this task's session (default: the connection's); templated.
    :param query_tag: extra keys for the session's JSON ``QUERY_TAG`` (which always holds ``dag_id``,
        ``task_id``, ``run_id``, ``try_number`` and ``map_index``); templated.
    :param emit_assets: after a MERGE that applied a batch of changes, add the target table's Asset
        (``snowflake://<account>/<DB>/<SCHEMA>/<TABLE>``, account and default database from the connection) to
        the task's outlets with extra ``{"inserted", "updated", "deleted"}``; an equal declared outlet gets the
        extra instead (also with ``if_empty="succeed"`` and no changes, when no asset is added). Airflow records
        the event only for an asset some DAG declares. ``False`` opts out.
    :return: ``{"inserted": int, "updated": int, "deleted": int, "empty": bool, "statements": int}``, the
        MERGE's own counts and the number of SQL statements the task sent.

    ``max_active_tis_per_dag`` defaults to 1: runs of the task never consume the stream concurrently.
    """

    template_fields: Sequence[str] = (
        "target_table",
        "stream",
        "source_table",
        "columns",
        "dedupe_order_by",
        "delete_condition",
        "warehouse",
        "role",
        "query_tag",
    )
    template_fields_renderers = {"columns": "json", "delete_condition": "sql", "dedupe_order_by": "json"}
    ui_color = "#e8f4fd"
    operator_extra_links = (SnowsightTableLink(),)

    def __init__(
        self,
        *,
        snowflake_conn_id: str = "snowflake_default",
        target_table: str,
        key_columns: str | Sequence[str],
        stream: str | None = None,
        source_table: str | None = None,
        append_only: bool = False,
        show_initial_rows: bool = True,
        columns: Sequence[str] | Mapping[str, str] | None = None,
        dedupe_order_by: str | Sequence[str] | None = None,
        delete_mode: str = "hard",
        delete_condition: str | None = None,
        soft_delete_column: str = "_DELETED_AT",
        scd_type: int = 1,
        schema_evolution: str = "fail",
        if_empty: str = "skip",
        only_newer_by: str | None = None,
        emit_assets: bool = True,
        warehouse: str | None = None,
        role: str | None = None,
        query_tag: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # Two runs consuming one stream at once would race for the same offset: one at a time by default.
        kwargs.setdefault("max_active_tis_per_dag", 1)
        super().__init__(**kwargs)
        self.snowflake_conn_id = snowflake_conn_id
        self.target_table = target_table
        self.key_columns = [key_columns] if isinstance(key_columns, str) else list(key_columns)
        self.stream = stream
        self.source_table = source_table
        self.append_only = append_only
        self.show_initial_rows = show_initial_rows
        self.columns = columns
        self.dedupe_order_by = dedupe_order_by
        self.delete_mode = delete_mode
        self.delete_condition = delete_condition
        self.soft_delete_column = soft_delete_column
        self.scd_type = scd_type
        self.schema_evolution = schema_evolution
        self.if_empty = if_empty
        self.only_newer_by = only_newer_by
        self.emit_assets = emit_assets
        self.warehouse = warehouse
        self.role = role
        self.query_tag = query_tag
        check_session_args(warehouse=warehouse, role=role, query_tag=query_tag)
        choice("delete_mode", delete_mode, DELETE_MODES)
        choice("scd_type", scd_type, SCD_TYPES)
        choice("schema_evolution", schema_evolution, SCHEMA_EVOLUTION_MODES)
        check_if_empty(if_empty)
        for name, value in (
            ("append_only", append_only),
            ("show_initial_rows", show_initial_rows),
            ("emit_assets", emit_assets),
        ):
            flag(name, value)
        if stream is None and source_table is None:
            raise ValueError(
                "give stream (an existing stream) or source_table (its stream is created if missing)"
            )
        if not is_templated((target_table, stream, source_table, columns, dedupe_order_by, delete_condition)):
            self._options(parse_expressions=False)  # fail at DAG parse time, without importing sqlglot

    def _options(self, *, parse_expressions: bool = True) -> _Options:
        """Validate and normalize the (rendered) arguments; raises ValueError naming the parameter.

        Names are checked always; SQL expressions are parsed with sqlglot only when ``parse_expressions``
        (at run time, before any SQL is sent), so building the operator in a DAG file stays cheap.
        """
        try:
            target = parse_object_name(self.target_table, param="target_table")
            source = parse_object_name(self.source_table, param="source_table") if self.source_table else None
            if self.stream:
                stream = parse_object_name(self.stream, param="stream")
            else:
                assert source is not None
                stream = default_stream_name(source)
            keys = tuple(parse_column_name(k, param="key_columns") for k in self.key_columns)
            if not keys:
                raise MergeConfigError("key_columns is empty: name the column(s) that identify a row")
            orders = self.dedupe_order_by
            orders = [] if orders is None else [orders] if isinstance(orders, str) else list(orders)
            parse = parse_expressions
            options = _Options(
                target=target,
                stream=stream,
                source_table=source,
                key_columns=keys,
                columns=normalize_columns_arg(self.columns, parse_expressions=parse),
                dedupe_order_by=tuple(
                    check_expression(o, param="dedupe_order_by", parse=parse) for o in orders
                ),
                delete_condition=(
                    check_expression(self.delete_condition, param="delete_condition", parse=parse)
                    if self.delete_condition
                    else None
                ),
                soft_delete_column=parse_column_name(self.soft_delete_column, param="soft_delete_column"),
                only_newer_by=(
                    parse_column_name(self.only_newer_by, param="only_newer_by")
                    if self.only_newer_by
                    else None
                ),
            )
            if isinstance(options.columns, Mapping):
                # the same checks MergeSpec makes, with the mapping alone (no table metadata needed)
                MergeSpec(
                    target=target,
                    stream=stream,
                    key_columns=keys,
                    columns=tuple((name, f"({e})") for name, e in options.columns.items()),
                    delete_mode=self.delete_mode,
                    soft_delete_column=options.soft_delete_column,
                    scd_type=self.scd_type,
                    only_newer_by=options.only_newer_by,
                )
            return options
        except (IdentifierError, MergeConfigError) as err:
            raise ValueError(f"{self.task_id}: {err}") from None

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        options = self._options()
        hook = snowflake_task_hook(self, context)
        with hook.session(self.log) as session:
            try:
                self.statements_run = session.completed  # for lineage
                result = {**self._merge(session, options), "statements": session.count}
            except (StreamError, MergeConfigError) as err:
                raise AirflowFailException(str(err)) from None  # retrying cannot fix it
        self.log.info("%d statements sent", result["statements"])
        push_snowsight_table_link(context, self, self.snowflake_conn_id, options.target.parts)
        if self.emit_assets:
            self._emit_asset(context, options.target, result)
        return result

    def _emit_asset(self, context: Context, target: ObjectName, result: dict[str, Any]) -> None:
        """The target's asset with the MERGE's counts; a batch that netted out to nothing adds none."""
        from airflow_provider_dataeng.assets import emit_snowflake_table_assets

        extra = {k: result[k] for k in ("inserted", "updated", "deleted")}
        emit_snowflake_table_assets(
            context, self, self.snowflake_conn_id, [(target.parts, extra)], add=not result["empty"]
        )

    def _inspect(self, db: SqlSession, options: _Options) -> StreamInfo:
        """SHOW STREAMS: raises StreamError when the stream is missing, stale or invalid."""
        self._inspected = True
        info = parse_show_streams(db.fetch(build_show_streams_sql(options.stream)), options.stream)
        if options.source_table is not None and (info.mode == "APPEND_ONLY") != self.append_only:
            self.log.warning(
                "stream %s already exists with mode %s (append_only=%s is not applied)",
                options.stream,
                info.mode,
                self.append_only,
            )
        self.log.info(
            "stream %s on %s: mode %s, stale after %s",
            options.stream,
            info.table_name,
            info.mode,
            info.stale_after,
        )
        return info

    def _has_data(self, db: SqlSession, options: _Options, inspected: bool) -> bool:
        """SYSTEM$STREAM_HAS_DATA. When it fails and the stream was not inspected yet, the stream is created
        if missing (with ``source_table``) and inspected (missing, stale, invalid raise StreamError), then
        asked again."""
        import snowflake.connector.errors

        try:
            return parse_has_data(db.fetch(build_has_data_sql(options.stream)))
        except snowflake.connector.errors.ProgrammingError:
            if inspected:
                raise
        if options.source_table is not None:
            db.run(
                build_create_stream_sql(
                    options.stream,
                    options.source_table,
                    append_only=self.append_only,
                    show_initial_rows=self.show_initial_rows,
                )
            )
        self._inspect(db, options)
        return parse_has_data(db.fetch(build_has_data_sql(options.stream)))

    def _merge(self, db: SqlSession, options: _Options) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        stream = options.stream
        # Without source_table only SHOW STREAMS names the stream's table (whose columns are merged).
        self._inspected = False
        source = options.source_table or self._inspect(db, options).source_table
        self._lineage: tuple[Any, ...] = (options.target, source, None, None)
        if not self._has_data(db, options, inspected=options.source_table is None):
            if not self._inspected:
                # Snowflake does not document SYSTEM$STREAM_HAS_DATA on a stale stream: never let a FALSE
                # from one pass as "nothing new" (its changes would be lost run after run).
                self._inspect(db, options)
            return self._empty(stream, consumed=False)

        tables = {_TARGET: options.target, _SOURCE: source}
        keys = source_key_expressions(options.key_columns, options.columns)
        preflight = self._preflight(db, options, tables, keys)
        plan, bookkeeping = self._plan(options, preflight)
        spec = MergeSpec(
            target=options.target,
            stream=stream,
            key_columns=options.key_columns,
            columns=plan.columns,
            dedupe_order_by=options.dedupe_order_by,
            delete_mode=self.delete_mode,
            delete_condition=options.delete_condition,
            soft_delete_column=options.soft_delete_column,
            scd_type=self.scd_type,
            only_newer_by=options.only_newer_by,
        )
        _check_schema(options.target, plan.missing, bookkeeping, self.schema_evolution)
        changes, null_keys = preflight.changes, preflight.null_keys
        if null_keys:
            raise AirflowFailException(
                f"{null_keys} of the {changes} changes in stream {stream} have a NULL in key_columns "
                f"{list(options.key_columns)}: nothing was applied and the stream is unchanged. Fix the rows in the "
                f"source (or the key mapping in columns), or filter them out with a view and a stream on it."
            )
        self.log.info("stream %s holds %d change rows", stream, changes)

        to_add = (*plan.missing, *bookkeeping)
        if to_add:
            self.log.info(
                "adding columns to %s: %s",
                options.target,
                ", ".join(f"{c.name} {c.data_type}" for c in to_add),
            )
            db.run(build_add_columns_sql(options.target, to_add))

        started = time.monotonic()
        try:
            rows = db.fetch(build_merge_sql(spec))
        except Exception as err:
            raise self._merge_failed(db, spec, changes, err) from err
        counts = parse_merge_counts(rows[0] if rows else None)
        target_columns = [(c.name, c.data_type) for c in (*preflight.columns[_TARGET], *to_add)]
        self._lineage = (options.target, source, target_columns, counts)
        self.log.info("MERGE into %s took %.2fs: %s", options.target, time.monotonic() - started, counts)
        if changes == 0:
            # SYSTEM$STREAM_HAS_DATA may report changes that net out to none; the MERGE consumed them anyway.
            return self._empty(stream, consumed=True)
        return {**counts, "empty": False}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the stream's base table in, the target out with its columns, rows changed and the
        statements run."""
        from airflow_provider_dataeng import lineage

        if getattr(self, "_lineage", None) is None:
            return None
        target, source, columns, counts = self._lineage
        return lineage.to_operator_lineage(
            lineage.merge_lineage(
                lineage.snowflake_context(self.snowflake_conn_id),
                source=source.parts if source is not None else None,
                target=target.parts,
                counts=counts,
                target_columns=[lineage.SchemaField(n, t) for n, t in columns]
                if columns is not None
                else None,
                statements=getattr(self, "statements_run", ()),
            )
        )

    def _merge_failed(self, db: SqlSession, spec: MergeSpec, changes: int, err: Exception) -> Exception:
        """The MERGE's error, naming the target, the unconsumed stream and the column that cannot be computed.

        A failed MERGE applies nothing and leaves the stream's offset where it was, so the message says so;
        when the cause is a value (a cast that fails on some rows), one probe query per merged column
        (only on this failure path) finds the column(s) whose expression fails.
        """
        from airflow.sdk.exceptions import AirflowException

        failing = []
        for name, expression in spec.columns:
            try:
                db.run(build_probe_column_sql(spec.stream, expression))
            except Exception:  # noqa: BLE001 - any error of the expression is what we are looking for
                failing.append(f"{name} = {expression}")
        where = (
            f"; the column(s) that cannot be computed for some change rows: {', '.join(failing)}"
            if failing
            else ""
        )
        message = " ".join(str(getattr(err, "msg", None) or err).split())
        return AirflowException(
            f"MERGE into {spec.target} failed and applied nothing: stream {spec.stream} still holds its {changes} "
            f"change rows, and a retry after the fix applies them once{where}. Snowflake said: {message}"
        )

    def _preflight(
        self, db: SqlSession, options: _Options, tables: dict[str, ObjectName], keys: Sequence[str]
    ) -> Preflight:
        """Change and NULL-key counts with both tables' columns, in one query.

        If that query fails (a key column the stream lacks, a missing table, a stream gone stale since
        SYSTEM$STREAM_HAS_DATA), the columns alone are read and the stream inspected so that the error
        names the problem; any other failure is raised as it is.
        """
        import snowflake.connector.errors

        try:
            return parse_preflight(db.fetch(build_preflight_sql(options.stream, tables, keys)), tables)
        except snowflake.connector.errors.ProgrammingError:
            columns_only = parse_preflight(db.fetch(build_columns_sql(tables)), tables)
            self._plan(options, columns_only)  # raises MergeConfigError when the tables explain it
            if options.source_table is not None:
                self._inspect(db, options)  # raises StreamError when the stream is stale or invalid
            raise

    def _plan(self, options: _Options, preflight: Preflight) -> tuple[ColumnPlan, tuple[ColumnInfo, ...]]:
        """The merged columns and the missing bookkeeping columns, from the tables' columns."""
        source_columns = [c for c in preflight.columns[_SOURCE] if not c.name.upper().startswith("METADATA$")]
        plan = plan_columns(
            target=options.target,
            target_columns=preflight.columns[_TARGET],
            source_columns=source_columns,
            key_columns=options.key_columns,
            columns=options.columns,
            scd_type=self.scd_type,
            delete_mode=self.delete_mode,
            soft_delete_column=options.soft_delete_column,
        )
        bookkeeping = missing_bookkeeping_columns(
            preflight.columns[_TARGET],
            scd_type=self.scd_type,
            delete_mode=self.delete_mode,
            soft_delete_column=options.soft_delete_column,
        )
        return plan, bookkeeping

    def _empty(self, stream: ObjectName, *, consumed: bool) -> dict[str, Any]:
        message = f"stream {stream} has no changes" + (" (its offset was advanced)" if consumed else "")
        nothing_to_do(self.if_empty, f"{message}: nothing to merge", self.log)
        return {"inserted": 0, "updated": 0, "deleted": 0, "empty": True}


def _check_schema(target: ObjectName, missing: Sequence[Any], bookkeeping: Sequence[Any], mode: str) -> None:
    scd_missing = [c for c in bookkeeping if c.name in ("_VALID_FROM", "_VALID_TO", "_IS_CURRENT")]
    if scd_missing:
        raise MergeConfigError(
            f"scd_type=2 needs columns {[c.name for c in scd_missing]} in target_table {target}; add them and mark "
            f"the existing rows current, e.g. ALTER TABLE {target} ADD COLUMN _VALID_FROM TIMESTAMP_LTZ, "
            f"_VALID_TO TIMESTAMP_LTZ, _IS_CURRENT BOOLEAN; UPDATE {target} SET _VALID_FROM = CURRENT_TIMESTAMP(), "
            f"_IS_CURRENT = TRUE"
        )
    if mode == "fail" and (missing or bookkeeping):
        names = [f"{c.name} {c.data_type}" for c in (*missing, *bookkeeping)]
        raise MergeConfigError(
            f"target_table {target} lacks columns {names} (in the stream, or needed by delete_mode): set "
            f"schema_evolution='add_columns' to add them, pass columns=[...] to merge a subset, or ALTER TABLE yourself"
        )
