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
COPY INTO from S3/internal named stages (``copy``, ``copy_insert``) with every ON_ERROR mode
(``copy_errors``), LIST and REMOVE on named stages (``stage_files``), INFORMATION_SCHEMA.LOAD_HISTORY
filled by our COPY (fakesnow maps the view to its ``_fs_load_history`` table), table streams
(``streams``), native MERGE (``merge``), DROP STAGE / DROP FILE FORMAT and persistence of stages and
file formats (``catalog``), no-op session statements such as ``ALTER SESSION SET QUERY_TAG``
(``cursor.NOP_PATTERNS``), ``DESCRIBE STREAM``, NULL timestamps in results (``arrow_nulls``).

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
- ON_ERROR: ABORT_STATEMENT (default), CONTINUE, SKIP_FILE, SKIP_FILE_<n> and 'SKIP_FILE_<n>%'. Error
  records are lines that are not valid JSON, CSV records with the wrong field count, and values the
  target column cannot take (conversion errors, NULL into NOT NULL), in plain, MATCH_BY_COLUMN_NAME and
  transform loads. Status LOADED / PARTIALLY_LOADED / LOAD_FAILED; ``errors_seen`` counts every error
  record of the file (Snowflake: rows_parsed - rows_loaded); the first_error_* columns describe the
  file's first error record. ``error_limit`` is the error count at which the file fails: 1 for
  ABORT_STATEMENT and SKIP_FILE, n for SKIP_FILE_<n>, rows_parsed for CONTINUE, and
  floor(rows_parsed * n / 100) + 1 for 'SKIP_FILE_<n>%' (our reading of "exceeds the percentage"; the
  docs give no example). A file whose every record failed is LOAD_FAILED under any mode; a file that
  cannot be read at all (bad compression, corrupt Parquet) is LOAD_FAILED with rows_parsed 0 and
  errors_seen 1 (ABORT_STATEMENT: the statement fails, as before).
- Error texts: JSON parse errors are ``Error parsing JSON: <orjson's reason>, pos <column>`` (Snowflake's
  reasons read e.g. "incomplete object value"); number/date/timestamp/boolean conversions use
  Snowflake's wording (``Numeric value 'x' is not recognized``, ``Date '...' is not recognized``, ...),
  NOT NULL gives ``NULL result in a non-nullable column``; other DuckDB errors keep DuckDB's text. CSV
  field-count errors use Snowflake's two messages ("Number of columns in file (n) does not match ..."
  with column ``"T"[n]``, "End of record reached while expected to parse column '"T"["C":n]'").
  first_error_column_name is ``"T"["COL":position]``; JSON parse errors are reported on the first column
  the COPY fills (``"T"["RECORD":1]`` for a variant load; NULL with MATCH_BY_COLUMN_NAME).
  first_error_character: JSON = the error's column in its line; CSV = the failing field's offset
  computed from the parsed fields (quotes not counted); transforms of other formats = 1. VARCHAR(n)
  lengths are not enforced (DuckDB), so over-long strings load instead of failing.
- Value errors are found by running the INSERT's SELECT with the target types on a second DuckDB
  connection, bisecting to the failing rows: one extra query per file when ON_ERROR is not
  ABORT_STATEMENT, plus about log2(rows) per bad row.
- Load metadata: LOADED and PARTIALLY_LOADED files count as loaded (a re-COPY skips them without
  FORCE); LOAD_FAILED files are recorded in LOAD_HISTORY but the next COPY tries them again (the
  docs I could reach do not spell out the LOAD_FAILED case; this is Snowflake's commonly observed
  behaviour and what the loader relies on). Only
  statements that complete (and commit) leave records, as the LOAD_HISTORY docs say. PURGE = TRUE
  removes the files this statement loaded (LOADED/PARTIALLY_LOADED), not failed or skipped ones.
- INFORMATION_SCHEMA.LOAD_HISTORY: the documented columns; STATUS spelled as the view's docs spell it
  (``LOADED``, ``LOAD FAILED``, ``PARTIALLY LOADED``); TABLE_NAME/SCHEMA_NAME as Snowflake stores them
  (upper case unless quoted). No 14-day window, no 10,000-row cap, history survives TRUNCATE (Snowflake
  shows only post-truncate history) and is cleared by CREATE [OR REPLACE] TABLE (fakesnow). The
  COPY_HISTORY table function and ACCOUNT_USAGE views are not provided.
- CSV: a quoted empty field ("") loads as NULL like an unquoted one (Snowflake keeps ''), escapes
  other than doubled quotes are not supported, blank lines are skipped. VALIDATION_MODE, INFER_SCHEMA
  and stage-level FILE_FORMAT are not supported (the COPY must carry its FILE_FORMAT or FORMAT_NAME).
- VARIANT values come back compact (``["x"]``), not pretty-printed as Snowflake's connector shows.
LIST / REMOVE
- ``LIST @stage[/path] [PATTERN = '...']`` (``LS``) returns ``name, size, md5, last_modified``: for S3
  stages ``name`` is the full ``s3://bucket/key`` URL and ``md5`` the object's ETag without quotes (a
  multipart upload's ETag is not an MD5, as in S3); internal stages show ``stage/path`` and the content's
  MD5. ``last_modified`` is text like ``Sat, 28 Nov 2026 14:17:10 GMT``. ``REMOVE`` (``RM``) returns
  ``name, result`` with ``result = 'removed'`` (no rows when nothing matched) and is not transactional
  (nor is it in Snowflake). The path is a prefix; PATTERN must match the whole path inside the bucket or
  the whole path inside the stage (which of the two Snowflake matches is not documented; COPY's PATTERN
  behaves the same here). ``PATTERN =>`` is not Snowflake syntax and is rejected. User and table stages
  (``@~``, ``@%t``) stay with fakesnow (no PATTERN, no REMOVE).
Streams
- Emulated with an offset table and a view of the net changes (``stream_changes``); stream objects
  are hidden in ``<DB>._fs_information_schema``. Row identity is DuckDB's rowid (vacuum of deleted
  rows is disabled so it stays stable): updating a column of a PRIMARY KEY makes DuckDB delete +
  insert, so such an update shows as DELETE + INSERT with ISUPDATE = FALSE; after ``DELETE FROM t``
  (all rows) and a checkpoint, rowids restart at 0: a default stream can pair a new row with a deleted
  one as an "update", and an append-only stream does not show new rows until their rowids pass the
  offset's high-water mark.
- Cost: the offset of an append-only stream is a rowid high-water mark, so reading and consuming cost
  O(changes). A default stream keeps each row's values and a 64-bit hash of them: rows above the mark
  are inserts without a join, rows up to it are diffed on (rowid, hash) only, which is still a pass
  over the table (about 0.1-0.3 s at 1M rows here); consuming applies just the net changes to the
  snapshot. An update whose new values hash like the old ones (probability ~2^-64) would be missed.
- An update that sets a row back to its values at the offset shows nothing (pure net change).
- Append-only streams show rows inserted since the offset that still exist (Snowflake also returns
  rows inserted and then deleted before consumption).
- Rows inserted into the base table by the consuming transaction itself stay in the stream after it
  commits (their rowids are provisional until COMMIT).
- Columns follow the table's current columns, as in Snowflake ("Streams use the current table
  schema", docs.snowflake.com/user-guide/streams). A column added after the offset shows in DELETE rows
  as its DEFAULT (else NULL), and a row counts as updated when only that column moved away from it; a
  column type change makes every row show as updated. The change view is re-created by the first
  read after the ALTER TABLE; a transaction that began before that still sees the old columns. No
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
Results
- NULL TIMESTAMP_NTZ/LTZ/TZ values: fakesnow 0.12.1 sends them as epoch 0 (1970-01-01) to the
  connector; the server wraps ``fakesnow.arrow.timestamp_to_sf_struct`` at start-up
  (``arrow_nulls``) so they arrive as NULL.
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
