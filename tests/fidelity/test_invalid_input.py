"""Invalid input never lands: the extract fails naming the page, and nothing is committed (no manifest, no part
file, so nothing can be loaded). Bodies no encoder writes: a lone surrogate escape, bytes that are not UTF-8,
and records Parquet cannot hold."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.pagination import PageShapeError
from tests.fidelity.jsontext import Num
from tests.fidelity.pipeline import STAGE, extract, page_bodies, serve

pytestmark = pytest.mark.integration

GOOD = [{"id": Num("1"), "name": "ok"}]
BAD_VALUES = {
    "lone surrogate escape": b'"\\ud800"',
    "lone low surrogate escape": b'"x\\udc00y"',
    "invalid UTF-8": b'"caf\xe9"',
    "UTF-8 encoded surrogate": b'"\xed\xa0\x80"',
    "truncated UTF-8": b'"\xe2\x82"',
}


def bodies_with(bad: bytes) -> list[bytes]:
    """Page 1 good; page 2 holds a record whose ``name`` is ``bad`` (raw bytes in the body)."""
    pages = page_bodies(GOOD * 40 + [{"id": Num("2"), "name": "PLACEHOLDER"}], ["compact"])
    assert len(pages) == 2
    return [pages[0], pages[1].replace(b'"PLACEHOLDER"', bad)]


@pytest.fixture
def s3(local_stack: Any) -> Any:
    import s3fs

    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    return s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, skip_instance_cache=True,
                             client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": REGION})


def assert_nothing_committed(s3: Any, local_stack: Any, sf: Any, folder: str) -> None:
    """No object under the destination, and a load of that folder finds nothing to load."""
    from airflow.sdk.exceptions import AirflowSkipException

    assert s3.find(f"{local_stack.bucket}/fidelity/{folder}/") == []
    table = f"DEMO.FIDELITY.NOTHING_{folder}"
    with pytest.raises(AirflowSkipException, match="nothing to load"):
        S3StageLoadOperator(
            task_id="load", table=table, stage=STAGE, prefix=f"{folder}/", create_table=True,
            file_format={"type": "JSON", "compression": "ZSTD"}, emit_assets=False,
            ensure_stage={"url": f"s3://{local_stack.bucket}/fidelity/", "aws_conn_id": "aws_default"},
        ).execute({})
    assert sf(f"SELECT COUNT(*) FROM {table}") == [(0,)]


def failed_extract(api: Any, local_stack: Any, bodies: list[bytes], **kwargs: Any) -> tuple[str, Exception]:
    """Extract ``bodies`` into a fresh folder; the extract must fail: returns the folder and the error."""
    folder = uuid.uuid4().hex[:10].upper()
    endpoint = serve(api, bodies)
    with pytest.raises(Exception) as failure:
        extract(endpoint, f"s3://{local_stack.bucket}/fidelity/{folder}/", **kwargs)
    return folder, failure.value


@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
def test_lone_surrogate_escape_fails_the_extract(api, local_stack, sf, s3, bad: str) -> None:
    """J27 (and the other malformed strings): JSON text that cannot be a Unicode string fails the page."""
    folder, error = failed_extract(api, local_stack, bodies_with(BAD_VALUES[bad]), part_format="jsonl",
                                   compression="zstd")
    assert isinstance(error, PageShapeError)
    assert re.match(r"page 2 \(http://127\.0\.0\.1:\d+/records/\w+\?cursor=c1, HTTP 200, Content-Type "
                    r"application/json\): .*the body is not valid (JSON|UTF-8) \(.*\bbyte\b", str(error)), str(error)
    assert_nothing_committed(s3, local_stack, sf, folder)


def test_invalid_utf8_fails_the_extract(api, local_stack, sf, s3) -> None:
    """J28: the offset of the bad byte is named, and the charset is the fix to look at."""
    folder, failure = failed_extract(api, local_stack, bodies_with(b'"caf\xe9"'), part_format="jsonl",
                                     compression="zstd")
    error = str(failure)
    assert re.search(r"^page 2 \(.*\): the body is not valid UTF-8 \(byte 0xe9 at offset \d+: invalid "
                     r"continuation byte, in record 0, field 'name'\); JSON must be UTF-8: check the API's charset", error), error
    assert_nothing_committed(s3, local_stack, sf, folder)


@pytest.mark.parametrize("bad", ["lone surrogate escape", "invalid UTF-8"])
def test_invalid_input_names_the_record_and_field(api, local_stack, bad: str) -> None:
    _, error = failed_extract(api, local_stack, bodies_with(BAD_VALUES[bad]), part_format="jsonl", compression="zstd")
    assert re.search(r"record 0\b.*'name'", str(error)), str(error)


def test_parquet_refuses_duplicate_keys(api, local_stack, sf, s3) -> None:
    """P14: Arrow refuses a record with a key twice; JSON part files would carry it to Snowflake's COPY."""
    bodies = [b'{"data": [{"id": 1, "a": 1, "a": 2}], "has_more": false, "next_cursor": null}']
    folder, error = failed_extract(api, local_stack, bodies, part_format="parquet", compression="zstd")
    assert str(error) == ("record 0 of page 1 has the key 'a' twice; Parquet needs one value per field: use "
                          "part_format='jsonl'. Nothing was committed.")
    assert_nothing_committed(s3, local_stack, sf, folder)


def test_parquet_refuses_a_field_of_two_types(api, local_stack, sf, s3) -> None:
    """P15: one Parquet column has one type; a field that is a number in one record and a string in another
    fails the extract (use JSON part files, or a transform)."""
    bodies = [b'{"data": [{"id": 1, "a": [1, "x"]}], "has_more": false, "next_cursor": null}']
    folder, error = failed_extract(api, local_stack, bodies, part_format="parquet", compression="zstd")
    assert str(error).startswith(
        "record 0 of page 1: field 'a' (at ['a', '[]']) is a string but was a number before; a Parquet column "
        "holds one type. Declare the field's type in schema="
    ), str(error)
    assert_nothing_committed(s3, local_stack, sf, folder)
