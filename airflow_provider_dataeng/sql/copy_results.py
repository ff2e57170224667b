"""What a load should do and what it did: the files asked for, COPY's per-file result, and the verdict.

Pure functions, no I/O. ``collect_file_inputs`` turns the operator's ``files=`` (an extract manifest, a list
of manifests from mapped tasks, stage-relative paths or URIs) into an ordered list of files with their
expected record counts. ``parse_copy_result`` reads COPY's result rows in Snowflake's exact shape (``file,
status, rows_parsed, rows_loaded, error_limit, errors_seen, first_error, first_error_line,
first_error_character, first_error_column_name``, or the single ``status`` column "Copy executed with 0 files
processed."). ``file_verdicts`` and ``LoadReport`` judge each file against what was expected.

Rules (Snowflake reports only the files it processed):
- LOADED is good when ``rows_loaded`` equals the manifest's ``records`` for the file (when known).
- PARTIALLY_LOADED (ON_ERROR=CONTINUE) is tolerated while the load's rejected rows stay within
  ``max_error_rows``; its ``rows_parsed`` must still equal the manifest's ``records``.
- LOAD_FAILED (a file skipped by ON_ERROR=SKIP_FILE, or unreadable) always fails the load.
- A requested file missing from the result was skipped by Snowflake's load metadata (already loaded): counted
  as skipped, not as an error, unless FORCE was set (then every file must be in the result).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

NO_FILES_STATUS_PREFIX = "Copy executed with 0 files processed"
RESULT_COLUMNS = (
    "file",
    "status",
    "rows_parsed",
    "rows_loaded",
    "error_limit",
    "errors_seen",
    "first_error",
    "first_error_line",
    "first_error_character",
    "first_error_column_name",
)
SKIPPED_STATUSES = frozenset(
    {"LOAD_SKIPPED"}
)  # what some engines (and fakesnow) report for already-loaded files
MANIFEST_FORMATS = {"jsonl": "JSON", "json": "JSON", "parquet": "PARQUET", "csv": "CSV"}
MANIFEST_COMPRESSIONS = {"zstd": "ZSTD", "gzip": "GZIP", "none": "NONE"}


class FilesInputError(ValueError):
    """``files=`` is not something the loader understands."""


# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class FileInput:
    """One file to load: a stage-relative path or a URI, with the record count the manifest promises."""

    ref: str
    records: int | None = None

    @property
    def is_uri(self) -> bool:
        return "://" in self.ref


@dataclass
class FileInputs:
    files: list[FileInput] = field(default_factory=list)
    formats: set[str] = field(default_factory=set)  # manifests' "format" values
    compressions: set[str] = field(default_factory=set)  # manifests' "compression" values


def collect_file_inputs(files: Any, *, param: str = "files") -> FileInputs:
    """Flatten manifests / paths / URIs into one ordered, de-duplicated list of FileInput."""
    out = FileInputs()
    seen: dict[str, int] = {}
    for item in _iter_items(files, param):
        if isinstance(item, Mapping) and "files" in item:
            _add_manifest(item, out, seen, param)
        else:
            _add(_file_input(item, param), out, seen, param)
    return out


def _iter_items(files: Any, param: str) -> Iterable[Any]:
    if files is None:
        raise FilesInputError(f"{param} is None: give a manifest, a list of manifests, paths or URIs")
    if isinstance(files, (bytes, bytearray)):
        files = files.decode()
    if isinstance(files, str):
        text = files.strip()
        if text[:1] in ("[", "{"):  # a template rendered to JSON text
            try:
                files = json.loads(text)
            except ValueError as err:
                raise FilesInputError(f"{param} looks like JSON but does not parse: {err}") from None
        else:
            return [text]
    if isinstance(files, Mapping):
        return [files]
    if isinstance(files, Iterable):
        return list(files)  # lists, tuples, and Airflow's lazy XCom sequences of mapped tasks
    raise FilesInputError(
        f"{param} must be a manifest, a list of manifests, paths or URIs; got {type(files).__name__}"
    )


def _add_manifest(manifest: Mapping[str, Any], out: FileInputs, seen: dict[str, int], param: str) -> None:
    entries = manifest["files"]
    if not isinstance(entries, (list, tuple)):
        raise FilesInputError(f"{param}: a manifest's 'files' must be a list, got {type(entries).__name__}")
    if manifest.get("format"):
        out.formats.add(str(manifest["format"]).lower())
    if manifest.get("compression"):
        out.compressions.add(str(manifest["compression"]).lower())
    for entry in entries:
        _add(_file_input(entry, param), out, seen, param)


def _file_input(item: Any, param: str) -> FileInput:
    if isinstance(item, str):
        if not item.strip():
            raise FilesInputError(f"{param}: empty file name")
        return FileInput(item.strip())
    if isinstance(item, Mapping):
        ref = item.get("uri", item.get("path"))
        if not isinstance(ref, str) or not ref.strip():
            raise FilesInputError(f"{param}: a file entry needs 'uri' or 'path', got {dict(item)!r}")
        records = item.get("records")
        if records is not None and (isinstance(records, bool) or not isinstance(records, int) or records < 0):
            raise FilesInputError(
                f"{param}: 'records' of {ref!r} must be a non-negative integer, got {records!r}"
            )
        return FileInput(ref.strip(), records)
    raise FilesInputError(f"{param}: cannot load {item!r}; give a path, a URI, a file entry or a manifest")


def _add(entry: FileInput, out: FileInputs, seen: dict[str, int], param: str) -> None:
    index = seen.get(entry.ref)
    if index is None:
        seen[entry.ref] = len(out.files)
        out.files.append(entry)
        return
    known = out.files[index]
    if known.records is not None and entry.records is not None and known.records != entry.records:
        raise FilesInputError(
            f"{param}: {entry.ref!r} is listed twice with different record counts ({known.records}, {entry.records})"
        )
    if known.records is None:
        out.files[index] = entry


def check_manifest_format(inputs: FileInputs, *, file_type: str | None, compression: str | None) -> None:
    """Refuse a manifest whose format/compression contradicts the typed file format (mistakes caught early)."""
    for fmt in inputs.formats:
        wanted = MANIFEST_FORMATS.get(fmt)
        if file_type and wanted and wanted != file_type:
            raise FilesInputError(
                f"the manifest's files are {fmt!r} but file_format type is {file_type}; use type {wanted}"
            )
    for comp in inputs.compressions:
        wanted = MANIFEST_COMPRESSIONS.get(comp)
        if compression and compression != "AUTO" and wanted and wanted != compression:
            raise FilesInputError(
                f"the manifest's files are compressed with {comp!r} but file_format compression is "
                f"{compression}; use {wanted} or AUTO"
            )


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class CopyFileResult:
    """One row of COPY INTO <table>'s result."""

    file: str
    status: str
    rows_parsed: int | None = None
    rows_loaded: int | None = None
    error_limit: int | None = None
    errors_seen: int | None = None
    first_error: str | None = None
    first_error_line: int | None = None
    first_error_character: int | None = None
    first_error_column_name: str | None = None


def parse_copy_result(rows: Sequence[Mapping[str, Any]]) -> list[CopyFileResult]:
    """Parse COPY result rows (dicts keyed by column name, any case); the "0 files processed" row gives []."""
    parsed: list[CopyFileResult] = []
    for raw in rows:
        row = {str(k).lower(): v for k, v in raw.items()}
        if "file" not in row:
            status = str(row.get("status", ""))
            if status.startswith(NO_FILES_STATUS_PREFIX):
                continue
            raise ValueError(f"unexpected COPY result row (no 'file' column): {dict(raw)!r}")
        parsed.append(
            CopyFileResult(
                file=str(row["file"]),
                status=str(row.get("status") or "").upper(),
                rows_parsed=_int(row.get("rows_parsed")),
                rows_loaded=_int(row.get("rows_loaded")),
                error_limit=_int(row.get("error_limit")),
                errors_seen=_int(row.get("errors_seen")),
                first_error=_text(row.get("first_error")),
                first_error_line=_int(row.get("first_error_line")),
                first_error_character=_int(row.get("first_error_character")),
                first_error_column_name=_text(row.get("first_error_column_name")),
            )
        )
    return parsed


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# ---------------------------------------------------------------------------------------------- verdicts

LOADED, SKIPPED, FAILED = "loaded", "skipped", "failed"


@dataclass
class FileVerdict:
    """One file's outcome: ``loaded``, ``skipped`` (already loaded) or ``failed``, with the reason."""

    file: str
    outcome: str
    status: str
    expected_records: int | None = None
    rows_parsed: int | None = None
    rows_loaded: int | None = None
    errors_seen: int = 0
    first_error: str | None = None
    first_error_line: int | None = None
    first_error_column_name: str | None = None
    problem: str | None = None


def file_verdicts(
    expected: Sequence[FileInput] | None,
    results: Sequence[CopyFileResult],
    *,
    stage_url: str | None = None,
    force: bool = False,
) -> list[FileVerdict]:
    """Judge one COPY's result against the files it was asked to load (``expected`` None: a prefix load)."""
    if expected is None:
        return [_judge(_relative(r.file, stage_url), r, None) for r in results]
    by_path = {f.ref: f for f in expected}
    matched: dict[str, FileVerdict] = {}
    verdicts_unmatched: list[FileVerdict] = []
    for result in results:
        path = _match(_relative(result.file, stage_url), by_path)
        if path is None or path in matched:
            verdicts_unmatched.append(
                FileVerdict(
                    file=result.file,
                    outcome=FAILED,
                    status=result.status,
                    rows_parsed=result.rows_parsed,
                    rows_loaded=result.rows_loaded,
                    problem="COPY reported a file that was not asked for"
                    if path is None
                    else "reported twice",
                )
            )
            continue
        matched[path] = _judge(path, result, by_path[path].records)
    verdicts: list[FileVerdict] = []
    for f in expected:
        if f.ref in matched:
            verdicts.append(matched[f.ref])
        elif force:
            verdicts.append(
                FileVerdict(
                    f.ref, FAILED, "MISSING", f.records, problem="not in COPY's result although FORCE = TRUE"
                )
            )
        else:
            verdicts.append(FileVerdict(f.ref, SKIPPED, "ALREADY_LOADED", f.records))
    return verdicts + verdicts_unmatched


def _judge(path: str, r: CopyFileResult, records: int | None) -> FileVerdict:
    v = FileVerdict(
        file=path,
        outcome=LOADED,
        status=r.status,
        expected_records=records,
        rows_parsed=r.rows_parsed,
        rows_loaded=r.rows_loaded,
        errors_seen=r.errors_seen or 0,
        first_error=r.first_error,
        first_error_line=r.first_error_line,
        first_error_column_name=r.first_error_column_name,
    )
    if r.status in SKIPPED_STATUSES:
        v.outcome, v.errors_seen, v.first_error = SKIPPED, 0, None
    elif r.status == "LOADED":
        v.errors_seen = 0
        if records is not None and r.rows_loaded != records:
            v.outcome, v.problem = FAILED, f"rows_loaded {r.rows_loaded} != manifest records {records}"
    elif r.status == "PARTIALLY_LOADED":
        if not v.errors_seen and r.rows_parsed is not None and r.rows_loaded is not None:
            v.errors_seen = r.rows_parsed - r.rows_loaded
        if records is not None and r.rows_parsed != records:
            v.outcome, v.problem = FAILED, f"rows_parsed {r.rows_parsed} != manifest records {records}"
    elif r.status == "LOAD_FAILED":
        v.outcome, v.problem = FAILED, "file not loaded"
    else:
        v.outcome, v.problem = FAILED, f"unknown COPY status {r.status!r}"
    return v


def _relative(file: str, stage_url: str | None) -> str:
    if stage_url:
        base = stage_url if stage_url.endswith("/") else stage_url + "/"
        if file.startswith(base):
            return file[len(base) :]
    return file


def _match(name: str, by_path: Mapping[str, FileInput]) -> str | None:
    if name in by_path:
        return name
    # Snowflake names external files by full URL and internal ones by stage path: match the longest suffix.
    candidates = [p for p in by_path if name.endswith("/" + p.lstrip("/"))]
    return max(candidates, key=len) if candidates else None


@dataclass
class LoadReport:
    """All files' verdicts for one task, with the tolerance for rejected rows applied."""

    verdicts: list[FileVerdict]
    max_error_rows: int = 0

    def __post_init__(self) -> None:
        if self.error_rows > self.max_error_rows:
            for v in self.verdicts:
                if v.outcome == LOADED and v.errors_seen:
                    v.outcome = FAILED
                    v.problem = f"{self.error_rows} rejected rows in this load exceed max_error_rows={self.max_error_rows}"

    @property
    def error_rows(self) -> int:
        return sum(v.errors_seen for v in self.verdicts if v.status == "PARTIALLY_LOADED")

    @property
    def failures(self) -> list[FileVerdict]:
        return [v for v in self.verdicts if v.outcome == FAILED]

    @property
    def ok(self) -> bool:
        return not self.failures

    def count(self, outcome: str) -> int:
        return sum(1 for v in self.verdicts if v.outcome == outcome)

    def summary(self, table: str) -> dict[str, Any]:
        """The operator's return value (small and JSON-able)."""
        return {
            "table": table,
            "files_loaded": self.count(LOADED),
            "files_skipped": self.count(SKIPPED),
            "rows_loaded": sum(v.rows_loaded or 0 for v in self.verdicts if v.outcome == LOADED),
            "rows_parsed": sum(v.rows_parsed or 0 for v in self.verdicts if v.outcome == LOADED),
            "errors": [
                {
                    k: d[k]
                    for k in (
                        "file",
                        "status",
                        "errors_seen",
                        "first_error",
                        "first_error_line",
                        "first_error_column_name",
                    )
                }
                for d in (asdict(v) for v in self.verdicts)
                if d["errors_seen"] or d["outcome"] == FAILED
            ],
        }

    def render_table(self, *, only_problems: bool = True, limit: int = 50) -> str:
        """A plain-text per-file table for the task log and the failure message."""
        rows = [v for v in self.verdicts if not only_problems or v.outcome == FAILED or v.errors_seen]
        header = ("file", "status", "expected", "parsed", "loaded", "errors", "problem / first error")
        lines = [header]
        for v in rows[:limit]:
            detail = v.problem or ""
            if v.first_error:
                where = f" (line {v.first_error_line})" if v.first_error_line is not None else ""
                detail = (detail + "; " if detail else "") + _shorten(v.first_error, 120) + where
            lines.append(
                (
                    _shorten(v.file, 70),
                    v.status,
                    _num(v.expected_records),
                    _num(v.rows_parsed),
                    _num(v.rows_loaded),
                    str(v.errors_seen),
                    detail,
                )
            )
        widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
        text = [
            " | ".join([*(c.ljust(w) for c, w in zip(line[:-1], widths)), line[-1]]).rstrip()
            for line in lines
        ]
        text.insert(1, "-+-".join("-" * w for w in widths) + "-+-" + "-" * 21)
        if len(rows) > limit:
            text.append(f"... and {len(rows) - limit} more files")
        return "\n".join(text)


def _num(value: int | None) -> str:
    return "-" if value is None else str(value)


def _shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."
