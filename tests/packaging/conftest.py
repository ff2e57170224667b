"""Helpers for the packaging tests: the repository's uv and a clean environment for subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="session")
def uv() -> str:
    """The uv the Makefile bootstraps into .tools/ (or one on PATH)."""
    bootstrapped = ROOT / ".tools" / "bin" / "uv"
    found = str(bootstrapped) if bootstrapped.exists() else shutil.which("uv")
    if found is None:
        pytest.skip("uv not found: run `make venv` (it installs uv into .tools/)")
    return found


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that points at the development venv or the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PYTHON")}
    return {**env, "UV_NO_PROGRESS": "1", **extra}


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command; its stdout, or a failure showing the ends of both outputs."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout
