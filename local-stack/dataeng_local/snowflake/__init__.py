"""Local Snowflake stand-in: fakesnow's server plus the extensions our operators need.

Never imported by the provider's production code; it only serves SQL to ``snowflake.connector``.

Contract
--------
- ``python -m dataeng_local.snowflake --host 127.0.0.1 --port PORT --data-dir DIR
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
COPY INTO from S3/internal named stages (``copy``, ``copy_insert``; JSON text read by ``json_text``) with every ON_ERROR mode
(``copy_errors``), LIST and REMOVE on named stages (``stage_files``), INFORMATION_SCHEMA.LOAD_HISTORY
filled by our COPY (fakesnow maps the view to its ``_fs_load_history`` table), table streams
(``streams``), native MERGE (``merge``), DROP STAGE / DROP FILE FORMAT and persistence of stages and
file formats (``catalog``), no-op session statements such as ``ALTER SESSION SET QUERY_TAG``
(``cursor.NOP_PATTERNS``), ``DESCRIBE STREAM``, NULL timestamps in results (``arrow_nulls``).

DEVIATIONS from Snowflake (verified against docs.snowflake.com where noted)
----------------------------------------------------------------------------
COPY
- Supported: COPY INTO <table> [(columns)] FROM @named_stage[/path] (S3 external stages over the S3
  stand-in, internal stages) or 's3://...' URLs, plain, with MATCH_BY_COLUMN_NAME (JSON, Parquet, CSV
  with PARSE_HEADER) plus INCLUDE_METADATA, or as a transform (``SELECT $1, $1:path, $n,
  METADATA$FILENAME, METADATA$FILE_ROW_NUMBER, METADATA$FILE_CONTENT_KEY, METADATA$FILE_LAST_MODIFIED,
  METADATA$START_SCAN_TIME ...``); options FILES, PATTERN, FORCE, PURGE, ON_ERROR (every mode, below);
  TRUNCATECOLUMNS, ENFORCE_LENGTH, LOAD_UNCERTAIN_FILES and RETURN_FAILED_ONLY are accepted without
  effect; any other option (VALIDATION_MODE, SIZE_LIMIT, ...) is refused with an error. FILE_FORMAT =
  (TYPE = CSV | JSON | PARQUET ...) or (FORMAT_NAME = ...) with COMPRESSION (AUTO detects gzip, zstd,
  bz2), SKIP_HEADER, PARSE_HEADER, FIELD_DELIMITER, FIELD_OPTIONALLY_ENCLOSED_BY, NULL_IF,
  EMPTY_FIELD_AS_NULL, TRIM_SPACE, ERROR_ON_COLUMN_COUNT_MISMATCH, SKIP_BLANK_LINES, STRIP_OUTER_ARRAY
  and SKIP_BYTE_ORDER_MARK; RECORD_DELIMITER, DATE_FORMAT, TIMESTAMP_FORMAT, TIME_FORMAT, ENCODING,
  BINARY_FORMAT and BINARY_AS_TEXT are accepted with their defaults only (another value is refused, not
  ignored); USE_LOGICAL_TYPE is accepted and Parquet is always read with its logical types (as Snowflake
  does with TRUE); other options are refused. User and table stages (``@~``, ``@%t``) stay with fakesnow's own COPY.
- JSON files are read as Snowflake reads them ("concatenation of JSON documents, which may or may not
  be line-separated", ``json_text``): documents are separated by JSON whitespace only (space, tab, CR,
  LF), so blank lines and CRLF endings separate records, several documents may share a line and one
  may span lines, while U+2028, U+2029, U+0085, U+FEFF, VT, FF and U+001C-U+001E are data. Until
  2026-12 the stand-in split lines with ``str.splitlines()`` and failed on such files ("unexpected end
  of data"). Raw control characters other than LF inside strings are kept (Snowflake: "be liberal in
  what you accept"; not spelled out in its docs); a raw LF inside a string is an error, as Snowflake's
  PARSE_JSON reports ("unterminated string"). Whitespace other than JSON's (U+00A0, U+2028, ...)
  around a document is an error. A bad line is one error record and reading goes on at the next line
  (Snowflake's recovery after a bad record is not documented). A UTF-8 BOM at the start of a file is
  skipped (SKIP_BYTE_ORDER_MARK, default TRUE, JSON and CSV); with FALSE it is data (a JSON error at
  line 1, character 1). Invalid UTF-8 fails the statement (IGNORE_UTF8_ERRORS and
  REPLACE_INVALID_CHARACTERS are not supported). ALLOW_DUPLICATE, STRIP_NULL_VALUES and ENABLE_OCTAL
  are refused; a duplicate key keeps its last value (Snowflake's default ALLOW_DUPLICATE = FALSE
  makes it an error).
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
  records are lines that are not JSON documents, CSV records with the wrong field count, and values the
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
  first_error_character: JSON = the error's character in its line (characters, not bytes, counted from
  the start of the line; lines count LF only); CSV = the failing field's offset
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
  other than doubled quotes are not supported. A blank line is a record without fields: "End of record
  reached while expected to parse column" on the first column unless SKIP_BLANK_LINES = TRUE
  (Snowflake's docs: "blank lines produce an end-of-record error (default behavior)"). Records end at
  LF (CRLF too); a bare CR inside an unquoted field fails the statement (Python's csv module), where
  Snowflake keeps it as data. VALIDATION_MODE, INFER_SCHEMA
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
  offset's high-water mark. For the same reason, updating a PRIMARY KEY column of a row that existed
  at the offset shows in an append-only stream as a new INSERT (Snowflake records no update).
- Cost: the offset of an append-only stream is a rowid high-water mark plus the rows it had to keep
  (below), so reading and consuming cost O(changes). A default stream keeps each row's values and a
  64-bit hash of them: rows above the mark are inserts without a join, rows up to it are diffed on
  (rowid, hash) only, which is still a pass over the table (about 0.1-0.3 s at 1M rows here); consuming
  applies just the net changes to the snapshot. An update whose new values hash like the old ones
  (probability ~2^-64) would be missed.
- An update that sets a row back to its values at the offset shows nothing (pure net change).
- Append-only streams record every insert since the offset, with the values inserted, as Snowflake's
  do ("Update and delete operations (including table truncates) are not recorded. For example, if 10
  rows are inserted into a table and then 5 of those rows are deleted before the offset for an
  append-only stream is advanced, the stream records 10 rows", docs: ALTER STREAM / CREATE STREAM).
  A row inserted and then updated shows its inserted values (our reading: the update is not recorded;
  the docs give no example). DuckDB has no triggers, so before every UPDATE, DELETE, MERGE, TRUNCATE or
  INSERT OVERWRITE whose text names a table with append-only streams, the server copies the rows
  inserted since the offset (and not copied yet) into the stream's kept table, in a transaction of
  its own on committed data (about +5-40 ms for such statements). Until 2026-12 such rows were lost.
  Limits: rows inserted by an explicit transaction and changed again before its COMMIT are seen only
  as they are at COMMIT (a row inserted and deleted inside one transaction is not recorded); a row
  deleted inside an explicit transaction that then consumes the stream is not seen by that
  transaction and counts as consumed when an inserted row after it was (Snowflake would return it);
  statements that change the table without naming it (e.g. through a view) are not seen.
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
    from dataeng_local.snowflake.server import RunningServer

__all__ = ["HEALTH_PATH", "serve", "start_in_thread"]

HEALTH_PATH = "/healthz"


def serve(
    host: str, port: int, data_dir: str, s3_endpoint: str | None = None, log_level: str = "info"
) -> None:
    """Run the server in the foreground until SIGINT/SIGTERM."""
    from dataeng_local.snowflake.server import serve as _serve

    _serve(host, port, data_dir, s3_endpoint=s3_endpoint, log_level=log_level)


def start_in_thread(**kwargs: Any) -> RunningServer:
    """Start the server in a background thread; the handle has ``.stop()`` and ``.connect_kwargs()``."""
    from dataeng_local.snowflake.server import start_in_thread as _start

    return _start(**kwargs)
