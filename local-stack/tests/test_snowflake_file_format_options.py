"""File format options the local Snowflake takes: honoured, default-only, or refused (never ignored)."""

from __future__ import annotations

import pytest
import snowflake.connector.errors

from dataeng_local.snowflake.formats import FileFormat


@pytest.mark.parametrize("value", [True, "TRUE", False])
def test_use_logical_type_is_accepted_for_parquet(value: object) -> None:
    ff = FileFormat.from_options({"TYPE": "PARQUET", "USE_LOGICAL_TYPE": value})
    assert ff.type == "PARQUET"
    assert ff.use_logical_type is (value in (True, "TRUE"))


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("RECORD_DELIMITER", "\n"),
        ("RECORD_DELIMITER", "\\n"),
        ("DATE_FORMAT", "AUTO"),
        ("TIMESTAMP_FORMAT", "auto"),
        ("ENCODING", "UTF8"),
        ("BINARY_FORMAT", "HEX"),
        ("BINARY_AS_TEXT", True),
    ],
)
def test_default_values_are_accepted(option: str, value: object) -> None:
    assert FileFormat.from_options({"TYPE": "CSV", option: value}).type == "CSV"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("RECORD_DELIMITER", "|"),
        ("DATE_FORMAT", "YYYY-MM-DD"),
        ("TIMESTAMP_FORMAT", "YYYY-MM-DD HH24:MI:SS"),
        ("ENCODING", "ISO-8859-1"),
        ("BINARY_FORMAT", "BASE64"),
        ("BINARY_AS_TEXT", False),
    ],
)
def test_other_values_are_refused_not_ignored(option: str, value: object) -> None:
    with pytest.raises(snowflake.connector.errors.ProgrammingError) as err:
        FileFormat.from_options({"TYPE": "CSV", option: value})
    assert f"File format option {option} = {value!r} is not supported by the local Snowflake" in str(err.value)
    assert "only its default" in str(err.value)
