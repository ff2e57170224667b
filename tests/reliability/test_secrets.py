"""Secrets: bearer tokens, OAuth client secrets and access tokens, API keys, Snowflake passwords and private
keys never appear in task logs, return values (XCom), rendered template fields, exception messages, files
written or dbt artifacts. Real tasks run with distinctive secret values; everything they produce is searched.
TLS verification is on unless a connection turns it off explicitly.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataeng.hooks.rest_api import RestApiHook
from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import CursorPaginator
from tests.reliability.conftest import RETRIES
from tests.rest_api.server import FixtureServer, Request

TOKEN = "rel-bearer-7Qz9xSECRET"
CLIENT_SECRET = "rel-oauth-client-K3x8SECRET"
ACCESS_TOKEN = "rel-oauth-access-P5m2SECRET"
API_KEY = "rel-apikey-W4n1SECRET"
SF_PASSWORD = "rel-sf-pw-Z8c4SECRET"
REST_SECRETS = (TOKEN, CLIENT_SECRET, ACCESS_TOKEN, API_KEY)
RECORDS = [{"id": i, "v": f"value-{i}"} for i in range(25)]


def files_text(root: Path) -> str:
    """Every file under ``root`` (bytes decoded leniently), plus the paths themselves."""
    parts = []
    for path in sorted(root.rglob("*")):
        parts.append(str(path))
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".zst":
                import zstandard

                data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
            parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


def assert_absent(secrets: tuple[str, ...], **places: str) -> None:
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked into {where}"
            # also base64 (Basic auth headers) of the secret on its own
            assert base64.b64encode(secret.encode()).decode() not in text, f"base64 of {secret!r} in {where}"


# ------------------------------------------------------------------------------------------ REST extract

@pytest.fixture(scope="module")
def api() -> Iterator[FixtureServer]:
    """An API that checks credentials and, when it fails, echoes them back (as careless APIs do)."""
    server = FixtureServer().start()
    yield server
    server.stop()


def pages_handler(expect_auth: str, fail_page: int | None = None, status: int = 500) -> Callable:
    def handler(request: Request) -> tuple[int, dict[str, str], Any]:
        auth = request.headers.get("authorization", "")
        start = int(request.query.get("cursor") or 0)
        echo = f"request had Authorization={auth!r} query={request.query!r}"
        if auth != expect_auth and "api_key" not in request.query:
            return 401, {"WWW-Authenticate": "Bearer"}, {"error": echo}
        if fail_page is not None and start // 10 + 1 == fail_page:
            return status, {}, {"error": echo}
        more = start + 10 < len(RECORDS)
        return 200, {}, {"data": RECORDS[start:start + 10], "has_more": more, "next": str(start + 10) if more else None}

    return handler


def token_handler(request: Request) -> tuple[int, dict[str, str], Any]:
    form = dict(pair.split("=", 1) for pair in request.body.decode().split("&") if "=" in pair)
    basic = base64.b64encode(f"rel-client:{CLIENT_SECRET}".encode()).decode()
    if form.get("client_secret") == CLIENT_SECRET or request.headers.get("authorization") == f"Basic {basic}":
        return 200, {}, {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600}
    return 400, {}, {"error": "invalid_client", "echo": request.body.decode(), "auth": request.headers.get("authorization")}


CONNECTIONS = {
    "bearer": ({"password": TOKEN, "extra": {"auth_type": "bearer"}}, f"Bearer {TOKEN}"),
    "oauth": ({"login": "rel-client", "password": CLIENT_SECRET,
               "extra": {"auth_type": "oauth2", "token_url": "/oauth/token"}}, f"Bearer {ACCESS_TOKEN}"),
    "api_key_query": ({"password": API_KEY, "extra": {"auth_type": "api_key", "api_key_in": "query",
                                                      "api_key_name": "api_key"}}, ""),
}


@pytest.fixture
def rest_conn(api: FixtureServer, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    api.reset()
    api.route("POST", "/oauth/token", token_handler)

    def define(kind: str) -> str:
        fields, _ = CONNECTIONS[kind]
        spec = {"conn_type": "rest_api", "host": "127.0.0.1", "port": api.port, "schema": "http", **fields}
        monkeypatch.setenv(f"AIRFLOW_CONN_REL_{kind.upper()}", json.dumps(spec))
        return f"rel_{kind}"

    return define


def run_extract(conn_id: str, out: Path, **kwargs: Any) -> dict:
    op = RestApiExtractOperator(
        task_id="extract", http_conn_id=conn_id, endpoint="/items", records_path="data",
        query_params={"window": "{{ ds }}"}, headers={"X-Run": "{{ run_id }}"},
        paginator=CursorPaginator(cursor_path="next", has_more_path="has_more"),
        destination=f"file://{out}/", aws_conn_id=None, http_retry_policy=RETRIES, **kwargs)
    context = {"ds": "2024-01-05", "run_id": "manual__2024-01-05"}
    op.render_template_fields(context)  # type: ignore[arg-type]
    rendered = json.dumps({f: getattr(op, f) for f in op.template_fields}, default=str)
    result = op.execute(context)  # type: ignore[arg-type]
    assert_absent(REST_SECRETS, rendered_templates=rendered)
    return result


@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_extract_success_leaks_no_secret(kind: str, api, rest_conn, tmp_path, logs) -> None:
    _, auth = CONNECTIONS[kind]
    api.route("GET", "/items", pages_handler(auth))
    manifest = run_extract(rest_conn(kind), tmp_path / "out")
    assert manifest["records"] == len(RECORDS)
    sent = [r.headers.get("authorization") for r in api.requests if r.path == "/items"]
    assert sent == [auth or None] * 3  # the secret did reach the API (the test is not vacuous)
    assert_absent(REST_SECRETS, logs=logs(), xcom=json.dumps(manifest), files=files_text(tmp_path))


@pytest.mark.parametrize("status", [500, 403])
@pytest.mark.parametrize("kind", list(CONNECTIONS))
def test_extract_failure_echoing_credentials_leaks_no_secret(kind: str, status: int, api, rest_conn, tmp_path,
                                                             logs) -> None:
    """The API's error body quotes the Authorization header and the query string: the exception text
    (a redacted excerpt of the body) and the retry log lines must not carry them."""
    _, auth = CONNECTIONS[kind]
    api.route("GET", "/items", pages_handler(auth, fail_page=2, status=status))
    with pytest.raises(Exception) as err:
        run_extract(rest_conn(kind), tmp_path / "out")
    text = str(err.value)
    assert f"HTTP {status} from GET http://127.0.0.1:{api.port}/items" in text
    assert "request had Authorization=" in text  # the body excerpt is there, with the secret masked
    assert "***" in text
    assert_absent(REST_SECRETS, exception=text + repr(err.value), logs=logs(), files=files_text(tmp_path))


def test_oauth_token_endpoint_echoing_the_client_secret(api, rest_conn, tmp_path, logs) -> None:
    api.reset()
    api.route("POST", "/oauth/token", lambda r: (400, {}, {"error": "invalid_client", "echo": r.body.decode(),
                                                         "auth": r.headers.get("authorization")}))
    with pytest.raises(Exception) as err:
        run_extract(rest_conn("oauth"), tmp_path / "out")
    assert "400" in str(err.value)
    assert_absent(REST_SECRETS, exception=str(err.value) + repr(err.value), logs=logs())


def test_debug_logs_pass_airflow_masking_without_secrets(api, rest_conn, tmp_path, caplog) -> None:
    """At DEBUG, urllib3 logs each request line, query string (API key) included; Airflow's secrets masker,
    which knows the connection's password (and the hook's run-time secrets), masks it in the task log."""
    from airflow.sdk.log import mask_secret, redact

    api.route("GET", "/items", pages_handler(""))
    conn_id = rest_conn("api_key_query")
    mask_secret(API_KEY)  # what Airflow does when a task fetches the connection
    caplog.set_level("DEBUG")
    run_extract(conn_id, tmp_path / "out")
    assert f"api_key={API_KEY}" in caplog.text  # urllib3's raw DEBUG line, before the task log's masking
    assert_absent(REST_SECRETS, masked_debug_log=str(redact(caplog.text)))


def test_runtime_oauth_token_is_masked_in_airflow_logs(api, rest_conn, tmp_path) -> None:
    """The access token is fetched at run time (Airflow cannot know it from the connection): the hook
    registers it with Airflow's secrets masker, so any log line that carries it is masked."""
    from airflow.sdk.log import redact

    api.route("GET", "/items", pages_handler(f"Bearer {ACCESS_TOKEN}"))
    run_extract(rest_conn("oauth"), tmp_path / "out")
    # (other tests in the same process may have registered words like "secret" with the global masker too)
    for value in (ACCESS_TOKEN, CLIENT_SECRET):
        masked = redact(f"value={value}")
        assert value not in masked and masked.endswith("=***")


# ------------------------------------------------------------------------------------------ TLS

@pytest.mark.parametrize(
    ("extra", "verified"),
    [({}, True), ({"verify": ""}, True), ({"verify": None}, True), ({"verify": True}, True),
     ({"verify": "true"}, True), ({"verify": False}, False), ({"verify": "false"}, False),
     ({"verify": "0"}, False), ({"verify": "no"}, False)],
)
def test_rest_tls_verification_is_on_unless_turned_off(monkeypatch, extra: dict, verified: bool) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_REL_TLS", json.dumps({"conn_type": "rest_api", "host": "api.example.com",
                                                          "extra": extra}))
    hook = RestApiHook("rel_tls")
    assert hook.settings.base_url == "https://api.example.com"
    verify = hook.get_conn().verify
    assert (verify is not False) is verified
    if verified:
        assert verify is True or os.path.isfile(verify)  # True, or the CA bundle from REQUESTS_CA_BUNDLE


@pytest.mark.parametrize(("extra", "insecure"), [({}, False), ({"insecure_mode": False}, False),
                                                  ({"insecure_mode": True}, True)])
def test_snowflake_certificate_checks_are_on_unless_turned_off(monkeypatch, extra: dict, insecure: bool) -> None:
    from airflow_provider_dataeng.dbt.profiles import SnowflakeConnectionFields, build_snowflake_profile  # noqa: F401
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook

    monkeypatch.setenv("AIRFLOW_CONN_REL_SF_TLS", json.dumps({
        "conn_type": "snowflake", "login": "u", "password": SF_PASSWORD,
        "extra": {"account": "acme-xy12345", "database": "DB", **extra}}))
    params = SnowflakeHook(snowflake_conn_id="rel_sf_tls")._get_conn_params()
    assert params.get("insecure_mode", False) is insecure
    assert params.get("protocol", "https") == "https"


# ------------------------------------------------------------------------------------------ Snowflake tasks

@pytest.fixture(scope="module")
def sf_secret_conn(local_stack) -> Iterator[str]:
    """The stack's Snowflake with a distinctive password (the stand-in accepts any credentials)."""
    conn = dict(local_stack.connections["snowflake_default"])
    conn["password"] = SF_PASSWORD
    patch = pytest.MonkeyPatch()
    patch.setenv("AIRFLOW_CONN_REL_SNOWFLAKE", json.dumps(conn))
    yield "rel_snowflake"
    patch.undo()


@pytest.mark.integration
def test_load_and_merge_leak_no_password(local_stack, sf_secret_conn, s3, api, rest_conn, tmp_path, logs) -> None:
    from airflow_provider_dataeng.hooks.snowflake import SnowflakeHook
    from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
    from airflow_provider_dataeng.operators.snowflake_stream_merge import SnowflakeStreamMergeOperator

    schema = f"REL_SECRETS_{uuid.uuid4().hex[:8].upper()}"
    landing = f"s3://{local_stack.bucket}/reliability/secrets/{schema.lower()}/"
    SnowflakeHook(snowflake_conn_id=sf_secret_conn).run(
        [f"CREATE SCHEMA IF NOT EXISTS DEMO.{schema}",
         f"CREATE OR REPLACE TABLE DEMO.{schema}.STG_ITEMS (ITEM_ID NUMBER, V VARCHAR)"])
    api.route("GET", "/items", pages_handler(f"Bearer {TOKEN}"))
    manifest = RestApiExtractOperator(
        task_id="extract", http_conn_id=rest_conn("bearer"), endpoint="/items", records_path="data",
        paginator=CursorPaginator(cursor_path="next", has_more_path="has_more"),
        destination=f"{landing}items/", http_retry_policy=RETRIES).execute({})
    outputs: dict[str, Any] = {"extract": manifest}
    outputs["load"] = S3StageLoadOperator(
        task_id="load", snowflake_conn_id=sf_secret_conn, table=f"{schema}.ITEMS", stage=f"{schema}.LANDING",
        ensure_stage={"url": landing, "aws_conn_id": "aws_default"}, file_format={"type": "JSON", "compression": "ZSTD"},
        create_table=True, files=manifest).execute({})
    assert outputs["load"]["rows_loaded"] == len(RECORDS)
    merge = dict(task_id="merge", snowflake_conn_id=sf_secret_conn, source_table=f"{schema}.ITEMS", append_only=True,
                 key_columns=["ITEM_ID"], columns={"ITEM_ID": "RECORD:id::number", "V": "RECORD:v::string"})
    errors = []
    for failing in (  # failures at the warehouse, before the real merge: a missing target, a missing table
        lambda: SnowflakeStreamMergeOperator(target_table=f"{schema}.NO_SUCH_TABLE", **merge).execute({}),
        lambda: S3StageLoadOperator(task_id="load2", snowflake_conn_id=sf_secret_conn, table=f"{schema}.MISSING",
                                    stage=f"{schema}.LANDING", file_format={"type": "JSON", "compression": "ZSTD"},
                                    files=manifest).execute({}),
    ):
        with pytest.raises(Exception) as err:
            failing()
        errors.append(f"{err.value!s} {err.value!r}")
    assert "NO_SUCH_TABLE" in errors[0] and "MISSING" in errors[1]
    outputs["merge"] = SnowflakeStreamMergeOperator(target_table=f"{schema}.STG_ITEMS", **merge).execute({})
    assert outputs["merge"]["inserted"] == len(RECORDS)  # the failed merge did not consume the stream
    assert_absent((SF_PASSWORD, TOKEN), logs=logs(), xcom=json.dumps(outputs, default=str),
                  exceptions="\n".join(errors), landing=json.dumps([s3.cat(p).decode("utf-8", "replace")
                                                                    for p in s3.find(landing)]))


# ------------------------------------------------------------------------------------------ dbt

def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


PRIVATE_KEY = _private_key_pem()
KEY_SECRETS = tuple(line for line in PRIVATE_KEY.splitlines()[1:-1] if len(line) > 40)[:6]  # lines of the body


@pytest.fixture
def dbt_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: rel_secrets\nversion: '1.0'\nprofile: rel_secrets\n"
                                             "config-version: 2\nmodels:\n  rel_secrets:\n    +materialized: view\n")
    (project / "models" / "good.sql").write_text("select 1 as x\n")
    (project / "models" / "broken.sql").write_text("select * from DEMO.PUBLIC.REL_NO_SUCH_TABLE_42\n")
    return project


@pytest.mark.integration
@pytest.mark.parametrize("auth", ["password", "private_key"])
def test_dbt_leaks_no_password_or_private_key(auth: str, local_stack, dbt_project: Path, tmp_path, monkeypatch,
                                              logs) -> None:
    from airflow.sdk.exceptions import AirflowException

    from airflow_provider_dataeng.operators.dbt_run import DbtRunOperator

    conn = json.loads(json.dumps(local_stack.connections["snowflake_default"]))
    if auth == "password":
        conn["password"] = SF_PASSWORD
        secrets: tuple[str, ...] = (SF_PASSWORD,)
    else:
        conn.pop("password")
        conn["extra"]["private_key_content"] = PRIVATE_KEY
        secrets = KEY_SECRETS
    monkeypatch.setenv("AIRFLOW_CONN_REL_DBT", json.dumps(conn))
    artifacts = tmp_path / "artifacts"
    op = DbtRunOperator(task_id="dbt_run", project_dir=str(dbt_project), command="run", snowflake_conn_id="rel_dbt",
                        artifacts_destination=f"file://{artifacts}", threads=1)
    ti = SimpleNamespace(dag_id="rel", task_id="dbt_run", run_id="manual__2024-01-05", try_number=1)
    with pytest.raises(AirflowException) as err:
        op.execute({"ti": ti})  # type: ignore[arg-type]
    text = f"{err.value!s} {err.value!r}"
    assert "broken" in text  # the failing model is named
    written = files_text(artifacts)
    assert "run_results.json" in written and "dbt.log" in written
    assert '"status": "success"' in written  # the good model ran: the credentials did work
    assert_absent(secrets, exception=text, logs=logs(), artifacts=written, project=files_text(dbt_project))
