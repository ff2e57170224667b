"""Serve the demo API from a background thread of the current process (for tests and notebooks).

``with serve_in_thread(DemoApiConfig(...)) as server: requests.get(server.url + "/healthz")`` gives
a real HTTP server on 127.0.0.1 that starts in milliseconds; ``python -m ...demo_api`` is the same
application as its own process.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dataeng_local.demo_api.config import DemoApiConfig


@dataclass
class ThreadedServer:
    host: str
    port: int
    config: DemoApiConfig

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def serve_in_thread(
    config: DemoApiConfig | None = None, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 10.0
) -> Iterator[ThreadedServer]:
    """Run the app with uvicorn in a daemon thread until the ``with`` block ends."""
    import uvicorn

    from dataeng_local.demo_api.app import create_app

    cfg = config or DemoApiConfig()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(create_app(cfg), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="demo-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the demo API thread did not start")
        time.sleep(0.01)
    try:
        yield ThreadedServer(host, int(sock.getsockname()[1]), cfg)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
