"""Portability: the lock is current and complete for every platform and Python it claims, and the Makefile
finds a Python it covers (or says which versions work)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.conftest import ROOT
from tests.packaging.conftest import clean_env, run

# [tool.uv] environments -> uv's --python-platform for each (uv resolves for the oldest glibc/macOS it knows).
PLATFORMS = {
    ("linux", "x86_64"): "x86_64-unknown-linux-gnu",
    ("linux", "aarch64"): "aarch64-unknown-linux-gnu",
    ("darwin", "arm64"): "aarch64-apple-darwin",
    ("darwin", "x86_64"): "x86_64-apple-darwin",
}
PYTHONS = ("3.11", "3.12", "3.13")


def _locked_environments() -> set[tuple[str, str, str, str]]:
    """``(sys_platform, platform_machine, lowest python, python bound)`` of each environment in pyproject."""
    environments = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["environments"]
    pattern = (
        r"sys_platform == '(\w+)' and platform_machine == '(\w+)' and "
        r"python_version >= '([\d.]+)' and python_version < '([\d.]+)'"
    )
    parsed = {re.fullmatch(pattern, e) for e in environments}
    assert None not in parsed, f"an environment this test does not understand: {environments}"
    return {m.groups() for m in parsed if m}


def test_the_tested_environments_are_the_locked_ones() -> None:
    assert _locked_environments() == {(system, machine, "3.11", "3.14") for system, machine in PLATFORMS}


def _uv_offline_first(uv: str, args: list[str]) -> str:
    """A uv command from the cache alone when it can be, else with PyPI (index pages for other platforms are
    cached only once some run asked for them)."""
    try:
        return run([uv, *args, "--offline"], cwd=ROOT, env=clean_env(), timeout=300)
    except AssertionError:
        return run([uv, *args], cwd=ROOT, env=clean_env(), timeout=300)


def test_lock_is_current(uv: str) -> None:
    """uv.lock matches pyproject.toml (its ranges, extras and environments)."""
    _uv_offline_first(uv, ["lock", "--check"])


def _pins(requirements: str) -> dict[str, str]:
    pins = {}
    for line in requirements.splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


@pytest.fixture(scope="module")
def exported(uv: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every locked package of every extra, with its environment markers, as uv export writes them."""
    path = tmp_path_factory.mktemp("export") / "requirements.txt"
    run(
        [uv, "export", "--frozen", "--all-extras", "--no-hashes", "--no-emit-project", "-q", "-o", str(path)],
        cwd=ROOT,
        env=clean_env(),
    )
    return path


@pytest.mark.slow
@pytest.mark.parametrize("python", PYTHONS)
@pytest.mark.parametrize("platform", sorted(PLATFORMS.values()))
def test_lock_resolves_on_each_platform_and_python(
    uv: str, exported: Path, platform: str, python: str
) -> None:
    """For each platform and Python: the exported pins, resolved for that target alone (distributions
    available for it, dependencies included), are exactly the packages the export lists for it."""
    target = ["--python-platform", platform, "--python-version", python]
    listed = _pins(_uv_offline_first(uv, ["pip", "compile", str(exported), "--no-deps", "-q", *target]))
    resolved = _pins(_uv_offline_first(uv, ["pip", "compile", str(exported), "-q", *target]))
    assert len(listed) > 150  # airflow and the providers alone are more
    assert resolved == listed


# ----------------------------------------------------------------------------------------- Makefile

FAKE_PYTHON = """#!/bin/sh
# A python3 that reports version {version} (what the Makefile asks it), running the real interpreter.
if [ "$1" = "--version" ]; then echo "Python {version}"; exit 0; fi
if [ "$1" = "-c" ]; then
    exec {real} -c "import sys; sys.version_info = ({major}, {minor}, 0, 'final', 0)
$2"
fi
exec {real} "$@"
"""


def _make_python(tmp_path: Path, version: str) -> subprocess.CompletedProcess[str]:
    """``make python`` with a PATH holding only a fake python3 of ``version`` (and what the recipe needs)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    major, minor, _ = version.split(".")
    fake = bin_dir / "python3"
    fake.write_text(FAKE_PYTHON.format(version=version, major=major, minor=minor, real=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    for tool in ("head",):
        (bin_dir / tool).symlink_to(_which(tool))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "PYTHON", "UV_"))}
    env["PATH"] = str(bin_dir)
    return subprocess.run(
        [_which("make"), "--no-print-directory", "-C", str(ROOT), "python"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _which(tool: str) -> str:
    import shutil

    found = shutil.which(tool)
    assert found, f"{tool} not found"
    return found


def test_make_refuses_a_python_the_lock_does_not_cover(tmp_path: Path) -> None:
    result = _make_python(tmp_path, "3.10.14")
    assert result.returncode != 0
    assert result.stderr.splitlines()[:6] == [
        "No suitable Python: this project needs Python 3.11, 3.12 or 3.13.",
        "  python3.13: not found",
        "  python3.12: not found",
        "  python3.11: not found",
        "  python3: Python 3.10.14",
        "Install one of them, or point PYTHON at one: make PYTHON=/path/to/python3.12 ...",
    ]


def test_make_uses_a_python_the_lock_covers(tmp_path: Path) -> None:
    result = _make_python(tmp_path, "3.12.7")
    assert (result.returncode, result.stdout) == (0, f"Using {tmp_path}/bin/python3 (Python 3.12.7)\n")
