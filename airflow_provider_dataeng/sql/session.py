"""A task's Snowflake session settings: warehouse, role and a JSON query tag (pure, no I/O).

Every operator that talks to Snowflake takes ``warehouse=``, ``role=`` and ``query_tag=``. They are set
when the session logs in (the connector's ``warehouse``/``role`` and the ``QUERY_TAG`` session
parameter), so they cost no statement, and every query the task runs shows in QUERY_HISTORY with the
task's tag: ``{"dag_id", "task_id", "run_id", "try_number", "map_index"}`` plus the user's keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_provider_dataeng.sql.identifiers import IdentifierError, parse_object_name

QUERY_TAG_KEYS = ("dag_id", "task_id", "run_id", "try_number", "map_index")
MAX_QUERY_TAG_LENGTH = 2000  # Snowflake's limit for QUERY_TAG


def templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def session_name(value: str | None, *, param: str) -> str | None:
    """``warehouse``/``role`` as the double-quoted identifier the connector sends (None: the connection's)."""
    if value is None or value == "":
        return None
    try:
        return parse_object_name(value, param=param, max_parts=1).sql
    except IdentifierError as err:
        raise ValueError(f'{err} (a {param} name such as ELT_WH or "Mixed_Case")') from None


def check_query_tag(query_tag: Any) -> dict[str, Any]:
    """``query_tag`` as a JSON-able dict of extra keys; raises ValueError naming the problem."""
    if query_tag is None:
        return {}
    if not isinstance(query_tag, Mapping):
        raise ValueError(
            f"query_tag must be a dict of extra keys for the JSON query tag, got {type(query_tag).__name__}"
        )
    for key in query_tag:
        if not isinstance(key, str):
            raise ValueError(f"query_tag keys must be strings, got {key!r}")
        if key in QUERY_TAG_KEYS:
            raise ValueError(f"query_tag must not set {key!r}: the operator sets {', '.join(QUERY_TAG_KEYS)}")
    try:
        json.dumps(dict(query_tag), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"query_tag must hold JSON values only (str, int, float, bool, None, list, dict): {err}"
        ) from None
    return dict(query_tag)


def check_session_args(*, warehouse: Any, role: Any, query_tag: Any) -> None:
    """Construction-time checks (templated names are checked after rendering)."""
    for param, value in (("warehouse", warehouse), ("role", role)):
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"{param} must be a string naming a Snowflake {param}, got {type(value).__name__}"
            )
        if not templated(value):
            session_name(value, param=param)
    check_query_tag(query_tag)


def build_query_tag(ids: Mapping[str, Any], extra: Any = None) -> str:
    """The task's query tag: compact JSON of its ids then ``extra``; at most 2,000 characters."""
    tag = json.dumps(
        {**{k: ids.get(k) for k in QUERY_TAG_KEYS}, **check_query_tag(extra)},
        separators=(",", ":"),
        allow_nan=False,
        default=str,
    )
    if len(tag) > MAX_QUERY_TAG_LENGTH:
        raise ValueError(
            f"the query tag is {len(tag)} characters, over Snowflake's {MAX_QUERY_TAG_LENGTH}: shorten query_tag"
        )
    return tag


def task_ids(context: Mapping[str, Any]) -> dict[str, Any]:
    """dag_id, task_id, run_id, try_number and map_index of the running task instance (None outside one)."""
    ti = context.get("ti")
    ids = {key: getattr(ti, key, None) for key in QUERY_TAG_KEYS}
    if ids["map_index"] is None and ti is not None:
        ids["map_index"] = -1
    return ids
