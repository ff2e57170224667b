"""The ``local_stack`` pytest plugin in a separate pytest run: one stack per session, and a loud error when
a test module imports the fixture (which would start a second stack and silently redirect connections)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CONFTEST = 'pytest_plugins = ["dataeng_local.pytest_plugin"]\n'
USES = """
import os

def test_uses(local_stack):
    assert local_stack.services == ("demo_api",)
    assert os.environ["AIRFLOW_CONN_DEMO_API"]
"""
IMPORTS = """
from dataeng_local.pytest_plugin import local_stack  # a second session-scoped copy

def test_imports(local_stack):
    pass
"""


def run(tmp_path: Path, files: dict[str, str], conftest: str = CONFTEST) -> subprocess.CompletedProcess[str]:
    for name, text in {"conftest.py": conftest, **files}.items():
        (tmp_path / name).write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "dataeng_local_services=demo_api",
         str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )


def test_one_stack_serves_every_module(tmp_path: Path) -> None:
    result = run(tmp_path, {"test_a.py": USES, "test_b.py": USES})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_installing_the_package_registers_the_plugin(tmp_path: Path) -> None:
    """The pytest11 entry point alone, no conftest naming the plugin (the explicit one above stays harmless)."""
    result = run(tmp_path, {"test_a.py": USES}, conftest="")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_importing_the_fixture_into_a_module_is_refused(tmp_path: Path) -> None:
    result = run(tmp_path, {"test_a.py": USES, "test_b.py": IMPORTS})
    assert result.returncode != 0
    assert "1 passed" in result.stdout and "1 error" in result.stdout, result.stdout
    assert "local_stack started twice in one session" in result.stdout
    assert "do not import local_stack into test modules" in result.stdout
