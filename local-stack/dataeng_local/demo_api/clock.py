"""The server's simulated clock: which time a request without ``as_of`` sees."""

from __future__ import annotations

import threading
import time


class SimClock:
    """``fixed``: stays at a set time until moved (``set``/``advance``); ``wall``: the real time."""

    def __init__(self, mode: str, start: int) -> None:
        self.mode = mode
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> int:
        if self.mode == "wall":
            return int(time.time())
        with self._lock:
            return self._now

    def set(self, t: int) -> int:
        self._require_fixed()
        with self._lock:
            self._now = t
            return t

    def advance(self, seconds: int) -> int:
        self._require_fixed()
        with self._lock:
            self._now += seconds
            return self._now

    def _require_fixed(self) -> None:
        if self.mode != "fixed":
            raise ValueError("the clock follows wall time; start the server with --clock fixed to move it")
