"""A JSON file's text as Snowflake reads it: a sequence of documents, one record each.

Snowflake accepts a "concatenation of JSON documents (which may or may not be line-separated)" and
follows "be liberal in what you accept" (docs.snowflake.com, Supported formats for semi-structured
data). So documents are separated by JSON whitespace only (space, tab, CR, LF): blank lines and CRLF
endings separate records, while U+2028, U+2029, U+0085, U+FEFF and the C0 separators are data (Python's
``str.splitlines()`` would break lines on them). Raw control characters other than LF inside a string
are kept; a raw LF ends the line, as in Snowflake's parser ("unterminated string").

Most files have one document per line, which orjson parses line by line. A line that does not parse
alone may hold several documents or start one that spans lines: the standard library's ``raw_decode``
finds where the document ends (without copying the rest of the file) and orjson parses that text. A
line that still fails is one bad record, reported at its line and character (LF counts lines, characters
are counted within the line), and reading goes on at the next line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_SPACES = (" ", "\t", "\r", "\n")
_CONTROL = re.compile(r"[\x00-\x1f]")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')  # a JSON string without a raw LF
_DECODER = json.JSONDecoder(strict=False)  # only to find where a document ends


class Document(NamedTuple):
    text: str  # the document's JSON, raw control characters in strings escaped (DuckDB parses it again)
    value: Any
    line: int  # the line it starts on


class BadRecord(NamedTuple):
    line: int
    character: int  # 1-based, within the line
    reason: str  # orjson's wording


def documents(text: str) -> Iterator[Document | BadRecord]:
    """The documents of ``text`` in order, with a :class:`BadRecord` for each line that is not JSON."""
    pos, line, line_start, size = 0, 1, 0, len(text)
    loads = orjson.loads
    while True:
        if text.startswith("\n", pos) and not text.startswith(_SPACES, pos + 1):  # the usual line break
            pos, line, line_start = pos + 1, line + 1, pos + 1
        else:
            end = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
            breaks = text.count("\n", pos, end)
            if breaks:
                line, line_start = line + breaks, text.rfind("\n", pos, end) + 1
            pos = end
        if pos >= size:
            return
        eol = text.find("\n", pos)
        eol = size if eol < 0 else eol
        segment = text[pos:eol]
        if segment.endswith(_SPACES):
            segment = segment.rstrip(" \t\r")
        try:
            document = Document(segment, loads(segment), line)  # the usual case: one document per line
        except orjson.JSONDecodeError:
            pass
        else:
            yield document
            pos = eol
            continue
        try:
            document = Document(*load(segment), line)
        except orjson.JSONDecodeError as e:
            error = e
        else:
            yield document
            pos = eol
            continue
        end = _document_end(text, pos)
        if end is not None and end != pos + len(segment):
            try:
                document = Document(*load(text[pos:end]), line)
            except orjson.JSONDecodeError:
                pass
            else:
                yield document
                breaks = text.count("\n", pos, end)
                if breaks:
                    line, line_start = line + breaks, text.rfind("\n", pos, end) + 1
                pos = end
                continue
        yield BadRecord(line, pos - line_start + error.colno, error.msg)
        pos = eol


def load(document: str) -> tuple[str, Any]:
    """Parse one document; raw control characters inside strings are accepted (escaped in the text)."""
    try:
        return document, orjson.loads(document)
    except orjson.JSONDecodeError as e:
        if not _CONTROL.search(document):
            raise
        escaped = _STRING.sub(_escape_controls, document)
        if escaped == document:
            raise
        try:
            return escaped, orjson.loads(escaped)
        except orjson.JSONDecodeError:
            raise e from None


def _escape_controls(string: re.Match[str]) -> str:
    return _CONTROL.sub(lambda c: f"\\u{ord(c.group()):04x}", string.group())


def _document_end(text: str, pos: int) -> int | None:
    """Where the document starting at ``pos`` ends, or None when there is no whole document there."""
    try:
        return int(_DECODER.raw_decode(text, pos)[1])
    except (ValueError, RecursionError):  # json.JSONDecodeError is a ValueError
        return None
