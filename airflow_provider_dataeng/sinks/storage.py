"""Object storage access through fsspec: ``s3://`` via s3fs (credentials from an Airflow AWS connection),
``file://`` and any other fsspec protocol as is."""

from __future__ import annotations

from typing import Any

S3_SCHEMES = ("s3", "s3a")


def check_destination_url(destination: str) -> None:
    """Raise ``ValueError`` unless ``destination`` is an object-storage URL such as ``s3://bucket/prefix/``."""
    scheme, sep, rest = destination.partition("://")
    if not sep or not scheme or not rest.strip("/"):
        raise ValueError(
            f"destination must be an object-storage URL like 's3://bucket/prefix/{{{{ ds }}}}/' or "
            f"'file:///path/', got {destination!r}"
        )


def s3_storage_options(aws_conn_id: str | None) -> dict[str, Any]:
    """s3fs options from an Airflow AWS connection: keys, session token, region and endpoint URL."""
    options: dict[str, Any] = {"skip_instance_cache": True}
    if not aws_conn_id:
        return options
    from airflow_provider_dataeng.hooks.aws import aws_connection

    hook, credentials = aws_connection(aws_conn_id)  # also masks the secret key and token in task logs
    options.update(key=credentials.access_key, secret=credentials.secret_key)
    if credentials.token:
        options["token"] = credentials.token
    client_kwargs: dict[str, Any] = {}
    endpoint = hook.conn_config.get_service_endpoint_url("s3")
    if endpoint:
        client_kwargs["endpoint_url"] = endpoint
    if hook.conn_config.region_name:
        client_kwargs["region_name"] = hook.conn_config.region_name
    if client_kwargs:
        options["client_kwargs"] = client_kwargs
    return options


def storage_options_for(url: str, aws_conn_id: str | None) -> dict[str, Any]:
    """The fsspec options ``url`` needs: s3fs's from the AWS connection for ``s3://``/``s3a://``, none else."""
    scheme, sep, _ = url.partition("://")
    return s3_storage_options(aws_conn_id) if sep and scheme in S3_SCHEMES else {}


def open_filesystem(destination: str, storage_options: dict[str, Any] | None = None) -> tuple[Any, str]:
    """``(fsspec filesystem, root path without protocol and trailing slash)`` for ``destination``."""
    from fsspec.core import url_to_fs

    check_destination_url(destination)
    options = dict(storage_options or {})
    if destination.split("://", 1)[0] not in S3_SCHEMES:
        options.pop("skip_instance_cache", None)
    fs, root = url_to_fs(destination, **options)
    return fs, root.rstrip("/")
