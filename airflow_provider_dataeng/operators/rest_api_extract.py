"""Extract a paginated REST API into object storage as compressed part files plus a manifest.

Pages stream from :class:`~airflow_provider_dataeng.hooks.rest_api.RestApiHook` into
:class:`~airflow_provider_dataeng.sinks.PartFileSink`: records are never all in memory and never in XCom.
Without ``transform`` each record is copied as its raw JSON bytes (no dict per record), which is what makes
the extract fast; ``transform`` decodes records to dicts and calls the function on each.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from contextlib import closing, nullcontext
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from airflow.sdk import BaseOperator

from airflow_provider_dataeng.assets import s3_prefix_asset
from airflow_provider_dataeng.operators._shared import check_if_empty, nothing_to_do
from airflow_provider_dataeng.sinks.destination import validate_types
from airflow_provider_dataeng.sinks.formats import validate_format, validate_level
from airflow_provider_dataeng.sinks.storage import check_destination_url, storage_options_for
from airflow_provider_dataeng.validation import choice, flag, is_templated, non_negative_int, positive_int

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dataeng.hooks.rest_retry import HttpRetryPolicy
    from airflow_provider_dataeng.pagination import BasePaginator, WindowSlices

_METHODS = ("GET", "POST", "PUT", "PATCH")
T = TypeVar("T")


class RestApiExtractOperator(BaseOperator):
    """Pull every page of a REST endpoint and land the records in ``destination``.

    :param http_conn_id: ``rest_api`` or ``http`` connection (base URL, auth; see ``RestApiHook``); named as
        the HTTP provider's ``HttpOperator`` names it.
    :param endpoint: path under the connection's base URL, or an absolute URL (templated).
    :param method: HTTP method (GraphQL APIs use ``POST`` with ``json``).
    :param query_params: query string parameters (templated), e.g.
        ``{"updated_since": "{{ data_interval_start | ts }}"}``.
    :param headers: extra request headers (templated).
    :param json: JSON request body (templated).
    :param records_path: dotted path of the records list in each page (``data.items``); ``None`` when the
        body itself is the list.
    :param paginator: a paginator from :mod:`airflow_provider_dataeng.pagination` (default: one page).
    :param destination: object-storage folder URL (templated), e.g. ``s3://bucket/orders/{{ ds }}/``.
    :param aws_conn_id: AWS connection for ``s3://`` destinations (``None``: the default credential chain).
    :param part_format: ``jsonl`` or ``parquet``. Parquet columns keep each field's JSON type: strings stay
        strings (no date/timestamp guessing), integers stay exact int64 (beyond that the task fails), see
        :mod:`~airflow_provider_dataeng.sinks.parquet_batch`.
    :param schema: Parquet only: typed columns, ``{"field": "type"}`` with types ``string``, ``int64``,
        ``float64``, ``bool``, ``decimal(p,s)``, ``date``, ``timestamp_tz`` (UTC-normalized instant),
        ``timestamp_ntz``, ``json`` (the value's JSON text). A value that does not fit fails the task naming
        record, page and field; nothing is committed.
    :param on_type_conflict: Parquet only: when a field's JSON type changes between records (a number, then
        a string): ``fail`` (default; names field, both types, record and page) or ``string`` (the field is
        stored as text in every part file of the extract).
    :param compression: ``zstd`` (default), ``gzip`` or ``none``; Parquet also ``snappy``.
    :param max_records_per_file: records per part file.
    :param max_pages: stop after this many pages (a warning is logged).
    :param transform: optional ``callable(record: dict) -> dict | None``; ``None`` drops the record.
        Slower: it builds a dict per record.
    :param http_retry_policy: HTTP retry attempts and waits (``HttpRetryPolicy``). Not Airflow's own
        ``retry_policy`` (task retries), which this operator accepts like any other.
    :param compression_level: zstd level (default 1) or gzip level (default 6) for jsonl parts.
    :param read_ahead: pages fetched ahead in a background thread while earlier ones are compressed and
        written (0: fetch and write in turn). Memory holds at most ``read_ahead + 2`` pages.
    :param max_concurrency: page requests in flight at once (default: the connection's extra
        ``max_concurrency``, else 1). For paginators whose page requests do not depend on the page before
        (``PageNumberPaginator``, ``OffsetPaginator``): the pages after the first are fetched ahead
        concurrently, up to the total the first page gives, or speculatively when it gives none (pages past
        the end are dropped, never written). Part files and manifest are byte for byte those of a sequential
        run. The connection's ``max_requests_per_second`` holds for all requests together; a 429/503 pauses
        them all and halves the concurrency, which climbs back after successes. Memory holds at most
        ``max_concurrency`` fetched pages plus the one being written (``read_ahead`` is not used then).
        Cursor and link paginators fetch one page at a time (their next request is in the page): see
        ``slices``.
    :param slices: a :class:`~airflow_provider_dataeng.pagination.WindowSlices` that cuts the window in two
        ``query_params`` (e.g. ``updated_since``/``updated_before``, start inclusive, end exclusive) into
        ``count`` sub-windows, each paginated with its own cursor; up to ``max_concurrency`` of them are
        fetched at once. Each slice writes its own part files, and the files are listed in slice order (a
        run with ``max_concurrency=1`` writes the very same files); the manifest's ``slices`` gives each
        slice's window, records, pages and files. A server wait beyond ``defer_threshold`` is slept through
        (a sliced extract does not defer).
    :param progress_interval: seconds between progress lines in the task log.
    :param record_key: top-level field(s) every record must carry with a non-null value, e.g. the key the
        merge downstream matches on: a page with a record lacking one fails the task, and nothing is
        committed (no manifest), instead of landing rows the merge cannot match.
    :param deferrable: when the API asks to wait longer than ``defer_threshold`` (``Retry-After`` or
        ``X-RateLimit-Reset`` of minutes), defer to the triggerer instead of sleeping in a worker slot, then
        resume at the refused page: the pagination cursor and the part files written so far are kept.
        Default: Airflow's ``[operators] default_deferrable``. Needs a running triggerer.
    :param defer_threshold: seconds; server waits up to this long are slept through as usual (see
        ``http_retry_policy``), longer ones defer. A page still refused after ``max_attempts`` deferrals
        fails the task.
    :param if_empty: when the API returns no records: ``succeed`` (default: the manifest with no files is
        written and returned; downstream runs), ``skip`` (the same manifest is written, then the task is
        skipped, so a re-run sees the same) or ``fail`` (nothing is written; the error names the endpoint and
        the window, i.e. the request's query parameters and the run's data interval).
    :param emit_assets: add the asset of the destination's folder (``s3_prefix_asset``: the static part of
        ``destination``, e.g. ``s3://bucket/raw/users/`` for ``s3://bucket/raw/users/{{ ds }}/``) to the task's
        outlets when records landed, with ``{"destination", "files", "records", "bytes", "pages"}`` on the
        asset event, so DAGs scheduled on that asset run after each landing.
    :return: the manifest ``{"destination", "files": [{"uri", "records", "bytes"}], "records", "pages",
        "format", "compression"}``.
    """

    template_fields: Sequence[str] = ("endpoint", "query_params", "headers", "json", "destination")
    template_fields_renderers = {"query_params": "json", "headers": "json", "json": "json"}
    ui_color = "#e8f4fd"

    def __init__(
        self,
        *,
        http_conn_id: str = "rest_api_default",
        endpoint: str,
        method: str = "GET",
        query_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        records_path: str | Sequence[str] | None = None,
        paginator: BasePaginator | None = None,
        destination: str,
        aws_conn_id: str | None = "aws_default",
        part_format: str = "jsonl",
        compression: str = "zstd",
        max_records_per_file: int = 100_000,
        max_pages: int | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
        http_retry_policy: HttpRetryPolicy | None = None,
        compression_level: int | None = None,
        read_ahead: int = 2,
        max_concurrency: int | None = None,
        progress_interval: float = 5.0,
        record_key: str | Sequence[str] | None = None,
        deferrable: bool | None = None,
        defer_threshold: float = 60.0,
        emit_assets: bool = True,
        schema: Mapping[str, str] | None = None,
        on_type_conflict: str = "fail",
        if_empty: str = "succeed",
        slices: WindowSlices | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        flag("emit_assets", emit_assets)
        check_if_empty(if_empty)
        if deferrable is None:
            from airflow.configuration import conf

            deferrable = conf.getboolean("operators", "default_deferrable", fallback=False)
        if (
            isinstance(defer_threshold, bool)
            or not isinstance(defer_threshold, (int, float))
            or defer_threshold < 0
        ):
            raise ValueError(f"defer_threshold must be non-negative seconds, got {defer_threshold!r}")
        if not isinstance(endpoint, str) or not endpoint:
            raise ValueError("endpoint must be a non-empty path or URL string")
        choice("method", method.upper() if isinstance(method, str) else method, _METHODS)
        for name, value in (("query_params", query_params), ("headers", headers)):
            if value is not None and not isinstance(value, Mapping):
                raise ValueError(f"{name} must be a dict, got {type(value).__name__}")
        validate_format(part_format, compression)
        validate_level(compression if part_format == "jsonl" else "", compression_level)
        validate_types(part_format, schema, on_type_conflict)
        non_negative_int("read_ahead", read_ahead, unit="pages")
        positive_int("max_concurrency", max_concurrency, optional=True)
        positive_int("max_records_per_file", max_records_per_file)
        positive_int("max_pages", max_pages, optional=True)
        if paginator is not None and not all(
            hasattr(paginator, m) for m in ("first_request", "next_request", "body_paths")
        ):
            raise TypeError(
                f"paginator must be a BasePaginator (first_request, next_request, body_paths), got {paginator!r}"
            )
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be a callable taking one record dict, got {transform!r}")
        if not isinstance(destination, str):
            raise ValueError(f"destination must be a URL string, got {destination!r}")
        if not is_templated(destination):
            check_destination_url(destination)
        if not progress_interval or progress_interval <= 0:
            raise ValueError(f"progress_interval must be positive seconds, got {progress_interval!r}")
        self.record_key = _record_key_fields(record_key)
        _check_slices(slices, query_params, part_format, on_type_conflict)
        from airflow_provider_dataeng.pagination import parse_path

        parse_path(records_path, name="records_path")
        self.http_conn_id = http_conn_id
        self.endpoint = endpoint
        self.method = method.upper()
        self.query_params = dict(query_params) if query_params else {}
        self.headers = dict(headers) if headers else {}
        self.json = json
        self.records_path = records_path
        self.paginator = paginator
        self.destination = destination
        self.aws_conn_id = aws_conn_id
        self.part_format = part_format
        self.compression = compression
        self.max_records_per_file = max_records_per_file
        self.max_pages = max_pages
        self.transform = transform
        self.http_retry_policy = http_retry_policy
        self.compression_level = compression_level
        self.read_ahead = read_ahead
        self.max_concurrency = max_concurrency
        self.progress_interval = progress_interval
        self.deferrable = bool(deferrable)
        self.defer_threshold = float(defer_threshold)
        self.emit_assets = emit_assets
        self.schema = dict(schema) if schema is not None else None
        self.on_type_conflict = on_type_conflict
        self.if_empty = if_empty
        self.slices = slices
        # From the unrendered destination: one asset for every run's folder, not one per logical date.
        self._destination_asset = s3_prefix_asset(destination) if emit_assets else None

    def execute(self, context: Context) -> dict[str, Any]:
        return self._extract(context, None)

    def execute_resume(
        self, context: Context, event: Any = None, state: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Continue after a deferral: same cursor, same staged part files (the state rides in the event)."""
        state = state or (event.get("state") if isinstance(event, dict) else None)
        if not state:
            raise ValueError("execute_resume needs the state the task saved when it deferred")
        return self._extract(context, state)

    def _extract(self, context: Context, state: dict[str, Any] | None) -> dict[str, Any]:
        from airflow_provider_dataeng.hooks.rest_api import ApiAsksToWait, PageCursor, RestApiHook
        from airflow_provider_dataeng.sinks import PartFileSink

        check_destination_url(self.destination)
        hook = RestApiHook(
            self.http_conn_id, retry_policy=self.http_retry_policy, max_concurrency=self.max_concurrency
        )
        self._lineage_source, self._lineage_manifest = hook.url_for(self.endpoint), None
        options = storage_options_for(self.destination, self.aws_conn_id)

        def new_sink() -> PartFileSink:
            return PartFileSink(
                self.destination,
                part_format=self.part_format,
                compression=self.compression,
                max_records_per_file=self.max_records_per_file,
                storage_options=options,
                compression_level=self.compression_level,
                schema=self.schema,
                on_type_conflict=self.on_type_conflict,
            )

        sink = new_sink()
        cursor = PageCursor.from_dict(state["cursor"]) if state else None
        saved_sink: dict[str, Any] | None = state["sink"] if state else None
        if cursor is None or saved_sink is None:
            self.log.info(
                "Extracting %s %s into %s as %s/%s",
                self.method,
                hook.redactor.url(hook.url_for(self.endpoint)),
                self.destination,
                self.part_format,
                self.compression,
            )
        else:
            self.log.info(
                "Resuming the extract into %s at page %d (%d records in %d part files so far)",
                self.destination,
                cursor.pages_done + 1,
                saved_sink["records"],
                len(saved_sink["staged"]),
            )
        # Session and first OAuth token in this thread: read-ahead then fetches pages in a background thread.
        hook.prepare()
        progress = _Progress(
            self.log,
            self.progress_interval,
            pages=cursor.pages_done if cursor else 0,
            records=saved_sink["records"] if saved_sink else 0,
        )
        check_keys = _RecordKeyCheck(self.record_key) if self.record_key else None
        if saved_sink:
            sink.resume(saved_sink)
        else:
            sink.start()
        windows = self.slices.cut(self.query_params) if self.slices is not None else []
        try:
            manifest_extra = None
            if len(windows) > 1:
                manifest_extra = {
                    "slices": self._land_slices(hook, windows, sink, new_sink, progress, check_keys)
                }
            else:
                held = {
                    bytes.fromhex(entry["fingerprint"]): _loader(sink, entry["path"])
                    for entry in (state or {}).get("held", [])
                }
                pages = self._pages(hook, self.query_params, resume=cursor, held=held)
                # With concurrency the hook's own workers fetch (and decode) ahead: no second read-ahead.
                depth = self.read_ahead if hook.max_concurrency == 1 else 0
                with closing(read_ahead(pages, depth)) as ready:  # closing stops the reader on errors
                    self._land(ready, sink, progress, check_keys)
            if sink.records == 0 and self.if_empty == "fail":  # before commit: nothing is written
                nothing_to_do("fail", self._no_records(hook, context), self.log)
            manifest = sink.commit(pages=progress.pages, extra=manifest_extra)
        except ApiAsksToWait as wait:
            self._defer(wait, sink, state, hook)  # raises TaskDeferred; the staged parts are kept
        except BaseException:
            sink.abort()
            raise
        manifest["destination"] = hook.redactor.url(manifest["destination"])
        self._lineage_manifest = manifest
        progress.done(sink, len(manifest["files"]))
        if self._destination_asset is not None and manifest["files"]:
            from airflow_provider_dataeng.assets import emit_asset

            extra = {
                "destination": manifest["destination"],
                "files": len(manifest["files"]),
                "records": manifest["records"],
                "bytes": sum(f["bytes"] for f in manifest["files"]),
                "pages": manifest["pages"],
            }
            emit_asset(context, self, self._destination_asset, extra)
        if not manifest["records"]:  # after commit: a skipped run's manifest is there for a re-run to see
            nothing_to_do(self.if_empty, self._no_records(hook, context), self.log)
        return manifest

    def _pages(
        self,
        hook: Any,
        params: Mapping[str, Any],
        *,
        resume: Any = None,
        sliced: bool = False,
        held: Mapping[bytes, Callable[[], bytes]] | None = None,
    ) -> Any:
        return hook.iter_pages(
            self.endpoint,
            method=self.method,
            params=params,
            headers=self.headers,
            json=self.json,
            paginator=self.paginator,
            records_path=self.records_path,
            max_pages=self.max_pages,
            raw=self.transform is None,
            resume=resume,
            pause_longer_than=self.defer_threshold if self.deferrable and not sliced else None,
            held=held,
        )

    def _land(
        self, pages: Iterable[Any], sink: Any, progress: _Progress, check_keys: Any, lock: Any = None
    ) -> int:
        """Check, transform and write pages into ``sink``; returns how many. ``lock`` serializes the writing
        of slices fetched side by side (a user's ``transform`` need not be thread-safe)."""
        count = 0
        for page in pages:
            with lock or nullcontext():
                if check_keys is not None:
                    check_keys(page)
                records = page.records if self.transform is None else self._transformed(page)
                sink.write(records, page=page.number)
                progress.page(len(records), sink)
            count += 1
        return count

    def _land_slices(
        self,
        hook: Any,
        windows: list[dict[str, Any]],
        sink: Any,
        new_sink: Callable[[], Any],
        progress: _Progress,
        check_keys: Any,
    ) -> list[dict[str, Any]]:
        """Each window slice paginated on its own, up to ``max_concurrency`` at once, each into its own part
        files, which ``sink`` then takes over in slice order; returns the slices for the manifest. The first
        failure stops the others and fails the task with nothing committed."""
        from concurrent.futures import ThreadPoolExecutor

        assert self.slices is not None
        sinks = [sink, *(new_sink() for _ in windows[1:])]
        for extra in sinks[1:]:
            extra.start()
        failed, lock = threading.Event(), threading.Lock()
        workers = min(len(windows), hook.max_concurrency)
        self.log.info(
            "Reading %d slices of the window %s=%s to %s=%s, %d at a time",
            len(windows),
            self.slices.start_param,
            windows[0][self.slices.start_param],
            self.slices.end_param,
            windows[-1][self.slices.end_param],
            workers,
        )

        def one(index: int) -> int:
            def pages() -> Generator[Any, None, None]:
                with closing(self._pages(hook, windows[index], sliced=True)) as each:
                    for page in each:
                        if failed.is_set():
                            return
                        yield page

            try:
                return self._land(pages(), sinks[index], progress, check_keys, lock)
            except BaseException:
                failed.set()
                raise

        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rest-slice") as pool:
                futures = [pool.submit(one, index) for index in range(len(windows))]
                errors = [f.exception() for f in futures]
            first_error = next((e for e in errors if e is not None), None)
            if first_error is not None:
                raise first_error
            pages = [f.result() for f in futures]
            records = [s.records for s in sinks]
            files = sink.absorb(sinks[1:])
            return [
                {
                    self.slices.start_param: window[self.slices.start_param],
                    self.slices.end_param: window[self.slices.end_param],
                    "records": n,
                    "pages": p,
                    "files": f,
                }
                for window, n, p, f in zip(windows, records, pages, files)
            ]
        except BaseException:
            for other in sinks[1:]:
                other.abort()
            raise

    def _no_records(self, hook: Any, context: Context) -> str:
        """What came back empty: the request (secret-looking query values masked) and the run's window."""
        from urllib.parse import urlencode

        url = hook.url_for(self.endpoint)
        if self.query_params:
            url += ("&" if "?" in url else "?") + urlencode(self.query_params, doseq=True)
        start, end = context.get("data_interval_start"), context.get("data_interval_end")
        window = f"data interval {start} to {end}" if start and end else "no data interval"
        return f"the API returned no records for {self.method} {hook.redactor.url(url)} ({window})"

    def _defer(self, wait: Any, sink: Any, state: dict[str, Any] | None, hook: Any) -> NoReturn:
        """Suspend the sink and defer until the server's wait is over; resume at the refused page."""
        from datetime import datetime, timedelta, timezone

        from airflow_provider_dataeng.hooks.rest_api import RestApiHTTPError
        from airflow_provider_dataeng.triggers.resume import ResumeAtTrigger

        assert wait.cursor is not None
        same_page = state is not None and state["cursor"]["pages_done"] == wait.cursor.pages_done
        deferrals = (state["deferrals_on_page"] if state is not None and same_page else 0) + 1
        attempts = hook.retry_policy.max_attempts
        if deferrals > attempts:
            sink.abort()
            raise RestApiHTTPError(
                f"{wait}; page {wait.cursor.pages_done + 1} was still refused after {attempts} deferrals "
                "(http_retry_policy.max_attempts); nothing was committed",
                status=wait.status,
                url=wait.url,
            )
        try:
            suspended = sink.suspend()  # writes the last Parquet batch, which can still fail on its types
        except BaseException:
            sink.abort()
            raise
        # Pages fetched ahead of the refused one (max_concurrency) wait in the staging folder, not in the state
        held = {entry["fingerprint"]: entry for entry in (state or {}).get("held", [])}
        try:
            for page in wait.held:
                key = page.fingerprint.hex()
                held[key] = {"fingerprint": key, "path": sink.stash(f"{key}.page", page.data)}
        except BaseException:
            sink.abort()
            raise
        saved = {
            "cursor": wait.cursor.to_dict(),
            "sink": suspended,
            "deferrals_on_page": deferrals,
            "held": list(held.values()),
        }
        moment = datetime.now(timezone.utc) + timedelta(seconds=wait.seconds)
        self.log.info(
            "%s; deferring until %s (deferral %d/%d for page %d): %d records in %d part files kept%s, the "
            "extract resumes at that page",
            wait,
            moment.isoformat(timespec="seconds"),
            deferrals,
            attempts,
            wait.cursor.pages_done + 1,
            saved["sink"]["records"],
            len(saved["sink"]["staged"]),
            f" and {len(wait.held)} pages fetched ahead" if wait.held else "",
        )
        self.defer(trigger=ResumeAtTrigger(moment.isoformat(), saved), method_name="execute_resume")

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the endpoint in, the destination folder out with records, bytes and files written."""
        from airflow_provider_dataeng.lineage import extract_lineage, to_operator_lineage

        source = getattr(self, "_lineage_source", None)
        if source is None:
            return None
        return to_operator_lineage(extract_lineage(source, getattr(self, "_lineage_manifest", None)))

    def _transformed(self, page: Any) -> list[bytes]:
        import orjson

        out = []
        transform = self.transform
        assert transform is not None
        for index, record in enumerate(page.records):
            try:
                result = transform(record)
                if result is not None:
                    out.append(orjson.dumps(result))
            except Exception as exc:
                raise ValueError(
                    f"transform failed on record {index} of page {page.number} ({page.url}): "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        return out


def _loader(sink: Any, path: str) -> Callable[[], bytes]:
    return lambda: sink.unstash(path)


def _check_slices(
    slices: Any, query_params: Mapping[str, Any] | None, part_format: str, on_type_conflict: str
) -> None:
    """``slices`` must be a ``WindowSlices`` whose two parameters are in ``query_params``."""
    if slices is None:
        return
    from airflow_provider_dataeng.pagination.slices import WindowSlices

    if not isinstance(slices, WindowSlices):
        raise TypeError(
            "slices must be a WindowSlices, e.g. WindowSlices(start_param='updated_since', "
            f"end_param='updated_before', count=4), got {slices!r}"
        )
    missing = [p for p in (slices.start_param, slices.end_param) if p not in (query_params or {})]
    if missing:
        raise ValueError(
            f"slices cut the window in query_params {slices.start_param!r} and {slices.end_param!r}, but "
            f"query_params has no {missing[0]!r}: add it, e.g. "
            f"{{{missing[0]!r}: '{{{{ data_interval_start | ts }}}}'}} (the start) or data_interval_end (the end)"
        )
    if part_format == "parquet" and on_type_conflict == "string" and slices.count > 1:
        raise ValueError(
            "slices with part_format='parquet' need on_type_conflict='fail': each slice writes its own part "
            "files, so a field turned to text in one slice would keep its type in the others"
        )


def _record_key_fields(record_key: str | Sequence[str] | None) -> tuple[str, ...]:
    fields = (record_key,) if isinstance(record_key, str) else tuple(record_key or ())
    if not all(isinstance(f, str) and f for f in fields):
        raise ValueError(f"record_key must be a field name or a list of field names, got {record_key!r}")
    return fields


class _RecordKeyCheck:
    """Fails a page whose records lack a ``record_key`` field (or hold null there), naming page and record.

    Raw records are checked with a msgspec struct of just those fields (no dict per record)."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        import msgspec

        self.fields = fields
        struct = msgspec.defstruct(
            "RecordKey",
            [(f"f{i}", msgspec.Raw) for i in range(len(fields))],
            rename={f"f{i}": name for i, name in enumerate(fields)},
        )
        self._decoder = msgspec.json.Decoder(struct)
        self._msgspec = msgspec

    def __call__(self, page: Any) -> None:
        msgspec = self._msgspec
        for index, record in enumerate(page.records):
            if isinstance(record, msgspec.Raw):
                try:
                    values = self._decoder.decode(record)
                except msgspec.ValidationError:  # a key field is absent, or not an object: find out which
                    record = msgspec.json.decode(record)
                else:
                    nulls = [bytes(getattr(values, f"f{i}")) == b"null" for i in range(len(self.fields))]
                    if not any(nulls):
                        continue
                    record = {f: None if null else True for f, null in zip(self.fields, nulls)}
            if not isinstance(record, Mapping):
                kind = "null" if record is None else type(record).__name__
                raise ValueError(self._message(page, index, f"is a JSON {kind}, not an object"))
            missing = [f for f in self.fields if record.get(f) is None]
            if missing:
                raise ValueError(self._message(page, index, f"has no value for {missing[0]!r}"))

    def _message(self, page: Any, index: int, problem: str) -> str:
        return (
            f"page {page.number} ({page.url}): record {index} {problem}; record_key={list(self.fields)} must be "
            "present and non-null in every record. Nothing was committed."
        )


def read_ahead(items: Iterable[T], depth: int) -> Generator[T, None, None]:
    """Iterate ``items`` in a background thread, keeping up to ``depth`` ready: the next pages download while
    the caller compresses and writes (zstd and socket reads release the GIL). Errors surface in the caller."""
    if depth <= 0:
        yield from items
        return
    ready: queue.Queue[tuple[Any, BaseException | None, bool]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[Any, BaseException | None, bool]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None, False)):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((None, exc, True))
            return
        put((None, None, True))

    thread = threading.Thread(target=produce, name="rest-extract-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error, done = ready.get()
            if error is not None:
                raise error
            if done:
                return
            yield item
    finally:
        stop.set()


class _Progress:
    """Logs pages, records, records/s and bytes written every ``interval`` seconds."""

    def __init__(self, log: Any, interval: float, *, pages: int = 0, records: int = 0) -> None:
        self.log = log
        self.interval = interval
        self.started = self.last = time.monotonic()
        self.pages = pages
        self.records = self.first_records = records  # a resumed extract's rate counts only its own records

    def page(self, records: int, sink: Any) -> None:
        self.pages += 1
        self.records += records
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self.log.info(
                "Progress: %d pages, %d records, %.0f records/s, %d bytes in closed part files",
                self.pages,
                self.records,
                (self.records - self.first_records) / max(now - self.started, 1e-9),
                sink.bytes_written,
            )

    def done(self, sink: Any, files: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.log.info(
            "Extracted %d pages, %d records in %.1fs (%.0f records/s); %d files, %d bytes",
            self.pages,
            self.records,
            elapsed,
            (self.records - self.first_records) / elapsed,
            files,
            sink.bytes_written,
        )
