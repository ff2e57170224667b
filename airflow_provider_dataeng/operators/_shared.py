"""What several operators do alike: open the task's Snowflake hook, and act on ``if_empty``.

Private to the operators (the leading underscore keeps it out of the one-operator-per-module rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dataeng.validation import choice

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

IF_EMPTY = ("succeed", "skip", "fail")
"""What an extract, load or merge does when there is nothing to do: ``succeed`` (return a summary saying so,
downstream runs), ``skip`` (AirflowSkipException) or ``fail`` (AirflowFailException)."""


def check_if_empty(value: Any) -> str:
    """``if_empty`` must be one of :data:`IF_EMPTY`."""
    return choice("if_empty", value, IF_EMPTY)


def nothing_to_do(if_empty: str, message: str, log: Any) -> None:
    """Raise as ``if_empty`` says (``skip`` or ``fail``); for ``succeed`` log ``message`` and return."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    if if_empty == "skip":
        raise AirflowSkipException(message)
    if if_empty == "fail":
        raise AirflowFailException(f"{message} (if_empty='fail')")
    log.info("%s (if_empty='succeed')", message)


def snowflake_task_hook(operator: Any, context: Context) -> SnowflakeHook:
    """The task's Snowflake hook from the operator's ``snowflake_conn_id``, ``warehouse``, ``role`` and
    ``query_tag``; a bad rendered value fails the task without retries (retrying cannot fix it)."""
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_provider_dataeng.hooks.snowflake import task_hook

    try:
        return task_hook(
            operator.snowflake_conn_id,
            context,
            warehouse=operator.warehouse,
            role=operator.role,
            query_tag=operator.query_tag,
        )
    except ValueError as err:
        raise AirflowFailException(str(err)) from None
