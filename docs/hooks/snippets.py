"""MkDocs hook: quote tested code from the example DAGs into the docs.

A line of markdown holding only ::

    <!-- example: dags/customer_data_pipeline.py howto_operator_rest_api_extract -->

is replaced by a fenced Python block with exactly the lines between ``# [START howto_operator_rest_api_extract]``
and ``# [END howto_operator_rest_api_extract]`` in that file (path relative to the directory of mkdocs.yml),
dedented; marker lines of other snippets nested inside are left out. This is the convention of Airflow's own
example DAGs, so the docs show code the test suite runs. A missing file or marker, or START/END markers that
do not pair up anywhere in the file, fail the build with the file and marker named.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)<!--\s*example:\s*(?P<path>\S+)\s+(?P<name>[\w.-]+)\s*-->[ \t]*$")
MARKER = re.compile(r"^\s*#\s*\[(?P<kind>START|END)\s+(?P<name>[\w.-]+)\]\s*$")


class SnippetError(PluginError):
    """A directive names a file or marker that does not exist, or the file's markers do not pair up."""


def marker_spans(path: Path) -> dict[str, tuple[int, int]]:
    """``{name: (start_line, end_line)}`` (0-based marker line numbers) for every marker pair in ``path``.

    Raises :class:`SnippetError` for an END without its START, a START without its END, or a name used
    twice: one stray marker would otherwise quietly quote the wrong lines.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    open_at: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(lines):
        match = MARKER.match(line)
        if match is None:
            continue
        kind, name = match["kind"], match["name"]
        where = f"{path}:{number + 1}"
        if kind == "START":
            if name in open_at or name in spans:
                raise SnippetError(
                    f"{where}: marker '# [START {name}]' appears twice; marker names must be unique"
                )
            open_at[name] = number
        else:
            if name not in open_at:
                raise SnippetError(f"{where}: '# [END {name}]' has no '# [START {name}]' before it")
            spans[name] = (open_at.pop(name), number)
    if open_at:
        name, number = next(iter(open_at.items()))
        raise SnippetError(f"{path}:{number + 1}: '# [START {name}]' has no '# [END {name}]' after it")
    return spans


def extract_snippet(path: Path, name: str) -> str:
    """The dedented lines between ``# [START name]`` and ``# [END name]`` in ``path`` (no trailing newline)."""
    if not path.is_file():
        raise SnippetError(f"example file {path} does not exist (snippet {name!r})")
    spans = marker_spans(path)
    if name not in spans:
        known = ", ".join(sorted(spans)) or "none"
        raise SnippetError(
            f"{path}: no '# [START {name}]' / '# [END {name}]' markers (markers there: {known})"
        )
    start, end = spans[name]
    body = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()[start + 1 : end]
        if MARKER.match(line) is None
    ]
    text = textwrap.dedent("\n".join(body)).strip("\n")
    if not text.strip():
        raise SnippetError(f"{path}: snippet {name!r} is empty")
    return text


def render_examples(markdown: str, root: Path, source: str = "<markdown>") -> str:
    """Replace every example directive in ``markdown`` with a fenced code block of its snippet."""
    out: list[str] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        match = DIRECTIVE.match(line)
        if match is None:
            out.append(line)
            continue
        try:
            code = extract_snippet(root / match["path"], match["name"])
        except SnippetError as err:
            raise SnippetError(f"{source}:{number}: {err}") from None
        fence = "```"
        while fence in code:
            fence += "`"
        indent = match["indent"]
        block = [f'{fence}python title="{match["path"]}"', *code.splitlines(), fence]
        out.extend(f"{indent}{text}" if text else "" for text in block)
    return "\n".join(out) + ("\n" if markdown.endswith("\n") else "")


def on_page_markdown(markdown: str, *, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: expand the directives of one page before it is rendered."""
    root = Path(config["config_file_path"]).resolve().parent
    source = Path(config["docs_dir"]).resolve() / page.file.src_uri
    shown = source.relative_to(root) if source.is_relative_to(root) else source
    return render_examples(markdown, root, source=str(shown))
