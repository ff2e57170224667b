"""Identifier validation and quoting: the first line of defence against SQL injection."""

from __future__ import annotations

import pytest
import sqlglot

from airflow_provider_dataeng.sql.identifiers import (
    IdentifierError,
    ObjectName,
    check_sql_expression_shape,
    parse_column_name,
    parse_object_name,
    quote_identifier,
    quote_string,
    validate_sql_expression,
)

INJECTION_PAYLOADS = [
    "t; DROP TABLE users",
    "t--",
    "t/*x*/",
    "t' OR '1'='1",
    't" ; DROP TABLE x; --',
    "t OR 1=1",
    "t)",
    "(SELECT 1)",
    "t\nDROP",
    "t\x00",
    "db.schema.table.extra",
    "",
    "   ",
    "1table",
    "t`x`",
    "t$(whoami)",
    "@stage",
    "t UNION SELECT * FROM secrets",
]


@pytest.mark.parametrize(
    ("text", "parts", "sql"),
    [
        ("customers", ("CUSTOMERS",), '"CUSTOMERS"'),
        ("raw.customers", ("RAW", "CUSTOMERS"), '"RAW"."CUSTOMERS"'),
        ("Demo.Raw.Customers_2$", ("DEMO", "RAW", "CUSTOMERS_2$"), '"DEMO"."RAW"."CUSTOMERS_2$"'),
        ('"MixedCase"', ("MixedCase",), '"MixedCase"'),
        ('raw."odd ""name"".x"', ("RAW", 'odd "name".x'), '"RAW"."odd ""name"".x"'),
        ("_private", ("_PRIVATE",), '"_PRIVATE"'),
    ],
)
def test_parse_object_name_normalizes_and_quotes(text: str, parts: tuple[str, ...], sql: str) -> None:
    name = parse_object_name(text, param="table")
    assert name == ObjectName(parts)
    assert name.sql == sql
    assert sqlglot.parse_one(f"SELECT * FROM {name.sql}", read="snowflake") is not None


@pytest.mark.parametrize("payload", INJECTION_PAYLOADS)
def test_injection_payloads_are_refused_naming_the_parameter(payload: str) -> None:
    with pytest.raises(IdentifierError, match=r"^target_table"):
        parse_object_name(payload, param="target_table")


def test_column_names_are_single_part() -> None:
    assert parse_column_name("email", param="key_columns") == "EMAIL"
    with pytest.raises(IdentifierError, match=r"key_columns='a.b' has 2 parts; at most 1"):
        parse_column_name("a.b", param="key_columns")


def test_non_string_is_refused() -> None:
    with pytest.raises(IdentifierError, match="table must be a string"):
        parse_object_name(42, param="table")  # type: ignore[arg-type]


def test_with_name_keeps_database_and_schema() -> None:
    assert parse_object_name("db.raw.orders", param="t").with_name("ORDERS_STREAM").sql == (
        '"DB"."RAW"."ORDERS_STREAM"'
    )


def test_quote_identifier_doubles_quotes_and_rejects_control_characters() -> None:
    assert quote_identifier('a"b') == '"a""b"'
    with pytest.raises(IdentifierError):
        quote_identifier("a\nb")
    with pytest.raises(IdentifierError):
        quote_identifier("x" * 256)


def test_quote_string_escapes_quote_and_backslash() -> None:
    assert quote_string("it's a\\path") == "'it\\'s a\\\\path'"
    parsed = sqlglot.parse_one(f"SELECT {quote_string(chr(39) + '; DROP TABLE t; --')}", read="snowflake")
    assert parsed.expressions[0].this == "'; DROP TABLE t; --"


@pytest.mark.parametrize(
    "expression",
    ["RECORD:email::string", "a OR b", "status IN ('a', 'b;c')", "IFF(x > 1, 1, 0)", "amount >= 0"],
)
def test_valid_expressions_pass_unchanged(expression: str) -> None:
    assert validate_sql_expression(f"  {expression} ", param="columns") == expression


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1); DROP TABLE t; --", "cannot contain ';'"),
        ("1 -- swallow the rest", "not a valid Snowflake SQL expression"),
        ("a /* hidden */", "comments are not allowed"),
        ("(SELECT secret FROM t)", "subqueries and statements are not allowed"),
        ("1) OR (1=1", "must be one SQL expression"),
        ("", "must be a non-empty SQL expression"),
    ],
)
def test_unsafe_expressions_are_refused(expression: str, reason: str) -> None:
    with pytest.raises(IdentifierError, match=r"^where") as err:
        validate_sql_expression(expression, param="where")
    assert reason in str(err.value)


# ------------------------------------------------ the shape check used at DAG-parse time (no sqlglot import)

SHAPE_VALID = [
    "RECORD:email::string",
    "a OR b",
    "status IN ('a', 'b;c')",
    "IFF(x > 1, 1, 0)",
    "note = 'select -- not a comment (see /* docs'",
    'note = \'it\'\'s\' AND "select" > 0',  # '' inside a literal; a quoted identifier named select
    "note = $$a -- select ( $$",
    "selected_at IS NOT NULL",
    "a / 2 > 1",
]


@pytest.mark.parametrize("expression", SHAPE_VALID)
def test_shape_check_passes_what_sqlglot_accepts(expression: str) -> None:
    assert check_sql_expression_shape(f" {expression}  ", param="where") == expression
    assert validate_sql_expression(expression, param="where") == expression


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1); DROP TABLE t; --", "a single expression cannot contain ';'"),
        ("1 -- swallow the rest", "comments are not allowed in expressions"),
        ("a /* hidden */", "comments are not allowed in expressions"),
        ("a // hidden", "comments are not allowed in expressions"),
        ("(SELECT secret FROM t)", "subqueries and statements are not allowed here"),
        ("id IN (select id from secrets)", "subqueries and statements are not allowed here"),
        ("1) OR (1=1", "must be one SQL expression"),
        ("(a = 1", "not a valid Snowflake SQL expression: unbalanced parentheses"),
        ("a = 'open", "not a valid Snowflake SQL expression: unterminated quote"),
        ('"open = 1', "not a valid Snowflake SQL expression: unterminated quote"),
        ("a = $$open", "not a valid Snowflake SQL expression: unterminated quote"),
        ("a = 1\x00", "control characters are not allowed in SQL expressions"),
        ("  ", "must be a non-empty SQL expression"),
    ],
)
def test_shape_check_refuses_what_sqlglot_refuses(expression: str, reason: str) -> None:
    with pytest.raises(IdentifierError, match=r"^where") as err:
        check_sql_expression_shape(expression, param="where")
    assert reason in str(err.value)
    with pytest.raises(IdentifierError, match=r"^where"):
        validate_sql_expression(expression, param="where")


def test_shape_check_leaves_syntax_to_the_full_parse() -> None:
    """What only a parser sees passes the shape check; validate_sql_expression refuses it before any SQL."""
    assert check_sql_expression_shape("a = = 1", param="where") == "a = = 1"
    with pytest.raises(IdentifierError, match="not a valid Snowflake SQL expression"):
        validate_sql_expression("a = = 1", param="where")
