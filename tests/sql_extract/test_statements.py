"""The extract's statements as text (golden), parsed as PostgreSQL by sqlglot; names, page ranges and the
type table's rows, without a database."""

from __future__ import annotations

import pytest
import sqlglot

from airflow_provider_dataeng.sql_source import query
from airflow_provider_dataeng.sql_source.names import parse_column, parse_table, qualified
from airflow_provider_dataeng.sql_source.types import Column, SourceType, mapping_for


def col(name: str, type_name: str, **kwargs: object) -> Column:
    source = SourceType(name=type_name, **kwargs)  # type: ignore[arg-type]
    return Column(name, source, mapping_for(source))


def parses(statement: str) -> None:
    """Valid PostgreSQL once the driver's placeholders are bound (``%%`` is a literal ``%``)."""
    bound = statement.replace("%%", "%")
    for name in ("window_start", "window_end"):
        bound = bound.replace(f"%({name})s", "'2024-01-01'")
    bound = bound.replace("%(partitions)s", "4").replace("%(partition)s", "1")
    sqlglot.parse_one(bound.removeprefix("COPY (").rsplit(") TO STDOUT", 1)[0], read="postgres")


COLUMNS = [col("id", "int8"), col("amount", "numeric", precision=12, scale=2), col("Score", "float8"),
           col("doc", "json"), col("blob", "bytea"), col("at", "timestamptz")]


def test_copy_of_a_table_with_every_kind_of_expression() -> None:
    statement = query.copy_rows(COLUMNS, query.Source(table=("public", "orders")))
    assert statement == (
        'COPY (SELECT row_to_json(r.*) FROM (SELECT src."id" AS "id", '
        "replace(src.\"amount\"::text, 'Infinity', 'inf') AS \"amount\", "
        "CASE WHEN src.\"Score\" = 'Infinity' THEN '\"inf\"'::json WHEN src.\"Score\" = '-Infinity' THEN "
        "'\"-inf\"'::json ELSE to_json(src.\"Score\") END AS \"Score\", "
        'src."doc"::jsonb AS "doc", '
        "encode(src.\"blob\", 'hex') AS \"blob\", "
        'src."at" AS "at" '
        'FROM (SELECT * FROM "public"."orders") AS src) AS r)'
        " TO STDOUT (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    parses(statement)


def test_incremental_partitioned_chunk_of_chosen_columns() -> None:
    source = query.Source(table=("orders",), columns=("id", "updated_at"), tid_range=(10, 20))
    predicates = [query.window_predicate(["updated_at"], "timestamp with time zone"),
                  query.partition_predicate("id", integer=True)]
    statement = query.copy_rows(COLUMNS[:1], source, predicates)
    assert statement == (
        'COPY (SELECT row_to_json(r.*) FROM (SELECT src."id" AS "id" FROM (SELECT "id", "updated_at" FROM '
        "\"orders\" WHERE ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid) AS src WHERE "
        '(src."updated_at" >= CAST(%(window_start)s AS timestamp with time zone) AND '
        'src."updated_at" < CAST(%(window_end)s AS timestamp with time zone)) AND '
        '(coalesce(((src."id" %% %(partitions)s) + %(partitions)s) %% %(partitions)s, 0) = %(partition)s)) AS r) '
        "TO STDOUT (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02')"
    )
    parses(statement)


def test_a_query_is_a_subquery_with_its_percent_signs_doubled() -> None:
    source = query.Source(sql="SELECT id, name FROM users WHERE name LIKE 'a%'  ;\n ")
    predicates = [query.window_predicate(["updated_at", "created_at"], "timestamp without time zone"),
                  query.partition_predicate("name", integer=False)]
    assert query.max_watermark(["updated_at", "created_at"], source, predicates) == (
        'SELECT to_json(max(COALESCE(src."updated_at", src."created_at")))::text, count(*) FROM '
        "(SELECT id, name FROM users WHERE name LIKE 'a%%') AS src WHERE "
        '(COALESCE(src."updated_at", src."created_at") >= CAST(%(window_start)s AS timestamp without time zone) '
        'AND COALESCE(src."updated_at", src."created_at") < CAST(%(window_end)s AS timestamp without time zone)) '
        'AND (coalesce((hashtext(src."name"::text) & 2147483647) %% %(partitions)s, 0) = %(partition)s)'
    )
    parses(query.max_watermark(["updated_at"], source, predicates))
    assert query.describe(source) == "SELECT * FROM (SELECT id, name FROM users WHERE name LIKE 'a%%') AS src LIMIT 0"


def test_table_pages_and_ranges() -> None:
    assert query.table_pages(("s", "it's")) == (
        "SELECT pg_relation_size('\"s\".\"it''s\"'::regclass) / current_setting('block_size')::int"
    )
    assert query.chunk_ranges(100, 3) == [(0, 33), (33, 66), (66, None)]
    assert query.chunk_ranges(2, 4) == [(0, 1), (1, None)]
    assert query.chunk_ranges(0, 4) == [(0, None)]
    assert query.chunk_ranges(7, 1) == [(0, None)]


def test_a_strange_watermark_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unexpected type name"):
        query.window_predicate(["x"], "text); DROP TABLE t; --")


@pytest.mark.parametrize(("text", "parts"), [
    ("orders", ("orders",)), ("Public.Orders", ("public", "orders")), ('"Mixed Case"."t""q"', ("Mixed Case", 't"q')),
    ("_t$1", ("_t$1",)),
])
def test_names_fold_like_postgresql(text: str, parts: tuple[str, ...]) -> None:
    assert parse_table(text) == parts


@pytest.mark.parametrize("text", [
    "orders; DROP TABLE x", "a.b.c", "", "or ders", "1abc", '"unterminated', '""', "t--", "a.", '"a\nb"', "x" * 64,
])
def test_hostile_or_malformed_names_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="^table"):
        parse_table(text)


def test_quoting() -> None:
    assert qualified(("s", 'we"ird')) == '"s"."we""ird"'
    assert parse_column("Updated_At", param="watermark_column") == "updated_at"
    with pytest.raises(ValueError, match="watermark_column='t.c': give a column name without a table"):
        parse_column("t.c", param="watermark_column")


@pytest.mark.parametrize(("source", "parquet", "snowflake"), [
    (SourceType("int2"), "int64", "NUMBER(38,0)"),
    (SourceType("int8"), "int64", "NUMBER(38,0)"),
    (SourceType("numeric", precision=12, scale=2), "decimal(12,2)", "NUMBER(12,2)"),
    (SourceType("numeric", precision=50, scale=2), "string", "NUMBER(38,s) or VARCHAR"),
    (SourceType("numeric"), "string", "NUMBER(38,s) or VARCHAR"),
    (SourceType("float4"), "float64", "FLOAT"),
    (SourceType("money"), "string", "NUMBER(38,2)"),
    (SourceType("bool"), "bool", "BOOLEAN"),
    (SourceType("date"), "date", "DATE"),
    (SourceType("timestamptz"), "timestamp_tz", "TIMESTAMP_TZ"),
    (SourceType("timestamp"), "timestamp_ntz", "TIMESTAMP_NTZ"),
    (SourceType("time"), "string", "TIME"),
    (SourceType("timetz"), "string", "VARCHAR"),
    (SourceType("interval"), "string", "VARCHAR"),
    (SourceType("uuid"), "string", "VARCHAR"),
    (SourceType("json"), "json", "VARIANT"),
    (SourceType("jsonb"), "json", "VARIANT"),
    (SourceType("_int4", category="A"), "json", "ARRAY"),
    (SourceType("bytea"), "string", "BINARY"),
    (SourceType("mood", kind="e", category="E"), "string", "VARCHAR"),
    (SourceType("text"), "string", "VARCHAR"),
    (SourceType("point"), "string", "VARCHAR"),
])
def test_type_table_rows(source: SourceType, parquet: str, snowflake: str) -> None:
    mapping = mapping_for(source)
    assert (mapping.parquet, mapping.snowflake) == (parquet, snowflake)
