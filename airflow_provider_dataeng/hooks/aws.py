"""AWS keys from an Airflow AWS connection, in the one place both S3 writes and Snowflake stages read them."""

from __future__ import annotations

from typing import Any


def aws_connection(aws_conn_id: str) -> tuple[Any, Any]:
    """``(AwsBaseHook, frozen credentials)``; fetching them also masks the secret key and token in task logs."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    hook = AwsBaseHook(aws_conn_id=aws_conn_id, client_type="s3")
    return hook, hook.get_credentials()


def stage_credentials(aws_conn_id: str) -> dict[str, str]:
    """A Snowflake stage's ``CREDENTIALS`` (``aws_key_id``, ``aws_secret_key``, ``aws_token``); never logged."""
    _, creds = aws_connection(aws_conn_id)
    out = {"aws_key_id": creds.access_key, "aws_secret_key": creds.secret_key}
    if creds.token:
        out["aws_token"] = creds.token
    return out
