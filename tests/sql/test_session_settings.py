"""A task's session settings: warehouse/role names and the JSON query tag (pure)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from airflow_provider_dataeng.sql.session import (
    build_query_tag,
    check_query_tag,
    check_session_args,
    session_name,
    task_ids,
)

TI = SimpleNamespace(dag_id="d", task_id="t", run_id="manual__1", try_number=2, map_index=3)


def test_query_tag_is_compact_json_of_the_task_ids_then_the_extra_keys() -> None:
    tag = build_query_tag(task_ids({"ti": TI}), {"team": "data", "cost_center": 42})
    assert (
        tag
        == '{"dag_id":"d","task_id":"t","run_id":"manual__1","try_number":2,"map_index":3,"team":"data","cost_center":42}'
    )
    assert json.loads(tag)["map_index"] == 3


def test_outside_a_task_the_ids_are_null() -> None:
    assert build_query_tag(task_ids({})) == (
        '{"dag_id":null,"task_id":null,"run_id":null,"try_number":null,"map_index":null}'
    )


@pytest.mark.parametrize(
    ("query_tag", "message"),
    [
        ({"when": object()}, "query_tag must hold JSON values only"),
        ({"x": float("nan")}, "query_tag must hold JSON values only"),
        ({1: "a"}, "query_tag keys must be strings"),
        ({"dag_id": "other"}, "query_tag must not set 'dag_id'"),
        ("team=data", "query_tag must be a dict"),
    ],
)
def test_bad_query_tags_are_refused_naming_the_parameter(query_tag: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_query_tag(query_tag)


def test_a_tag_over_snowflakes_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="over Snowflake's 2000: shorten query_tag"):
        build_query_tag(task_ids({"ti": TI}), {"note": "x" * 2000})


def test_names_are_sent_quoted_exactly_as_snowflake_resolves_them() -> None:
    assert session_name("elt_wh", param="warehouse") == '"ELT_WH"'
    assert session_name('"Mixed_Wh"', param="warehouse") == '"Mixed_Wh"'
    assert session_name(None, param="role") is None
    assert session_name("", param="role") is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"warehouse": "ELT WH"}, "warehouse"),
        ({"warehouse": "DB.WH"}, "warehouse='DB.WH' has 2 parts"),
        ({"role": "r;drop"}, "role"),
        ({"role": 5}, "role must be a string"),
    ],
)
def test_bad_names_are_refused_at_construction(kwargs: dict[str, object], message: str) -> None:
    args = {"warehouse": None, "role": None, "query_tag": None, **kwargs}
    with pytest.raises(ValueError, match=message):
        check_session_args(**args)  # type: ignore[arg-type]


def test_templated_names_wait_for_rendering() -> None:
    check_session_args(
        warehouse="{{ var.value.wh }}", role="{% if x %}A{% endif %}", query_tag={"ds": "{{ ds }}"}
    )
