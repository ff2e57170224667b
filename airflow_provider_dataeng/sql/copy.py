"""Pure builders for loading staged files: COPY INTO (in FILES batches), CREATE TABLE, CREATE STAGE, lookups.

Everything here returns SQL text (plus bind parameters where Snowflake takes them) and does no I/O, so every
statement the load operator sends is golden-tested and parsed with sqlglot's Snowflake dialect.

Design choices, each to match Snowflake's documented behaviour:
- Files are named with ``FILES = ('path', ...)`` relative to the stage, at most 1,000 per COPY (Snowflake's
  limit), and ``FROM`` names the stage itself: a file path only ever appears inside a string literal.
- ``load_as="variant"`` loads through a transformation ``FROM (SELECT $1, METADATA$FILENAME, ... FROM @stage)``
  into ``RECORD`` plus the metadata columns; ``load_as="columns"`` uses ``MATCH_BY_COLUMN_NAME =
  CASE_INSENSITIVE`` with ``INCLUDE_METADATA`` (which accepts only METADATA$ columns, so ``_LOADED_AT`` is
  ``METADATA$START_SCAN_TIME`` in both modes: one meaning everywhere).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_dataeng.sql.file_formats import FileFormat
from airflow_provider_dataeng.sql.identifiers import (
    ObjectName,
    parse_column_name,
    quote_identifier,
    quote_string,
)

MAX_FILES_PER_COPY = 1000  # Snowflake's limit for FILES = (...)
RECORD_COLUMN = "RECORD"
LOAD_AS = ("variant", "columns")


@dataclass(frozen=True)
class MetadataColumn:
    name: str
    source: str  # the METADATA$ column Snowflake fills it from
    type: str


METADATA_COLUMNS = (
    MetadataColumn("_SOURCE_FILE", "METADATA$FILENAME", "VARCHAR"),
    MetadataColumn("_SOURCE_ROW", "METADATA$FILE_ROW_NUMBER", "NUMBER(38,0)"),
    MetadataColumn("_LOADED_AT", "METADATA$START_SCAN_TIME", "TIMESTAMP_LTZ"),
)

ON_ERROR_CHOICES = ("abort", "continue", "skip_file", "skip_file_<n>", "skip_file_<n>%")
_ON_ERROR_FIXED = {"abort": "ABORT_STATEMENT", "continue": "CONTINUE", "skip_file": "SKIP_FILE"}
_ON_ERROR_SKIP_N = re.compile(r"skip_file_([1-9][0-9]{0,8})(%?)")
_SAFE_PREFIX = re.compile(r"[A-Za-z0-9_\-.=/]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COLUMN_TYPE = re.compile(
    r"[A-Za-z][A-Za-z0-9_]*(?: [A-Za-z][A-Za-z0-9_]*)*(?:\(\s*\d+\s*(?:,\s*\d+\s*)?\))?"
)


def on_error_sql(value: str) -> str:
    """The ON_ERROR value for COPY: abort, continue, skip_file, skip_file_<n> or skip_file_<n>%."""
    if not isinstance(value, str):
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}, got {value!r}")
    key = value.strip().lower()
    if key in _ON_ERROR_FIXED:
        return _ON_ERROR_FIXED[key]
    match = _ON_ERROR_SKIP_N.fullmatch(key)
    if match:
        return quote_string(key.upper())
    raise ValueError(f"on_error must be one of {', '.join(ON_ERROR_CHOICES)}, got {value!r}")


def validate_prefix(prefix: str, *, param: str = "prefix") -> str:
    """A stage folder such as ``events/2026-01-01/``: safe characters only, no leading slash, no ``..``."""
    if not isinstance(prefix, str) or not prefix.strip("/"):
        raise ValueError(
            f"{param} must be a non-empty stage folder such as 'events/2026-01-01/', got {prefix!r}"
        )
    text = prefix.lstrip("/")
    if not _SAFE_PREFIX.fullmatch(text) or ".." in text.split("/"):
        raise ValueError(
            f"{param}={prefix!r}: use letters, digits and _ - . = / only (no '..'); to load other paths "
            f"pass them in files= instead, where any name is allowed"
        )
    return text


def validate_file_path(path: str, *, param: str = "files") -> str:
    """A stage-relative file path (it only ever appears inside a string literal)."""
    if not isinstance(path, str) or not path.strip("/") or _CONTROL.search(path):
        raise ValueError(f"{param}: {path!r} is not a file path (empty or has control characters)")
    text = path.lstrip("/")
    if ".." in text.split("/"):
        raise ValueError(f"{param}: {path!r} must not contain '..'")
    return text


def stage_relative_path(uri: str, stage_url: str, *, param: str = "files") -> str:
    """Make ``s3://bucket/prefix/x.json`` relative to the stage URL ``s3://bucket/prefix/`` -> ``x.json``."""
    base = stage_url if stage_url.endswith("/") else stage_url + "/"
    if not uri.startswith(base):
        raise ValueError(
            f"{param}: {uri!r} is not under the stage's URL {base!r}; load it through a stage whose URL "
            f"contains it, or pass stage-relative paths"
        )
    return validate_file_path(uri[len(base) :], param=param)


def batches(items: Sequence[str], size: int = MAX_FILES_PER_COPY) -> Iterator[list[str]]:
    """Consecutive slices of at most ``size`` items (Snowflake accepts at most 1,000 files per COPY)."""
    if not 1 <= size <= MAX_FILES_PER_COPY:
        raise ValueError(f"batch size must be between 1 and {MAX_FILES_PER_COPY}, got {size}")
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def stage_location(stage: ObjectName, prefix: str | None = None) -> str:
    """``@"DB"."SCHEMA"."STAGE"`` optionally followed by a validated folder."""
    location = "@" + stage.sql
    if prefix:
        location += "/" + validate_prefix(prefix)
    return location


def build_copy_sql(
    *,
    table: ObjectName,
    stage: ObjectName,
    file_format: FileFormat,
    files: Sequence[str] | None = None,
    prefix: str | None = None,
    load_as: str = "variant",
    metadata_columns: bool = True,
    on_error: str = "ABORT_STATEMENT",
    force: bool = False,
    purge: bool = False,
) -> str:
    """One COPY INTO statement. ``files`` (<= 1,000, stage-relative) or ``prefix`` selects what to load.

    ``on_error`` is the SQL value from ``on_error_sql``.
    """
    if files is not None and prefix is not None:
        raise ValueError("give files or prefix, not both")
    if files is not None and not 1 <= len(files) <= MAX_FILES_PER_COPY:
        raise ValueError(f"one COPY takes 1 to {MAX_FILES_PER_COPY} files, got {len(files)}")
    if load_as not in LOAD_AS:
        raise ValueError(f"load_as must be one of {', '.join(LOAD_AS)}, got {load_as!r}")
    location = stage_location(stage, prefix)
    lines: list[str] = []
    if load_as == "variant":
        targets = [RECORD_COLUMN] + ([c.name for c in METADATA_COLUMNS] if metadata_columns else [])
        sources = ["$1"] + ([c.source for c in METADATA_COLUMNS] if metadata_columns else [])
        lines.append(f"COPY INTO {table.sql} ({', '.join(quote_identifier(t) for t in targets)})")
        lines.append(f"FROM (SELECT {', '.join(sources)} FROM {location})")
    else:
        lines.append(f"COPY INTO {table.sql}")
        lines.append(f"FROM {location}")
    if files is not None:
        lines.append("FILES = (" + ", ".join(quote_string(validate_file_path(f)) for f in files) + ")")
    lines.append(f"FILE_FORMAT = {file_format.sql}")
    if load_as == "columns":
        lines.append("MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE")
        if metadata_columns:
            mapping = ", ".join(f"{quote_identifier(c.name)} = {c.source}" for c in METADATA_COLUMNS)
            lines.append(f"INCLUDE_METADATA = ({mapping})")
    lines.append(f"ON_ERROR = {on_error}")
    if force:
        lines.append("FORCE = TRUE")
    if purge:
        lines.append("PURGE = TRUE")
    return "\n".join(lines)


def parse_columns(columns: Mapping[str, str], *, param: str = "columns") -> list[tuple[str, str]]:
    """Validate ``{"NAME": "TYPE"}`` for CREATE TABLE: names are identifiers, types plain type names."""
    if not isinstance(columns, Mapping) or not columns:
        raise ValueError(
            f"{param} must be a non-empty mapping of column name to type, e.g. {{'ID': 'NUMBER'}}"
        )
    parsed: list[tuple[str, str]] = []
    seen: set[str] = set()
    reserved = {c.name for c in METADATA_COLUMNS}
    for name, kind in columns.items():
        column = parse_column_name(name, param=f"{param} key {name!r}")
        if column in seen:
            raise ValueError(f"{param}: column {column!r} is given twice")
        if column in reserved:
            raise ValueError(f"{param}: {column!r} is a metadata column the operator adds itself; remove it")
        seen.add(column)
        if not isinstance(kind, str) or not _COLUMN_TYPE.fullmatch(kind.strip()):
            raise ValueError(
                f"{param}[{name!r}]={kind!r} is not a Snowflake data type such as VARCHAR, NUMBER(38,2) or "
                f"TIMESTAMP_NTZ"
            )
        parsed.append((column, " ".join(kind.split()).upper()))
    return parsed


def build_create_table_sql(
    table: ObjectName,
    *,
    load_as: str = "variant",
    columns: Sequence[tuple[str, str]] | None = None,
    metadata_columns: bool = True,
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the variant shape, or for explicit typed columns."""
    if load_as == "variant":
        defs = [(RECORD_COLUMN, "VARIANT")]
    elif columns:
        defs = list(columns)
    else:
        raise ValueError("load_as='columns' needs columns (or the inferred-schema builder)")
    if metadata_columns:
        defs += [(c.name, c.type) for c in METADATA_COLUMNS]
    body = ",\n".join(f"    {quote_identifier(name)} {kind}" for name, kind in defs)
    return f"CREATE TABLE IF NOT EXISTS {table.sql} (\n{body}\n)"


def infer_format_name(table: ObjectName) -> ObjectName:
    """The temporary file format INFER_SCHEMA reads with (next to the table; dropped with the session)."""
    return table.with_name(f"{table.name}__DATAENG_INFER_FORMAT")


def build_create_table_from_files_sql(
    table: ObjectName, *, stage: ObjectName, file: str, format_name: ObjectName
) -> str:
    """``CREATE TABLE IF NOT EXISTS ... USING TEMPLATE`` from INFER_SCHEMA over one staged file.

    ``IGNORE_CASE => TRUE`` makes the column names upper case, as unquoted Snowflake names are.
    """
    return (
        f"CREATE TABLE IF NOT EXISTS {table.sql}\n"
        "USING TEMPLATE (\n"
        "    SELECT ARRAY_AGG(OBJECT_CONSTRUCT(*)) WITHIN GROUP (ORDER BY ORDER_ID)\n"
        "    FROM TABLE(INFER_SCHEMA(\n"
        f"        LOCATION => {quote_string(stage_location(stage))},\n"
        f"        FILES => ({quote_string(validate_file_path(file))}),\n"
        f"        FILE_FORMAT => {quote_string(format_name.sql)},\n"
        "        IGNORE_CASE => TRUE\n"
        "    ))\n"
        ")"
    )


def build_add_metadata_columns_sql(table: ObjectName) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN IF NOT EXISTS`` for each metadata column (after USING TEMPLATE)."""
    return [
        f"ALTER TABLE {table.sql} ADD COLUMN IF NOT EXISTS {quote_identifier(c.name)} {c.type}"
        for c in METADATA_COLUMNS
    ]


def build_table_exists_sql(table: ObjectName) -> tuple[str, dict[str, Any]]:
    """A query returning one row ``N`` (0 or 1): does the table exist? Names are bound, not inlined."""
    params: dict[str, Any] = {"name": table.name}
    if len(table.parts) == 3:
        source = f"{quote_identifier(table.parts[0])}.INFORMATION_SCHEMA.TABLES"
    else:
        source = "INFORMATION_SCHEMA.TABLES"
    if len(table.parts) >= 2:
        params["schema"] = table.parts[-2]
        schema = "%(schema)s"
    else:
        schema = "CURRENT_SCHEMA()"
    sql = f'SELECT COUNT(*) AS "N" FROM {source}\nWHERE TABLE_SCHEMA = {schema} AND TABLE_NAME = %(name)s'
    return sql, params


def build_show_stages_sql(stage: ObjectName) -> str:
    """``SHOW STAGES LIKE 'NAME' IN SCHEMA ...`` (the caller qualifies the stage and filters by exact name)."""
    if len(stage.parts) < 2:
        raise ValueError("qualify the stage (schema.stage) before looking it up")
    schema = ObjectName(stage.parts[:-1])
    return f"SHOW STAGES LIKE {quote_string(stage.name)} IN SCHEMA {schema.sql}"


def build_create_stage_sql(
    stage: ObjectName,
    *,
    url: str,
    storage_integration: str | None = None,
    credentials: Mapping[str, str] | None = None,
) -> str:
    """``CREATE STAGE IF NOT EXISTS`` for an S3 URL with a storage integration or key credentials.

    The statement may hold secrets: callers must never log it (see ``redact_create_stage``).
    """
    if not isinstance(url, str) or not re.fullmatch(r"s3://[a-z0-9][a-z0-9.\-]{1,62}(/[^\s']*)?", url):
        raise ValueError(f"ensure_stage['url'] must be an s3://bucket/prefix/ URL, got {url!r}")
    if (storage_integration is None) == (credentials is None):
        raise ValueError("ensure_stage needs exactly one of 'storage_integration' or credentials")
    sql = f"CREATE STAGE IF NOT EXISTS {stage.sql}\nURL = {quote_string(url)}"
    if storage_integration is not None:
        integration = parse_column_name(storage_integration, param="ensure_stage['storage_integration']")
        return sql + f"\nSTORAGE_INTEGRATION = {quote_identifier(integration)}"
    assert credentials is not None
    parts = [f"AWS_KEY_ID = {quote_string(credentials['aws_key_id'])}"]
    parts.append(f"AWS_SECRET_KEY = {quote_string(credentials['aws_secret_key'])}")
    if credentials.get("aws_token"):
        parts.append(f"AWS_TOKEN = {quote_string(credentials['aws_token'])}")
    return sql + f"\nCREDENTIALS = ({' '.join(parts)})"


def redact_create_stage(sql: str) -> str:
    """The CREATE STAGE statement with credential values replaced, for logs."""
    return re.sub(r"(AWS_(?:KEY_ID|SECRET_KEY|TOKEN) = )'(?:[^'\\]|\\.)*'", r"\1'***'", sql)


def build_remove_sql(stage: ObjectName, path: str) -> str:
    """``REMOVE`` one staged file (after a committed load with ``purge=True``).

    REMOVE matches its location as a prefix, so an anchored PATTERN on the file name keeps it from also
    removing ``name.bak`` or ``name2``.
    """
    path = validate_file_path(path, param="purge")
    name = path.rsplit("/", 1)[-1]
    if any(c in name for c in "[]\\^"):
        raise ValueError(
            f"purge: cannot build an exact REMOVE pattern for {path!r} ([, ], \\ or ^ in the name)"
        )
    pattern = "^.*/" + "".join(c if c.isalnum() or c == "_" else f"[{c}]" for c in name) + "$"
    return f"REMOVE {quote_string(stage_location(stage) + '/' + path)} PATTERN = {quote_string(pattern)}"


def qualify(name: ObjectName, database: str, schema: str) -> ObjectName:
    """Fill in the session's database and schema for a partly qualified name."""
    if len(name.parts) == 3:
        return name
    if len(name.parts) == 2:
        return ObjectName((database, *name.parts))
    return ObjectName((database, schema, name.parts[0]))


__all__ = [
    "LOAD_AS",
    "MAX_FILES_PER_COPY",
    "METADATA_COLUMNS",
    "ON_ERROR_CHOICES",
    "RECORD_COLUMN",
    "batches",
    "build_add_metadata_columns_sql",
    "build_copy_sql",
    "build_create_stage_sql",
    "build_create_table_from_files_sql",
    "build_create_table_sql",
    "build_remove_sql",
    "build_show_stages_sql",
    "build_table_exists_sql",
    "infer_format_name",
    "on_error_sql",
    "parse_columns",
    "qualify",
    "redact_create_stage",
    "stage_location",
    "stage_relative_path",
    "validate_file_path",
    "validate_prefix",
]
