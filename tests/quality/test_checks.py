"""Check constructors: what they accept, and bad input refused before any SQL exists."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from airflow_provider_dataeng.quality import (
    accepted_values,
    custom_sql,
    expression,
    freshness,
    not_null,
    relationships,
    row_count,
    row_count_anomaly,
    unique,
)
from airflow_provider_dataeng.quality.anomaly import judge, pct_change, zscore
from airflow_provider_dataeng.quality.checks import parse_duration
from airflow_provider_dataeng.sql.identifiers import IdentifierError


def test_default_names_and_fields() -> None:
    assert unique(["a", "b"]).name == "unique(a,b)"
    assert not_null("a").columns == ("a",)
    assert accepted_values("s", ["x", 1]).values == ("x", 1)
    check = relationships("cid", "analytics.customers", "id", severity="warn")
    assert (check.name, check.severity, check.to_table) == ("relationships(cid->analytics.customers.id)", "warn",
                                                            "analytics.customers")
    assert freshness("ts", warn_after="12h", error_after={"count": 2, "period": "day"}).error_after == 172800
    assert row_count(min=1, name="has_rows").name == "has_rows"
    assert expression("  a > 0 ").sql == "a > 0"
    assert custom_sql("SELECT 1;").query == "SELECT 1"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(timedelta(hours=2), 7200), (90, 90), ("36h", 129600), ("2 days", 172800), ("15 minutes", 900),
     ({"count": 1, "period": "week"}, 604800)],
)
def test_durations(value, seconds) -> None:
    assert parse_duration(value, param="p") == seconds


INJECTIONS = ['id; DROP TABLE x', 'id" OR 1=1 --', "id)", "a b", "", "1id", "t--"]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_columns_is_refused(payload: str) -> None:
    for build in (lambda: unique(payload), lambda: not_null([payload]), lambda: accepted_values(payload, ["a"]),
                  lambda: freshness(payload, error_after="1h"), lambda: relationships(payload, "t", "id"),
                  lambda: relationships("id", "t", payload)):
        with pytest.raises(IdentifierError):
            build()


@pytest.mark.parametrize("payload", ["t; DROP TABLE x", "a.b.c.d", "t WHERE 1=1", 't"; --'])
def test_injection_in_tables_is_refused(payload: str) -> None:
    with pytest.raises(IdentifierError, match="relationships.to_table"):
        relationships("id", payload, "id")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("1=1; DROP TABLE x", "cannot contain ';'"),
        ("a > 0 /* x */", "comments are not allowed"),
        ("id IN (SELECT id FROM secrets)", "subqueries and statements are not allowed"),
        ("1) OR (1=1", "must be one SQL expression"),
    ],
)
def test_unsafe_expressions_and_filters_are_refused(payload: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=re_escape(message)):
        expression(payload)
    with pytest.raises(IdentifierError, match="not_null.where"):
        not_null("id", where=payload)


def re_escape(text: str) -> str:
    import re

    return re.escape(text)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: unique([]), "unique.columns must be a column name or a non-empty list"),
        (lambda: not_null("a", severity="fatal"), "not_null: severity must be 'error' or 'warn', got 'fatal'"),
        (lambda: accepted_values("a", []), "accepted_values.values must be a non-empty list"),
        (lambda: accepted_values("a", "abc"), "accepted_values.values must be a non-empty list"),
        (lambda: accepted_values("a", [{"x": 1}]), "accepted_values.values may hold strings and numbers only"),
        (lambda: freshness("ts"), "freshness needs error_after and/or warn_after"),
        (lambda: freshness("ts", error_after="soon"), "freshness.error_after must be a timedelta"),
        (lambda: freshness("ts", warn_after="2d", error_after="1d"), "freshness.warn_after ('2d') must not exceed"),
        (lambda: row_count(), "row_count needs min and/or max"),
        (lambda: row_count(min=5, max=1), "row_count.min (5) must not exceed row_count.max (1)"),
        (lambda: row_count(min=-1), "row_count.min must be a non-negative integer"),
        (lambda: row_count_anomaly(lookback=1), "row_count_anomaly.lookback must be an integer >= 2"),
        (lambda: row_count_anomaly(max_zscore=None), "row_count_anomaly needs max_zscore and/or max_pct_change"),
        (lambda: row_count_anomaly(max_zscore=-1), "row_count_anomaly.max_zscore must be a positive number"),
        (lambda: custom_sql("DELETE FROM t"), "custom_sql.query must be one SELECT"),
        (lambda: custom_sql("SELECT 1; DROP TABLE t"), "custom_sql.query must be a single statement"),
        (lambda: custom_sql("SELECT 1 -- x"), "custom_sql.query must not contain comments"),
        (lambda: custom_sql("SELECT 1", expect=[1]), "custom_sql.expect must be a number or a string"),
    ],
)
def test_bad_arguments_name_the_parameter(build, message: str) -> None:
    with pytest.raises(ValueError, match=re_escape(message)):
        build()


def test_semicolon_inside_a_string_literal_is_fine() -> None:
    assert custom_sql("SELECT COUNT(*) FROM t WHERE note = 'a;b'").query == "SELECT COUNT(*) FROM t WHERE note = 'a;b'"


# ------------------------------------------------------------------------------------- anomaly math


def test_zscore_and_pct_change() -> None:
    assert zscore(12, [10, 10, 14, 6]) == pytest.approx(2 / math.sqrt(32 / 3))
    assert zscore(10, [10, 10, 10]) == 0.0
    assert zscore(11, [10, 10, 10]) == math.inf
    assert zscore(9, [10, 10, 10]) == -math.inf
    assert pct_change(110, 100) == pytest.approx(10.0)
    assert pct_change(5, 0) == math.inf
    assert pct_change(0, 0) == 0.0


def test_judge_flags_a_spike_and_passes_a_normal_day() -> None:
    history = [100, 102, 98, 101, 99, 100, 103]
    assert judge(101, history, max_zscore=3, max_pct_change=None, min_history=5).passed
    spike = judge(150, history, max_zscore=3, max_pct_change=None, min_history=5)
    assert not spike.passed and spike.zscore == pytest.approx((150 - 100.428571) / 1.718249, rel=1e-5)
    drop = judge(90, history, max_zscore=None, max_pct_change=5, min_history=5)
    assert not drop.passed and drop.pct_change == pytest.approx(-10.0)


def test_judge_passes_with_a_note_while_history_is_short() -> None:
    verdict = judge(10_000, [100, 100], max_zscore=3, max_pct_change=None, min_history=5)
    assert (verdict.passed, verdict.zscore, verdict.history_size) == (True, None, 2)
    assert verdict.note == "history too short (2 of 5 runs needed): passed"
