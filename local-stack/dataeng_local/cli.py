"""``dataeng-local``: run the local stack (Snowflake, S3 and demo-API stand-ins) from a shell.

    dataeng-local up [--dir DIR] [--snowflake-port N] [--s3-port N] [--api-port N] [--postgres-port N]
                     [--services ...]
    dataeng-local status            # per service: up/down, pid, port, health
    dataeng-local env [--format shell|dotenv|json]   # eval "$(dataeng-local env)"
    dataeng-local run -- CMD ...    # run CMD with the AIRFLOW_CONN_* variables set
    dataeng-local airflow [--port 8080] [--db-url URL] [--parallelism N] ...
                                    # the stack + Airflow 3 (UI on the port) in the foreground; Ctrl-C stops
    dataeng-local down              # stops Airflow and the stack

DIR defaults to $DATAENG_LOCAL_DIR or ./.dataeng-local (state, pid files, logs, Snowflake data, Airflow's
home and metadata database).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from dataeng_local import airflow as local_airflow
from dataeng_local.demo_api.config import DEFAULT_TOKEN
from dataeng_local.s3 import DEFAULT_BUCKET
from dataeng_local.stack import DEFAULT_PORTS, SERVICES, LocalStack, StackError, default_dir


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

    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument(
        "--snowflake-port", type=int, default=None, help=f"default {DEFAULT_PORTS['snowflake']}"
    )
    stack.add_argument("--s3-port", type=int, default=None, help=f"default {DEFAULT_PORTS['s3']}")
    stack.add_argument(
        "--api-port", type=int, default=None, help=f"demo API; default {DEFAULT_PORTS['demo_api']}"
    )
    stack.add_argument(
        "--postgres-port", type=int, default=None, help=f"PostgreSQL; default {DEFAULT_PORTS['postgres']}"
    )
    stack.add_argument("--api-token", default=DEFAULT_TOKEN, help="bearer token of the demo API")
    stack.add_argument("--bucket", default=DEFAULT_BUCKET, help="bucket created at start")

    up = sub.add_parser("up", parents=[common, stack], help="start the services in the background")
    up.add_argument(
        "--services",
        type=_services,
        default=list(SERVICES),
        help=f"comma-separated subset of {','.join(SERVICES)} (default: all)",
    )
    up.add_argument(
        "--api-clock",
        choices=("fixed", "wall"),
        default="fixed",
        help="demo API data as of a fixed simulated time (moved via /admin/clock) or the wall clock",
    )
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health checks")

    af = sub.add_parser(
        "airflow",
        parents=[common, stack],
        help="the stack plus Airflow's api-server, scheduler, dag-processor and triggerer; Ctrl-C stops all",
    )
    af.add_argument(
        "--port",
        type=int,
        default=local_airflow.DEFAULT_PORT,
        help="Airflow UI and API (default %(default)s)",
    )
    af.add_argument(
        "--db-url",
        default=None,
        help="metadata database (default: $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, else SQLite under DIR/airflow)",
    )
    af.add_argument(
        "--parallelism",
        type=int,
        default=None,
        help="LocalExecutor task slots (default: $AIRFLOW__CORE__PARALLELISM, else the number of CPUs)",
    )
    af.add_argument("--dags-folder", type=Path, default=None, help="default ./dags")
    af.add_argument(
        "--dags-paused",
        action="store_true",
        default=None,
        help=f"start new DAGs paused (default: ${local_airflow.PAUSED_ENV}, else active as in docker compose)",
    )
    af.add_argument(
        "--api-clock",
        choices=("fixed", "wall"),
        default=local_airflow.DEMO_API_CLOCK,
        help="demo API clock (default %(default)s: scheduled runs see new data)",
    )
    af.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for Airflow to be healthy")

    down = sub.add_parser(
        "down", parents=[common], help="stop Airflow and the services this directory started"
    )
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
        extra = {
            "s3": f"bucket {stack.bucket}",
            "demo_api": f"token {stack.api_token}",
            "postgres": "database shop, user dataeng",
        }.get(s.name, "")
        scheme = "postgresql" if s.name == "postgres" else "http"
        lines.append(f"  {s.name:<10} {scheme}://127.0.0.1:{s.port:<6} pid {s.pid}  {extra}".rstrip())
    return "\n".join(lines)


def _stack_to_start(args: argparse.Namespace, services: Sequence[str], timeout: float) -> LocalStack:
    flags = {
        "snowflake": args.snowflake_port,
        "s3": args.s3_port,
        "demo_api": args.api_port,
        "postgres": args.postgres_port,
    }
    return _stack(
        args,
        ports={k: v for k, v in flags.items() if v is not None and k in services},
        services=services,
        api_token=args.api_token,
        bucket=args.bucket,
        api_args=["--clock", args.api_clock],
        startup_timeout=timeout,
        default_ports=DEFAULT_PORTS,
    )


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack_to_start(args, args.services, args.timeout)
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
    airflow = local_airflow.LocalAirflow(args.dir or default_dir())
    components = airflow.running()
    ended = airflow.stop(timeout=max(args.timeout, 20.0))
    stopped = _stack(args).down(timeout=args.timeout)
    if components:
        print(f"dataeng-local: stopped Airflow ({_processes(components, ended.pids)})")
    if stopped:
        print(f"dataeng-local: stopped {', '.join(stopped)}")
    elif not components:
        print("dataeng-local: nothing was running")
    return 0


def _processes(components: Sequence[str], pids: Sequence[int]) -> str:
    extra = len(pids) - len(components)
    more = f" and {extra} process{'es' if extra != 1 else ''} they started" if extra > 0 else ""
    return f"{', '.join(components)}{more}"


def cmd_status(args: argparse.Namespace) -> int:
    stack = _stack(args)
    statuses = stack.status()
    components = local_airflow.LocalAirflow(stack.dir).status()
    if args.json:
        print(json.dumps([s.__dict__ for s in [*statuses, *components]], indent=2))
    else:
        print(f"{'service':<13} {'state':<6} {'pid':>8} {'port':>6}  health")
        for s in statuses:
            state = "up" if s.running else "down"
            print(f"{s.name:<13} {state:<6} {s.pid or '-':>8} {s.port:>6}  {'ok' if s.healthy else '-'}")
        for c in components:
            print(f"{'airflow ' + c.name:<21} {'up' if c.running else 'down':<6} {c.pid or '-':>8}")
    ok = bool(statuses) and all(s.running and s.healthy for s in statuses)
    return 0 if ok and all(c.running for c in components) else 1


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


def cmd_airflow(args: argparse.Namespace) -> int:
    """The stack and Airflow in the foreground until Ctrl-C (SIGINT), SIGTERM or SIGHUP; then stop both."""
    stack = _stack_to_start(args, SERVICES, 60.0)
    airflow = local_airflow.LocalAirflow(
        stack.dir,
        local_airflow.resolve_settings(
            stack.dir,
            port=args.port,
            dags_folder=args.dags_folder,
            sql_alchemy_conn=args.db_url,
            parallelism=args.parallelism,
            dags_paused=args.dags_paused,
        ),
    )
    airflow.preflight()  # a second Airflow, a busy port: say so before anything starts
    already = {s.name for s in stack.status() if s.running}
    _stop_on_signals()
    try:
        print(f"dataeng-local: starting the local stack in {stack.dir} ...", flush=True)
        stack.up()
        print(_describe(stack), flush=True)
        settings = airflow.settings
        print(
            f"dataeng-local: starting Airflow {local_airflow.airflow_version()} "
            f"({', '.join(local_airflow.COMPONENTS)}; LocalExecutor, parallelism {settings.parallelism}) ...",
            flush=True,
        )
        pids = airflow.start(stack.env, timeout=args.timeout)
        print(
            f"\nAirflow is up: {settings.url}   login {local_airflow.USERNAME} / {local_airflow.PASSWORD}\n"
            f"  components   {', '.join(f'{name} (pid {pid})' for name, pid in pids.items())}\n"
            f"  DAGs         {settings.dags_folder}{' (new DAGs start paused)' if settings.dags_paused else ''}\n"
            f"  database     {_redacted(settings.sql_alchemy_conn)}\n"
            f"  logs         {stack.dir / 'logs'}/airflow-*.log, task logs under {settings.home / 'logs'}\n"
            "Ctrl-C stops Airflow and the stack it started (or `dataeng-local down` from another shell).",
            flush=True,
        )
        return _watch(airflow)
    except KeyboardInterrupt:
        print("\ndataeng-local: stopping ...", flush=True)
        return 0
    finally:
        _stop_everything(airflow, stack, [s for s in SERVICES if s not in already])


def _watch(airflow: local_airflow.LocalAirflow) -> int:
    """Wait until a signal; a component that exits on its own (or a `down` elsewhere) ends the wait."""
    while True:
        time.sleep(1.0)
        gone = [s.name for s in airflow.status() if not s.running]
        if airflow.stopping():  # read after the status: a stop marks the state before any signal
            print("dataeng-local: Airflow was stopped from elsewhere", flush=True)
            return 0
        if gone:
            print(
                f"dataeng-local: Airflow's {', '.join(gone)} exited; see {airflow.log_path(gone[0])}",
                file=sys.stderr,
                flush=True,
            )
            return 1


def _stop_everything(airflow: local_airflow.LocalAirflow, stack: LocalStack, ours: Sequence[str]) -> None:
    """Stop Airflow, then the stack services this command started (``ours``); say what was stopped."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave half of it running
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    components = [s.name for s in airflow.status()]
    ended = airflow.stop()
    if components:
        print(f"dataeng-local: stopped Airflow ({_processes(components, ended.pids)})", flush=True)
    if set(ours) == set(SERVICES):
        stopped = stack.down()
        print(f"dataeng-local: stopped the local stack ({', '.join(stopped) or 'nothing was running'})")
    else:
        stopped = stack.stop_services(ours)
        kept = ", ".join(s for s in SERVICES if s not in ours)
        print(
            f"dataeng-local: stopped {', '.join(stopped) or 'nothing of the stack'}; {kept} kept running "
            "(up before this command): `dataeng-local down` stops them"
        )


def _stop_on_signals() -> None:
    """SIGINT (Ctrl-C; also when started in the background, where SIGINT starts ignored), SIGTERM and SIGHUP
    (a closed terminal) all stop everything."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, interrupt)


def _redacted(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "up": cmd_up,
        "down": cmd_down,
        "status": cmd_status,
        "env": cmd_env,
        "run": cmd_run,
        "airflow": cmd_airflow,
    }[args.command]
    try:
        return handler(args)
    except StackError as exc:
        print(f"dataeng-local: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
