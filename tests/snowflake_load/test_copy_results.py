"""Verifying COPY results against the manifest, with result rows in Snowflake's exact shape.

The rows below are what Snowflake returns (columns, order, types, status values), so the verification
rules are pinned to Snowflake's shapes, not to the local stand-in's. The stand-in produces the same shapes
for every ON_ERROR mode; test_load_integration_errors.py runs partial loads and skipped files end to end
on it.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_dataeng.sql.copy_results import (
    CopyFileResult,
    FileInput,
    FilesInputError,
    LoadReport,
    check_manifest_format,
    collect_file_inputs,
    file_verdicts,
    parse_copy_result,
)

COLUMNS = ("file", "status", "rows_parsed", "rows_loaded", "error_limit", "errors_seen", "first_error",
           "first_error_line", "first_error_character", "first_error_column_name")
URL = "s3://bkt/landing/"
PARSE_ERROR = 'Error parsing JSON: incomplete object value, pos 41'


def row(*values: object) -> dict[str, object]:
    return dict(zip(COLUMNS, values))


def loaded(name: str, n: int) -> dict[str, object]:
    return row(URL + name, "LOADED", n, n, 1, 0, None, None, None, None)


NOTHING = [{"status": "Copy executed with 0 files processed."}]
EXPECTED = [FileInput("d/p0.jsonl.zst", 1000), FileInput("d/p1.jsonl.zst", 1000), FileInput("d/p2.jsonl.zst", 500)]


# -------------------------------------------------------------------------------- parsing


def test_parse_full_rows() -> None:
    rows = [
        loaded("d/p0.jsonl.zst", 1000),
        row(URL + "d/p1.jsonl.zst", "PARTIALLY_LOADED", 1000, 998, 1000, 2, PARSE_ERROR, 17, 41, '"EVENTS"["RECORD":1]'),
    ]
    assert parse_copy_result(rows) == [
        CopyFileResult(URL + "d/p0.jsonl.zst", "LOADED", 1000, 1000, 1, 0),
        CopyFileResult(URL + "d/p1.jsonl.zst", "PARTIALLY_LOADED", 1000, 998, 1000, 2, PARSE_ERROR, 17, 41,
                       '"EVENTS"["RECORD":1]'),
    ]


def test_parse_upper_case_keys_and_string_numbers() -> None:
    rows = [{k.upper(): v for k, v in row("f", "loaded", "3", "3", "1", "0", "", None, None, None).items()}]
    assert parse_copy_result(rows) == [CopyFileResult("f", "LOADED", 3, 3, 1, 0)]


def test_zero_files_processed_is_no_rows() -> None:
    assert parse_copy_result(NOTHING) == []


def test_unknown_single_column_row_is_an_error() -> None:
    with pytest.raises(ValueError, match="unexpected COPY result row"):
        parse_copy_result([{"status": "something else"}])


# -------------------------------------------------------------------------------- verdicts


def verdicts(rows: list[dict[str, object]], **kwargs: object) -> LoadReport:
    max_error_rows = int(kwargs.pop("max_error_rows", 0))  # type: ignore[call-overload]
    return LoadReport(file_verdicts(EXPECTED, parse_copy_result(rows), stage_url=URL, **kwargs), max_error_rows)  # type: ignore[arg-type]


def test_all_loaded_matching_manifest() -> None:
    report = verdicts([loaded("d/p0.jsonl.zst", 1000), loaded("d/p1.jsonl.zst", 1000), loaded("d/p2.jsonl.zst", 500)])
    assert report.ok
    assert report.summary('"RAW"."EVENTS"') == {
        "table": '"RAW"."EVENTS"', "files_loaded": 3, "files_skipped": 0, "rows_loaded": 2500, "rows_parsed": 2500,
        "errors": [],
    }


def test_rerun_with_zero_files_processed_skips_everything() -> None:
    report = verdicts(NOTHING)
    assert report.ok
    assert [(v.file, v.outcome, v.status) for v in report.verdicts] == [
        ("d/p0.jsonl.zst", "skipped", "ALREADY_LOADED"),
        ("d/p1.jsonl.zst", "skipped", "ALREADY_LOADED"),
        ("d/p2.jsonl.zst", "skipped", "ALREADY_LOADED"),
    ]
    assert report.summary("T") == {"table": "T", "files_loaded": 0, "files_skipped": 3, "rows_loaded": 0,
                                   "rows_parsed": 0, "errors": []}


def test_rerun_after_partial_commit_loads_only_the_rest() -> None:
    """Snowflake lists only the files it processed; the others were loaded before."""
    report = verdicts([loaded("d/p2.jsonl.zst", 500)])
    assert report.ok
    assert [v.outcome for v in report.verdicts] == ["skipped", "skipped", "loaded"]
    assert report.summary("T")["rows_loaded"] == 500


def test_load_skipped_status_counts_as_skipped() -> None:
    rows = [row(URL + "d/p0.jsonl.zst", "LOAD_SKIPPED", 0, 0, None, 1, "File was loaded before.", None, None, None),
            loaded("d/p1.jsonl.zst", 1000), loaded("d/p2.jsonl.zst", 500)]
    report = verdicts(rows)
    assert report.ok
    assert report.summary("T")["files_skipped"] == 1
    assert report.summary("T")["errors"] == []


def test_force_requires_every_file_in_the_result() -> None:
    report = verdicts([loaded("d/p0.jsonl.zst", 1000), loaded("d/p1.jsonl.zst", 1000)], force=True)
    assert not report.ok
    assert [(f.file, f.status, f.problem) for f in report.failures] == [
        ("d/p2.jsonl.zst", "MISSING", "not in COPY's result although FORCE = TRUE"),
    ]


def test_rows_loaded_differs_from_manifest() -> None:
    report = verdicts([loaded("d/p0.jsonl.zst", 999), loaded("d/p1.jsonl.zst", 1000), loaded("d/p2.jsonl.zst", 500)])
    assert [(f.file, f.problem) for f in report.failures] == [
        ("d/p0.jsonl.zst", "rows_loaded 999 != manifest records 1000"),
    ]


def test_partially_loaded_with_continue_beyond_max_error_rows_fails() -> None:
    rows = [
        loaded("d/p0.jsonl.zst", 1000),
        row(URL + "d/p1.jsonl.zst", "PARTIALLY_LOADED", 1000, 997, 1000, 3, PARSE_ERROR, 17, 41, '"EVENTS"["RECORD":1]'),
        loaded("d/p2.jsonl.zst", 500),
    ]
    report = verdicts(rows, max_error_rows=2)
    assert report.error_rows == 3
    assert [(f.file, f.status, f.errors_seen, f.problem) for f in report.failures] == [
        ("d/p1.jsonl.zst", "PARTIALLY_LOADED", 3, "3 rejected rows in this load exceed max_error_rows=2"),
    ]
    assert report.render_table() == (
        "file           | status           | expected | parsed | loaded | errors | problem / first error\n"
        "---------------+------------------+----------+--------+--------+--------+----------------------\n"
        "d/p1.jsonl.zst | PARTIALLY_LOADED | 1000     | 1000   | 997    | 3      | 3 rejected rows in this load "
        "exceed max_error_rows=2; Error parsing JSON: incomplete object value, pos 41 (line 17)"
    )


def test_partially_loaded_within_max_error_rows_is_reported_not_failed() -> None:
    rows = [
        loaded("d/p0.jsonl.zst", 1000),
        row(URL + "d/p1.jsonl.zst", "PARTIALLY_LOADED", 1000, 998, 1000, 2, PARSE_ERROR, 17, 41, '"EVENTS"["RECORD":1]'),
        loaded("d/p2.jsonl.zst", 500),
    ]
    report = verdicts(rows, max_error_rows=5)
    assert report.ok
    assert report.summary("T") == {
        "table": "T", "files_loaded": 3, "files_skipped": 0, "rows_loaded": 2498, "rows_parsed": 2500,
        "errors": [{"file": "d/p1.jsonl.zst", "status": "PARTIALLY_LOADED", "errors_seen": 2,
                    "first_error": PARSE_ERROR, "first_error_line": 17,
                    "first_error_column_name": '"EVENTS"["RECORD":1]'}],
    }
    json.dumps(report.summary("T"))  # XCom-safe


def test_partially_loaded_with_parsed_rows_differing_from_manifest_fails() -> None:
    rows = [row(URL + "d/p1.jsonl.zst", "PARTIALLY_LOADED", 990, 988, 990, 2, PARSE_ERROR, 5, 1, None)]
    report = verdicts(rows, max_error_rows=10)
    assert [(f.file, f.problem) for f in report.failures] == [("d/p1.jsonl.zst", "rows_parsed 990 != manifest records 1000")]


def test_skip_file_reports_load_failed_and_fails() -> None:
    """ON_ERROR = SKIP_FILE: the bad file is LOAD_FAILED with 0 rows loaded; the others load."""
    rows = [
        loaded("d/p0.jsonl.zst", 1000),
        row(URL + "d/p1.jsonl.zst", "LOAD_FAILED", 1000, 0, 1, 1, PARSE_ERROR, 17, 41, '"EVENTS"["RECORD":1]'),
        loaded("d/p2.jsonl.zst", 500),
    ]
    report = verdicts(rows)
    assert not report.ok
    assert [(f.file, f.status, f.problem, f.first_error) for f in report.failures] == [
        ("d/p1.jsonl.zst", "LOAD_FAILED", "file not loaded", PARSE_ERROR),
    ]
    assert report.summary("T")["files_loaded"] == 2


def test_skip_file_threshold_partial_rows_in_snowflake_shape() -> None:
    """ON_ERROR = SKIP_FILE_10%: a file under the threshold is PARTIALLY_LOADED, one over it LOAD_FAILED."""
    rows = [
        row(URL + "d/p0.jsonl.zst", "PARTIALLY_LOADED", 1000, 995, 100, 5, PARSE_ERROR, 3, 1, None),
        row(URL + "d/p1.jsonl.zst", "LOAD_FAILED", 1000, 0, 100, 100, PARSE_ERROR, 2, 1, None),
        loaded("d/p2.jsonl.zst", 500),
    ]
    report = verdicts(rows, max_error_rows=5)
    assert [(v.file, v.outcome) for v in report.verdicts] == [
        ("d/p0.jsonl.zst", "loaded"), ("d/p1.jsonl.zst", "failed"), ("d/p2.jsonl.zst", "loaded"),
    ]


def test_unknown_status_and_unexpected_file_fail() -> None:
    rows = [row(URL + "d/p0.jsonl.zst", "LOAD_IN_PROGRESS", 0, 0, 1, 0, None, None, None, None),
            loaded("other.json", 3)]
    report = verdicts(rows)
    assert [(f.file, f.problem) for f in report.failures] == [
        ("d/p0.jsonl.zst", "unknown COPY status 'LOAD_IN_PROGRESS'"),
        (URL + "other.json", "COPY reported a file that was not asked for"),
    ]


def test_results_match_by_longest_suffix_without_stage_url() -> None:
    expected = [FileInput("x.json", 1), FileInput("a/x.json", 2)]
    rows = parse_copy_result([loaded("a/x.json", 2), loaded("x.json", 1)])
    result = file_verdicts(expected, rows, stage_url=None)
    assert [(v.file, v.outcome) for v in result] == [("x.json", "loaded"), ("a/x.json", "loaded")]


def test_internal_stage_names_match() -> None:
    rows = parse_copy_result([row("landing/a/x.json", "LOADED", 2, 2, 1, 0, None, None, None, None)])
    assert [(v.file, v.outcome) for v in file_verdicts([FileInput("a/x.json", 2)], rows)] == [("a/x.json", "loaded")]


def test_prefix_mode_judges_each_result_row() -> None:
    rows = parse_copy_result([loaded("p/a.json", 2), row(URL + "p/b.json", "LOAD_FAILED", 2, 0, 1, 1, "bad", 1, 1, None)])
    report = LoadReport(file_verdicts(None, rows, stage_url=URL))
    assert [(v.file, v.outcome, v.expected_records) for v in report.verdicts] == [
        ("p/a.json", "loaded", None), ("p/b.json", "failed", None),
    ]


def test_render_table_limits_rows() -> None:
    rows = parse_copy_result([row(f"f{i}", "LOAD_FAILED", 1, 0, 1, 1, "x" * 300, 1, 1, None) for i in range(60)])
    text = LoadReport(file_verdicts(None, rows)).render_table(limit=50)
    lines = text.splitlines()
    assert len(lines) == 2 + 50 + 1
    assert lines[-1] == "... and 10 more files"
    assert lines[2].endswith("file not loaded; " + "x" * 117 + "... (line 1)")


# -------------------------------------------------------------------------------- inputs

MANIFEST = {
    "destination": "s3://bkt/landing/2026-01-01/",
    "files": [
        {"uri": "s3://bkt/landing/2026-01-01/part-00000.jsonl.zst", "records": 1000, "bytes": 12345},
        {"uri": "s3://bkt/landing/2026-01-01/part-00001.jsonl.zst", "records": 10, "bytes": 345},
    ],
    "records": 1010,
    "pages": 2,
    "format": "jsonl",
    "compression": "zstd",
}


def test_manifest_from_extract() -> None:
    inputs = collect_file_inputs(MANIFEST)
    assert inputs.files == [
        FileInput("s3://bkt/landing/2026-01-01/part-00000.jsonl.zst", 1000),
        FileInput("s3://bkt/landing/2026-01-01/part-00001.jsonl.zst", 10),
    ]
    assert inputs.formats == {"jsonl"} and inputs.compressions == {"zstd"}
    assert all(f.is_uri for f in inputs.files)


def test_list_of_manifests_from_mapped_tasks_and_duplicates() -> None:
    other = {**MANIFEST, "files": [{"uri": "s3://bkt/landing/2026-01-02/part-00000.jsonl.zst", "records": 7}]}
    empty = {**MANIFEST, "files": [], "records": 0}
    inputs = collect_file_inputs(iter([MANIFEST, other, empty, MANIFEST]))
    assert [f.records for f in inputs.files] == [1000, 10, 7]


def test_paths_uris_json_text_and_single_path() -> None:
    assert collect_file_inputs(["a.json", "s3://bkt/x/b.json", {"path": "c.json", "records": 3}]).files == [
        FileInput("a.json"), FileInput("s3://bkt/x/b.json"), FileInput("c.json", 3),
    ]
    assert collect_file_inputs(json.dumps(MANIFEST)).files[1].records == 10
    assert collect_file_inputs('["a.json", "b.json"]').files == [FileInput("a.json"), FileInput("b.json")]
    assert collect_file_inputs("a.json").files == [FileInput("a.json")]
    assert collect_file_inputs([]).files == []


def test_duplicate_without_records_takes_the_count() -> None:
    assert collect_file_inputs(["a.json", {"path": "a.json", "records": 4}]).files == [FileInput("a.json", 4)]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "files is None: give a manifest"),
        (42, "files must be a manifest, a list of manifests, paths or URIs; got int"),
        ([{"records": 3}], "a file entry needs 'uri' or 'path'"),
        ([{"path": "a", "records": -1}], "'records' of 'a' must be a non-negative integer"),
        ([{"path": "a", "records": 1}, {"path": "a", "records": 2}], "'a' is listed twice with different record counts"),
        ({"files": "a.json"}, "a manifest's 'files' must be a list"),
        ("[not json", "looks like JSON but does not parse"),
        ([3.5], "cannot load 3.5"),
        ([" "], "empty file name"),
    ],
)
def test_bad_inputs_name_the_problem(files: object, message: str) -> None:
    with pytest.raises(FilesInputError, match=message):
        collect_file_inputs(files)


def test_manifest_format_must_match_file_format() -> None:
    inputs = collect_file_inputs(MANIFEST)
    check_manifest_format(inputs, file_type="JSON", compression="ZSTD")
    check_manifest_format(inputs, file_type="JSON", compression="AUTO")
    check_manifest_format(inputs, file_type=None, compression=None)
    with pytest.raises(FilesInputError, match="the manifest's files are 'jsonl' but file_format type is PARQUET; use type JSON"):
        check_manifest_format(inputs, file_type="PARQUET", compression=None)
    with pytest.raises(FilesInputError, match="compressed with 'zstd' but file_format compression is GZIP; use ZSTD or AUTO"):
        check_manifest_format(inputs, file_type="JSON", compression="GZIP")
