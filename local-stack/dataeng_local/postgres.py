"""The PostgreSQL source: a real PostgreSQL server on one port, seeded as the demo shop's application database.

``python -m dataeng_local.postgres --host 127.0.0.1 --port 5433`` serves until SIGTERM/SIGINT. The binaries
come from the ``pgserver`` wheel (PostgreSQL built for pip) when it is installed, else from the system's
PostgreSQL (``pg_config --bindir``, or Debian's ``/usr/lib/postgresql/<version>/bin``). The cluster lives in
a fresh temporary directory and is removed at shutdown: like the S3 stand-in, a restart starts from the seed.
PostgreSQL refuses to run as root; started by root, the server runs as the unprivileged user ``nobody``.

The database ``shop`` holds the demo API's customers and orders as of the API's default clock (the same
seed, the same records), as an application's tables: ``customers`` and ``orders`` with typed columns
(``numeric(12,2)`` amounts, ``timestamptz`` times, a foreign key). The database appears under its name only
when the seed is complete, so a connection to ``shop`` succeeding is the health check.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from importlib.util import find_spec
from pathlib import Path
from types import FrameType
from typing import Any

DATABASE = "shop"
USER = "dataeng"
PASSWORD = "dataeng-local"
_SEEDING = f"{DATABASE}_seeding"

SCHEMA = """
CREATE TABLE customers (
    id          bigint PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    country     char(2) NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    is_deleted  boolean NOT NULL DEFAULT false
);
CREATE TABLE orders (
    id           bigint PRIMARY KEY,
    customer_id  bigint NOT NULL REFERENCES customers (id),
    status       text NOT NULL,
    amount       numeric(12, 2) NOT NULL,
    currency     char(3) NOT NULL,
    ordered_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    is_deleted   boolean NOT NULL DEFAULT false
);
CREATE INDEX orders_updated_at ON orders (updated_at, id);
CREATE INDEX customers_updated_at ON customers (updated_at, id);
"""
CUSTOMER_COLUMNS = ("id", "email", "name", "country", "status", "created_at", "updated_at", "is_deleted")
ORDER_COLUMNS = (
    "id",
    "customer_id",
    "status",
    "amount",
    "currency",
    "ordered_at",
    "updated_at",
    "is_deleted",
)


class PostgresNotFound(RuntimeError):
    """Neither the pgserver wheel nor a system PostgreSQL is installed."""


def find_bin_dir() -> Path:
    """Where ``initdb`` and ``postgres`` are: the pgserver wheel's, else the system's (newest version)."""
    spec = find_spec("pgserver")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(out.stdout.strip())
        if out.returncode == 0 and (candidate / "initdb").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    raise PostgresNotFound(
        "no PostgreSQL found: install the pgserver wheel (pip install pgserver, which the dataeng-local "
        "distribution depends on where a wheel exists) or the system's PostgreSQL (apt-get install postgresql)"
    )


def _run_as() -> tuple[dict[str, Any], int | None, int | None]:
    """subprocess keyword arguments (and uid, gid) that drop root to ``nobody``; nothing when not root."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}, None, None
    import pwd

    entry = pwd.getpwnam("nobody")
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}, entry.pw_uid, entry.pw_gid


def _chown_tree(path: Path, uid: int | None, gid: int | None) -> None:
    if uid is None or gid is None:
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid)


def init_cluster(bin_dir: Path, data_dir: Path, as_user: dict[str, Any]) -> None:
    """``initdb`` with the stack's user and password (scram-sha-256 over TCP), UTF-8, the C locale."""
    password_file = data_dir.parent / "password"
    password_file.write_text(PASSWORD + "\n")
    uid, gid = as_user.get("user"), as_user.get("group")
    _chown_tree(data_dir.parent, uid, gid)
    result = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
        ],
        capture_output=True,
        text=True,
        check=False,
        **as_user,
    )
    password_file.unlink()
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    # initdb admits TCP clients from the loopback addresses only; in a container the clients are elsewhere.
    with (data_dir / "pg_hba.conf").open("a") as hba:
        hba.write("host all all all scram-sha-256\n")


def start_server(
    bin_dir: Path, data_dir: Path, host: str, port: int, as_user: dict[str, Any]
) -> subprocess.Popen:
    """The ``postgres`` process, TCP only (no Unix socket to place), logging to this process's output."""
    settings = {
        "listen_addresses": host,
        "port": str(port),
        "unix_socket_directories": "",
        "fsync": "off",  # a throwaway local cluster: durability buys nothing, start-up and loads get faster
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "max_connections": "100",
        "timezone": "UTC",
        "log_timezone": "UTC",
    }
    argv = [str(bin_dir / "postgres"), "-D", str(data_dir)]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    return subprocess.Popen(argv, **as_user)


def connect(host: str, port: int, dbname: str, timeout: float = 5.0) -> Any:
    import psycopg

    return psycopg.connect(
        host=host,
        port=port,
        dbname=dbname,
        user=USER,
        password=PASSWORD,
        connect_timeout=max(1, int(timeout)),
    )


def wait_ready(host: str, port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"postgres exited during start-up (exit code {server.returncode})")
        try:
            connect(host, port, "postgres", timeout=1).close()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def seed_rows() -> tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]:
    """The demo API's customers and orders as of its default clock (what ``as_of`` that time serves), as
    table rows."""
    from dataeng_local.demo_api.config import DemoApiConfig
    from dataeng_local.demo_api.models import Customers, Orders

    config = DemoApiConfig()
    t = config.start_time - 1  # the API's data "as of" its start holds the changes made before it
    customers = Customers(config.shape)
    orders = Orders(config.shape, customers)
    customer_rows = (
        tuple(record[c] for c in CUSTOMER_COLUMNS)
        for record in (customers.record(i, t) for i in range(1, customers.count(t) + 1))
    )
    order_rows = (
        tuple(record[c] for c in ORDER_COLUMNS)
        for record in (orders.record(j, t) for j in range(1, orders.count(t) + 1))
    )
    return customer_rows, order_rows


def seed(host: str, port: int) -> dict[str, int]:
    """Create the shop database under a temporary name, load it, then give it its name (atomically)."""
    with connect(host, port, "postgres") as admin:
        admin.autocommit = True
        admin.execute(f'DROP DATABASE IF EXISTS "{_SEEDING}"')
        admin.execute(f'CREATE DATABASE "{_SEEDING}"')
    counts = {}
    with connect(host, port, _SEEDING) as conn:
        conn.execute(SCHEMA)
        customer_rows, order_rows = seed_rows()
        for table, columns, rows in (
            ("customers", CUSTOMER_COLUMNS, customer_rows),
            ("orders", ORDER_COLUMNS, order_rows),
        ):
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                n = 0
                for row in rows:
                    copy.write_row(row)
                    n += 1
            counts[table] = n
        conn.execute("ANALYZE")
        conn.commit()
    with connect(host, port, "postgres") as admin:
        admin.autocommit = True
        admin.execute(f'ALTER DATABASE "{_SEEDING}" RENAME TO "{DATABASE}"')
    return counts


def serve(host: str, port: int) -> None:
    """Init, start, seed; then wait for SIGTERM/SIGINT and stop the server and remove its files."""
    bin_dir = find_bin_dir()
    as_user, _, _ = _run_as()
    home = Path(tempfile.mkdtemp(prefix="dataeng-local-pg-"))
    os.chmod(home, 0o755)
    data_dir = home / "data"
    server: subprocess.Popen | None = None
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        data_dir.mkdir()
        init_cluster(bin_dir, data_dir, as_user)
        server = start_server(bin_dir, data_dir, host, port, as_user)
        wait_ready(host, port, server)
        started = time.monotonic()
        counts = seed(host, port)
        print(
            f"PostgreSQL {bin_dir} on {host}:{port}: database {DATABASE!r} seeded with "
            f"{counts['customers']} customers and {counts['orders']} orders in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        while not stopping and server.poll() is None:
            time.sleep(0.2)
        if server.poll() is not None and not stopping:
            raise RuntimeError(f"postgres exited (exit code {server.returncode})")
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)  # fast shutdown: roll back, disconnect, stop
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(home, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dataeng_local.postgres", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 0 when the seeded database answers (a container health check)",
    )
    args = parser.parse_args(argv)
    if args.check:
        try:
            connect(args.host, args.port, DATABASE, timeout=3).close()
        except Exception as exc:
            print(f"not ready: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        serve(args.host, args.port)
    except PostgresNotFound as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
