"""Stages and file formats survive restarts: fakesnow keeps them in an in-memory database, so we save
them to ``DATA_DIR/catalog`` after each change and load them back at start-up."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from sqlglot import exp

from dataeng_local.snowflake._sql import programming_error

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

GLOBAL = "_fs_global._fs_information_schema"
TABLES = {"stages": f"{GLOBAL}._fs_stages", "file_formats": f"{GLOBAL}._fs_file_formats"}
CHANGES_CATALOG = re.compile(
    r"^(CREATE|DROP|ALTER)\s+(OR\s+REPLACE\s+)?((TEMP|TEMPORARY)\s+)?(STAGE|FILE\s+FORMAT)\b", re.IGNORECASE
)
DROP_RE = re.compile(
    r"^DROP\s+(?P<kind>STAGE|FILE\s+FORMAT)\s+(?P<ifexists>IF\s+EXISTS\s+)?(?P<name>[\w$.\"]+)\s*;?\s*$",
    re.IGNORECASE,
)


class CatalogStore:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._credentials: dict[str, dict[str, str]] = {}

    def credentials(self, fqname: str) -> dict[str, str] | None:
        return self._credentials.get(fqname)

    def remember_stage(self, expression: exp.Expr, database: str | None, schema: str | None) -> None:
        """Keep CREDENTIALS=(AWS_KEY_ID=.. AWS_SECRET_KEY=..) of a CREATE STAGE (fakesnow drops them)."""
        if not (isinstance(expression, exp.Create) and str(expression.args.get("kind")).upper() == "STAGE"):
            return
        table = expression.find(exp.Table)
        creds = expression.find(exp.CredentialsProperty)
        if not table:
            return
        fq = f"{table.catalog.upper() or database}.{table.db.upper() or schema}.{table.name.upper()}"
        if creds:
            self._credentials[fq] = {p.this.name.upper(): p.args["value"].name for p in creds.expressions}
        else:
            self._credentials.pop(fq, None)

    def save(self, duck: DuckDBPyConnection) -> None:
        if not self.directory:
            return
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            for name, table in TABLES.items():
                target = self.directory / f"{name}.parquet"
                tmp = self.directory / f".{name}.parquet.tmp"
                duck.execute(
                    f"COPY (SELECT * FROM {table} WHERE coalesce(type, '') NOT LIKE '%TEMPORARY') TO '{tmp}' (FORMAT parquet)"
                    if name == "stages"
                    else f"COPY (SELECT * FROM {table}) TO '{tmp}' (FORMAT parquet)"
                )
                os.replace(tmp, target)
            tmp_json = self.directory / ".credentials.json.tmp"
            tmp_json.write_text(json.dumps(self._credentials))
            os.replace(tmp_json, self.directory / "credentials.json")

    def restore(self, duck: DuckDBPyConnection) -> None:
        if not self.directory:
            return
        for name, table in TABLES.items():
            path = self.directory / f"{name}.parquet"
            if path.exists():
                duck.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM read_parquet('{path}')")
        creds = self.directory / "credentials.json"
        if creds.exists():
            self._credentials = json.loads(creds.read_text())

    def drop(self, duck: DuckDBPyConnection, sql: str, database: str | None, schema: str | None) -> str:
        """DROP STAGE / DROP FILE FORMAT, which fakesnow does not implement."""
        m = DROP_RE.match(sql)
        assert m
        from fakesnow.transforms.stage import parts_from_var

        db, sch, name = parts_from_var(m["name"], database, schema)
        kind = "STAGE" if m["kind"].upper() == "STAGE" else "FILE FORMAT"
        table = TABLES["stages" if kind == "STAGE" else "file_formats"]
        found = duck.execute(
            f"SELECT count(*) FROM {table} WHERE database_name = ? AND schema_name = ? AND name = ?",
            [db, sch, name],
        ).fetchone()
        if not found or not found[0]:
            if m["ifexists"]:
                return f"Drop statement executed successfully ({name} already dropped)."
            label = "Stage" if kind == "STAGE" else "File format"
            raise programming_error(
                f"SQL compilation error:\n{label} '{db}.{sch}.{name}' does not exist or not authorized.",
                2003,
                "02000",
            )
        with duck.cursor() as c:  # its own transaction: _fs_global is another database
            c.execute(
                f"DELETE FROM {table} WHERE database_name = ? AND schema_name = ? AND name = ?",
                [db, sch, name],
            )
        self._credentials.pop(f"{db}.{sch}.{name}", None)
        return f"{name} successfully dropped."
