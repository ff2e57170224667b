"""Local Snowflake stand-in: fakesnow's server plus the extensions our operators need.

Never imported by the provider's production code; it only serves SQL to ``snowflake.connector``.

Contract
--------
- ``python -m airflow_provider_dataeng.local.snowflake --host 127.0.0.1 --port PORT --data-dir DIR
  [--s3-endpoint http://127.0.0.1:S3PORT] [--log-level info]`` serves in the foreground and exits 0 on
  SIGTERM/SIGINT. Defaults come from ``DATAENG_LOCAL_SNOWFLAKE_HOST``, ``DATAENG_LOCAL_SNOWFLAKE_PORT``
  (8085), ``DATAENG_LOCAL_SNOWFLAKE_DATA_DIR`` (``.local/snowflake``) and ``DATAENG_LOCAL_S3_ENDPOINT``.
- Python: :func:`serve` (foreground) and :func:`start_in_thread` (returns a handle with ``.stop()``,
  ``.url``, ``.port`` and ``.connect_kwargs()``; one server per process).
- Health check: ``GET /healthz`` returns 200 ``{"status": "ok"}`` once the server accepts sessions.
- Clients: ``snowflake.connector.connect(host=..., port=PORT, protocol="http", account="fakesnow",
  user=any, password=any, database="DEMO", schema="PUBLIC", network_timeout=...)``; the database and
  schema are created at login.
- Data dir layout: ``databases/<DB>.db`` (DuckDB files, attached at start-up), ``stages/`` (internal
  stage files), ``catalog/`` (stages, file formats, stage credentials). S3 access uses the stage's
  CREDENTIALS, else ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (anything works against moto).

Extensions over fakesnow 0.12.1
-------------------------------
COPY INTO from S3/internal named stages (``copy``), table streams (``streams``), native MERGE
(``merge``), DROP STAGE / DROP FILE FORMAT and persistence of stages and file formats (``catalog``),
no-op session statements such as ``ALTER SESSION SET QUERY_TAG`` (``cursor.NOP_PATTERNS``),
``DESCRIBE STREAM``.

DEVIATIONS from Snowflake (verified against docs.snowflake.com where noted)
----------------------------------------------------------------------------
COPY
- Result rows have Snowflake's ten columns (file, status, rows_parsed, rows_loaded, error_limit,
  errors_seen, first_error, first_error_line, first_error_character, first_error_column_name). As in
  Snowflake, files already loaded into the table (load metadata) are skipped silently; when nothing is
  left the result is the single column ``status`` = "Copy executed with 0 files processed.".
  ``FORCE = TRUE`` reloads. fakesnow itself returned LOAD_SKIPPED rows instead.
- ``file`` is the full URL for external stages (``s3://bucket/prefix/sub/a.jsonl.zst``).
  ``METADATA$FILENAME`` is the object path inside the bucket, stage prefix included
  (``prefix/sub/a.jsonl.zst``); the docs say "Name of the staged data file ... Includes the full path
  to the data file" (older wording: "the path to the data file in the stage"). For internal stages it
  is the path inside the stage.
- Load metadata is keyed on the file URL only (Snowflake also uses the ETag/checksum, so a changed
  file with the same name is loaded again there; here it is skipped without FORCE). It never expires
  (Snowflake: 64 days).
- ON_ERROR: only ABORT_STATEMENT (the default); anything else is rejected with an error. Errors
  report file and line but not Snowflake's exact error codes/messages.
- CSV: a quoted empty field ("") loads as NULL like an unquoted one (Snowflake keeps ''), escapes
  other than doubled quotes are not supported, blank lines are skipped. VALIDATION_MODE, INFER_SCHEMA
  and stage-level FILE_FORMAT are not supported (the COPY must carry its FILE_FORMAT or FORMAT_NAME).
- VARIANT values come back compact (``["x"]``), not pretty-printed as Snowflake's connector shows.
Streams
- Emulated with a snapshot table (the offset) and a view of the net changes; stream objects are
  hidden in ``<DB>._fs_information_schema``. Row identity is DuckDB's rowid (vacuum of deleted rows
  is disabled so it stays stable): updating a column of a PRIMARY KEY makes DuckDB delete + insert,
  so such an update shows as DELETE + INSERT with ISUPDATE = FALSE; after ``DELETE FROM t`` (all rows)
  and a checkpoint, rowids restart at 0 and a new row can pair with a deleted one as an "update".
- An update that sets a row back to its values at the offset shows nothing (pure net change).
- Append-only streams show rows inserted since the offset that still exist (Snowflake also returns
  rows inserted and then deleted before consumption).
- Rows inserted into the base table by the consuming transaction itself stay in the stream after it
  commits (their rowids are provisional until COMMIT).
- Columns are fixed at CREATE STREAM (columns added to the table later are not tracked); no
  staleness (``stale`` is always 'false', ``stale_after`` = created_on + 14 days), no AT/BEFORE, no
  streams on views, external tables or stages, no CHANGES clause, no ALTER STREAM.
- DuckDB writes one database per transaction: when the DML's target is in another database than the
  stream, the offset is advanced right after the statement commits (or after COMMIT of the explicit
  transaction), not atomically with it; concurrent changes in that gap are consumed unseen.
- Two sessions consuming the same stream concurrently: the second fails with a DuckDB write
  conflict instead of waiting on a lock.
MERGE
- Runs as DuckDB's native MERGE, inside explicit transactions too. Counts come from a join of the
  source with the target before the MERGE (first matching WHEN wins, as in both engines); with
  bound parameters they come from ``RETURNING merge_action``. A target row that several source rows
  match under a WHEN MATCHED clause is refused ("Duplicate row detected during DML action", errno
  100090), like Snowflake's default ERROR_ON_NONDETERMINISTIC_MERGE; this check is skipped for
  statements with bound parameters (DuckDB then updates with one of the rows).
- Stage credentials are kept in plain text in ``DATA_DIR/catalog/credentials.json`` (local use only).
Sessions
- ``ALTER SESSION SET/UNSET`` (except AUTOCOMMIT and QUOTED_IDENTIFIERS_IGNORE_CASE, which fakesnow
  implements), ``ALTER WAREHOUSE/ACCOUNT/USER``, ``USE SECONDARY ROLES``, warehouse and resource monitor
  DDL, GRANT and REVOKE succeed without effect.
- Internal stage files persist under the data dir; temporary stages are not persisted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dataeng.local.snowflake.server import RunningServer

__all__ = ["HEALTH_PATH", "serve", "start_in_thread"]

HEALTH_PATH = "/healthz"


def serve(
    host: str, port: int, data_dir: str, s3_endpoint: str | None = None, log_level: str = "info"
) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    from airflow_provider_dataeng.local.snowflake.server import serve as _serve

    _serve(host, port, data_dir, s3_endpoint=s3_endpoint, log_level=log_level)


def start_in_thread(**kwargs: Any) -> RunningServer:
    """Start the server in a background thread; the handle has ``.stop()`` and ``.connect_kwargs()``."""
    from airflow_provider_dataeng.local.snowflake.server import start_in_thread as _start

    return _start(**kwargs)
