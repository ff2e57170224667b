"""S3StageLoadOperator: COPY exactly the extracted files from an S3 stage into a Snowflake table, verified.

Unlike the stock ``CopyFromExternalStageToSnowflakeOperator`` (raw ``copy_options`` string, per-file results
ignored), every COPY result row is checked against what was asked for: a file that failed, loaded partly
beyond ``max_error_rows``, or loaded a different number of rows than the extract's manifest says fails the
task with a per-file table, and nothing from the run is committed.

One run: [SHOW STAGES, creating the stage only when missing] -> BEGIN -> COPY ... FILES = (<= 1,000 files)
per batch -> verify -> COMMIT (or ROLLBACK and fail) -> [remove purged files]. The table is looked up only
when a COPY fails (then created with ``create_table``, and the load runs once more), so a steady run sends
four statements. Re-runs are idempotent through Snowflake's load metadata: files already loaded are skipped
(``force=True`` reloads them). A rolled-back run leaves no rows and no load metadata, so its re-run retries
every file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dataeng.links import SnowsightTableLink, push_snowsight_table_link
from airflow_provider_dataeng.operators._shared import check_if_empty, nothing_to_do, snowflake_task_hook
from airflow_provider_dataeng.sql import copy as copy_sql
from airflow_provider_dataeng.sql.copy_results import (
    FileInput,
    FileVerdict,
    LoadReport,
    check_manifest_format,
    collect_file_inputs,
    file_verdicts,
    parse_copy_result,
)
from airflow_provider_dataeng.sql.file_formats import FileFormat, parse_file_format
from airflow_provider_dataeng.sql.identifiers import ObjectName, parse_object_name
from airflow_provider_dataeng.sql.session import check_session_args
from airflow_provider_dataeng.validation import choice, flag, is_templated, non_negative_int

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.session import SqlSession

_ENSURE_STAGE_KEYS = {"url", "storage_integration", "credentials", "aws_conn_id"}


class S3StageLoadOperator(BaseOperator):
    """Load staged files into a Snowflake table with COPY INTO and verify every file's result.

    :param table: target table, possibly qualified (``RAW.EVENTS``); templated.
    :param stage: external stage, possibly qualified; templated.
    :param files: the extract operator's manifest (``files=extract.output``), a list of manifests (mapped
        extract tasks), or a list of stage-relative paths or ``s3://`` URIs; templated.
    :param prefix: load a stage folder instead of listed files (Snowflake picks the files); templated.
    :param file_format: a named file format, or a description such as ``{"type": "JSON", "compression":
        "ZSTD"}`` (JSON, PARQUET or CSV with their documented options).
    :param load_as: ``variant`` (one VARIANT column ``RECORD``) or ``columns`` (``MATCH_BY_COLUMN_NAME =
        CASE_INSENSITIVE`` into typed columns).
    :param create_table: create the table when missing (variant shape; for ``columns``, from ``columns`` or
        from the first file's schema with INFER_SCHEMA).
    :param columns: ``{"NAME": "TYPE"}`` for ``create_table`` with ``load_as="columns"``.
    :param on_error: ``abort`` (default), ``continue``, ``skip_file``, ``skip_file_<n>`` or ``skip_file_<n>%``.
    :param max_error_rows: rejected rows tolerated over the whole load (with ``on_error="continue"`` or
        ``"skip_file_<n>"``, the modes that load part of a file).
    :param force: reload files even if Snowflake's load metadata says they were loaded.
    :param purge: remove the loaded files from the stage after the load committed.
    :param metadata_columns: fill ``_SOURCE_FILE``, ``_SOURCE_ROW`` and ``_LOADED_AT`` from the COPY.
    :param if_empty: when there is nothing to load (no file listed, or none new under ``prefix``): ``skip``
        (default: AirflowSkipException), ``succeed`` (the zero-count summary with ``"empty": True``; downstream
        runs) or ``fail``.
    :param ensure_stage: ``{"url": "s3://...", "storage_integration": "..."}`` (or ``"aws_conn_id"`` /
        ``"credentials"`` for key-based access, e.g. the local stack) creates the stage if it does not exist.
    :param snowflake_conn_id: the Snowflake connection.
    :param warehouse: the warehouse for this task's session (default: the connection's); templated.
    :param role: the role for this task's session (default: the connection's); templated.
    :param query_tag: extra keys for the session's JSON ``QUERY_TAG`` (which always holds ``dag_id``,
        ``task_id``, ``run_id``, ``try_number`` and ``map_index``); templated.
    :param emit_assets: after a load that committed files, add the table's Asset
        (``snowflake://<account>/<DB>/<SCHEMA>/<TABLE>``, account and default database from the connection) to
        the task's outlets with extra ``{"files_loaded", "files_skipped", "rows_loaded", "rows_parsed"}``; an
        equal declared outlet gets the extra instead (also when no new file was loaded, when no asset is added).
        Airflow records the event only for an asset some DAG declares. ``False`` opts out.
    :return: ``{"table", "files_loaded", "files_skipped", "rows_loaded", "rows_parsed", "errors",
        "statements"}`` (``statements``: the SQL statements the task sent), plus ``"empty": True`` when there was
        nothing to load and ``if_empty="succeed"``.
    """

    template_fields: Sequence[str] = ("table", "stage", "files", "prefix", "warehouse", "role", "query_tag")
    template_fields_renderers = {"files": "json"}
    ui_color = "#c5e4f3"
    operator_extra_links = (SnowsightTableLink(),)

    def __init__(
        self,
        *,
        table: str,
        stage: str,
        file_format: str | dict[str, Any],
        snowflake_conn_id: str = "snowflake_default",
        files: Any = None,
        prefix: str | None = None,
        load_as: str = "variant",
        create_table: bool = False,
        columns: dict[str, str] | None = None,
        on_error: str = "abort",
        max_error_rows: int = 0,
        force: bool = False,
        purge: bool = False,
        metadata_columns: bool = True,
        if_empty: str = "skip",
        ensure_stage: dict[str, Any] | None = None,
        emit_assets: bool = True,
        warehouse: str | None = None,
        role: str | None = None,
        query_tag: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.snowflake_conn_id = snowflake_conn_id
        self.warehouse = warehouse
        self.role = role
        self.query_tag = query_tag
        check_session_args(warehouse=warehouse, role=role, query_tag=query_tag)
        self.table = table
        self.stage = stage
        self.files = files
        self.prefix = prefix
        self.load_as = load_as
        self.create_table = create_table
        self.on_error = on_error
        self.max_error_rows = max_error_rows
        self.force = force
        self.purge = purge
        self.metadata_columns = metadata_columns
        self.if_empty = if_empty
        self.ensure_stage = ensure_stage
        self.emit_assets = emit_assets

        # Everything that does not depend on templates is checked now, when the DAG is parsed.
        if (files is None) == (prefix is None):
            raise ValueError(
                "give exactly one of files= (a manifest, paths or URIs) or prefix= (a stage folder)"
            )
        for name, value in (("table", table), ("stage", stage)):
            if not is_templated(value):
                parse_object_name(value, param=name)
        if prefix is not None and not is_templated(prefix):
            copy_sql.validate_prefix(prefix)
        self.file_format: FileFormat = parse_file_format(file_format)
        self._on_error_sql = copy_sql.on_error_sql(on_error)
        choice("load_as", load_as, copy_sql.LOAD_AS)
        _check_format_for_load_as(self.file_format, load_as)
        self.columns = copy_sql.parse_columns(columns) if columns is not None else None
        if columns is not None and (load_as != "columns" or not create_table):
            raise ValueError(
                "columns= only describes the table to create: use it with load_as='columns' and create_table=True"
            )
        if create_table and load_as == "columns" and columns is None and prefix is not None:
            raise ValueError(
                "create_table with load_as='columns' and prefix= needs columns= (no file to infer the schema from)"
            )
        non_negative_int("max_error_rows", max_error_rows)
        if max_error_rows and self._on_error_sql in ("ABORT_STATEMENT", "SKIP_FILE"):
            raise ValueError(
                "max_error_rows only applies with on_error='continue' or 'skip_file_<n>[%]' (partial loads); "
                "abort and skip_file never load part of a file"
            )
        check_if_empty(if_empty)
        for name, flag_value in (
            ("create_table", create_table),
            ("force", force),
            ("purge", purge),
            ("metadata_columns", metadata_columns),
            ("emit_assets", emit_assets),
        ):
            flag(name, flag_value)
        if ensure_stage is not None:
            _check_ensure_stage(ensure_stage)

    # ------------------------------------------------------------------------------------------ execute

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        try:  # bad input found at run time (rendered templates, manifests, stage) will not fix itself
            table = parse_object_name(self.table, param="table")
            stage = parse_object_name(self.stage, param="stage")
            prefix = copy_sql.validate_prefix(self.prefix) if self.prefix is not None else None
            inputs = None
            if self.files is not None:
                inputs = collect_file_inputs(self.files)
                check_manifest_format(
                    inputs,
                    file_type=self.file_format.type,
                    compression=self.file_format.option("COMPRESSION"),
                )
        except ValueError as err:
            raise AirflowFailException(str(err)) from None
        if inputs is not None and not inputs.files:
            return self._no_files(table, "files= lists no file")

        from airflow_provider_dataeng.hooks.snowflake import stage_url as lookup_stage_url

        hook = snowflake_task_hook(self, context)
        with hook.session(self.log) as session:
            self.statements_run = session.completed  # as logged (credentials redacted), for lineage
            try:
                stage_url = self._ensure_stage(session, stage) if self.ensure_stage else None
                expected: list[FileInput] | None = None
                if inputs is not None:
                    if stage_url is None and (self.purge or any(f.is_uri for f in inputs.files)):
                        stage_url = lookup_stage_url(session, stage)
                    expected = _stage_relative(inputs.files, stage_url)
                elif self.purge:
                    stage_url = lookup_stage_url(session, stage)
            except ValueError as err:
                raise AirflowFailException(str(err)) from None
            if self.create_table and self.load_as == "columns" and not self.columns:
                self._ensure_table(session, table, stage, expected)  # inferred from a file: look first
            report = self._load(session, table, stage, expected, prefix, stage_url)
            if self.purge:
                self._remove_files(session, stage, report, stage_url)
            statements = session.count
        summary = {**report.summary(table.sql), "statements": statements}
        self._lineage = (table, summary, _loaded_folder(report, stage_url, prefix))
        push_snowsight_table_link(context, self, self.snowflake_conn_id, table.parts)
        if not report.verdicts and expected is None:
            return {
                **self._no_files(table, f"Snowflake found no new file under prefix {prefix!r}"),
                "statements": statements,
            }
        self.log.info(
            "Loaded %s: %d files loaded, %d skipped (already loaded), %d rows loaded, %d rejected; %d statements",
            table.sql,
            summary["files_loaded"],
            summary["files_skipped"],
            summary["rows_loaded"],
            report.error_rows,
            statements,
        )
        if self.emit_assets:
            from airflow_provider_dataeng.assets import emit_snowflake_table_assets

            extra = {k: summary[k] for k in ("files_loaded", "files_skipped", "rows_loaded", "rows_parsed")}
            # A run that only skipped already-loaded files changed nothing: no new asset, but a declared
            # outlet (which Airflow emits anyway) still says so in its extra.
            emit_snowflake_table_assets(
                context, self, self.snowflake_conn_id, [(table.parts, extra)], add=summary["files_loaded"] > 0
            )
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the staged folder in, the table out (its shape when the operator decides it), rows and
        files loaded, and the statements run."""
        from airflow_provider_dataeng import lineage

        loaded = getattr(self, "_lineage", None)
        if loaded is None:
            return None
        table, summary, folder = loaded
        metadata = [(c.name, c.type) for c in copy_sql.METADATA_COLUMNS] if self.metadata_columns else []
        return lineage.to_operator_lineage(
            lineage.load_lineage(
                lineage.snowflake_context(self.snowflake_conn_id),
                table.parts,
                source_url=folder,
                summary=summary,
                schema=lineage.variant_load_schema(
                    self.load_as, self.columns if self.create_table else None, metadata
                ),
                statements=getattr(self, "statements_run", ()),
            )
        )

    def _load(
        self,
        session: SqlSession,
        table: ObjectName,
        stage: ObjectName,
        expected: list[FileInput] | None,
        prefix: str | None,
        stage_url: str | None,
    ) -> LoadReport:
        """The COPY batches; a missing table (found only when a COPY fails) is created and the load re-run."""
        try:
            return self._copy_all(session, table, stage, expected, prefix, stage_url)
        except _CopyFailed as failed:
            if self._table_exists(session, table):
                raise failed.error from failed.error.__cause__
            self.log.info("table %s does not exist yet (the COPY said so)", table.sql)
            self._ensure_table(session, table, stage, expected, exists=False)
        try:
            return self._copy_all(session, table, stage, expected, prefix, stage_url)
        except _CopyFailed as failed:
            raise failed.error from failed.error.__cause__

    def _copy_all(
        self,
        session: SqlSession,
        table: ObjectName,
        stage: ObjectName,
        expected: list[FileInput] | None,
        prefix: str | None,
        stage_url: str | None,
    ) -> LoadReport:
        """All COPY batches in one transaction; commit only when every file's verdict is good."""
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        groups: list[list[FileInput] | None] = (
            list(_chunks(expected, copy_sql.MAX_FILES_PER_COPY)) if expected is not None else [None]
        )
        verdicts: list[FileVerdict] = []
        with session.transaction():
            for number, group in enumerate(groups, start=1):
                sql = copy_sql.build_copy_sql(
                    table=table,
                    stage=stage,
                    file_format=self.file_format,
                    files=[f.ref for f in group] if group is not None else None,
                    prefix=prefix,
                    load_as=self.load_as,
                    metadata_columns=self.metadata_columns,
                    on_error=self._on_error_sql,
                    force=self.force,
                    purge=False,  # purging happens after COMMIT, so a rollback never loses files
                )
                try:
                    rows = session.fetch(sql, log_sql=_abbreviate_files(sql))
                except Exception as err:
                    error = AirflowException(
                        f"COPY batch {number}/{len(groups)} into {table.sql} failed; nothing from this run is "
                        f"committed: {_error_text(err)}"
                    )
                    error.__cause__ = err
                    raise _CopyFailed(error) from err
                batch = file_verdicts(group, parse_copy_result(rows), stage_url=stage_url, force=self.force)
                verdicts.extend(batch)
                self.log.info(
                    "COPY batch %d/%d: %d files loaded, %d skipped, %d failed, %d rows loaded",
                    number,
                    len(groups),
                    sum(v.outcome == "loaded" for v in batch),
                    sum(v.outcome == "skipped" for v in batch),
                    sum(v.outcome == "failed" for v in batch),
                    sum(v.rows_loaded or 0 for v in batch if v.outcome == "loaded"),
                )
            report = LoadReport(verdicts, max_error_rows=self.max_error_rows)
            if not report.ok:  # raised inside the block: the transaction rolls back
                table_text = report.render_table()
                self.log.error("Load into %s failed verification:\n%s", table.sql, table_text)
                raise AirflowFailException(
                    f"Load into {table.sql} failed verification for {len(report.failures)} of "
                    f"{len(report.verdicts)} files; the load was rolled back (no rows, no load metadata: a re-run "
                    f"retries every file).\n{table_text}"
                )
        if report.error_rows:
            self.log.warning(
                "%d rows were rejected (within max_error_rows=%d):\n%s",
                report.error_rows,
                self.max_error_rows,
                report.render_table(),
            )
        return report

    def _no_files(self, table: ObjectName, reason: str) -> dict[str, Any]:
        nothing_to_do(self.if_empty, f"nothing to load into {table.sql}: {reason}", self.log)
        return {**LoadReport([]).summary(table.sql), "statements": 0, "empty": True}

    def _ensure_stage(self, session: SqlSession, stage: ObjectName) -> str:
        """The stage's URL; the stage is created only when SHOW STAGES does not list it."""
        from airflow_provider_dataeng.hooks.snowflake import stage_url

        spec = dict(self.ensure_stage or {})
        url = spec["url"] if spec["url"].endswith("/") else spec["url"] + "/"
        actual = stage_url(session, stage, missing_ok=True)
        if actual is None:
            credentials = spec.get("credentials")
            if spec.get("aws_conn_id"):
                from airflow_provider_dataeng.hooks.aws import stage_credentials

                credentials = stage_credentials(spec["aws_conn_id"])
            sql = copy_sql.build_create_stage_sql(
                stage, url=url, storage_integration=spec.get("storage_integration"), credentials=credentials
            )
            status = session.fetch(sql, log_sql=copy_sql.redact_create_stage(sql))
            created = any("successfully created" in str(v) for row in status for v in row.values())
            # created by another run meanwhile ("already exists, statement succeeded"): check its URL
            actual = url if created else stage_url(session, stage)
        assert actual is not None
        if actual.rstrip("/") != url.rstrip("/"):
            raise ValueError(
                f"stage {stage.sql} already exists with URL {actual!r}, not ensure_stage['url']={url!r}; "
                f"use another stage name or fix the URL"
            )
        return url

    @staticmethod
    def _table_exists(session: SqlSession, table: ObjectName) -> bool:
        sql, params = copy_sql.build_table_exists_sql(table)
        return bool(int(session.fetch(sql, params)[0]["N"]))

    def _ensure_table(
        self,
        session: SqlSession,
        table: ObjectName,
        stage: ObjectName,
        expected: list[FileInput] | None,
        *,
        exists: bool | None = None,
    ) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        if exists is None:
            exists = self._table_exists(session, table)
        if exists:
            return
        if not self.create_table:
            raise AirflowFailException(
                f"table {table.sql} does not exist: create it, or pass create_table=True to create it "
                f"({'RECORD VARIANT' if self.load_as == 'variant' else 'typed columns'} plus metadata columns)"
            )
        if self.load_as == "variant" or self.columns:
            session.run(
                copy_sql.build_create_table_sql(
                    table, load_as=self.load_as, columns=self.columns, metadata_columns=self.metadata_columns
                )
            )
            return
        assert expected  # prefix mode without columns= is refused at construction
        format_name = self.file_format.name
        if format_name is None:
            format_name = copy_sql.infer_format_name(table)
            session.run(self.file_format.create_sql(format_name, temporary=True))
        session.run(
            copy_sql.build_create_table_from_files_sql(
                table, stage=stage, file=expected[0].ref, format_name=format_name
            )
        )
        if self.metadata_columns:
            for statement in copy_sql.build_add_metadata_columns_sql(table):
                session.run(statement)

    def _remove_files(
        self, session: SqlSession, stage: ObjectName, report: LoadReport, stage_url: str | None
    ) -> None:
        done = [v.file for v in report.verdicts if v.outcome in ("loaded", "skipped")]
        for path in done:
            relative = path[len(stage_url) :] if stage_url and path.startswith(stage_url) else path
            session.run(copy_sql.build_remove_sql(stage, relative))
        self.log.info("Removed %d loaded files from stage %s", len(done), stage.sql)


def _loaded_folder(report: LoadReport, stage_url: str | None, prefix: str | None) -> str | None:
    """The storage folder the loaded files share (stage-relative names resolved on the stage URL), for lineage."""
    from airflow_provider_dataeng.lineage import common_prefix

    uris = [v.file if "://" in v.file else f"{stage_url or ''}{v.file}" for v in report.verdicts]
    folder = common_prefix([u for u in uris if "://" in u])
    if folder is None and stage_url:
        folder = stage_url + (prefix or "")
    return folder


def _stage_relative(files: list[FileInput], stage_url: str | None) -> list[FileInput]:
    out: list[FileInput] = []
    seen: set[str] = set()
    for f in files:
        if f.is_uri:
            assert stage_url is not None
            path = copy_sql.stage_relative_path(f.ref, stage_url)
        else:
            path = copy_sql.validate_file_path(f.ref)
        if path not in seen:
            seen.add(path)
            out.append(FileInput(path, f.records))
    return out


def _chunks(items: list[FileInput], size: int) -> list[list[FileInput]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _abbreviate_files(sql: str, keep: int = 3) -> str:
    """The COPY for the log, with a long FILES list cut to its first names and a count."""
    start = sql.find("\nFILES = (")
    if start == -1:
        return sql
    end = sql.index(")\n", start)
    names = sql[start + len("\nFILES = (") : end].split("', '")
    if len(names) <= keep:
        return sql
    shown = "', '".join(names[:keep]) + "'"
    return f"{sql[:start]}\nFILES = ({shown}, ... {len(names) - keep} more){sql[end + 1 :]}"


def _check_format_for_load_as(ff: FileFormat, load_as: str) -> None:
    if ff.type is None:
        return  # a named format: Snowflake checks it
    if load_as == "variant" and ff.type == "CSV":
        raise ValueError(
            "load_as='variant' loads one document per row (JSON or PARQUET); for CSV use load_as='columns' "
            "with file_format parse_header=True"
        )
    if load_as == "columns" and ff.type == "CSV" and ff.option("PARSE_HEADER") != "TRUE":
        raise ValueError(
            "load_as='columns' matches CSV columns by header name: set parse_header=True in file_format"
        )


def _check_ensure_stage(spec: Any) -> None:
    if not isinstance(spec, dict) or "url" not in spec:
        raise ValueError(
            "ensure_stage must be a dict with 'url' and one of 'storage_integration', 'aws_conn_id', 'credentials'"
        )
    unknown = set(spec) - _ENSURE_STAGE_KEYS
    if unknown:
        raise ValueError(
            f"ensure_stage: unknown keys {sorted(unknown)}; allowed: {sorted(_ENSURE_STAGE_KEYS)}"
        )
    auth = [k for k in ("storage_integration", "aws_conn_id", "credentials") if spec.get(k)]
    if len(auth) != 1:
        raise ValueError(
            "ensure_stage needs exactly one of 'storage_integration' (production), 'aws_conn_id' or 'credentials'"
        )
    creds = spec.get("credentials")
    if creds is not None and (
        not isinstance(creds, dict) or not {"aws_key_id", "aws_secret_key"} <= set(creds)
    ):
        raise ValueError("ensure_stage['credentials'] must be a dict with 'aws_key_id' and 'aws_secret_key'")
    # Checks the URL and the integration name (the credentials are placeholders here).
    copy_sql.build_create_stage_sql(
        ObjectName(("STAGE",)),
        url=spec["url"] if str(spec["url"]).endswith("/") else f"{spec['url']}/",
        storage_integration=spec.get("storage_integration"),
        credentials=None if spec.get("storage_integration") else {"aws_key_id": "x", "aws_secret_key": "x"},
    )


def _error_text(err: BaseException) -> str:
    return " ".join(str(getattr(err, "msg", None) or err).split())


class _CopyFailed(Exception):
    """A COPY statement failed (the transaction is rolled back); ``error`` is what the task raises."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error
