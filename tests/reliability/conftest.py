"""Shared helpers for the reliability suite: the session's local stack, S3 read-back and log capture."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy

# Fast but real retries: three attempts, short waits, server hints honoured (floor 0.05 s, cap 3 s).
RETRIES = HttpRetryPolicy(max_attempts=3, backoff_initial=0.05, backoff_max=0.2, jitter=0.0,
                          retry_after_floor=0.05, retry_after_cap=3.0)
WINDOW = {"updated_since": "2024-01-03T00:00:00Z", "updated_before": "2024-01-05T00:00:00Z"}


@pytest.fixture(scope="session")
def s3(local_stack) -> Any:
    """An s3fs filesystem on the stack's S3 stand-in (moto)."""
    import s3fs

    return s3fs.S3FileSystem(key="testing", secret="testing", skip_instance_cache=True,
                             client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": "us-east-1"})


@pytest.fixture
def new_prefix(local_stack) -> Callable[[str], str]:
    """``new_prefix(name)``: a fresh ``bucket/reliability/<name>/<uuid>`` key prefix (no scheme)."""

    def make(name: str) -> str:
        return f"{local_stack.bucket}/reliability/{name}/{uuid.uuid4().hex}"

    return make


def read_parts(s3: Any, prefix: str) -> list[dict]:
    """Every record in the committed part files under ``prefix``, in part order (zstd-compressed JSONL)."""
    import zstandard

    records: list[dict] = []
    for path in sorted(p for p in s3.ls(prefix, refresh=True) if p.rsplit("/", 1)[-1].startswith("part-")):
        data = zstandard.ZstdDecompressor().stream_reader(s3.open(path, "rb")).read()
        records += [json.loads(line) for line in data.splitlines()]
    return records


def listing(s3: Any, prefix: str) -> list[str]:
    """Names of the objects directly under ``prefix`` (``[]`` when nothing was written)."""
    try:
        return sorted(p.rsplit("/", 1)[-1] for p in s3.ls(prefix, refresh=True))
    except FileNotFoundError:
        return []


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything logged so far at INFO (a task log's default level): stdlib records (caplog) and Airflow's
    structlog output (stdout/stderr)."""
    seen: list[str] = []
    caplog.set_level("INFO")

    def text() -> str:
        captured = capsys.readouterr()
        seen.append(captured.out + captured.err)
        return caplog.text + "".join(seen)

    yield text


def uid() -> str:
    return uuid.uuid4().hex
