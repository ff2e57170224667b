"""Opaque cursors: a position in a ``(time, id)``-sorted list, base64url-encoded.

The ``hop`` part does not move the position; it lets the server hand out a *different* token for the
same position (the "empty page" fault), so clients that reject a repeated cursor still progress.
"""

from __future__ import annotations

import base64
import binascii

from dataeng_local.demo_api.views import Key


class CursorError(ValueError):
    """A cursor that this server did not issue."""


def encode(key: Key, hop: int = 0) -> str:
    text = f"v1:{key[0]}:{key[1]}" + (f":{hop}" if hop else "")
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str) -> Key:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        version, time_part, id_part, *_ = text.split(":")
        if version != "v1":
            raise ValueError(version)
        return int(time_part), int(id_part)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise CursorError(f"invalid cursor: {token!r}") from None


BEFORE_START: Key = (-(2**62), -1)  # a key that sorts before every record
