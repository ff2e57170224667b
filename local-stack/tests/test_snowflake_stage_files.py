"""LIST and REMOVE on an S3 external stage of the local Snowflake (objects in moto)."""

from __future__ import annotations

from datetime import timezone
from email.utils import format_datetime
from typing import Any

import pytest

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning"),
]

URL = "s3://landing/files/"
KEYS = ["a.json", "a2.json", "a/b.json", "sub/c.csv", "sub/d.json"]


def put_all(local_s3: Any, prefix: str, keys: list[str]) -> None:
    for key in keys:
        local_s3.put_object(Bucket="landing", Key=prefix + key, Body=f"content of {key}".encode())


def listed(local_s3: Any, prefix: str, keys: list[str]) -> list[tuple[Any, ...]]:
    """What LIST should return for these objects, from S3's own metadata."""
    rows = []
    for key in keys:
        head = local_s3.head_object(Bucket="landing", Key=prefix + key)
        modified = format_datetime(head["LastModified"].astimezone(timezone.utc), usegmt=True)
        rows.append((f"s3://landing/{prefix}{key}", head["ContentLength"], head["ETag"].strip('"'), modified))
    return rows


@pytest.fixture(scope="module")
def stage(local_s3: Any, local_snowflake: Any) -> None:
    put_all(local_s3, "files/", KEYS)
    conn = local_snowflake.connect()
    conn.cursor().execute(
        f"CREATE OR REPLACE STAGE DEMO.PUBLIC.FILES URL='{URL}' CREDENTIALS=(AWS_KEY_ID='local' AWS_SECRET_KEY='local')"
    )
    conn.close()


def test_list_returns_snowflake_columns_for_every_object(sf: Any, stage: None, local_s3: Any) -> None:
    rows = sf("LIST @DEMO.PUBLIC.FILES")
    assert [d.name for d in sf.cursor.description] == ["name", "size", "md5", "last_modified"]
    assert rows == listed(local_s3, "files/", sorted(KEYS))
    assert rows[0][3].endswith(" GMT") and len(rows[0][2]) == 32


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("@FILES/sub/", ["sub/c.csv", "sub/d.json"]),
        ("@FILES/a", ["a.json", "a/b.json", "a2.json"]),  # a path is a prefix, not a folder
        ('\'@"DEMO"."PUBLIC"."FILES"/sub/c.csv\'', ["sub/c.csv"]),  # quoted location
        ("@PUBLIC.FILES/nothing/", []),
    ],
)
def test_list_path(sf: Any, stage: None, location: str, expected: list[str]) -> None:
    assert [r[0] for r in sf(f"LIST {location}")] == [URL + k for k in expected]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (".*[.]csv", ["sub/c.csv"]),
        ("sub/.*", ["sub/c.csv", "sub/d.json"]),  # the path inside the stage
        ("files/a.*[.]json", ["a.json", "a/b.json", "a2.json"]),  # the path inside the bucket
        ("a", []),  # the whole path must match
    ],
)
def test_list_pattern(sf: Any, stage: None, pattern: str, expected: list[str]) -> None:
    assert [r[0] for r in sf(f"LS @FILES PATTERN = '{pattern}'")] == [URL + k for k in expected]


def test_remove_deletes_the_matching_objects(sf: Any, stage: None, local_s3: Any) -> None:
    put_all(local_s3, "files/rm/", ["x.json", "x.json.bak", "y.json", "z/x.json"])
    rows = sf("REMOVE @FILES/rm/ PATTERN = '.*x[.]json'")
    assert [d.name for d in sf.cursor.description] == ["name", "result"]
    assert rows == [(URL + "rm/x.json", "removed"), (URL + "rm/z/x.json", "removed")]
    left = local_s3.list_objects_v2(Bucket="landing", Prefix="files/rm/")["Contents"]
    assert [o["Key"] for o in left] == ["files/rm/x.json.bak", "files/rm/y.json"]
    assert sf("RM @FILES/rm/") == [(URL + "rm/x.json.bak", "removed"), (URL + "rm/y.json", "removed")]
    assert local_s3.list_objects_v2(Bucket="landing", Prefix="files/rm/")["KeyCount"] == 0
    assert sf("REMOVE @FILES/rm/") == []


def test_remove_as_the_loader_sends_it_removes_exactly_one_file(sf: Any, stage: None, local_s3: Any) -> None:
    put_all(
        local_s3, "files/d/", ["part-00000.jsonl.zst", "part-00000.jsonl.zst.bak", "part-000001.jsonl.zst"]
    )
    rows = sf(
        'REMOVE \'@"DEMO"."PUBLIC"."FILES"/d/part-00000.jsonl.zst\' PATTERN = \'^.*/part[-]00000[.]jsonl[.]zst$\''
    )
    assert rows == [(URL + "d/part-00000.jsonl.zst", "removed")]
    left = local_s3.list_objects_v2(Bucket="landing", Prefix="files/d/")["Contents"]
    assert [o["Key"] for o in left] == ["files/d/part-00000.jsonl.zst.bak", "files/d/part-000001.jsonl.zst"]


def test_unknown_stage_fails(sf: Any, stage: None) -> None:
    import snowflake.connector.errors

    for sql in ("LIST @NO_SUCH_STAGE", "REMOVE @NO_SUCH_STAGE/x"):
        with pytest.raises(
            snowflake.connector.errors.ProgrammingError, match="NO_SUCH_STAGE' does not exist"
        ):
            sf(sql)


def test_internal_stage_list_and_remove(sf: Any, tmp_path: Any) -> None:
    import hashlib

    source = tmp_path / "rows.csv"
    source.write_text("1,a\n")
    sf("CREATE OR REPLACE STAGE DEMO.PUBLIC.INTERNAL_FILES")
    sf(f"PUT file://{source} @INTERNAL_FILES/in/ AUTO_COMPRESS = FALSE")
    rows = sf("LIST @INTERNAL_FILES PATTERN = '.*[.]csv'")
    assert [r[:3] for r in rows] == [("internal_files/in/rows.csv", 4, hashlib.md5(b"1,a\n").hexdigest())]
    assert sf("REMOVE @INTERNAL_FILES/in/") == [("internal_files/in/rows.csv", "removed")]
    assert sf("LIST @INTERNAL_FILES") == []
