"""Background service processes: start detached, recognise our own later, stop them completely.

A process is "ours" only if its pid is alive, its start time equals the one recorded when we started
it, and its command line still names our module: a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

# Popen objects of processes started by this Python process, so stopping them also reaps them
# (and Python does not warn about a child still running when the object is collected).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcessRecord:
    """What we remember about a started process (kept in the state file and the pid file)."""

    pid: int
    create_time: float
    module: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def spawn(argv: list[str], log_path: Path, cwd: Path, env: dict[str, str], module: str) -> ProcessRecord:
    """Start ``argv`` in its own session (immune to the caller's Ctrl+C), output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    try:
        create_time = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        create_time = 0.0  # exited at once; the health wait reports it with its log
    return ProcessRecord(pid=proc.pid, create_time=create_time, module=module)


def find(record: ProcessRecord) -> psutil.Process | None:
    """The live process for ``record``, or ``None`` if it exited or the pid now belongs to another."""
    try:
        proc = psutil.Process(record.pid)
        if abs(proc.create_time() - record.create_time) > 0.05:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(record.pid)
            return None
        cmdline = proc.cmdline()
        # An empty command line is a process still inside exec(); the start time already matched.
        if cmdline and record.module not in " ".join(cmdline):
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _reap(pid: int) -> None:
    """Collect an exited child of this process (no-op for processes we did not fork)."""
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _CHILDREN[pid] = child


def stop(record: ProcessRecord, timeout: float = 10.0) -> bool:
    """SIGTERM the process and its descendants, SIGKILL whatever is left after ``timeout``.

    Returns ``False`` when the process was not running (nothing signalled).
    """
    return bool(stop_all([record], timeout))


def stop_all(records: list[ProcessRecord], timeout: float = 10.0) -> list[ProcessRecord]:
    """Stop several processes at once (signal all, then wait); returns those that were running."""
    running: list[ProcessRecord] = []
    family: list[psutil.Process] = []
    for record in records:
        proc = find(record)
        if proc is None:
            continue
        running.append(record)
        try:
            family += [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    _signal_all(family, signal.SIGTERM)
    alive = _wait_gone(family, timeout)
    if alive:
        _signal_all(alive, signal.SIGKILL)
        _wait_gone(alive, 5.0)
    for record in running:
        _reap(record.pid)
    return running


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process has exited; a zombie counts as exited (its parent reaps it)."""
    deadline = time.monotonic() + timeout
    alive = list(procs)
    while alive:
        for p in list(alive):
            child = _CHILDREN.get(p.pid)
            if child is not None and child.poll() is not None:
                alive.remove(p)
                continue
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    alive.remove(p)
            except psutil.NoSuchProcess:
                alive.remove(p)
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return alive


def _signal_all(procs: list[psutil.Process], sig: int) -> None:
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(sig)


def exit_code(record: ProcessRecord) -> int | None:
    """Exit status of a process this Python process started and which has ended, else ``None``."""
    child = _CHILDREN.get(record.pid)
    return None if child is None else child.poll()
