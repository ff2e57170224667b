"""``python -m dataeng_local.snowflake --host 127.0.0.1 --port PORT --data-dir DIR``."""

from __future__ import annotations

import argparse
import os

from dataeng_local.snowflake.server import HEALTH_PATH, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m dataeng_local.snowflake",
        description=f"Local Snowflake stand-in (fakesnow + extensions). Health check: GET {HEALTH_PATH}.",
    )
    parser.add_argument("--host", default=os.environ.get("DATAENG_LOCAL_SNOWFLAKE_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("DATAENG_LOCAL_SNOWFLAKE_PORT", "8085"))
    )
    parser.add_argument(
        "--data-dir", default=os.environ.get("DATAENG_LOCAL_SNOWFLAKE_DATA_DIR", ".local/snowflake")
    )
    parser.add_argument("--s3-endpoint", default=os.environ.get("DATAENG_LOCAL_S3_ENDPOINT"))
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.data_dir, s3_endpoint=args.s3_endpoint, log_level=args.log_level)


if __name__ == "__main__":
    main()
