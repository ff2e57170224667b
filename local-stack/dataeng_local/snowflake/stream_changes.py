"""A stream's offset and its net changes, at a cost that follows the changes rather than the table.

Row identity is DuckDB's ``rowid``. New rows always get rowids above every rowid the table had (the
server keeps deleted rows unvacuumed), so the offset is a snapshot plus its high-water mark W:

- append-only streams keep W (a one-row snapshot table) and a "kept" table: the rows inserted since
  the offset, as inserted, that a statement was about to update or delete (:func:`keep_inserts` runs
  before every UPDATE, DELETE, MERGE, TRUNCATE or INSERT OVERWRITE on the base table). Snowflake's
  append-only streams record every insert and no update or delete, so such rows stay in the stream
  with their inserted values. The changes are the kept rows above W plus the base rows above K, the
  highest rowid kept (or W), which DuckDB answers from the row groups past K (rowid filters are pushed
  into the scan); consuming moves W past every row the consuming transaction saw and drops kept rows
  up to it;
- default streams keep, per row at the offset, its rowid, a 64-bit hash of its tracked columns and its
  values (the values are what DELETE rows show). Rows above W are inserts without any join; rows up to W
  are diffed by rowid and hash only (narrow columns), and the full values are fetched just for the rows
  that differ. Consuming deletes the snapshot rows of changed or deleted rowids and inserts the new
  versions (the net changes), instead of rewriting the snapshot.

Columns follow the base table (as in Snowflake, "streams use the current table schema"): the change
view is re-created when the table's columns change, DELETE rows show NULL in columns added after the
offset, and the next consumption rebuilds the snapshot with the new columns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataeng_local.snowflake._sql import literal, quote

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

    from dataeng_local.snowflake.streams import Stream

HIDDEN_SCHEMA = "_fs_information_schema"
RID = "__FS_RID"
HASH = "__FS_HASH"
# rows a transaction inserted have provisional rowids from here on until it commits (DuckDB's MAX_ROW_ID)
LOCAL_ROWIDS = 36_000_000_000_000_000
METADATA = ("METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID")

Columns = list[tuple[str, str]]  # (name, DuckDB type) in table order


def table_columns(duck: DuckDBPyConnection, database: str, schema: str, table: str) -> Columns:
    """The columns of a table or view as this transaction sees them."""
    rows = duck.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE lower(database_name) = lower(?) "
        "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) ORDER BY column_index",
        [database, schema, table],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def base_columns(duck: DuckDBPyConnection, stream: Stream) -> Columns:
    return table_columns(duck, stream.table_database, stream.table_schema, stream.table_name)


def snapshot_columns(duck: DuckDBPyConnection, stream: Stream) -> list[str]:
    """The tracked columns stored in the snapshot (empty for append-only streams)."""
    names = [c for c, _ in table_columns(duck, stream.database, HIDDEN_SCHEMA, snapshot_name(stream))]
    return [c for c in names if c not in (RID, HASH)]


def snapshot_name(stream: Stream) -> str:
    return f"_fs_stream_{stream.schema}_{stream.name}"


def kept_name(stream: Stream) -> str:
    return f"_fs_stream_{stream.schema}_{stream.name}_kept"


def kept_columns(duck: DuckDBPyConnection, stream: Stream) -> Columns:
    """The base table's columns the kept rows of an append-only stream have values for."""
    columns = table_columns(duck, stream.database, HIDDEN_SCHEMA, kept_name(stream))
    return [c for c in columns if c[0] != RID]


def _hash(alias: str | None, names: list[str]) -> str:
    """DuckDB's 64-bit hash of the row's tracked columns (NULL-safe, order-sensitive)."""
    prefix = f"{alias}." if alias else ""
    return f"hash({', '.join(prefix + quote(c) for c in names)})" if names else "0::UBIGINT"


def watermark_sql(stream: Stream) -> str:
    """W: the highest rowid the offset covers (-1 when none)."""
    return f"(SELECT coalesce(max({RID}), -1) FROM {stream.snapshot})"


def column_defaults(duck: DuckDBPyConnection, stream: Stream) -> dict[str, str]:
    """DEFAULT expressions of the base table's columns (NULL when none)."""
    rows = duck.execute(
        "SELECT column_name, column_default FROM duckdb_columns() WHERE lower(database_name) = lower(?) "
        "AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)",
        [stream.table_database, stream.table_schema, stream.table_name],
    ).fetchall()
    return {r[0]: r[1] or "NULL" for r in rows}


def added_values(columns: Columns, snapshot_cols: list[str], defaults: dict[str, str]) -> dict[str, str]:
    """Columns added to the table after the offset, with the value rows of the offset have in them
    (their DEFAULT, which DuckDB and Snowflake fill in at ADD COLUMN, else NULL)."""
    return {c: f"CAST({defaults.get(c, 'NULL')} AS {t})" for c, t in columns if c not in snapshot_cols}


def kept_mark_sql(stream: Stream) -> str:
    """K: the highest rowid an append-only stream has kept rows up to (at least W)."""
    return f"(SELECT greatest({watermark_sql(stream)}, (SELECT coalesce(max({RID}), -1) FROM {stream.kept})))"


def has_new_rows(duck: DuckDBPyConnection, stream: Stream) -> bool:
    """Whether rows sit above the offset's high-water mark (stops at the first one); for append-only
    streams also kept rows, which is all they have."""
    if stream.append_only:
        sql = (
            f"SELECT EXISTS (SELECT 1 FROM {stream.kept} WHERE {RID} > {watermark_sql(stream)}) "
            f"OR EXISTS (SELECT 1 FROM {stream.base} WHERE rowid > {kept_mark_sql(stream)})"
        )
    else:
        sql = f"SELECT EXISTS (SELECT 1 FROM {stream.base} WHERE rowid > {watermark_sql(stream)})"
    row = duck.execute(sql).fetchone()
    return bool(row and row[0])


def diff_sql(
    stream: Stream, columns: Columns, snapshot_cols: list[str], watermark: str, added: dict[str, str]
) -> str:
    """Rowid pairs (orid, crid) of the rows up to W that differ: deleted (crid NULL), inserted into a
    reused rowid (orid NULL) or updated (hash differs, or a column added since the offset no longer
    holds its initial value). Only rowids and hashes are joined."""
    names = [c for c, _ in columns]
    if set(snapshot_cols) <= set(names):  # the stored hash covers columns the table still has
        old_hash, new_hash = HASH, _hash("b", snapshot_cols)
    else:  # a tracked column was dropped: compare what both still have
        common = [c for c in snapshot_cols if c in names]
        old_hash, new_hash = _hash("s", common), _hash("b", common)
    moved = " OR ".join(f"b.{quote(c)} IS DISTINCT FROM {v}" for c, v in added.items()) or "false"
    return (
        f"SELECT o.{RID} AS orid, c.rid AS crid "
        f"FROM (SELECT s.{RID}, {old_hash} AS h FROM {stream.snapshot} s) o "
        f"FULL JOIN (SELECT b.rowid AS rid, {new_hash} AS h, ({moved}) AS moved FROM {stream.base} b "
        f"WHERE b.rowid <= {watermark}) c "
        f"ON o.{RID} = c.rid WHERE o.{RID} IS NULL OR c.rid IS NULL OR o.h <> c.h OR c.moved"
    )


def changes_sql(
    stream: Stream,
    columns: Columns,
    snapshot_cols: list[str],
    defaults: dict[str, str],
    kept_cols: list[str] | None = None,
) -> str:
    """The net changes since the offset, in Snowflake's stream shape (the base table's current columns);
    for append-only streams every insert since the offset (``kept_cols``: the kept table's columns)."""
    names = [c for c, _ in columns]
    prefix = literal(f"{stream.table_database}.{stream.table_schema}.{stream.table_name}#")
    w = watermark_sql(stream)

    def shape(alias: str, rid: str, action: str, isupdate: str, values: list[str]) -> str:
        return (
            f'SELECT {", ".join(values)}, \'{action}\' AS "METADATA$ACTION", {isupdate} AS "METADATA$ISUPDATE", '
            f'md5({prefix} || CAST({alias}.{rid} AS VARCHAR)) AS "METADATA$ROW_ID"'
        )

    current = [f"c.{quote(c)}" for c in names]
    if stream.append_only:
        added = added_values(columns, kept_cols or [], defaults)
        kept = [
            f"CAST(k.{quote(c)} AS {t}) AS {quote(c)}"
            if c in (kept_cols or [])
            else f"{added[c]} AS {quote(c)}"
            for c, t in columns
        ]
        return (
            shape("k", RID, "INSERT", "false", kept)
            + f" FROM {stream.kept} k WHERE k.{RID} > {w}"
            + " UNION ALL "
            + shape("c", "rowid", "INSERT", "false", current)
            + f" FROM {stream.base} c WHERE c.rowid > {kept_mark_sql(stream)}"
        )
    new_rows = shape("c", "rowid", "INSERT", "false", current) + f" FROM {stream.base} c WHERE c.rowid > {w}"
    added = added_values(columns, snapshot_cols, defaults)
    old = [f"o.{quote(c)}" if c in snapshot_cols else f"{added[c]} AS {quote(c)}" for c, _ in columns]
    return (
        f"WITH d AS MATERIALIZED ({diff_sql(stream, columns, snapshot_cols, w, added)}) "
        + shape("o", RID, "DELETE", "(d.crid IS NOT NULL)", old)
        + f" FROM {stream.snapshot} o JOIN d ON o.{RID} = d.orid"
        + " UNION ALL "
        + shape("c", "rowid", "INSERT", "(d.orid IS NOT NULL)", current)
        + f" FROM {stream.base} c JOIN d ON c.rowid = d.crid WHERE c.rowid <= {w}"
        + " UNION ALL "
        + new_rows
    )


def create_view(duck: DuckDBPyConnection, stream: Stream, columns: Columns | None = None) -> None:
    columns = columns if columns is not None else base_columns(duck, stream)
    snap = snapshot_columns(duck, stream)
    defaults = column_defaults(duck, stream)
    kept = [c for c, _ in kept_columns(duck, stream)] if stream.append_only else None
    duck.execute(
        f"CREATE OR REPLACE VIEW {quote(stream.database)}.{HIDDEN_SCHEMA}.{quote(stream.view_name)} AS "
        + changes_sql(stream, columns, snap, defaults, kept)
    )


def view_is_current(duck: DuckDBPyConnection, stream: Stream) -> bool:
    """Whether the change view still has the base table's columns (ALTER TABLE changes them)."""
    view = table_columns(duck, stream.database, HIDDEN_SCHEMA, stream.view_name)
    return [c for c in view if c[0] not in METADATA] == base_columns(duck, stream)


def refresh_view(duck: DuckDBPyConnection, stream: Stream) -> None:
    """Re-create a stale change view in a transaction of its own (a read must not write in the caller's)."""
    if view_is_current(duck, stream) or not base_columns(duck, stream):
        return  # current, or the table is gone: the query reports the missing table itself
    with duck.cursor() as other:
        other.begin()
        try:
            create_view(other, stream)
            other.commit()
        except Exception:  # another session refreshed it at the same time: fine if it is current now
            other.rollback()
            if not view_is_current(duck, stream):
                raise


def create_snapshot(duck: DuckDBPyConnection, stream: Stream, columns: Columns, empty: bool) -> None:
    """The offset at the table's current state (``empty``: before every row, for SHOW_INITIAL_ROWS)."""
    if stream.append_only:
        w = (
            "-1"
            if empty
            else f"(SELECT coalesce(max(rowid), -1) FROM {stream.base} WHERE rowid < {LOCAL_ROWIDS})"
        )
        duck.execute(f"CREATE OR REPLACE TABLE {stream.snapshot} AS SELECT CAST({w} AS BIGINT) AS {RID}")
        create_kept(duck, stream, columns)
        return
    names = [c for c, _ in columns]
    cols = ", ".join(quote(c) for c in names)
    where = "false" if empty else f"rowid < {LOCAL_ROWIDS}"
    duck.execute(
        f"CREATE OR REPLACE TABLE {stream.snapshot} AS SELECT rowid AS {RID}, {_hash(None, names)} AS {HASH}, "
        f"{cols} FROM {stream.base} WHERE {where}"
    )


def advance(duck: DuckDBPyConnection, stream: Stream) -> None:
    """Move the offset to the base table as this transaction sees it, applying only the net changes.

    Rows this transaction inserted get their final rowids at COMMIT: they stay "new" (shown later).
    """
    if stream.append_only:  # past every row this transaction saw: the base's and the kept ones
        duck.execute(
            f"UPDATE {stream.snapshot} SET {RID} = greatest({RID}, (SELECT coalesce(max(rowid), -1) "
            f"FROM {stream.base} WHERE rowid < {LOCAL_ROWIDS}), (SELECT coalesce(max({RID}), -1) FROM {stream.kept}))"
        )
        duck.execute(f"DELETE FROM {stream.kept} WHERE {RID} <= {watermark_sql(stream)}")
        return
    columns = base_columns(duck, stream)
    names = [c for c, _ in columns]
    if snapshot_columns(duck, stream) != names:  # ALTER TABLE since the offset: new snapshot, new view
        create_snapshot(duck, stream, columns, empty=False)
        create_view(duck, stream, columns)
        return
    (w,) = duck.execute(f"SELECT coalesce(max({RID}), -1) FROM {stream.snapshot}").fetchone()  # type: ignore[misc]
    pairs = duck.execute(diff_sql(stream, columns, names, str(w), {})).fetchall()
    gone = [o for o, _ in pairs if o is not None]
    fresh = [c for _, c in pairs if c is not None]
    cols = ", ".join(quote(c) for c in names)
    select = f"SELECT rowid, {_hash(None, names)}, {cols} FROM {stream.base}"
    if gone:
        duck.execute(f"DELETE FROM {stream.snapshot} WHERE {RID} IN (SELECT unnest(?::BIGINT[]))", [gone])
    if fresh:
        duck.execute(
            f"INSERT INTO {stream.snapshot} ({RID}, {HASH}, {cols}) {select} "
            f"WHERE rowid <= {w} AND rowid IN (SELECT unnest(?::BIGINT[]))",
            [fresh],
        )
    duck.execute(
        f"INSERT INTO {stream.snapshot} ({RID}, {HASH}, {cols}) {select} WHERE rowid > {w} AND rowid < {LOCAL_ROWIDS}"
    )


def create_kept(duck: DuckDBPyConnection, stream: Stream, columns: Columns) -> None:
    """The empty table of an append-only stream's kept rows (rowid + the base table's columns)."""
    cols = ", ".join(f"{quote(c)} {t}" for c, t in columns)
    duck.execute(f"CREATE OR REPLACE TABLE {stream.kept} ({RID} BIGINT{', ' if cols else ''}{cols})")


def keep_inserts(duck: DuckDBPyConnection, stream: Stream) -> None:
    """Copy the rows inserted since an append-only stream's offset and not kept yet into its kept table,
    before a statement may update or delete them. Runs in a transaction of its own, on committed data:
    whatever the statement does, these rows were inserted since the offset (a rollback changes
    nothing), and the kept table may live in another database than the one the caller writes."""
    with duck.cursor() as other:
        other.begin()
        try:
            columns = base_columns(other, stream)
            if not columns:  # the table is gone: the statement reports it
                other.rollback()
                return
            have = {c for c, _ in kept_columns(other, stream)}
            defaults = column_defaults(other, stream)
            missing = [(c, t) for c, t in columns if c not in have]
            for (
                c,
                t,
            ) in missing:  # added to the table since: earlier kept rows get the DEFAULT, as in the table
                other.execute(
                    f"ALTER TABLE {stream.kept} ADD COLUMN {quote(c)} {t} DEFAULT {defaults.get(c, 'NULL')}"
                )
            cols = ", ".join(quote(c) for c, _ in columns)
            other.execute(
                f"INSERT INTO {stream.kept} ({RID}, {cols}) SELECT rowid, {cols} FROM {stream.base} "
                f"WHERE rowid > {kept_mark_sql(stream)} AND rowid < {LOCAL_ROWIDS}"
            )
            if missing:
                create_view(other, stream, columns)
            other.commit()
        except BaseException:
            other.rollback()
            raise


def migrate(duck: DuckDBPyConnection, stream: Stream) -> None:
    """Bring a snapshot written by an older version of the server to the current layout (own transaction)."""
    names = [c for c, _ in table_columns(duck, stream.database, HIDDEN_SCHEMA, snapshot_name(stream))]
    kept = not stream.append_only or bool(
        table_columns(duck, stream.database, HIDDEN_SCHEMA, kept_name(stream))
    )
    current = (names == [RID] and kept) if stream.append_only else HASH in names
    if not names or current or not base_columns(duck, stream):
        return
    with duck.cursor() as other:
        other.begin()
        try:
            if stream.append_only and not kept:  # before kept rows existed
                create_kept(other, stream, base_columns(other, stream))
            if stream.append_only and names != [RID]:  # a copy of the rows: keep only W
                tmp = (
                    f"{quote(stream.database)}.{HIDDEN_SCHEMA}.{quote(snapshot_name(stream) + '_migrating')}"
                )
                other.execute(
                    f"CREATE OR REPLACE TABLE {tmp} AS SELECT coalesce(max({RID}), -1)::BIGINT AS {RID} FROM {stream.snapshot}"
                )
                other.execute(f"DROP TABLE {stream.snapshot}")
                other.execute(f"ALTER TABLE {tmp} RENAME TO {quote(snapshot_name(stream))}")
            elif not stream.append_only:
                tracked = [c for c in names if c != RID]
                other.execute(f"ALTER TABLE {stream.snapshot} ADD COLUMN {HASH} UBIGINT")
                other.execute(f"UPDATE {stream.snapshot} SET {HASH} = {_hash(None, tracked)}")
            create_view(other, stream)
            other.commit()
        except BaseException:
            other.rollback()
            raise
