"""The S3 stand-in: moto's S3 server on one port, plus buckets created at start.

``python -m dataeng_local.s3 --host 127.0.0.1 --port 4566 [--bucket dataeng-local ...]``
serves until SIGTERM/SIGINT. Each ``--bucket`` exists before the server reports ready (so "healthy"
means ``HEAD /<bucket>`` answers 200); other buckets are created the usual way by clients
(``S3Hook.create_bucket``, ``s3fs.mkdir``, ``aws s3 mb``). Data lives in memory: a restart starts empty.
Any access key is accepted; use region ``us-east-1``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

DEFAULT_BUCKET = "dataeng-local"
REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def endpoint_url(host: str, port: int) -> str:
    return f"http://{host}:{port}"


def create_buckets(endpoint: str, buckets: Sequence[str]) -> None:
    """Create ``buckets`` (if missing) through the S3 API, as any client would."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)


def serve(host: str, port: int, buckets: Sequence[str]) -> None:
    """Run moto's S3 server until SIGTERM or SIGINT."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    try:
        create_buckets(endpoint_url(host, port), buckets)
        print(f"S3 stand-in on {endpoint_url(host, port)}, buckets: {', '.join(buckets) or '-'}", flush=True)
        stop.wait()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dataeng_local.s3",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument(
        "--bucket",
        action="append",
        dest="buckets",
        default=None,
        help=f"bucket to create at start (repeatable; default {DEFAULT_BUCKET})",
    )
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.buckets if args.buckets is not None else [DEFAULT_BUCKET])
    except OSError as exc:
        sys.exit(f"cannot serve S3 on {args.host}:{args.port}: {exc}")


if __name__ == "__main__":
    main()
