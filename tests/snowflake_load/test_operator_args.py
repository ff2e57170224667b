"""Bad operator arguments are refused when the DAG is parsed, with the parameter and the fix named."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_dataeng.operators.s3_stage_load import S3StageLoadOperator
from airflow_provider_dataeng.sql.file_formats import FileFormatError
from airflow_provider_dataeng.sql.identifiers import IdentifierError

BASE = {"task_id": "load", "table": "RAW.EVENTS", "stage": "RAW.LANDING", "files": ["a.json"],
        "file_format": {"type": "JSON"}}


def make(**overrides: object) -> S3StageLoadOperator:
    return S3StageLoadOperator(**{**BASE, **overrides})  # type: ignore[arg-type]


def test_defaults_and_template_fields() -> None:
    op = make()
    assert op.template_fields == ("table", "stage", "files", "prefix", "warehouse", "role", "query_tag")
    assert (op.snowflake_conn_id, op.load_as, op.on_error, op.max_error_rows, op.force, op.purge,
            op.metadata_columns, op.if_empty, op.create_table) == (
        "snowflake_default", "variant", "abort", 0, False, False, True, "skip", False)
    assert op.file_format.sql == "(TYPE = JSON)"


def test_templated_names_are_checked_at_run_time() -> None:
    op = make(table="RAW.{{ params.t }}", stage="{{ var.value.stage }}", prefix="{{ ds }}/", files=None)
    assert op.prefix == "{{ ds }}/"


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"files": None}, ValueError, r"give exactly one of files= \(a manifest, paths or URIs\) or prefix="),
        ({"prefix": "a/"}, ValueError, "give exactly one of files="),
        ({"table": "RAW.EVENTS; DROP TABLE X"}, IdentifierError, "table='RAW.EVENTS; DROP TABLE X' is not a valid"),
        ({"stage": "@RAW.LANDING"}, IdentifierError, "stage='@RAW.LANDING' is not a valid Snowflake identifier"),
        ({"files": None, "prefix": "a b/"}, ValueError, r"prefix='a b/': use letters, digits"),
        ({"file_format": {"type": "XML"}}, FileFormatError, "must be one of CSV, JSON, PARQUET"),
        ({"file_format": "COPY_OPTIONS = 'x'"}, IdentifierError, "file_format="),
        ({"on_error": "skip"}, ValueError, r"on_error must be one of abort, continue, skip_file, skip_file_<n>, skip_file_<n>%, got 'skip'"),
        ({"load_as": "json"}, ValueError, "load_as must be one of variant, columns, got 'json'"),
        ({"file_format": {"type": "CSV"}}, ValueError, "load_as='variant' loads one document per row"),
        ({"file_format": {"type": "CSV"}, "load_as": "columns"}, ValueError, "set parse_header=True in file_format"),
        ({"columns": {"ID": "NUMBER"}}, ValueError, "columns= only describes the table to create"),
        ({"load_as": "columns", "create_table": True, "files": None, "prefix": "a/"}, ValueError,
         r"create_table with load_as='columns' and prefix= needs columns="),
        ({"max_error_rows": 5}, ValueError, r"max_error_rows only applies with on_error='continue' or 'skip_file_<n>\[%\]'"),
        ({"max_error_rows": 5, "on_error": "skip_file"}, ValueError, "abort and skip_file never load part of a file"),
        ({"max_error_rows": -1, "on_error": "continue"}, ValueError, "max_error_rows must be a non-negative integer"),
        ({"if_empty": "ignore"}, ValueError, "if_empty must be one of succeed, skip, fail, got 'ignore'"),
        ({"force": "yes"}, ValueError, "force must be True or False"),
        ({"ensure_stage": {"url": "s3://bkt/p/"}}, ValueError, "ensure_stage needs exactly one of 'storage_integration'"),
        ({"ensure_stage": {"url": "s3://bkt/p/", "storage_integration": "I", "aws_conn_id": "a"}}, ValueError,
         "ensure_stage needs exactly one of"),
        ({"ensure_stage": {"url": "gs://bkt/p/", "storage_integration": "I"}}, ValueError, r"ensure_stage\['url'\] must be an s3://"),
        ({"ensure_stage": {"url": "s3://bkt/p/", "storage_integration": "I; DROP"}}, IdentifierError, "storage_integration"),
        ({"ensure_stage": {"url": "s3://bkt/p/", "credentials": {"aws_key_id": "x"}}}, ValueError,
         "ensure_stage\\['credentials'\\] must be a dict with 'aws_key_id' and 'aws_secret_key'"),
        ({"ensure_stage": {"url": "s3://bkt/p/", "integration": "I"}}, ValueError, "ensure_stage: unknown keys \\['integration'\\]"),
    ],
)
def test_bad_arguments(overrides: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make(**overrides)


def test_columns_mode_options() -> None:
    op = make(load_as="columns", create_table=True, columns={"id": "NUMBER", "name": "VARCHAR"},
              file_format={"type": "CSV", "parse_header": True}, on_error="continue", max_error_rows=10)
    assert op.columns == [("ID", "NUMBER"), ("NAME", "VARCHAR")]
    assert op._on_error_sql == "CONTINUE"
    assert make(on_error="skip_file_5%", max_error_rows=3)._on_error_sql == "'SKIP_FILE_5%'"


def test_importing_the_operator_module_stays_light() -> None:
    code = (
        "import sys\n"
        "import airflow_provider_dataeng.operators.s3_stage_load\n"
        "heavy = ['snowflake.connector', 'boto3', 'pyarrow', 'sqlglot', 'requests', 'dbt',\n"
        "         'airflow.providers.snowflake.hooks.snowflake', 'airflow.providers.amazon.aws']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_rendered_values_fail_without_retry_before_connecting() -> None:
    from airflow.sdk.exceptions import AirflowFailException

    op = make(table="RAW.{{ params.t }}")
    op.table = "RAW.BAD NAME"  # what a template could render to
    with pytest.raises(AirflowFailException, match="table='RAW.BAD NAME' is not a valid Snowflake identifier"):
        op.execute({})
    op = make(files="{{ ti.xcom_pull('extract') }}")
    op.files = '{"files": [{"uri": "s3://bkt/a.json", "records": "many"}]}'
    with pytest.raises(AirflowFailException, match="'records' of 's3://bkt/a.json' must be a non-negative integer"):
        op.execute({})
