"""Background service processes: start detached, recognise our own later, stop them completely.

A process is "ours" only if its pid is alive, its start time equals the one recorded when we started
it, and its command line still names our module: a recycled pid is never signalled.

Each process starts its own session, and everything it starts stays in that session (Airflow's task
processes only change their process group), so stopping one also finds descendants whose parent has already
exited and which were re-parented to init: LocalExecutor workers and task processes of a scheduler, say.
"""

from __future__ import annotations

import contextlib
import os
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
    return terminate(records, timeout).running


@dataclass(frozen=True)
class Stopped:
    """What :func:`terminate` ended: the recorded processes that were running, and every pid signalled."""

    running: list[ProcessRecord]
    pids: list[int]


def terminate(records: list[ProcessRecord], timeout: float = 10.0) -> Stopped:
    """SIGTERM each recorded process with its descendants and the rest of its session, SIGKILL what is
    left after ``timeout``; processes started meanwhile in those sessions are found again and killed.

    A recorded process that has exited still has its session searched: orphans it left behind are ours.
    """
    running = [record for record in records if find(record) is not None]
    first = family(records)
    _signal_all(first, signal.SIGTERM)
    alive = _wait_gone(first, timeout)
    late = [p for p in family(records) if p.pid not in {q.pid for q in first}]
    if alive or late:
        _signal_all([*alive, *late], signal.SIGKILL)
        _wait_gone([*alive, *late], 5.0)
    for record in running:
        _reap(record.pid)
    return Stopped(running=running, pids=sorted({p.pid for p in [*first, *late]}))


def family(records: list[ProcessRecord]) -> list[psutil.Process]:
    """The live processes of ``records``: each recorded process, its descendants and its session."""
    found: dict[int, psutil.Process] = {}
    for record in records:
        proc = find(record)
        if proc is not None:
            found[proc.pid] = proc
            with contextlib.suppress(psutil.NoSuchProcess):
                found.update((child.pid, child) for child in proc.children(recursive=True))
        found.update((p.pid, p) for p in _session_members(record))
    return [p for p in found.values() if p.pid != os.getpid()]


def _session_members(record: ProcessRecord) -> list[psutil.Process]:
    """Processes of the session ``record`` leads (``start_new_session``), started after it.

    Trusted only while the leader is ours, or gone with no other process holding its pid (a recycled pid
    leading a new session is someone else's).
    """
    if not hasattr(os, "getsid"):
        return []
    if find(record) is None and _pid_taken(record.pid):
        return []
    members = []
    for proc in psutil.process_iter(["create_time"]):
        try:
            if (
                proc.pid != record.pid
                and os.getsid(proc.pid) == record.pid
                and (proc.info["create_time"] or 0.0) >= record.create_time - 0.05
            ):
                members.append(proc)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return members


def _pid_taken(pid: int) -> bool:
    """Whether a live (not zombie) process holds ``pid``."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


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
