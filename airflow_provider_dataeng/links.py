"""Operator extra link: the table a task loaded or merged, in Snowsight.

At execute time the operator pushes the table's Snowsight URL to XCom (key ``snowsight_table_url``) when the
connection's account says where Snowsight shows it: ``org-account`` identifiers give
``https://app.snowflake.com/<org>/<account>/#/data/databases/<DB>/schemas/<SCHEMA>/table/<TABLE>``, locators
with a region (``xy12345.us-east-2.aws``) give ``https://app.snowflake.com/<region>.<cloud>/<locator>/...``.
A bare locator (its region unknown) or a missing database gives no link. :class:`SnowsightTableLink` reads
the XCom back; Airflow 3 evaluates it when the task finishes and the UI shows the button.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

SNOWSIGHT_XCOM_KEY = "snowsight_table_url"
SNOWSIGHT = "https://app.snowflake.com"


def snowsight_account_path(account: str) -> str | None:
    """``<org>/<account>`` or ``<region>.<cloud>/<locator>`` for Snowsight URLs; None when unknown."""
    account = account.strip().lower()
    if not account:
        return None
    if "." in account:
        locator, _, region = account.partition(".")
        region = region.removesuffix(".privatelink")
        if not locator or not region or "-" in locator:
            return None
        return f"{region}/{locator}"
    org, sep, name = account.partition("-")
    if not sep or not org or not name:
        return None  # a bare locator: its region (and so its Snowsight URL) is not in the identifier
    return f"{org}/{name}"


def snowsight_table_url(account: str, table: Sequence[str]) -> str | None:
    """The Snowsight page of ``table`` (``(database, schema, name)``, normalized parts), or None."""
    path = snowsight_account_path(account)
    if path is None or len(table) != 3:
        return None
    database, schema, name = (quote(part, safe="") for part in table)
    return f"{SNOWSIGHT}/{path}/#/data/databases/{database}/schemas/{schema}/table/{name}"


def connection_table_url(conn_id: str, table: Sequence[str]) -> str | None:
    """The Snowsight page of ``table`` (parsed parts, qualified with the connection's database and schema
    where they are missing) in the account of the Snowflake connection ``conn_id``; None when unknown."""
    from airflow_provider_dataeng.lineage import qualify, snowflake_context

    sf = snowflake_context(conn_id)
    return snowsight_table_url(sf.account, qualify(table, database=sf.database, schema=sf.schema))


def push_snowsight_table_link(
    context: Context, operator: BaseOperator, conn_id: str, table: Sequence[str]
) -> str | None:
    """Push the table's Snowsight URL to XCom (when the account allows one); returns it. Never raises: a link
    is a convenience, not a reason to fail a load."""
    try:
        url = connection_table_url(conn_id, table)
        if url is not None and operator.do_xcom_push:
            context["ti"].xcom_push(key=SNOWSIGHT_XCOM_KEY, value=url)
        return url
    except Exception:  # noqa: BLE001
        operator.log.debug("no Snowsight link for %s", ".".join(table), exc_info=True)
        return None


class SnowsightTableLink(BaseOperatorLink):
    """Extra link "Snowsight table": the table the task loaded or merged."""

    name = "Snowsight table"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value: Any = XCom.get_value(ti_key=ti_key, key=SNOWSIGHT_XCOM_KEY)
        return value if isinstance(value, str) else ""
