"""The FastAPI app of the "Data health" page, served by Airflow's API server (see :mod:`.data_health`).

Every request goes through Airflow's auth manager like the rest of the UI: the caller's token (the UI's
cookie or a ``Bearer`` header) must be valid, the user must be allowed to see the site, and only the gate
results of DAGs the user may read are shown. What it reads is set in the ``[dataeng]`` section of the
Airflow configuration (``health_conn_id``, ``health_results_table``, ``health_row_limit``,
``health_cache_seconds``); reads are bounded by a time window and a row limit and kept for a few seconds.

Only the API server imports this module (the plugin builds the app on first use).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
from airflow.api_fastapi.core_api.security import get_user
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from airflow_provider_dataeng.hooks.health import DataHealthHook, HealthSourceError, first_line
from airflow_provider_dataeng.plugins.data_health import URL_PREFIX

DEFAULT_CONN_ID = "snowflake_default"
DEFAULT_RESULTS_TABLE = "AUDIT.QUALITY_RESULTS"
DEFAULT_ROW_LIMIT = 20_000
DEFAULT_CACHE_SECONDS = 30
EVENT_LIMIT = 5_000
MAX_DAYS = 365


class Settings:
    """The ``[dataeng]`` options the pages read (with the example pipeline's defaults)."""

    def __init__(self) -> None:
        from airflow.configuration import conf

        self.conn_id = conf.get("dataeng", "health_conn_id", fallback=DEFAULT_CONN_ID)
        self.results_table = conf.get("dataeng", "health_results_table", fallback=DEFAULT_RESULTS_TABLE)
        self.row_limit = conf.getint("dataeng", "health_row_limit", fallback=DEFAULT_ROW_LIMIT)
        self.cache_seconds = conf.getint("dataeng", "health_cache_seconds", fallback=DEFAULT_CACHE_SECONDS)


class _Cache:
    """A few seconds of memory for reads, so a page refreshed (or opened by several people) asks once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any, seconds: int, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > now:
                return hit[1]
        value = load()
        with self._lock:
            if len(self._items) > 256:
                self._items = {k: v for k, v in self._items.items() if v[0] > now}
            self._items[key] = (now + seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = _Cache()


router = APIRouter()


Authorized = Callable[[set[str]], set[str]]


def allowed_dags(user: Annotated[Any, Depends(get_user)]) -> Authorized:
    """The signed-in user's filter of DAG ids (those whose runs the user may read)."""
    manager = get_auth_manager()
    if not manager.is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")

    def authorized(dag_ids: set[str]) -> set[str]:
        return set(manager.filter_authorized_dag_ids(dag_ids=dag_ids, user=user, method="GET"))

    return authorized


def paths(request: Request) -> tuple[str, str]:
    """Where the pages are mounted, and the UI's root (for links to runs and logs)."""
    base = str(request.scope.get("root_path", "")).rstrip("/")
    ui = base[: -len(URL_PREFIX)] if base.endswith(URL_PREFIX) else ""
    return base, ui


@router.get("/", response_class=HTMLResponse)
def overview(
    request: Request,
    dags: Annotated[Authorized, Depends(allowed_dags)],
    dag_id: str = Query("", max_length=250),
    schema: str = Query("", max_length=255),
    days: int = Query(30, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    from airflow_provider_dataeng.health import pages, shape

    settings = Settings()
    read = read_results(settings, days=days, dags=dags)
    summaries = shape.overview(read.results, read.events, dag_id=dag_id or None, schema=schema or None)
    base, ui = paths(request)
    return HTMLResponse(
        pages.overview_page(
            summaries,
            base=base,
            ui=ui,
            filters=pages.Filters(dag_id, schema, days),
            dag_ids=sorted({r.dag_id for r in read.results}),
            schemas=sorted({shape.schema_of(r.table) for r in read.results} - {""}),
            notices=read.notices,
        )
    )


@router.get("/table/{table:path}", response_class=HTMLResponse)
def table_page(
    request: Request,
    table: str,
    dags: Annotated[Authorized, Depends(allowed_dags)],
    days: int = Query(30, ge=1, le=MAX_DAYS),
) -> HTMLResponse:
    from airflow_provider_dataeng.health import pages, shape
    from airflow_provider_dataeng.sql.identifiers import IdentifierError, parse_object_name

    try:
        parse_object_name(table, param="table")
    except IdentifierError as err:
        raise HTTPException(status_code=400, detail=f"not a table name: {err}") from None
    settings = Settings()
    read = read_results(settings, days=days, dags=dags, table=table)
    base, ui = paths(request)
    history = shape.table_history(table, read.results, read.events)
    hook = DataHealthHook(settings.conn_id, settings.results_table)
    snowsight = CACHE.get(("snowsight", settings.conn_id, table), 300, lambda: hook.snowsight_url(table))
    return HTMLResponse(
        pages.table_page(history, base=base, ui=ui, days=days, notices=read.notices, snowsight=snowsight)
    )


ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#4a5568" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M3 12h4l3-8 4 16 3-8h4"/></svg>'
)


@router.get("/icon.svg")
def icon() -> Response:
    """The nav entry's icon (a pulse line); public, like the UI's own static files."""
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/api/tables")
def tables(
    dags: Annotated[Authorized, Depends(allowed_dags)],
    days: int = Query(30, ge=1, le=MAX_DAYS),
) -> dict[str, Any]:
    """The overview as JSON: one item per gated table."""
    from airflow_provider_dataeng.health import shape

    read = read_results(Settings(), days=days, dags=dags)
    return {
        "tables": [
            {
                "table": s.table,
                "status": s.status,
                "runs": s.runs,
                "last_run": {
                    "dag_id": s.last.dag_id,
                    "run_id": s.last.run_id,
                    "at": s.last.at.isoformat(),
                },
                "failing": s.last.named("fail") + s.last.named("error"),
                "warning": s.last.named("warn"),
                "freshness_lag": s.freshness.lag if s.freshness else None,
                "counts": s.counts,
            }
            for s in shape.overview(read.results, read.events)
        ],
        "errors": read.errors,
    }


def create_app() -> FastAPI:
    """The FastAPI app of the pages (mounted by the API server under :data:`.data_health.URL_PREFIX`)."""
    app = FastAPI(title="Data health", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    return app


class Read:
    """What one page read: the results (of the DAGs the user may read), the asset events of their runs,
    and notices for the page (an error naming the connection, or how to turn results on)."""

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.events: list[Any] = []
        self.notices: list[str] = []
        self.errors: list[str] = []


def read_results(
    settings: Settings, *, days: int, dags: Callable[[set[str]], set[str]], table: str | None = None
) -> Read:
    """The window's results and events; a source that fails becomes a notice, the page still renders."""
    from airflow_provider_dataeng.health import pages

    read = Read()
    now = datetime.now(timezone.utc)
    since = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    hook = DataHealthHook(settings.conn_id, settings.results_table)
    key = (settings.conn_id, settings.results_table, since, settings.row_limit, table)
    try:
        rows = CACHE.get(
            ("results", *key),
            settings.cache_seconds,
            lambda: hook.results(since=since, limit=settings.row_limit, table=table),
        )
    except HealthSourceError as err:
        if err.missing:
            read.notices.append(pages.no_results_help(settings.results_table, settings.conn_id))
        else:
            read.notices.append(pages.banner(str(err)))
        read.errors.append(str(err))
        rows = []
    allowed = dags({r.dag_id for r in rows})
    read.results = [r for r in rows if r.dag_id in allowed]
    if len(rows) >= settings.row_limit:
        read.notices.append(
            pages.banner(
                f"Showing the newest {settings.row_limit:,} results only: narrow the time range.", "info"
            )
        )
    gate_dags = {r.dag_id for r in read.results}
    try:
        read.events = CACHE.get(
            ("events", tuple(sorted(gate_dags)), since),
            settings.cache_seconds,
            lambda: DataHealthHook.asset_events(dag_ids=gate_dags, since=since, limit=EVENT_LIMIT),
        )
    except Exception as err:  # the metadata database: the results still show
        read.notices.append(pages.banner(f"cannot read asset events: {first_line(err)}"))
        read.errors.append(str(err))
    return read
