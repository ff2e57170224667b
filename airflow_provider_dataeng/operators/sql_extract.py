"""Extract a PostgreSQL table or query into object storage as the same part files and manifest the REST
extract writes, so ``S3StageLoadOperator`` and ``SnowflakeStreamMergeOperator`` take them unchanged.

PostgreSQL writes each row's JSON (the type table in :mod:`airflow_provider_dataeng.sql_source.types`) and
streams it with ``COPY ... TO STDOUT``; the worker compresses and writes batches: memory stays bounded
whatever the table's size, and no value passes through a Python object.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dataeng.assets import s3_prefix_asset
from airflow_provider_dataeng.operators._shared import check_if_empty, nothing_to_do
from airflow_provider_dataeng.sinks.formats import validate_format, validate_level
from airflow_provider_dataeng.sinks.storage import check_destination_url, storage_options_for
from airflow_provider_dataeng.sql_source.names import parse_column, parse_table
from airflow_provider_dataeng.validation import choice, flag, is_templated, positive_int

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.sql_source import SourceReader
    from airflow_provider_dataeng.sql_source.query import Source
    from airflow_provider_dataeng.sql_source.types import Column

MODES = ("incremental", "full")
_BATCH_ROWS = 5_000


class SqlExtractOperator(BaseOperator):
    """Read a table (``table=``) or a query (``sql=``) of a PostgreSQL database and land its rows in
    ``destination``, in one consistent snapshot.

    :param sql_conn_id: the source database's connection (named as the Amazon provider's ``SqlToS3Operator``
        names it). PostgreSQL (``conn_type`` ``postgres``) is read by COPY in one snapshot; any other
        connection whose hook is a common-sql ``DbApiHook`` (SQLite, MySQL, SQL Server, ...) is read best
        effort: one query, rows written as JSON in Python (:mod:`~airflow_provider_dataeng.sql_source.dbapi`),
        names as written, without partitions, chunks or delete detection.
    :param table: ``table`` or ``schema.table`` (unquoted names are folded to lower case as PostgreSQL
        does; double-quote a name to keep its case). Or:
    :param sql: a ``SELECT`` (templated) read as a subquery; its column names become the records' fields.
    :param columns: only these columns of ``table`` (default: all), in this order.
    :param destination: object-storage folder URL (templated), e.g. ``s3://bucket/orders/{{ ds }}/``.
    :param aws_conn_id: AWS connection for ``s3://`` destinations.
    :param mode: ``incremental`` (default): the rows whose ``watermark_column`` is in the run's window;
        ``full``: every row (a snapshot of the table).
    :param watermark_column: incremental: the column (or columns: the first non-null, ``COALESCE``) that
        says when a row last changed, e.g. ``updated_at``. An index on it keeps the read cheap.
    :param lookback: incremental: a ``timedelta`` (or seconds) taken off the window's start (the default
        one, or a timestamp ``window_start``), so rows whose transaction committed after the previous run read
        past them are read again (the merge downstream keeps one version per key).
    :param window_start: incremental (templated): where the window starts, inclusive. Default: the end of
        the last successful run's data interval (the run's own start at the latest), as the
        ``changes_since`` macro of :mod:`airflow_provider_dataeng.windows` gives it, so a run after a
        failed one catches up; for a run without a data interval (manual without a logical date,
        asset-triggered), as the window macros say. Any value PostgreSQL casts to the watermark's type
        (an ISO timestamp, a number for an integer watermark).
    :param window_end: incremental (templated): where the window ends, exclusive (default: the run's
        data interval end, or the time a run without one was triggered).
    :param partition_by: a key column that splits the rows into ``partitions`` disjoint parts (integer keys
        by modulo, others by a hash of their text), for dynamic task mapping:
        ``SqlExtractOperator.partial(..., partition_by="id", partitions=4).expand(partition=range(4))``.
        Each instance reads its part into ``<destination>/partition=<n>/``; their union is every row once.
    :param partitions: how many parts (with ``partition_by``).
    :param partition: this instance's part, ``0`` to ``partitions - 1`` (templated).
    :param key_columns: the column(s) that identify a row (its primary key), for ``delete_detection``.
    :param delete_detection: ``full`` mode: land a tombstone ``{<key columns>, "_deleted": true}`` for every
        key of the previous snapshot that this one lacks (a merge turns them into deletes with
        ``delete_condition="RECORD:_deleted::boolean"``). The snapshot's keys are kept beside its part files
        (``_keys.jsonl.zst``, sorted); the previous snapshot is the one in the manifest this task returned
        in the latest earlier run (XCom; a failed run returns none and is skipped). The first snapshot lands
        no tombstones. Memory stays flat: both key lists are read sorted and compared in one pass.
    :param max_concurrency: connections reading a ``table`` side by side in a ``full`` extract, each a range
        of the table's pages, all in the first one's snapshot (default 1). The part files are those of a
        single reader in page-range order.
    :param part_format: ``jsonl`` (default) or ``parquet``. Parquet columns are typed from the source's
        types (see the type table).
    :param compression: ``zstd`` (default), ``gzip`` or ``none``; Parquet also ``snappy``.
    :param compression_level: zstd or gzip level for jsonl parts.
    :param max_records_per_file: rows per part file.
    :param progress_interval: seconds between progress lines in the task log.
    :param if_empty: when no row is read: ``succeed`` (default: the manifest with no files), ``skip`` or
        ``fail`` (nothing written; the error names the source and the window).
    :param emit_assets: add the destination folder's asset to the outlets when rows landed.
    :return: the manifest ``{"destination", "files": [{"uri", "records", "bytes"}], "records", "pages" (0),
        "format", "compression", "source", "mode", "columns"}``, with ``"window"`` and ``"watermark"`` (the
        highest watermark landed, as landed) for an incremental extract, ``"partition"`` when partitioned,
        and ``"keys"`` (``{"uri", "count", "columns"}``) and ``"tombstones"`` with ``delete_detection``.
    """

    template_fields: Sequence[str] = ("sql", "destination", "window_start", "window_end", "partition")
    template_fields_renderers = {"sql": "sql"}
    ui_color = "#e8f0e0"

    def __init__(
        self,
        *,
        sql_conn_id: str = "postgres_default",
        table: str | None = None,
        sql: str | None = None,
        columns: Sequence[str] | None = None,
        destination: str,
        aws_conn_id: str | None = "aws_default",
        mode: str = "incremental",
        watermark_column: str | Sequence[str] | None = None,
        lookback: timedelta | float = 0,
        window_start: Any = None,
        window_end: Any = None,
        partition_by: str | None = None,
        partitions: int | None = None,
        partition: int | str | None = None,
        key_columns: str | Sequence[str] | None = None,
        delete_detection: bool = False,
        max_concurrency: int = 1,
        part_format: str = "jsonl",
        compression: str = "zstd",
        compression_level: int | None = None,
        max_records_per_file: int = 100_000,
        progress_interval: float = 5.0,
        if_empty: str = "succeed",
        emit_assets: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        flag("emit_assets", emit_assets)
        check_if_empty(if_empty)
        choice("mode", mode, MODES)
        if (table is None) == (sql is None):
            raise ValueError(
                "give either table= (a table or schema.table) or sql= (a SELECT), not both or neither"
            )
        self.table = parse_table(table) if table is not None else None
        # As written: another database than PostgreSQL folds (or not) unquoted names itself.
        self._table_written = table
        self._columns_written = list(columns or ())
        if sql is not None and (not isinstance(sql, str) or not sql.strip()):
            raise ValueError(f"sql must be a non-empty SELECT statement, got {sql!r}")
        if columns is not None:
            if table is None:
                raise ValueError("columns= picks columns of table=; with sql= select them in the query")
            if isinstance(columns, str) or not columns:
                raise ValueError(f"columns must be a non-empty list of column names, got {columns!r}")
        self.columns = tuple(parse_column(c, param="columns") for c in columns or ())
        watermarks = (
            (watermark_column,) if isinstance(watermark_column, str) else tuple(watermark_column or ())
        )
        self.watermark_column = tuple(parse_column(c, param="watermark_column") for c in watermarks)
        self._watermark_written = list(watermarks)
        self.lookback = _seconds("lookback", lookback)
        if mode == "incremental" and not self.watermark_column:
            raise ValueError(
                "mode='incremental' reads the rows changed in the run's window: give watermark_column= (e.g. "
                "'updated_at'), or mode='full' to read every row"
            )
        if mode == "full" and (
            self.watermark_column or self.lookback or window_start is not None or window_end is not None
        ):
            raise ValueError(
                "watermark_column, lookback, window_start and window_end select the rows of mode='incremental'; "
                "mode='full' reads every row"
            )
        self.partition_by = (
            parse_column(partition_by, param="partition_by") if partition_by is not None else None
        )
        if self.partition_by is None and (partitions is not None or partition is not None):
            raise ValueError(
                "partitions= and partition= split the rows by partition_by=: give partition_by too"
            )
        if self.partition_by is not None:
            positive_int("partitions", partitions)
            if partition is None:
                raise ValueError(
                    "partition_by= needs partition= (this instance's part, 0 to partitions - 1), e.g. "
                    ".expand(partition=range(partitions))"
                )
            if not is_templated(partition):
                _partition_index(partition, partitions)
        flag("delete_detection", delete_detection)
        keys = (key_columns,) if isinstance(key_columns, str) else tuple(key_columns or ())
        self.key_columns = tuple(parse_column(c, param="key_columns") for c in keys)
        if delete_detection and (mode != "full" or not self.key_columns):
            raise ValueError(
                "delete_detection=True compares full snapshots by key: use it with mode='full' and key_columns= "
                "(the primary key, e.g. 'id')"
            )
        if self.key_columns and not delete_detection:
            raise ValueError(
                "key_columns= names the keys delete_detection=True compares: set delete_detection=True"
            )
        self.delete_detection = delete_detection
        positive_int("max_concurrency", max_concurrency)
        validate_format(part_format, compression)
        validate_level(compression if part_format == "jsonl" else "", compression_level)
        positive_int("max_records_per_file", max_records_per_file)
        if not isinstance(destination, str):
            raise ValueError(f"destination must be a URL string, got {destination!r}")
        if not is_templated(destination):
            check_destination_url(destination)
        if (
            isinstance(progress_interval, bool)
            or not isinstance(progress_interval, (int, float))
            or progress_interval <= 0
        ):
            raise ValueError(f"progress_interval must be positive seconds, got {progress_interval!r}")
        self.sql_conn_id = sql_conn_id
        self.sql = sql
        self.destination = destination
        self.aws_conn_id = aws_conn_id
        self.mode = mode
        self.window_start = window_start
        self.window_end = window_end
        self.partitions = partitions
        self.partition = partition
        self.max_concurrency = max_concurrency
        self.part_format = part_format
        self.compression = compression
        self.compression_level = compression_level
        self.max_records_per_file = max_records_per_file
        self.progress_interval = float(progress_interval)
        self.if_empty = if_empty
        self.emit_assets = emit_assets
        self._destination_asset = s3_prefix_asset(destination) if emit_assets else None

    # -- execution ---------------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dataeng.hooks.sql_source import SqlSourceHook, columns_named, export_snapshot
        from airflow_provider_dataeng.sql_source import query

        destination = self._destination()
        check_destination_url(destination)
        source = query.Source(table=self.table, sql=self.sql, columns=self.columns)
        hook = SqlSourceHook(self.sql_conn_id)
        if not hook.is_postgres:
            return self._execute_dbapi(context, hook, destination)
        params: dict[str, Any] = {}
        predicates: list[str] = []
        extra: dict[str, Any] = {"source": self._source_name(), "mode": self.mode}
        application_name = f"airflow {context['ti'].dag_id}.{context['ti'].task_id}"[:63]
        previous_keys = self._previous_keys(context) if self.delete_detection else None
        with hook.snapshot(application_name=application_name) as reader:
            columns = reader.describe(source)
            extra["columns"] = {c.name: c.type.display for c in columns}
            if self.partition_by is not None:
                key = columns_named(columns, [self.partition_by], param="partition_by")[0]
                predicates.append(query.partition_predicate(key.name, key.type.is_integer))
                params.update(
                    partitions=self.partitions, partition=_partition_index(self.partition, self.partitions)
                )
                extra["partition"] = {"by": key.name, "index": params["partition"], "count": self.partitions}
            expected = None
            if self.mode == "incremental":
                marks = columns_named(columns, self.watermark_column, param="watermark_column")
                start, end = self._window(context)
                params.update(window_start=start, window_end=end)
                predicates.append(query.window_predicate(self.watermark_column, marks[0].type.display))
                highest, expected = reader.execute(
                    query.max_watermark(self.watermark_column, source, predicates), params
                )[0]
                extra["window"] = {"column": list(self.watermark_column), "start": start, "end": end}
                extra["watermark"] = None if highest is None else json.loads(highest)  # as landed
                self.log.info(
                    "Reading %s rows with %s in [%s, %s) (lookback %ss) from %s",
                    expected,
                    " / ".join(self.watermark_column),
                    start,
                    end,
                    self.lookback,
                    extra["source"],
                )
            ranges = self._chunks(reader, source)
            snapshot = None
            if len(ranges) > 1:
                self.log.info(
                    "Reading %s in %d page ranges side by side in one snapshot", extra["source"], len(ranges)
                )
                snapshot = export_snapshot(reader)
            else:
                self.log.info("Reading %s in one stream", extra["source"])
            plan = _Read(source, columns, predicates, params, ranges, extra, expected, snapshot)
            return self._land(hook, reader, plan, destination, context, application_name, previous_keys)

    def _land(
        self,
        hook: Any,
        reader: SourceReader,
        plan: _Read,
        destination: str,
        context: Context,
        application_name: str,
        previous_keys: str | None,
    ) -> dict[str, Any]:
        """Read the rows (in page ranges side by side when ``plan.ranges`` has several), the tombstones, and
        commit; nothing is committed when anything fails."""
        from concurrent.futures import ThreadPoolExecutor
        from dataclasses import replace

        from airflow_provider_dataeng.sql_source import query
        from airflow_provider_dataeng.sql_source.types import parquet_schema

        ranges, extra = plan.ranges, plan.extra
        sinks = self._sinks(destination, plan.columns, len(ranges))
        progress = _Progress(self.log, self.progress_interval)
        failed = threading.Event()

        def read(index: int, chunk_reader: SourceReader) -> None:
            chunk = replace(plan.source, tid_range=ranges[index])
            statement = query.copy_rows(plan.columns, chunk, plan.predicates)
            for batch in chunk_reader.copy_rows(statement, plan.params, _BATCH_ROWS):
                if failed.is_set():
                    return
                sinks[index].write(batch, single_line=True)  # the COPY split them at line ends
                progress.add(len(batch), sinks)

        def joined(index: int) -> None:
            assert plan.snapshot is not None
            try:
                with hook.joined(plan.snapshot, application_name=application_name) as other:
                    read(index, other)
            except BaseException:
                failed.set()
                raise

        for sink in sinks:
            sink.start()
        try:
            if len(ranges) == 1:
                read(0, reader)
            else:
                with ThreadPoolExecutor(max_workers=len(ranges) - 1, thread_name_prefix="sql-chunk") as pool:
                    futures = [pool.submit(joined, i) for i in range(1, len(ranges))]
                    try:
                        read(0, reader)
                    except BaseException:
                        failed.set()
                        raise
                    finally:
                        errors = [f.exception() for f in futures]
                    first = next((e for e in errors if e is not None), None)
                    if first is not None:
                        raise first
            sink = sinks[0]
            sink.absorb(sinks[1:])
            if plan.expected is not None and sink.records != plan.expected:  # counted in the same snapshot
                raise RuntimeError(
                    f"read {sink.records} rows, the snapshot holds {plan.expected} in the window"
                )
            if self.delete_detection:
                extra.update(self._tombstones(reader, plan, sink, previous_keys))
            if sink.records == 0 and self.if_empty == "fail":
                nothing_to_do("fail", self._no_rows(extra), self.log)
            if self.part_format == "parquet":
                extra["schema"] = parquet_schema(plan.columns)
            manifest = sink.commit(pages=0, extra=extra)
        except BaseException:
            for each in sinks:
                each.abort()
            raise
        return self._finish(manifest, extra, context, progress)

    def _finish(
        self, manifest: dict[str, Any], extra: dict[str, Any], context: Context, progress: Any
    ) -> dict[str, Any]:
        """After the commit: log, emit the destination's asset, act on ``if_empty``."""
        progress.done(manifest)
        if self._destination_asset is not None and manifest["files"]:
            from airflow_provider_dataeng.assets import emit_asset

            emit_asset(
                context,
                self,
                self._destination_asset,
                {
                    "destination": manifest["destination"],
                    "files": len(manifest["files"]),
                    "records": manifest["records"],
                    "bytes": sum(f["bytes"] for f in manifest["files"]),
                },
            )
        if not manifest["records"]:
            nothing_to_do(self.if_empty, self._no_rows(extra), self.log)
        return manifest

    # -- any other DB-API database (best effort) ----------------------------------------------------------
    def _execute_dbapi(self, context: Context, hook: Any, destination: str) -> dict[str, Any]:
        """One query through the connection's DB-API hook, rows written as JSON in Python (see
        :mod:`~airflow_provider_dataeng.sql_source.dbapi`); the same part files, manifest and window."""
        from airflow_provider_dataeng.sql_source import dbapi
        from airflow_provider_dataeng.sql_source.names import name_parts

        for param, used in (
            ("partition_by", self.partition_by is not None),
            ("delete_detection", self.delete_detection),
            ("max_concurrency", self.max_concurrency > 1),
        ):
            if used:
                raise ValueError(
                    f"{param} needs a PostgreSQL source (snapshots, COPY); sql_conn_id={self.sql_conn_id!r} is read "
                    "through its DB-API hook, one query at a time"
                )
        extra: dict[str, Any] = {"source": self._source_name(), "mode": self.mode}
        params: list[Any] = []
        # the watermark as the database names it in the result (the last part of each name, as written)
        marks_in_result = [name_parts(m, param="watermark_column")[-1][0] for m in self._watermark_written]
        with hook.dbapi() as reader:

            def render(text: str, param: str) -> str:
                return dbapi.render_name(name_parts(text, param=param), reader.escape_word_format)

            statement = dbapi.select(
                table=render(self._table_written, "table") if self._table_written is not None else None,
                sql=self.sql,
                columns=[render(c, "columns") for c in self._columns_written],
                watermark=[render(m, "watermark_column") for m in self._watermark_written],
                placeholder=reader.placeholder,
            )
            if self.mode == "incremental":
                start, end = self._window(context)
                params = [start, end]
                extra["window"] = {"column": list(self.watermark_column), "start": start, "end": end}
            self.log.info(
                "Reading %s through %s (best effort: one query)", extra["source"], type(reader.hook).__name__
            )
            (sink,) = self._sinks(destination, None)
            sink.start()
            progress = _Progress(self.log, self.progress_interval)
            try:
                for batch in reader.rows(statement, params, _BATCH_ROWS, marks_in_result):
                    sink.write(batch)
                    progress.add(len(batch), [sink])
                extra["columns"] = reader.columns
                if self.mode == "incremental":
                    extra["watermark"] = reader.highest
                if sink.records == 0 and self.if_empty == "fail":
                    nothing_to_do("fail", self._no_rows(extra), self.log)
                manifest = sink.commit(pages=0, extra=extra)
            except BaseException:
                sink.abort()
                raise
        return self._finish(manifest, extra, context, progress)

    # -- delete detection --------------------------------------------------------------------------------
    def _previous_keys(self, context: Context) -> str | None:
        """The key file of the snapshot this task landed in its latest earlier successful run, if any."""
        ti = context["ti"]
        previous = ti.xcom_pull(task_ids=ti.task_id, include_prior_dates=True, map_indexes=ti.map_index)
        keys = previous.get("keys") if isinstance(previous, dict) else None
        if not isinstance(keys, dict) or keys.get("columns") != list(self.key_columns) or not keys.get("uri"):
            self.log.info(
                "No earlier snapshot with keys %s: this one lands no tombstones", list(self.key_columns)
            )
            return None
        self.log.info("Comparing with the previous snapshot's %s keys in %s", keys.get("count"), keys["uri"])
        return str(keys["uri"])

    def _tombstones(
        self, reader: SourceReader, plan: _Read, sink: Any, previous_keys: str | None
    ) -> dict[str, Any]:
        """Read this snapshot's keys (sorted, same transaction), keep them beside the part files and write a
        tombstone for each key of the previous snapshot they lack; returns the manifest's ``keys`` and
        ``tombstones``."""
        from airflow_provider_dataeng.hooks.sql_source import columns_named
        from airflow_provider_dataeng.sinks.key_file import KeyFileWriter, read_keys
        from airflow_provider_dataeng.sql_source import query
        from airflow_provider_dataeng.sql_source.deletes import KeyCodec, vanished

        keys = columns_named(plan.columns, self.key_columns, param="key_columns")
        codec = KeyCodec([k.name for k in keys], [k.type.is_integer for k in keys])
        statement = query.copy_keys(keys, plan.source, plan.predicates)
        current = (row for batch in reader.copy_rows(statement, plan.params, _BATCH_ROWS) for row in batch)
        writer = KeyFileWriter(sink.fs, sink.root)
        tombstones = 0
        try:
            if previous_keys is None:
                for _ in writer.tee(current):
                    pass
            else:
                options = storage_options_for(previous_keys, self.aws_conn_id)
                batch: list[bytes] = []
                for row in vanished(read_keys(previous_keys, options), writer.tee(current), codec):
                    batch.append(codec.tombstone(row))
                    if len(batch) >= _BATCH_ROWS:
                        sink.write(batch)
                        tombstones += len(batch)
                        batch = []
                if batch:
                    sink.write(batch)
                    tombstones += len(batch)
            uri = writer.publish()
        except BaseException:
            writer.discard()
            raise
        self.log.info(
            "Snapshot of %d keys kept in %s; %d tombstones for vanished keys", writer.count, uri, tombstones
        )
        return {
            "keys": {"uri": uri, "count": writer.count, "columns": list(self.key_columns)},
            "tombstones": tombstones,
        }

    # -- helpers -----------------------------------------------------------------------------------------
    def _sinks(self, destination: str, columns: list[Column] | None, count: int = 1) -> list[Any]:
        """``count`` part-file sinks of the destination (one per page range), sharing one set of storage
        options (the AWS connection is looked up once)."""
        from airflow_provider_dataeng.sinks import PartFileSink
        from airflow_provider_dataeng.sql_source.types import parquet_schema

        options = storage_options_for(destination, self.aws_conn_id)
        schema = parquet_schema(columns) if self.part_format == "parquet" and columns is not None else None
        return [
            PartFileSink(
                destination,
                part_format=self.part_format,
                compression=self.compression,
                max_records_per_file=self.max_records_per_file,
                storage_options=dict(options),
                compression_level=self.compression_level,
                schema=schema,
            )
            for _ in range(count)
        ]

    def _destination(self) -> str:
        if self.partition_by is None:
            return self.destination
        index = _partition_index(self.partition, self.partitions)
        return f"{self.destination.rstrip('/')}/partition={index}/"

    def _source_name(self) -> str:
        return ".".join(self.table) if self.table is not None else "the query in sql="

    def _chunks(self, reader: SourceReader, source: Source) -> list[tuple[int, int | None] | None]:
        """Page ranges read side by side: a ``full`` extract of a ``table`` with ``max_concurrency`` > 1."""
        from airflow_provider_dataeng.sql_source import query

        if self.max_concurrency == 1 or self.table is None or self.mode != "full":
            if self.max_concurrency > 1:
                self.log.info(
                    "max_concurrency applies to mode='full' extracts of a table: reading in one stream"
                )
            return [None]
        pages = int(reader.execute(query.table_pages(self.table), {})[0][0] or 0)
        return list(query.chunk_ranges(pages, self.max_concurrency))

    def _window(self, context: Context) -> tuple[str, str]:
        """``[start, end)`` as text PostgreSQL casts: the given bounds, else the run's window."""
        from airflow_provider_dataeng.windows import window_from_context

        start, end = self.window_start, self.window_end
        if start is None or end is None:
            window = window_from_context(context)
            if start is None:
                start = window.since - timedelta(seconds=self.lookback)
            if end is None:
                end = window.end
        elif self.lookback:
            given = _timestamp(start)
            if given is None:
                raise ValueError(
                    f"lookback moves a timestamp window_start back; window_start={start!r} is not an ISO "
                    "timestamp with an offset (lookback=0 for other watermarks)"
                )
            start = given - timedelta(seconds=self.lookback)
        return _bound_text(start, "window_start"), _bound_text(end, "window_end")

    def _no_rows(self, extra: dict[str, Any]) -> str:
        window = extra.get("window")
        where = (
            f" with {'/'.join(window['column'])} in [{window['start']}, {window['end']})" if window else ""
        )
        part = extra.get("partition")
        inside = f" in partition {part['index']} of {part['count']} by {part['by']}" if part else ""
        return f"no rows in {extra['source']}{where}{inside}"


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a non-negative timedelta or seconds, got {value!r}")
    return float(value)


def _partition_index(partition: Any, partitions: Any) -> int:
    try:
        index = int(partition)
    except (TypeError, ValueError):
        index = -1
    if (
        isinstance(partition, bool)
        or index < 0
        or index >= partitions
        or str(index) != str(partition).strip()
    ):
        raise ValueError(
            f"partition must be an integer from 0 to {partitions - 1} (partitions={partitions}), got {partition!r}"
        )
    return index


def _bound_text(value: Any, name: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
        return value.isoformat()
    if (
        isinstance(value, bool)
        or not isinstance(value, (str, int, float))
        or (isinstance(value, str) and not value.strip())
    ):
        raise ValueError(f"{name} must be a timestamp, date or number PostgreSQL can cast, got {value!r}")
    return str(value).strip()


def _timestamp(value: Any) -> datetime | None:
    """``value`` as an aware datetime (a datetime, or an ISO text with an offset or Z), else ``None``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


@dataclass
class _Read:
    """What one PostgreSQL extract reads, decided in its snapshot: the statements' parts, the page ranges read
    side by side (``[None]``: one stream) and the snapshot they share, the manifest's extra keys, and the row
    count the snapshot holds (incremental)."""

    source: Source
    columns: list[Column]
    predicates: list[str]
    params: dict[str, Any]
    ranges: list[tuple[int, int | None] | None]
    extra: dict[str, Any]
    expected: int | None
    snapshot: str | None


class _Progress:
    """Rows, rows/s and bytes every ``interval`` seconds, over all chunks."""

    def __init__(self, log: Any, interval: float) -> None:
        self.log = log
        self.interval = interval
        self.started = self.last = time.monotonic()
        self.rows = 0
        self._lock = threading.Lock()

    def add(self, rows: int, sinks: Sequence[Any]) -> None:
        with self._lock:
            self.rows += rows
            now = time.monotonic()
            if now - self.last >= self.interval:
                self.last = now
                self.log.info(
                    "Progress: %d rows, %.0f rows/s, %d bytes in closed part files",
                    self.rows,
                    self.rows / max(now - self.started, 1e-9),
                    sum(s.bytes_written for s in sinks),
                )

    def done(self, manifest: dict[str, Any]) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.log.info(
            "Extracted %d rows in %.1fs (%.0f rows/s); %d files, %d bytes",
            manifest["records"],
            elapsed,
            manifest["records"] / elapsed,
            len(manifest["files"]),
            sum(f["bytes"] for f in manifest["files"]),
        )
