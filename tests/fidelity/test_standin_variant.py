"""Regression tests for the Snowflake stand-in's VARIANT handling, found by the fidelity round trips.

- COPY of JSON stored each document through DuckDB's ``json()``, which reads every number with a fraction as
  a double: ``826561649537.325424`` came back as ``826561649537.3254`` (Snowflake keeps NUMBER(38,s) exact),
  while integers beyond 38 digits stayed exact (Snowflake makes them DOUBLE) and ``-0.0`` kept its sign.
- Parquet's ``$1`` was rendered by a DuckDB relation, which renamed columns (``a`` beside ``A`` -> ``a_1``,
  an empty name -> ``v2``), turned structs with an empty field name into arrays and cut names at a NUL.
"""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
import zstandard

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from dataeng_local.snowflake.variant import variant_json
from tests.fidelity.jsontext import Num, loads
from tests.fidelity.pipeline import STAGE


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('{"a": 826561649537.325424}', '{"a": 826561649537.325424}'),  # exact DECIMAL, untouched
        ("[99999999999999999999999999999999999999]", "[99999999999999999999999999999999999999]"),
        ("[1000000000000000000000000000000000000000]", "[1e+39]"),  # 40 digits: DOUBLE
        ("[0.00000000000000000000000000000000000001]", "[1e-38]"),  # scale 38: DOUBLE
        ("[3.141592653589793238462643383279502884197]", "[3.141592653589793]"),  # precision 40: DOUBLE
        ("[-0.0, -0, -0.000, -0.5, -0.0e0, 1E2]", "[0.0, 0, 0.000, -0.5, -0.0e0, 1E2]"),
        ('{"-0.0": "99999999999999999999999999999999999999999 -0.0", "k": -0.0}',
         '{"-0.0": "99999999999999999999999999999999999999999 -0.0", "k": 0.0}'),  # strings untouched
        ('["\\"", -0.0, "\\\\", 12345678901234567890123456789012345678901]', '["\\"", 0.0, "\\\\", 1.2345678901234568e+40]'),
    ],
)
def test_variant_json_types_numbers_like_snowflake(text: str, stored: str) -> None:
    assert variant_json(text) == stored


def test_variant_json_leaves_ordinary_documents_alone() -> None:
    text = '{"id": 12, "price": 19.99, "tags": ["a", "b"], "when": "2024-01-05T10:00:00Z", "n": null}'
    assert variant_json(text) is text


@pytest.fixture(scope="module")
def put(local_stack: Any) -> Any:
    """``put(name, body)``: upload a part file under the stage URL; returns its s3:// URI."""
    import s3fs

    from dataeng_local.s3 import ACCESS_KEY, REGION, SECRET_KEY

    fs = s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, skip_instance_cache=True,
                           client_kwargs={"endpoint_url": local_stack.s3_endpoint, "region_name": REGION})

    def upload(name: str, body: bytes) -> str:
        uri = f"s3://{local_stack.bucket}/fidelity/standin/{uuid.uuid4().hex}/{name}"
        fs.pipe_file(uri, body)
        return uri

    return upload


def load(local_stack: Any, sf: Any, uri: str, file_format: dict[str, Any]) -> list[Any]:
    table = f"DEMO.FIDELITY.STANDIN_{uuid.uuid4().hex[:8].upper()}"
    S3StageLoadOperator(
        task_id="load", table=table, stage=STAGE, files=[uri], file_format=file_format, create_table=True,
        ensure_stage={"url": f"s3://{local_stack.bucket}/fidelity/", "aws_conn_id": "aws_default"},
        emit_assets=False,
    ).execute({})
    return [row[0] for row in sf(f'SELECT RECORD FROM {table} ORDER BY "_SOURCE_ROW"')]


@pytest.mark.integration
def test_json_copy_keeps_decimals_exact_and_types_numbers(local_stack, sf, put) -> None:
    lines = [
        '{"d": 826561649537.325424, "e": 9007199254740993.0}',
        '{"big": 1000000000000000000000000000000000000007, "neg": -0.0, "exp": 1E2, "ok": 99999999999999999999999999999999999999}',
    ]
    uri = put("part-00000.jsonl.zst", zstandard.ZstdCompressor().compress("\n".join(lines).encode() + b"\n"))
    texts = load(local_stack, sf, uri, {"type": "JSON", "compression": "ZSTD"})
    assert [loads(t) for t in texts] == [
        {"d": Num("826561649537.325424"), "e": Num("9007199254740993.0")},
        {"big": Num("1e+39"), "neg": Num("0.0"), "exp": Num("1E2"), "ok": Num("99999999999999999999999999999999999999")},
    ]


@pytest.mark.integration
def test_parquet_copy_keeps_every_column_and_field_name(local_stack, sf, put) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "A": [1], "a": [2], "": ["empty"], "a.b c": [0.1],
        "s": pa.array([{"": 1, "x\x00y": 2, "X": 3, "x": 4}]),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    texts = load(local_stack, sf, put("part-00000.parquet", buf.getvalue()), {"type": "PARQUET"})
    assert [json.loads(t) for t in texts] == [
        {"A": 1, "a": 2, "": "empty", "a.b c": 0.1, "s": {"": 1, "x\x00y": 2, "X": 3, "x": 4}},
    ]
