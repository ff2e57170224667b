"""Part files and manifest on the local filesystem (file://): contents byte-checked after decompression."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import zstandard

from airflow_provider_dataeng.sinks import MANIFEST_NAME, PartFileSink

RECORDS = [json.dumps({"id": i, "name": f"name-{i}", "tags": ["a", "b"][: i % 3]}).encode() for i in range(25)]


def write(dest: str, pages: list[list[bytes]], **kwargs) -> dict:
    with PartFileSink(dest, **kwargs) as sink:
        for page in pages:
            sink.write(page)
        return sink.commit(pages=len(pages))


def pages_of(records: list[bytes], size: int) -> list[list[bytes]]:
    return [records[i : i + size] for i in range(0, len(records), size)]


def listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_jsonl_zstd_rotates_parts_and_writes_manifest_last(tmp_path: Path) -> None:
    dest = f"file://{tmp_path}/orders/2024-01-01/"
    manifest = write(dest, pages_of(RECORDS, 7), max_records_per_file=10)
    root = tmp_path / "orders/2024-01-01"
    assert listing(root) == [MANIFEST_NAME, "part-00000.jsonl.zst", "part-00001.jsonl.zst", "part-00002.jsonl.zst"]
    for index, chunk in enumerate(pages_of(RECORDS, 10)):
        data = zstandard.ZstdDecompressor().stream_reader((root / f"part-{index:05d}.jsonl.zst").open("rb")).read()
        assert data == b"\n".join(chunk) + b"\n"
    assert manifest == {
        "destination": dest,
        "files": [
            {"uri": f"file://{root}/part-{i:05d}.jsonl.zst", "records": n,
             "bytes": (root / f"part-{i:05d}.jsonl.zst").stat().st_size}
            for i, n in enumerate([10, 10, 5])
        ],
        "records": 25,
        "pages": 4,
        "format": "jsonl",
        "compression": "zstd",
    }
    assert json.loads((root / MANIFEST_NAME).read_text()) == manifest


@pytest.mark.parametrize(("compression", "suffix"), [("gzip", ".jsonl.gz"), ("none", ".jsonl")])
def test_jsonl_gzip_and_uncompressed(tmp_path: Path, compression: str, suffix: str) -> None:
    manifest = write(f"file://{tmp_path}/", [RECORDS], compression=compression)
    data = (tmp_path / f"part-00000{suffix}").read_bytes()
    assert (gzip.decompress(data) if compression == "gzip" else data) == b"\n".join(RECORDS) + b"\n"
    assert [f["records"] for f in manifest["files"]] == [25]


def test_rerun_replaces_files_and_removes_parts_of_a_longer_attempt(tmp_path: Path) -> None:
    dest = f"file://{tmp_path}/"
    write(dest, pages_of(RECORDS, 5), max_records_per_file=5)
    assert len(list(tmp_path.glob("part-*"))) == 5
    manifest = write(dest, [RECORDS[:8]], max_records_per_file=5)
    assert listing(tmp_path) == [MANIFEST_NAME, "part-00000.jsonl.zst", "part-00001.jsonl.zst"]
    assert manifest["records"] == 8
    data = b"".join(
        zstandard.ZstdDecompressor().stream_reader((tmp_path / f"part-{i:05d}.jsonl.zst").open("rb")).read()
        for i in range(2)
    )
    assert data == b"\n".join(RECORDS[:8]) + b"\n"


def test_failed_attempt_leaves_no_manifest_and_no_staging(tmp_path: Path) -> None:
    dest = f"file://{tmp_path}/"
    write(dest, [RECORDS[:3]])
    with pytest.raises(RuntimeError, match="source broke"), PartFileSink(dest, max_records_per_file=2) as sink:
        sink.write(RECORDS)
        raise RuntimeError("source broke")
    # the previous run's part stays, but without a manifest nothing points at it as a finished extract
    assert listing(tmp_path) == ["part-00000.jsonl.zst"]


def test_parts_are_staged_until_commit(tmp_path: Path) -> None:
    sink = PartFileSink(f"file://{tmp_path}/", max_records_per_file=10)
    sink.start()
    sink.write(RECORDS)
    staged = [p for p in listing(tmp_path) if p.startswith("_staging/") and p.endswith(".zst")]
    assert len(staged) == 3
    assert not list(tmp_path.glob("part-*"))
    sink.commit(pages=1)
    assert listing(tmp_path) == [MANIFEST_NAME, "part-00000.jsonl.zst", "part-00001.jsonl.zst", "part-00002.jsonl.zst"]


def test_empty_extract_writes_a_manifest_without_files(tmp_path: Path) -> None:
    assert write(f"file://{tmp_path}/", [[]])["files"] == []
    assert listing(tmp_path) == [MANIFEST_NAME]


def test_parquet_batches_and_schema_widening(tmp_path: Path) -> None:
    first = [json.dumps({"id": i, "name": f"n{i}"}).encode() for i in range(6)]
    wider = [json.dumps({"id": i, "name": f"n{i}", "score": i / 2}).encode() for i in range(6, 9)]
    manifest = write(f"file://{tmp_path}/", [first, wider], part_format="parquet", parquet_batch_rows=3)
    assert [(f["uri"].rsplit("/", 1)[1], f["records"]) for f in manifest["files"]] == [
        ("part-00000.parquet", 6), ("part-00001.parquet", 3)
    ]
    assert pq.read_table(tmp_path / "part-00000.parquet").to_pylist() == [json.loads(r) for r in first]
    assert pq.read_table(tmp_path / "part-00001.parquet").to_pylist() == [json.loads(r) for r in wider]
    assert pq.ParquetFile(tmp_path / "part-00000.parquet").metadata.row_group(0).column(0).compression == "ZSTD"


def test_parquet_missing_columns_become_nulls_within_a_part(tmp_path: Path) -> None:
    rows = [b'{"id": 1, "name": "a"}', b'{"id": 2, "name": "b"}', b'{"id": 3}']
    write(f"file://{tmp_path}/", [rows[:2], rows[2:]], part_format="parquet", parquet_batch_rows=2)
    assert pq.read_table(tmp_path / "part-00000.parquet").to_pylist() == [
        {"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": None}
    ]


def test_parquet_conflicting_types_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^record 0 of page 2: field 'id' is an object but was a number before "
                                         r"\(page 1\); a Parquet column holds one type\."):
        write(f"file://{tmp_path}/", [[b'{"id": 1}'], [b'{"id": {"nested": true}}']], part_format="parquet",
              parquet_batch_rows=1)
    assert not (tmp_path / MANIFEST_NAME).exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"part_format": "csv"}, "part_format must be one of jsonl, parquet, got 'csv'"),
        ({"compression": "snappy"}, "compression for part_format='jsonl' must be one of zstd, gzip, none, got 'snappy'"),
        ({"max_records_per_file": 0}, "max_records_per_file must be a positive integer, got 0"),
    ],
)
def test_bad_sink_settings(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        PartFileSink(f"file://{tmp_path}/", **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("dest", ["/tmp/no-scheme", "s3://", "bucket/prefix"])
def test_destination_must_be_a_url(dest: str) -> None:
    with pytest.raises(ValueError, match="destination must be an object-storage URL like 's3://bucket/prefix/"):
        PartFileSink(dest)


def test_parquet_schema_widening_in_the_batch_flushed_at_rotation(tmp_path: Path) -> None:
    narrow = [json.dumps({"id": i}).encode() for i in range(3)]
    wide = [json.dumps({"id": i, "extra": "x"}).encode() for i in range(3, 5)]
    manifest = write(f"file://{tmp_path}/", [narrow, wide, [b'{"id": 5}']], part_format="parquet",
                     parquet_batch_rows=3, max_records_per_file=5)
    assert [(f["uri"].rsplit("/", 1)[1], f["records"]) for f in manifest["files"]] == [
        ("part-00000.parquet", 3), ("part-00001.parquet", 3)
    ]
    assert pq.read_table(tmp_path / "part-00000.parquet").to_pylist() == [{"id": i} for i in range(3)]
    assert pq.read_table(tmp_path / "part-00001.parquet").to_pylist() == [
        {"id": 3, "extra": "x"}, {"id": 4, "extra": "x"}, {"id": 5, "extra": None}
    ]
    assert manifest["records"] == 6
