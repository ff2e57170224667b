"""``python -m dataeng_local.demo_api``: serve the demo API until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from dataeng_local.demo_api.config import (
    DEFAULT_EPOCH,
    Credentials,
    DataShape,
    DemoApiConfig,
    wall_clock_epoch,
)
from dataeng_local.demo_api.timefmt import parse_iso


def _timestamp(text: str) -> int:
    return int(parse_iso(text))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m dataeng_local.demo_api", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8086)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--token", default=Credentials.token, help="static bearer token for /v1")
    p.add_argument("--api-key", default=Credentials.api_key)
    p.add_argument("--client-id", default=Credentials.client_id)
    p.add_argument("--client-secret", default=Credentials.client_secret)
    p.add_argument("--basic-user", default=Credentials.basic_user)
    p.add_argument("--basic-password", default=Credentials.basic_password)
    p.add_argument("--oauth-token-ttl", type=float, default=Credentials.oauth_token_ttl, help="seconds")
    p.add_argument("--clock", choices=("fixed", "wall"), default="fixed")
    p.add_argument(
        "--epoch",
        type=_timestamp,
        default=None,
        help="ISO time data starts growing (default 2024-01-01; wall clock: 7 days ago)",
    )
    p.add_argument(
        "--start", type=_timestamp, default=None, help="fixed clock start (default epoch + 7 days)"
    )
    p.add_argument("--run-seconds", type=int, default=3600, help="length of one simulated run")
    p.add_argument("--bulk-records", type=int, default=DataShape.bulk_records)
    p.add_argument("--max-page-size", type=int, default=10_000)
    p.add_argument("--cache-mb", type=int, default=256)
    p.add_argument(
        "--faults", default="", help="fault, latency and rate-limit query string applied to every request"
    )
    p.add_argument("--log-level", default="warning")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> DemoApiConfig:
    epoch = (
        args.epoch
        if args.epoch is not None
        else wall_clock_epoch()
        if args.clock == "wall"
        else DEFAULT_EPOCH
    )
    return DemoApiConfig(
        shape=DataShape(
            seed=args.seed, epoch=epoch, run_seconds=args.run_seconds, bulk_records=args.bulk_records
        ),
        credentials=Credentials(
            token=args.token,
            api_key=args.api_key,
            basic_user=args.basic_user,
            basic_password=args.basic_password,
            client_id=args.client_id,
            client_secret=args.client_secret,
            oauth_token_ttl=args.oauth_token_ttl,
        ),
        clock=args.clock,
        start=args.start,
        max_page_size=args.max_page_size,
        cache_mb=args.cache_mb,
        default_faults=args.faults,
    )


def main(argv: Sequence[str] | None = None) -> None:
    import uvicorn

    from dataeng_local.demo_api.app import create_app

    args = parse_args(argv)
    app = create_app(config_from_args(args))
    logging.getLogger("uvicorn.error").setLevel(args.log_level.upper())
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
