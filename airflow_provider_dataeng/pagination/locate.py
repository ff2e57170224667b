"""Where in a JSON body a byte offset falls: "record 3, field 'name'" for an error message.

Invalid input (a lone surrogate escape, a byte that is not UTF-8) is reported by the decoders as a byte
offset; a person fixing the API or the data needs the record and the field. The scan only runs on the error
path, reads the body up to the offset and tracks the path of containers and keys it is inside.
"""

from __future__ import annotations

import re
from typing import Any

_BYTE = re.compile(r"\(byte (\d+)\)")
_STRING_END = re.compile(rb'(?:[^"\\]|\\.)*"', re.S)


def error_offset(message: str) -> int | None:
    """The byte offset a decoder's message names (msgspec says "... (byte 30)"), or None."""
    found = _BYTE.search(message)
    return int(found.group(1)) if found else None


def path_at(body: bytes, offset: int) -> list[Any]:
    """The JSON path (keys and list indexes) of the value that contains ``body[offset]``."""
    stack: list[list[Any]] = []  # per open container: [kind, key or index, expecting_key]
    pos, end = 0, min(offset, len(body))
    key: str | None = None
    while pos < end:
        char = body[pos : pos + 1]
        if char == b'"':
            match = _STRING_END.match(body, pos + 1)
            close = match.end() if match else len(body)
            if close > end:  # the offset is inside this string
                break
            if stack and stack[-1][0] == "{" and stack[-1][2]:
                key = body[pos + 1 : close - 1].decode("utf-8", "replace")
            pos = close
            continue
        if char in (b"{", b"["):
            if stack and stack[-1][0] == "{":
                stack[-1][1] = key
            stack.append([char.decode(), 0 if char == b"[" else None, char == b"{"])
        elif char in (b"}", b"]"):
            if stack:
                stack.pop()
        elif char == b":" and stack:
            stack[-1][2] = False
            stack[-1][1] = key
        elif char == b"," and stack:
            if stack[-1][0] == "[":
                stack[-1][1] += 1
            else:
                stack[-1][2] = True
        pos += 1
    return [frame[1] for frame in stack if frame[1] is not None or frame[0] == "["]


def describe(body: bytes, offset: int, records_path: tuple[Any, ...] | None) -> str:
    """``record N, field 'a.b'`` when the offset is inside a record, else the JSON path; '' if unknown."""
    path = path_at(body, offset)
    prefix = list(records_path or ())
    if path[: len(prefix)] == prefix and len(path) > len(prefix) and isinstance(path[len(prefix)], int):
        rest = path[len(prefix) + 1 :]
        field = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in rest).replace(".[", "[")
        return f"record {path[len(prefix)]}" + (f", field {field!r}" if field else "")
    return (
        "at " + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") if path else ""
    )
