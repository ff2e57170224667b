"""``dataeng-local``: run the local stack (Snowflake, S3 and demo-API stand-ins) from a shell.

    dataeng-local up [--dir DIR] [--snowflake-port N] [--s3-port N] [--api-port N] [--services ...]
    dataeng-local status            # per service: up/down, pid, port, health
    dataeng-local env [--format shell|dotenv|json]   # eval "$(dataeng-local env)"
    dataeng-local run -- CMD ...    # run CMD with the AIRFLOW_CONN_* variables set
    dataeng-local down

DIR defaults to $DATAENG_LOCAL_DIR or ./.dataeng-local (state, pid files, logs, Snowflake data).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_dataeng.local.demo_api.config import DEFAULT_TOKEN
from airflow_provider_dataeng.local.s3 import DEFAULT_BUCKET
from airflow_provider_dataeng.local.stack import DEFAULT_PORTS, SERVICES, LocalStack, StackError, default_dir


def _services(text: str) -> list[str]:
    names = [s.strip().replace("-", "_") for s in text.split(",") if s.strip()]
    unknown = sorted(set(names) - set(SERVICES))
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SERVICES)} (comma-separated)")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dataeng-local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="stack directory (default: $DATAENG_LOCAL_DIR or ./.dataeng-local)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", parents=[common], help="start the services in the background")
    up.add_argument("--snowflake-port", type=int, default=None, help=f"default {DEFAULT_PORTS['snowflake']}")
    up.add_argument("--s3-port", type=int, default=None, help=f"default {DEFAULT_PORTS['s3']}")
    up.add_argument("--api-port", type=int, default=None, help=f"default {DEFAULT_PORTS['demo_api']}")
    up.add_argument(
        "--services",
        type=_services,
        default=list(SERVICES),
        help=f"comma-separated subset of {','.join(SERVICES)} (default: all)",
    )
    up.add_argument("--api-token", default=DEFAULT_TOKEN, help="bearer token of the demo API")
    up.add_argument("--bucket", default=DEFAULT_BUCKET, help="bucket created at start")
    up.add_argument(
        "--api-clock",
        choices=("fixed", "wall"),
        default="fixed",
        help="demo API data as of a fixed simulated time (moved via /admin/clock) or the wall clock",
    )
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health checks")

    down = sub.add_parser("down", parents=[common], help="stop the services this directory started")
    down.add_argument("--timeout", type=float, default=10.0, help="seconds before SIGKILL follows SIGTERM")

    status = sub.add_parser("status", parents=[common], help="show each service's state")
    status.add_argument("--json", action="store_true")

    env = sub.add_parser("env", parents=[common], help="print AIRFLOW_CONN_* variables for the stack")
    env.add_argument("--format", choices=("shell", "dotenv", "json"), default="shell")

    run = sub.add_parser("run", parents=[common], help="run a command with the stack's variables set")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="command (after --)")
    return parser


def _stack(args: argparse.Namespace, **kwargs: object) -> LocalStack:
    return LocalStack(dir=args.dir or default_dir(), **kwargs)  # type: ignore[arg-type]


def _describe(stack: LocalStack) -> str:
    lines = []
    for s in stack.status():
        extra = {"s3": f"bucket {stack.bucket}", "demo_api": f"token {stack.api_token}"}.get(s.name, "")
        lines.append(f"  {s.name:<10} http://127.0.0.1:{s.port:<6} pid {s.pid}  {extra}".rstrip())
    return "\n".join(lines)


def cmd_up(args: argparse.Namespace) -> int:
    flags = {"snowflake": args.snowflake_port, "s3": args.s3_port, "demo_api": args.api_port}
    stack = _stack(
        args,
        ports={k: v for k, v in flags.items() if v is not None and k in args.services},
        services=args.services,
        api_token=args.api_token,
        bucket=args.bucket,
        api_args=["--clock", args.api_clock],
        startup_timeout=args.timeout,
        default_ports=DEFAULT_PORTS,
    )
    result = stack.up()
    if not result.started:
        print(f"dataeng-local: already up in {stack.dir}")
    else:
        again = f" ({', '.join(result.already_running)} already running)" if result.already_running else ""
        print(f"dataeng-local: started {', '.join(result.started)} in {stack.dir}{again}")
    print(_describe(stack))
    print('Use it from a shell: eval "$(dataeng-local env)"   Stop it: dataeng-local down')
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stack = _stack(args)
    stopped = stack.down(timeout=args.timeout)
    print(f"dataeng-local: stopped {', '.join(stopped)}" if stopped else "dataeng-local: nothing was running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    statuses = stack.status()
    if args.json:
        print(json.dumps([s.__dict__ for s in statuses], indent=2))
    else:
        print(f"{'service':<10} {'state':<6} {'pid':>8} {'port':>6}  health")
        for s in statuses:
            state = "up" if s.running else "down"
            print(f"{s.name:<10} {state:<6} {s.pid or '-':>8} {s.port:>6}  {'ok' if s.healthy else '-'}")
    return 0 if statuses and all(s.running and s.healthy for s in statuses) else 1


def cmd_env(args: argparse.Namespace) -> int:
    env = _stack(args).env
    if args.format == "json":
        print(json.dumps(env, indent=2))
    else:
        prefix = "export " if args.format == "shell" else ""
        for key, value in env.items():
            print(f"{prefix}{key}={shlex.quote(value)}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise StackError("give the command after --, e.g. dataeng-local run -- airflow dags test my_dag")
    return subprocess.call(cmd, env={**os.environ, **_stack(args).env})


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"up": cmd_up, "down": cmd_down, "status": cmd_status, "env": cmd_env, "run": cmd_run}[
        args.command
    ]
    try:
        return handler(args)
    except StackError as exc:
        print(f"dataeng-local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
