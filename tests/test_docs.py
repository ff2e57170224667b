"""The docs site: it builds warning-free, quotes the example DAGs' code exactly, and renders the API reference.

The site is built once per module with ``mkdocs build --strict`` (a few seconds; mkdocstrings reads the
package statically, nothing heavy is imported). The snippet hook is unit-tested directly.
"""

from __future__ import annotations

import ast
import html
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DAGS = ROOT / "dags"
HOOK_FILE = DOCS / "hooks" / "snippets.py"

# How-to page -> the example DAG snippets it must quote (page source relative to docs/).
HOWTO_SNIPPETS: dict[str, set[tuple[str, str]]] = {
    "how-to/sql-extract.md": {
        ("dags/shop_database_pipeline.py", "howto_operator_sql_extract"),
        ("dags/shop_database_pipeline.py", "howto_dag_shop_database_pipeline"),
    },
    "how-to/rest-api-extract.md": {
        ("dags/customer_data_pipeline.py", "howto_operator_rest_api_extract"),
        ("dags/events_microbatch.py", "howto_events_rest_api_extract"),
        ("dags/customer_data_pipeline.py", "howto_dag_customer_data_pipeline"),
    },
    "how-to/s3-stage-load.md": {
        ("dags/customer_data_pipeline.py", "howto_operator_s3_stage_load"),
        ("dags/events_microbatch.py", "howto_events_s3_stage_load"),
    },
    "how-to/stream-merge.md": {
        ("dags/customer_data_pipeline.py", "howto_operator_stream_merge"),
        ("dags/events_microbatch.py", "howto_events_stream_merge"),
    },
    "how-to/dbt-run.md": {("dags/customer_data_pipeline.py", "howto_operator_dbt_run")},
    "how-to/dbt-task-group.md": {("dags/customer_marts.py", "howto_task_group_dbt")},
    "how-to/quality-gate.md": {
        ("dags/customer_data_pipeline.py", "howto_operator_quality_gate_dim_customer"),
        ("dags/customer_data_pipeline.py", "howto_operator_quality_gate_fct_sales"),
        ("dags/events_microbatch.py", "howto_events_quality_gate"),
    },
    "how-to/assets.md": {("dags/customer_reporting.py", "howto_dag_scheduled_on_merged_table")},
    "how-to/run-types.md": {
        ("dags/customer_data_pipeline.py", "howto_run_window"),
        ("dags/customer_data_pipeline.py", "howto_dag_customer_data_pipeline"),
        ("dags/customer_data_pipeline.py", "howto_operator_rest_api_extract"),
    },
    "how-to/reliability.md": {
        ("dags/customer_data_pipeline.py", "howto_dag_customer_data_pipeline"),
        ("dags/events_microbatch.py", "howto_dag_events_microbatch"),
    },
}

DIRECTIVE = re.compile(r"^[ \t]*<!--\s*example:\s*(\S+)\s+([\w.-]+)\s*-->[ \t]*$", re.MULTILINE)
MARKER = re.compile(r"^\s*#\s*\[(START|END)\s+([\w.-]+)\]\s*$")


def _load_hook() -> ModuleType:
    """docs/hooks/snippets.py is a MkDocs hook file, not a package module: load it from its path."""
    spec = importlib.util.spec_from_file_location("docs_snippets_hook", HOOK_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()


def page_text(html_text: str) -> str:
    """A built page's visible text: tags removed (syntax highlighting splits code into spans), unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


def directives(markdown: str) -> list[tuple[str, str]]:
    return [(match[1], match[2]) for match in DIRECTIVE.finditer(markdown)]


def snippet_lines(path: Path, name: str) -> str:
    """The snippet computed independently of the hook: lines strictly between the two markers, other marker
    lines dropped, dedented."""
    lines = path.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.strip() == f"# [START {name}]"))
    end = lines.index(next(line for line in lines if line.strip() == f"# [END {name}]"))
    body = [line for line in lines[start + 1 : end] if not MARKER.match(line)]
    return textwrap.dedent("\n".join(body)).strip("\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert "WARNING" not in proc.stderr, proc.stderr
    return out


def built_page(site: Path, source: str) -> str:
    """The HTML MkDocs wrote for a page source (``how-to/x.md`` -> ``how-to/x/index.html``)."""
    stem = source.removesuffix(".md")
    target = site / "index.html" if stem == "index" else site / stem / "index.html"
    return target.read_text()


# (a) the strict build ------------------------------------------------------------------------------------


def test_strict_build_writes_every_nav_page(site: Path) -> None:
    expected = [
        "index.md",
        "installation.md",
        "benchmarks.md",
        "development.md",
        "reference/api.md",
        *(
            f"how-to/{name}.md"
            for name in (
                "rest-api-extract",
                "sql-extract",
                "s3-stage-load",
                "stream-merge",
                "dbt-run",
                "dbt-selection",
                "dbt-task-group",
                "quality-gate",
                "data-health",
                "snowflake-sessions",
                "lineage",
                "assets",
                "run-types",
                "local-stack",
                "reliability",
                "data-fidelity",
                "troubleshooting",
            )
        ),
    ]
    sources = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md"))
    assert sources == sorted(expected)
    for source in expected:
        assert "<h1" in built_page(site, source), source
    assert not (site / "hooks").exists()  # the hook is build code, not site content


# (b) the how-to pages quote the example DAGs exactly ---------------------------------------------------------


@pytest.mark.parametrize("source", sorted(HOWTO_SNIPPETS))
def test_howto_page_quotes_its_snippets_exactly(site: Path, source: str) -> None:
    quoted = directives((DOCS / source).read_text())
    assert set(quoted) == HOWTO_SNIPPETS[source]
    text = page_text(built_page(site, source))
    for file, name in quoted:
        code = snippet_lines(ROOT / file, name)
        assert code.count("\n") >= 3, (file, name)
        assert code in text, f"{source}: snippet {name} of {file} is not on the page verbatim"
    assert "<!-- example:" not in built_page(site, source)


def test_every_operator_howto_shows_its_operator_call(site: Path) -> None:
    calls = {
        "how-to/rest-api-extract.md": 'extract = RestApiExtractOperator.partial(\n    task_id="extract",',
        "how-to/s3-stage-load.md": 'load = S3StageLoadOperator(\n    task_id="load_events",',
        "how-to/stream-merge.md": 'merge = SnowflakeStreamMergeOperator(\n    task_id="merge_events",',
        "how-to/dbt-run.md": 'dbt_build = DbtRunOperator(\n    task_id="dbt_build",',
        "how-to/quality-gate.md": 'quality_sales = QualityGateOperator(\n    task_id="quality_fct_sales",',
    }
    for source, call in calls.items():
        assert call in page_text(built_page(site, source)), source


# (c) markers and directives pair up --------------------------------------------------------------------------


def test_every_start_marker_in_dags_has_exactly_one_end() -> None:
    checked = 0
    for path in sorted(DAGS.rglob("*.py")):
        starts: list[str] = []
        ends: list[str] = []
        open_names: list[str] = []
        for line in path.read_text().splitlines():
            match = MARKER.match(line)
            if match is None:
                continue
            kind, name = match.groups()
            if kind == "START":
                assert name not in open_names, f"{path}: {name} started twice"
                starts.append(name)
                open_names.append(name)
            else:
                assert name in open_names, f"{path}: [END {name}] before its START"
                ends.append(name)
                open_names.remove(name)
        assert sorted(starts) == sorted(ends) and len(set(starts)) == len(starts), path
        assert hook.marker_spans(path).keys() == set(starts)
        checked += len(starts)
    assert checked >= 15  # 8 in customer_data_pipeline.py, 5 in events_microbatch.py, 2 in shop_database_pipeline.py


def test_every_directive_in_docs_names_an_existing_marker() -> None:
    found = [(md, d) for md in sorted(DOCS.rglob("*.md")) for d in directives(md.read_text())]
    assert len(found) >= 14
    for md, (file, name) in found:
        assert (ROOT / file).is_file(), f"{md}: {file} does not exist"
        assert name in hook.marker_spans(ROOT / file), f"{md}: no marker {name} in {file}"


# (d) the hook ----------------------------------------------------------------------------------------------


EXAMPLE = """\
with DAG("d") as dag:
    # [START outer]
    a = Op(
        task_id="a",
    )
    # [START inner]
    b = Op(task_id="b")
    # [END inner]
    # [END outer]
"""


def test_hook_renders_a_dedented_fenced_block(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(EXAMPLE)
    markdown = (
        "Intro\n\n<!-- example: example.py outer -->\n\n- item\n\n    <!-- example: example.py inner -->\n"
    )
    assert hook.render_examples(markdown, tmp_path) == (
        "Intro\n\n"
        '```python title="example.py"\n'
        'a = Op(\n    task_id="a",\n)\nb = Op(task_id="b")\n'
        "```\n\n- item\n\n"
        '    ```python title="example.py"\n'
        '    b = Op(task_id="b")\n'
        "    ```\n"
    )


def test_hook_fails_on_a_missing_marker_naming_file_and_marker(tmp_path: Path) -> None:
    (tmp_path / "example.py").write_text(EXAMPLE)
    with pytest.raises(hook.SnippetError) as err:
        hook.render_examples("<!-- example: example.py howto_nope -->\n", tmp_path, source="docs/page.md")
    message = str(err.value)
    assert "docs/page.md:1" in message
    assert f"{tmp_path / 'example.py'}: no '# [START howto_nope]' / '# [END howto_nope]' markers" in message
    assert "markers there: inner, outer" in message


def test_hook_fails_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(hook.SnippetError, match=r"example file .*missing\.py does not exist \(snippet 'x'\)"):
        hook.render_examples("<!-- example: missing.py x -->", tmp_path)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("# [START a]\nx = 1\n", r"example\.py:1: '# \[START a\]' has no '# \[END a\]' after it"),
        ("x = 1\n# [END a]\n", r"example\.py:2: '# \[END a\]' has no '# \[START a\]' before it"),
        ("# [END a]\n# [START a]\nx = 1\n", r"example\.py:1: '# \[END a\]' has no '# \[START a\]'"),
        (
            "# [START a]\nx = 1\n# [END a]\n# [START a]\ny = 2\n# [END a]\n",
            r"example\.py:4: marker '# \[START a\]' appears twice",
        ),
        ("# [START a]\n\n# [END a]\n", r"snippet 'a' is empty"),
    ],
)
def test_hook_fails_on_unbalanced_markers(tmp_path: Path, source: str, error: str) -> None:
    path = tmp_path / "example.py"
    path.write_text(source)
    with pytest.raises(hook.SnippetError, match=error):
        hook.extract_snippet(path, "a")


def test_hook_failure_stops_the_mkdocs_build(tmp_path: Path) -> None:
    """A bad directive fails the real build (not just the function), with file and marker in the output."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n<!-- example: dags/events_microbatch.py howto_missing -->\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: t\ndocs_dir: docs\nhooks:\n  - {HOOK_FILE}\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "events_microbatch.py").write_text((DAGS / "events_microbatch.py").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert "docs/index.md:3:" in proc.stderr
    assert "no '# [START howto_missing]' / '# [END howto_missing]' markers" in proc.stderr


# (e) the API reference renders the docstrings ------------------------------------------------------------


def _reference_targets() -> list[str]:
    return re.findall(r"^::: ([\w.]+)\s*$", (DOCS / "reference" / "api.md").read_text(), re.MULTILINE)


def _first_docstring_line(dotted: str) -> str:
    module, _, name = dotted.rpartition(".")
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef | ast.FunctionDef) and n.name == name)
    docstring = ast.get_docstring(node)
    assert docstring, dotted
    return docstring.splitlines()[0]


def test_api_reference_covers_every_public_name() -> None:
    import airflow_provider_dataeng  # cheap: public names resolve lazily

    documented = {target.rpartition(".")[2]: target.rpartition(".")[0] for target in _reference_targets()}
    for name, module in airflow_provider_dataeng._LAZY_ATTRIBUTES.items():
        assert documented.get(name) == module, f"{name} ({module}) is missing from docs/reference/api.md"
    from airflow_provider_dataeng import quality

    constructors = {n for n in quality.__all__ if n.islower() and not n.startswith("load_")}
    assert constructors <= documented.keys()


def test_api_reference_renders_each_docstring(site: Path) -> None:
    text = " ".join(page_text(built_page(site, "reference/api.md")).split())
    targets = _reference_targets()
    assert len(targets) >= 30
    for target in targets:
        first_line = " ".join(_first_docstring_line(target).replace("`", "").split())
        assert first_line in text, f"{target}: {first_line!r} not rendered"
    assert "Pull every page of a REST endpoint and land the records in destination." in text


# Hand-written examples ---------------------------------------------------------------------------------------


def test_hand_written_python_examples_parse() -> None:
    """Code written on the pages themselves (not quoted from a DAG) is at least valid Python."""
    blocks = [
        (md, match[1])
        for md in sorted(DOCS.rglob("*.md"))
        for match in re.finditer(r"^```python\n(.*?)^```$", md.read_text(), re.MULTILINE | re.DOTALL)
    ]
    assert len(blocks) >= 4
    for md, code in blocks:
        ast.parse(code, filename=str(md))


def test_assets_page_states_what_snowflake_table_asset_returns() -> None:
    from airflow_provider_dataeng.assets import snowflake_table_asset

    asset = snowflake_table_asset("RAW.EVENTS", account="myorg-myacct", database="DEMO")
    assert (asset.name, asset.uri) == ("DEMO.RAW.EVENTS", "snowflake://myorg-myacct/DEMO/RAW/EVENTS")
    page = (DOCS / "how-to" / "assets.md").read_text()
    assert 'snowflake_table_asset("RAW.EVENTS", account="myorg-myacct", database="DEMO")' in page
    assert f'the Asset named "{asset.name}" with URI "{asset.uri}"' in page


# (e) the README: a one-page overview pointing into the docs --------------------------------------------------

README = ROOT / "README.md"
OPERATOR_GUIDES = {
    "RestApiExtractOperator": "docs/how-to/rest-api-extract.md",
    "SqlExtractOperator": "docs/how-to/sql-extract.md",
    "S3StageLoadOperator": "docs/how-to/s3-stage-load.md",
    "SnowflakeStreamMergeOperator": "docs/how-to/stream-merge.md",
    "DbtRunOperator": "docs/how-to/dbt-run.md",
    "QualityGateOperator": "docs/how-to/quality-gate.md",
}


def test_readme_stays_a_one_page_overview() -> None:
    lines = README.read_text().splitlines()
    assert lines[0] == "# airflow-provider-dataeng"
    assert len(lines) <= 300, f"README.md has {len(lines)} lines: move detail into docs/"
    text = README.read_text()
    for command in ("make demo", "make test", "make airflow"):
        assert f"\n{command} " in text, command  # the set-up commands, in the quick-start block


def test_readme_operator_table_links_each_guide() -> None:
    rows = [line for line in README.read_text().splitlines() if line.startswith("| ") and "Operator`" in line]
    linked = {}
    for row in rows:
        operator = re.search(r"`(\w+Operator)`", row)
        guide = re.search(r"\]\((docs/how-to/[\w-]+\.md)\)", row)
        assert operator and guide, row
        linked[operator[1]] = guide[1]
    assert linked == OPERATOR_GUIDES


def test_readme_links_point_at_existing_files_and_nav_pages() -> None:
    """Every relative link resolves; every docs page it links is in the site's nav (so it is built strictly)."""
    nav = (ROOT / "mkdocs.yml").read_text()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text())
    relative = [link for link in links if "://" not in link]
    assert len(relative) >= 10
    for link in relative:
        assert (ROOT / link).exists(), link
        if link.startswith("docs/") and link.endswith(".md"):
            assert f": {link.removeprefix('docs/')}" in nav, f"{link} is not in mkdocs.yml's nav"
